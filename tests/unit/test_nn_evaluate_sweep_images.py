"""``EvalSpec.sweep_test_images``: the variation sweep and the SPICE chip rows on the first N test
images, the accuracy table on all of them; ``spice_trials``: the first N chip draws; the printed
estimate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.idx_files import write_idx

pytestmark = [pytest.mark.unit, pytest.mark.torch]


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("t10k", 30)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return folder


def _spice_adc(path, bits=3, chips=3):
    n = 2**bits - 1
    targets = np.linspace(0.72, 1.18, n)
    rng = np.random.default_rng(bits)
    path.write_text(json.dumps({
        "bits": bits, "input_range_V": [0.70, 1.20], "targets_V": targets.tolist(),
        "measured_V": (targets + 0.002).tolist(),
        "mc_measured_V": [(targets + rng.normal(0, 0.01, n)).tolist() for _ in range(chips)],
        "source": "synthetic (tests/unit/test_nn_evaluate_sweep_images.py)"}))
    return path


def _evaluate(fashion, out, capsys=None, **kw):
    import torch

    from memspice.nn.artifacts import load_spice_adc
    from memspice.nn.evaluate import evaluate
    from memspice.nn.spec import CimSpec, EvalSpec, TrainSpec
    from memspice.nn.train import Trained, new_model

    torch.manual_seed(0)
    tspec = TrainSpec(width=0.0625)
    trained = Trained(new_model(tspec).eval(), tspec, {}, out / "weights", cached=True)
    spec = EvalSpec(**{"bits": (3,), "adcs": ("lloyd_max",), "sigmas": (0.05,), "sweep_bits": (3,),
                       "sweep_adcs": ("lloyd_max",), "trials": 2, "diagnostics": False, "batch_size": 10, **kw})
    out.mkdir(parents=True)
    art = load_spice_adc(_spice_adc(out / "adc3.json"))
    return evaluate(trained, CimSpec(calibration_images=32), spec, out_dir=out, data_root=fashion,
                    spice_adcs=[art], show_progress=capsys is not None)


def test_sweep_runs_on_the_first_images_and_the_table_on_all(fashion, tmp_path, capsys):
    res = _evaluate(fashion, tmp_path / "a", capsys, test_images=30, sweep_test_images=10, spice_trials=2)
    err = capsys.readouterr().err
    # 2 sweep trials and 2 of the 3 SPICE chip draws on 10 images
    assert "evaluate: about" in err and "4 of 10" in err and "ms per image" in err
    assert res.timings["estimate_after_first_table_row_s"] > 0 and res.timings["after_first_table_row_s"] > 0
    assert res.provenance["test_images"] == 30 and res.provenance["sweep_test_images"] == 10
    sweep = res.accuracy("lloyd_max", 3, 0.05)
    assert len(sweep) == 2 and all(abs(10 * a - round(10 * a)) < 1e-9 for a in sweep)  # tenths: 10 images
    text = (tmp_path / "a" / "tables.md").read_text()
    assert "(first 10 of the 30 test images)" in text
    # the same draws on the same first 10 images as a run whose whole test set is those 10 images
    small = _evaluate(fashion, tmp_path / "b", test_images=10)
    assert small.accuracy("lloyd_max", 3, 0.05) == sweep
    spice = [r["accuracy"] for r in res.rows if r["adc"] == "spice"]
    assert len(spice) == 2 and [r["accuracy"] for r in small.rows if r["adc"] == "spice"][:2] == spice
    assert "first 10" not in (tmp_path / "b" / "tables.md").read_text()


def test_estimate_adds_inferences_times_images():
    from memspice.nn.evaluate import estimate_s

    assert estimate_s(0.002, (16, 2000), (48, 500)) == pytest.approx(0.002 * (32000 + 24000))


def test_estimate_is_measured_on_the_second_converted_inference(fashion, tmp_path, capsys):
    # the first converted inference also compiles the lookup kernels; with two table rows the
    # estimate is made after the second, and counts only the rows still to come
    res = _evaluate(fashion, tmp_path / "a", capsys, test_images=10, spice_trials=2,
                    adcs=("lloyd_max", "uniform_minmax"))
    err = capsys.readouterr().err
    assert "(measured on the second one)" in err
    rows = [r for r in res.rows if r["adc"] in ("lloyd_max", "uniform_minmax") and r["sigma"] == 0.0]
    assert len(rows) == 2
    # rows left after the second table row: no table row, the SPICE draws and the sweep trials (2 + 2)
    assert "for 4 CIM inferences (0 of 10 images, 4 of 10)" in err
