"""Crossbar descriptions: card-derived defaults, the weight mapping, and bad input naming its field."""

import numpy as np
import pytest

from memspice.errors import SpecError
from memspice.reference.memristor import switching_thresholds
from memspice.spec.crossbar import CrossbarSpec, load_study
from memspice.spec.device import load_card

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("card_name", ["vteam_paper", "yakopcic_paper"])
def test_defaults_come_from_the_card(card_name):
    card = load_card(card_name)
    spec = CrossbarSpec(rows=32, card=card_name)
    lo, hi = card.window_s()
    g_min, g_max = spec.g_range_s
    assert lo < g_min < g_max < hi
    assert g_min == pytest.approx(lo + 0.05 * (hi - lo), rel=1e-12)
    assert g_max == pytest.approx(hi - 0.05 * (hi - lo), rel=1e-12)
    assert spec.v_read_v == card.read_v
    assert spec.i_full_scale_a == pytest.approx(32 * (g_max - g_min) * card.read_v, rel=1e-12)
    # the default R_f keeps the largest single-ended column current inside the op-amp swing
    assert spec.r_f_ohm * 32 * g_max * card.read_v <= spec.sense.swing_v


def test_differential_mapping_is_linear_and_g_min_cancels():
    spec = CrossbarSpec(rows=5, cols=2, w_max=2.0)
    w = np.array([[-2.0, 0.0], [-1.0, 0.5], [0.0, 1.0], [1.0, 1.5], [2.0, -0.5]])
    g = spec.conductances(w)
    g_min, g_max = spec.g_range_s
    assert g.shape == (5, 4)
    assert g.min() >= g_min and g.max() <= g_max * (1 + 1e-15)
    np.testing.assert_allclose(g[:, 0::2] - g[:, 1::2], w / 2.0 * (g_max - g_min), rtol=0, atol=1e-18)
    assert np.all((g[:, 0::2] == g_min) | (g[:, 1::2] == g_min))  # one cell of each pair at g_min
    np.testing.assert_allclose(spec.voltages([0.0, 0.5, 1.0, 2.0, -1.0]), [0, 0.1, 0.2, 0.2, 0.0])


def _row_weights(rows, cols, value=0.5):
    return [[value] * cols for _ in range(rows)]


@pytest.mark.parametrize(
    ("changes", "field", "needle"),
    [
        ({"rows": 0}, "rows", "from 1 to 4096"),
        ({"rows": 5000}, "rows", "from 1 to 4096"),
        ({"cols": 0}, "cols", "from 1"),
        ({"g_max_s": 1e-3}, "g_max_s", "inside card vteam_paper's window"),
        ({"g_min_s": 1e-6}, "g_min_s", "inside card vteam_paper's window"),
        ({"g_min_s": 300e-6, "g_max_s": 200e-6}, "g_max_s", "above g_min_s"),
        ({"weights": _row_weights(3, 1)}, "weights", "one list per row"),
        ({"weights": [[0.1], [0.2, 0.3], [0.0], [0.1]]}, "weights[1]", "1 weight(s), one per column"),
        ({"weights": [[0.1], [1.5], [0.0], [0.1]]}, "weights[1][0]", "a weight in [-w_max, w_max]"),
        ({"inputs_v": (0.1, 0.25, 0.0, 0.1)}, "inputs_v[1]", "disturb the state"),
        ({"inputs_v": (0.1, 0.1)}, "inputs_v", "one voltage per row"),
        ({"inputs_v": (0.1, -0.1, 0.0, 0.1)}, "inputs_v[1]", "from 0 to the read voltage"),
        ({"drive": {"v_read_v": 0.6}}, "drive.v_read_v", "switching threshold"),
        ({"drive": {"input_bits": 0}}, "drive.input_bits", "from 1 to 12"),
        ({"wire": {"r_row_segment_ohm": 0.0}}, "wire.r_row_segment_ohm", "> 0 ohm"),
        ({"sense": {"r_f_ohm": 1e6}}, "sense.r_f_ohm", "inside the op-amp swing"),
        ({"card": "no_such_card"}, "card", "no such built-in card"),
        ({"cell": "2T2R"}, "cell", "'1R'"),
        ({"colums": 2}, "colums", "one of the known keys"),
    ],
)
def test_bad_input_names_its_field(changes, field, needle):
    data = {"rows": 4, **changes}
    with pytest.raises(SpecError) as info:
        CrossbarSpec.from_dict(data, where="crossbar")
    assert info.value.field == f"crossbar.{field}"
    assert needle in str(info.value)


def test_read_voltage_limit_is_the_cards_threshold():
    card = load_card("yakopcic_paper")
    th = min(switching_thresholds(card.model, card.params))
    CrossbarSpec(rows=2, card="yakopcic_paper", drive={"v_read_v": 0.99 * th})
    with pytest.raises(SpecError, match=r"drive\.v_read_v"):
        CrossbarSpec.from_dict({"rows": 2, "card": "yakopcic_paper", "drive": {"v_read_v": 1.01 * th}})


def test_conductances_rejects_bad_tiles():
    spec = CrossbarSpec(rows=3, cols=2)
    with pytest.raises(SpecError, match=r"weights: got 'shape \(3, 1\)'"):
        spec.conductances(np.zeros((3, 1)))
    with pytest.raises(SpecError, match=r"weights\[2\]\[1\]"):
        spec.conductances(np.array([[0, 0], [0, 0], [0, 1.2]]))


def test_study_file_and_overrides(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[crossbar]\nrows = 16\n[crossbar.wire]\nr_row_segment_ohm = 2.0\n[study]\npatterns = 4\n')
    study = load_study(path, {"rows": 32, "wire.r_col_segment_ohm": 3.0, "study.seed": 7})
    assert study.crossbar.rows == 32
    assert study.crossbar.wire.r_row_segment_ohm == 2.0 and study.crossbar.wire.r_col_segment_ohm == 3.0
    assert study.study.seed == 7 and study.study.patterns == 4
    with pytest.raises(SpecError, match=r"crossbar\.rows: got 0"):
        load_study(path, {"rows": 0})
    with pytest.raises(SpecError, match=r"crossbar\.nope"):
        load_study(path, {"nope": 1})
    path.write_text("[crossbar]\nrows = 16\n[extra]\nx = 1\n")
    with pytest.raises(SpecError, match="extra"):
        load_study(path)


def test_shipped_study_files_load():
    from memspice.resources import circuits_dir

    for name, rows in (("crossbar_128", 128), ("crossbar_512", 512)):
        study = load_study(circuits_dir() / f"{name}.toml")
        assert study.crossbar.rows == rows
        assert study.crossbar.card == "vteam_paper"
