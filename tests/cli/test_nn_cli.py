"""End to end: ``memspice train`` and ``memspice evaluate`` on a tiny generated data set."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.idx_files import write_fashion_standin

pytestmark = [pytest.mark.torch]


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    """A learnable stand-in for Fashion-MNIST: class k is a bright square at position k."""
    folder = tmp_path_factory.mktemp("fashion")
    write_fashion_standin(folder, 96, 40, seed=0)
    return folder


def run_cli(argv, capsys):
    from memspice.cli import main, nn

    if not any(c.name == "evaluate" for c in main.app.registered_commands):
        nn.register(main.app, main.characterize_app)
    with pytest.raises(SystemExit) as exc:
        main.run(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def _spice_adc(path, bits):
    n = 2**bits - 1
    targets = np.linspace(0.72, 1.18, n)
    rng = np.random.default_rng(bits)
    path.write_text(json.dumps({
        "bits": bits, "input_range_V": [0.70, 1.20], "targets_V": targets.tolist(),
        "measured_V": (targets + 0.002).tolist(),
        "mc_measured_V": [(targets + rng.normal(0, 0.004, n)).tolist() for _ in range(3)],
        "source": "synthetic (tests/cli/test_nn_cli.py)"}))
    return path


def test_train_then_evaluate_end_to_end(fashion, tmp_path, capsys):
    common = ["--data", str(fashion), "--width", "0.0625", "--epochs", "2", "--batch-size", "32",
              "--cache-dir", str(tmp_path / "cache")]
    code, out, err = run_cli(["train", *common], capsys)
    assert code == 0, err
    assert "float test accuracy" in out and "seed 0" in out
    code, out, _ = run_cli(["train", *common], capsys)
    assert code == 0 and "loaded from cache" in out
    meta = json.loads(next((tmp_path / "cache").glob("vgg8-fashion_mnist-*/meta.json")).read_text())
    assert meta["seed"] == 0 and meta["spec"]["width"] == 0.0625
    assert meta["torch_threads"] == 2  # training runs with TrainSpec.threads whatever the process has (docs/nn.md)

    out_dir = tmp_path / "eval"
    argv = ["evaluate", *common, "--out", str(out_dir), "--bits", "3,4", "--test-images", "40",
            "--sigmas", "0.02", "--sweep-bits", "4", "--trials", "2", "--calibration-images", "32",
            "--eval-batch", "20", "--spice-adc", str(_spice_adc(tmp_path / "adc4.json", 4))]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    with (out_dir / "accuracy.csv").open() as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["network", "dataset", "adc", "bits", "sigma", "trial", "accuracy"]
        rows = list(reader)
    kinds = {(r["adc"], r["bits"]) for r in rows}
    for adc in ("uniform_minmax", "uniform_clipped", "lloyd_max", "variation_aware"):
        assert {(adc, "3"), (adc, "4")} <= kinds
    assert ("float", "0") in kinds and ("ideal", "0") in kinds
    assert sum(r["adc"] == "spice" for r in rows) == 3  # one trial per Monte Carlo sample
    assert sum(r["adc"] == "super_resolution" and r["sigma"] == "0.02" for r in rows) == 2
    assert all(0 <= float(r["accuracy"]) <= 1 for r in rows)
    assert {r["network"] for r in rows} == {"vgg8_w0.0625"} and {r["dataset"] for r in rows} == {"fashion_mnist"}
    for name in ("tables.md", "layers.csv", "provenance.json", "accuracy_vs_bits.png", "variation_sweep.png"):
        assert (out_dir / name).stat().st_size > 0
    assert (out_dir / "accuracy_vs_bits.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    prov = json.loads((out_dir / "provenance.json").read_text())
    assert prov["test_images"] == 40 and prov["spice_adcs"][0]["mc_samples"] == 3
    assert "| ADC bits |" in out

    # a second run gives the same numbers for the rows it shares (seeded calibration, fits and draws)
    again = tmp_path / "again"
    argv2 = [*argv, "--adcs", "lloyd_max", "--sweep-adcs", "lloyd_max,super_resolution"]
    argv2[argv2.index("--out") + 1] = str(again)
    code, _, err = run_cli(argv2, capsys)
    assert code == 0, err
    with (again / "accuracy.csv").open() as fh:
        rows2 = list(csv.DictReader(fh))
    assert rows2 and all(r in rows for r in rows2)


def test_evaluate_errors_are_one_line_with_exit_code_2(fashion, tmp_path, capsys):
    code, _, err = run_cli(["evaluate", "--data", str(fashion), "--cache-dir", str(tmp_path / "none"),
                            "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "run memspice train first" in err and "Traceback" not in err
    adc4 = str(_spice_adc(tmp_path / "a.json", 4))
    code, _, err = run_cli(["evaluate", "--data", str(fashion), "--bits", "3,5", "--spice-adc", adc4,
                            "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "4-bit ADC but --bits is 3,5" in err
    col = tmp_path / "col.json"
    col.write_text('{"rows": 128, "coefficients": [0.0, 1.0], "noise_sigma": 0.0}')
    code, _, err = run_cli(["evaluate", "--data", str(fashion), "--preset", "paper", "--column-model", str(col),
                            "--out", str(tmp_path / "o2"),
                            "--cache-dir", str(tmp_path / "none")], capsys)
    assert code == 2 and "whole-layer" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o2").exists()  # nothing written
    nodal = {"kind": "nodal", "rows": 64, "g_min_S": 1e-6, "g_max_S": 4e-5, "r_row_ohm": 1.0, "r_col_ohm": 1.0}
    col.write_text(json.dumps({**nodal, "g_max_S": 1e-7}))
    code, _, err = run_cli(["evaluate", "--data", str(fashion), "--column-model", str(col),
                            "--out", str(tmp_path / "o4"),
                            "--cache-dir", str(tmp_path / "none")], capsys)
    assert code == 2 and "g_max_S must be above g_min_S" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o4").exists()
    col.write_text(json.dumps(nodal))  # a nodal column is read; its rows must match the sub-arrays'
    code, _, err = run_cli(["evaluate", "--data", str(fashion), "--column-model", str(col),
                            "--out", str(tmp_path / "o5"),
                            "--cache-dir", str(tmp_path / "none")], capsys)
    assert code == 2 and "64 rows" in err and "(--rows)" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o5").exists()  # refused before any weights are looked for or anything written
    code, _, err = run_cli(["evaluate", "--data", str(fashion), "--preset", "neurosim", "--out", str(tmp_path / "o3")],
                           capsys)
    assert code == 2 and "preset" in err and "Traceback" not in err
    code, _, err = run_cli(["train", "--data", str(tmp_path / "missing"), "--cache-dir", str(tmp_path / "c")], capsys)
    assert code == 2 and str(tmp_path / "missing") in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["train", "--dataset", "cifar10", "--data", str(tmp_path),
                            "--cache-dir", str(tmp_path / "c")], capsys)
    assert code == 2 and "data_batch_1" in err
    code, _, err = run_cli(["train", "--data", str(fashion), "--width", "-1"], capsys)
    assert code == 2 and "width" in err


def test_quantization_aware_train_then_evaluate(fashion, tmp_path, capsys):
    common = ["--data", str(fashion), "--width", "0.0625", "--epochs", "2", "--batch-size", "32",
              "--cache-dir", str(tmp_path / "cache")]
    code, out, err = run_cli(["train", *common, "--qat", "8"], capsys)
    assert code == 0, err
    assert "float test accuracy" in out and "quantized (8-bit weights and activations) test accuracy" in out
    [entry] = (tmp_path / "cache").glob("vgg8-fashion_mnist-*")
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["spec"]["qat_bits"] == 8 and 0 <= meta["qat_test_accuracy"] <= 1
    code, _, err = run_cli(["train", *common], capsys)  # the float run of the same options is another entry
    assert code == 0, err
    assert len(list((tmp_path / "cache").glob("vgg8-fashion_mnist-*"))) == 2
    out_dir = tmp_path / "eval"
    code, out, err = run_cli(["evaluate", *common, "--qat", "8", "--out", str(out_dir), "--bits", "4",
                              "--adcs", "lloyd_max", "--sigmas", "", "--no-diagnostics", "--test-images", "40",
                              "--calibration-images", "32"], capsys)
    assert code == 0, err
    assert json.loads((out_dir / "provenance.json").read_text())["train_spec"]["qat_bits"] == 8


def test_paper_preset_trains_and_uses_the_quantization_aware_network_and_float_is_selectable(fashion, tmp_path,
                                                                                             capsys):
    cache = tmp_path / "cache"
    common = ["--data", str(fashion), "--width", "0.0625", "--epochs", "2", "--batch-size", "32",
              "--cache-dir", str(cache), "--preset", "paper", "--test-images", "40", "--calibration-images", "32"]
    out_q = tmp_path / "paper"
    code, out, err = run_cli(["evaluate", *common, "--out", str(out_q)], capsys)
    assert code == 0, err  # not cached: trained first
    [entry] = cache.glob("vgg8-fashion_mnist-*")
    assert json.loads((entry / "meta.json").read_text())["spec"]["qat_bits"] == 8
    assert json.loads((out_q / "provenance.json").read_text())["train_spec"]["qat_bits"] == 8
    with (out_q / "accuracy.csv").open() as fh:
        assert {r["network"] for r in csv.DictReader(fh)} == {"vgg8_w0.0625_qat8"}
    assert "trained quantization-aware with 8-bit weights and activations" in out
    assert "different experiment" not in out and "| 4 |" in out

    out_f = tmp_path / "paper_float"
    code, out, err = run_cli(["evaluate", *common, "--qat", "0", "--out", str(out_f)], capsys)
    assert code == 0, err
    assert len(list(cache.glob("vgg8-fashion_mnist-*"))) == 2  # the float network is another cache entry
    assert json.loads((out_f / "provenance.json").read_text())["train_spec"]["qat_bits"] == 0
    with (out_f / "accuracy.csv").open() as fh:
        assert {r["network"] for r in csv.DictReader(fh)} == {"vgg8_w0.0625"}
    assert "trained in float" in out and "a different experiment" in out


@pytest.mark.parametrize(("args", "needle"), [(["--qat", "1"], "2 to 16 bits"),
                                              (["--qat", "8", "--network", "resnet18"], "vgg8")])
def test_bad_qat_is_one_line_and_trains_nothing(fashion, tmp_path, capsys, args, needle):
    code, _, err = run_cli(["train", "--data", str(fashion), "--cache-dir", str(tmp_path / "c"), *args], capsys)
    assert code == 2 and "qat_bits" in err and needle in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and not (tmp_path / "c").exists()
