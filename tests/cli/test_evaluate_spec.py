"""`memspice evaluate SPEC.toml --set TABLE.FIELD=VALUE`: a spec file, flags given on the command line, --set."""

from pathlib import Path

import pytest

from memspice.cli.nn import evaluate_specs, parse_set
from memspice.nn.spec import CimSpec, EvalSpec, TrainSpec
from tests.cli.conftest import assert_clean_error

pytestmark = pytest.mark.unit


def _flags(**eval_changes):
    return {"train": TrainSpec(), "cim": CimSpec(), "eval": EvalSpec(**eval_changes)}


def test_file_then_explicit_flags_then_set(tmp_path):
    spec = tmp_path / "ev.toml"
    spec.write_text('[eval]\ntest_images = 100\nbits = [4]\nsigmas = []\ntrials = 5\n[cim]\nconversion = "layer"\n')
    flags = _flags(trials=3, test_images=7)
    t, c, e = evaluate_specs(flags, {"trials"}, spec, ["eval.bits=[3, 4]", "train.epochs=2", "cim.rows=64"])
    assert e.trials == 3  # given on the command line: beats the file
    assert e.test_images == 100  # a flag left at its value without being given does not
    assert e.sigmas == () and c.conversion == "layer"  # from the file
    assert e.bits == (3, 4) and t.epochs == 2 and c.rows == 64  # --set last


def test_without_a_file_set_overrides_the_flags():
    t, c, e = evaluate_specs(_flags(), set(), None, ["eval.test_images=2000", "cim.conversion=layer"])
    assert e.test_images == 2000 and c.conversion == "layer"
    assert t == TrainSpec()


def test_paper_preset_trains_quantization_aware_unless_qat_bits_is_given(tmp_path):
    t, _, _ = evaluate_specs(_flags(), set(), None, [], "paper")
    assert t.qat_bits == 8  # the paper's VGG8: 8-bit weights and activations in training
    t, _, _ = evaluate_specs({**_flags(), "train": TrainSpec(qat_bits=0)}, {"qat"}, None, [], "paper")
    assert t.qat_bits == 0  # --qat 0 given: the float-trained network
    t, _, _ = evaluate_specs(_flags(), set(), None, ["train.qat_bits=4"], "paper")
    assert t.qat_bits == 4
    spec = tmp_path / "ev.toml"
    spec.write_text("[train]\nqat_bits = 0\n")
    assert evaluate_specs(_flags(), set(), spec, [], "paper")[0].qat_bits == 0  # the file's value
    spec.write_text("[train]\nepochs = 2\n")
    t, _, _ = evaluate_specs(_flags(), set(), spec, [], "paper")
    assert t.qat_bits == 8 and t.epochs == 2
    assert evaluate_specs(_flags(), set(), None, [])[0].qat_bits == 0  # no preset: float as before
    t, _, _ = evaluate_specs(_flags(), set(), None, ["train.network=resnet18"], "paper")
    assert t.qat_bits == 0  # no quantization-aware training for ResNet18


@pytest.mark.parametrize(("item", "needle"), [("bits=3", "--set"), ("nn.bits=3", "--set"),
                                              ("eval.bits", "--set")])
def test_malformed_set_names_the_option(item, needle):
    from memspice.errors import SpecError

    with pytest.raises(SpecError, match=needle):
        parse_set([item])


@pytest.mark.parametrize(("args", "needles"), [
    (["--set", "eval.nope=1"], ["eval.nope", "known parameter"]),
    (["--set", "eval.test_images=-1"], ["eval.test_images", "-1"]),
    (["missing.toml"], ["missing.toml", "not found"]),
])
def test_bad_spec_input_is_one_line_and_writes_nothing(cli, tmp_path, args, needles):
    proc = cli("evaluate", *args, "--out", str(tmp_path / "out"))
    assert_clean_error(proc, 2, *needles)
    assert not (tmp_path / "out").exists()


def test_unknown_table_in_the_file(cli, tmp_path):
    spec = tmp_path / "ev.toml"
    spec.write_text("[evall]\ntest_images = 1\n")
    proc = cli("evaluate", str(spec), "--out", str(tmp_path / "out"))
    assert_clean_error(proc, 2, "evall", "train, cim, eval")
    assert not Path(tmp_path / "out").exists()
