"""Raw-file parser on recorded ngspice output (tests/data/raw, made by scripts/regen_fixtures.py)."""

from pathlib import Path

import numpy as np
import pytest

from memspice.errors import DataError
from memspice.raw import canonical_name, parse_raw, read_raw

pytestmark = pytest.mark.unit
DATA = Path(__file__).resolve().parent.parent / "data" / "raw"


@pytest.mark.parametrize("name", ["rc_binary", "rc_ascii"])
def test_three_plots_of_rc_divider(name):
    plots = read_raw(DATA / f"{name}.raw")
    assert [p.name for p in plots] == ["op", "dc", "tran"]
    op, dc, tran = plots
    # R1 = 1k, R2 = 2k from a 1 V source: v(a) = 2/3 V, i(v1) = -1/3 mA (current into +).
    assert op["v(a)"][0] == pytest.approx(2 / 3, rel=1e-12)
    assert op["i(v1)"][0] == pytest.approx(-1 / 3000, rel=1e-12)
    assert dc.scale == "v-sweep"
    np.testing.assert_allclose(dc["v-sweep"], [0, 0.25, 0.5, 0.75, 1.0], atol=1e-15)
    np.testing.assert_allclose(dc["v(a)"], dc["v-sweep"] * 2 / 3, rtol=1e-12, atol=1e-15)
    assert tran.scale == "time"
    assert tran["time"][0] == 0.0 and tran["time"][-1] == pytest.approx(1e-3)
    assert np.all(np.diff(tran["time"]) > 0)


def test_binary_and_ascii_agree():
    binary = read_raw(DATA / "rc_binary.raw")
    ascii_ = read_raw(DATA / "rc_ascii.raw")
    for pb, pa in zip(binary, ascii_, strict=True):
        assert set(pb.vectors) == set(pa.vectors)
        for key in pb.vectors:
            # ASCII keeps 16 significant digits
            np.testing.assert_allclose(pb.vectors[key], pa.vectors[key], rtol=1e-14, atol=1e-18)


def test_complex_ac_plot():
    (plot,) = read_raw(DATA / "ac_complex.raw")
    assert plot.name == "ac"
    f = plot["frequency"].real
    va = plot["v(a)"]
    assert np.iscomplexobj(va)
    expected = 1 / (1 + 2j * np.pi * f * 1000 * 1e-9)  # RC low pass, R = 1k, C = 1n
    np.testing.assert_allclose(va, expected, rtol=1e-9)


def test_truncated_file_is_an_error():
    data = (DATA / "rc_binary.raw").read_bytes()
    with pytest.raises(DataError, match="truncated"):
        parse_raw(data[: len(data) // 2])


def test_missing_file_names_it(tmp_path):
    with pytest.raises(DataError, match=r"nope\.raw"):
        read_raw(tmp_path / "nope.raw")


@pytest.mark.parametrize(
    ("given", "kind", "expected"),
    [
        ("v(A)", None, "v(a)"),
        ("i(V1)", None, "i(v1)"),
        ("i(@r1[i])", None, "@r1[i]"),
        ("v(v-sweep)", None, "v-sweep"),
        ("v1#branch", None, "i(v1)"),
        ("x1.xs", None, "v(x1.xs)"),
        ("time", None, "time"),
        ("@m1[id]", None, "@m1[id]"),
    ],
)
def test_canonical_names(given, kind, expected):
    assert canonical_name(given, kind) == expected
