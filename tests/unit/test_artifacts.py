"""The versioned artifact formats (memspice.artifacts): what a writer writes, every reader reads back;
files written before versions were recorded load as version 1; a newer version is refused in one line."""

import json

import numpy as np
import pytest

from memspice.artifacts import (
    ADC_FORMAT_VERSION,
    AdcArtifact,
    ColumnModelArtifact,
    PsumVoltMap,
)
from memspice.errors import DataError
from memspice.io import write_json

pytestmark = pytest.mark.unit


def _adc() -> AdcArtifact:
    rows = np.array([[0.801, 0.902, 1.003], [0.799, 0.898, 1.001]])
    return AdcArtifact(bits=2, input_range_V=(0.7, 1.2), targets_V=np.array([0.8, 0.9, 1.0]),
                       measured_V=np.array([0.8005, 0.9004, 1.0003]), mc_measured_V=rows, source="test",
                       mc_programming="closed", mc={"closed": {"measured_V": rows.tolist()}})


def test_adc_artifact_round_trips_through_its_file(tmp_path):
    art = _adc()
    path = write_json(tmp_path / "adc.json", art.to_json())
    assert json.loads(path.read_text())["format_version"] == ADC_FORMAT_VERSION
    back = AdcArtifact.read(path)
    assert back.bits == 2 and back.input_range_V == (0.7, 1.2) and back.mc_programming == "closed"
    np.testing.assert_array_equal(back.mc_measured_V, art.mc_measured_V)
    np.testing.assert_array_equal(back.measured_V, art.measured_V)
    (mode, rows), = back.mode_rows()
    assert mode == "closed" and rows.shape == (2, 3)
    assert back.to_json() == art.to_json()


def test_a_file_without_a_version_is_version_1_and_a_newer_one_is_refused(tmp_path):
    old = _adc().to_json()
    del old["format_version"]
    assert AdcArtifact.from_json(old).format_version == 1
    with pytest.raises(DataError, match="format_version must be an integer from 1 to 1"):
        AdcArtifact.from_json({**old, "format_version": 2}, "x.json")
    legacy_column = {"rows": 64, "coefficients": [0.0, 0.97, 0.0, -0.01], "noise_sigma": 0.0}
    col = ColumnModelArtifact.from_json(legacy_column)
    assert col.format_version == 1 and col.sigma_g_rel == 0.0 and col.coefficients == (0.0, 0.97, 0.0, -0.01)


def test_bad_fields_name_the_source_and_the_field():
    data = _adc().to_json()
    with pytest.raises(DataError, match=r"a\.json: targets_V must hold 3 values"):
        AdcArtifact.from_json({**data, "targets_V": [0.8, 0.9]}, "a.json")
    with pytest.raises(DataError, match="unknown keys"):
        AdcArtifact.from_json({**data, "colour": "red"}, "a.json")
    with pytest.raises(DataError, match=r"c\.json: sigma_g_rel must be a number >= 0"):
        ColumnModelArtifact.from_json({"rows": 4, "coefficients": [1.0], "sigma_g_rel": -1}, "c.json")
    with pytest.raises(DataError, match=r"m\.json: v_hi_V must be a finite number"):
        PsumVoltMap.from_json({"psum_lo": 0, "psum_hi": 1, "v_lo_V": 0.7, "v_hi_V": "x"}, "m.json")


def test_psum_volt_map_is_the_linear_map_and_its_inverse_for_errors():
    m = PsumVoltMap(psum_lo=-40.0, psum_hi=60.0, v_lo=0.7, v_hi=1.2)
    # ends and midpoint by hand: -40 -> 0.7 V, 60 -> 1.2 V, 10 -> 0.95 V
    np.testing.assert_allclose(m.to_volts([-40.0, 10.0, 60.0]), [0.7, 0.95, 1.2], rtol=0, atol=1e-15)
    # a boundary 5 mV high (1 % of the 0.5 V range) moves by 1 % of the 100-unit psum range
    assert float(m.psum_shift(0.005 / 0.5)) == pytest.approx(1.0, rel=1e-12)
    assert PsumVoltMap.from_json(m.to_json()) == m
