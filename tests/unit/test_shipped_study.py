"""The shipped default study (circuits/study_default.toml): every file it names is found from the study file's
folder (its ADC design lives in circuits/22nm/, outside the golden-netlist glob of circuits/*.toml), and the
ADC stage's spec builds at the study's resolutions with every check that needs no simulation."""

import pytest

from memspice.resources import circuits_dir
from memspice.study.run import Study
from memspice.study.spec import load_study_file

pytestmark = pytest.mark.unit


def test_the_default_study_finds_its_files_and_its_adc_design_builds(tmp_path):
    file = circuits_dir() / "study_default.toml"
    study = load_study_file(file)  # raises naming adc.spec if the file is missing
    assert study.path(study.adc.spec) == circuits_dir() / "22nm" / "qcell_adc_22nm.toml"
    run = Study(study, file, tmp_path / "run", show_progress=False)
    for bits in study.study.bits:
        spec = run._adc_base(bits, None)  # the spec the adc stage builds, overrides and seed included
        # the 22 nm design of docs/adc.md 5f: the card, supply and the sizes its chips were measured with
        assert spec.cell.transistors == "ptm_22nm_hp" and spec.cell.vdd_v == 0.8
        assert (spec.cell.input.w_m, spec.cell.input.l_m) == (0.1e-6, 0.05e-6)
        assert (spec.cell.pulldown.w_m, spec.cell.pulldown.l_m) == (0.075e-6, 0.1e-6)
        assert spec.timing.scheme == "static" and spec.bits == bits


def test_the_45nm_design_stays_the_reproductions_converter():
    from memspice.reproduce.adc import design_spec

    assert design_spec(5).cell.transistors == "ptm_45nm_hp"
