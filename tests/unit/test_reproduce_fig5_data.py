"""Fig. 5 of ``memspice reproduce`` on CIFAR-10 batches given by ``--data`` (small files the test writes)."""

import json

import numpy as np

from memspice.nn import data
from memspice.reproduce.accuracy import CACHE, run_fig5, train_cache
from memspice.reproduce.cell import Context
from memspice.reproduce.run import _config


def write_cifar(folder, per_batch: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data.write_cifar_batch(folder / name, rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8),
                               rng.integers(0, 10, per_batch))


def test_fig5_runs_on_cifar10_batches_and_says_imagenet_is_not_offline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the training cache is relative (runs/cache/train)
    cifar = tmp_path / "cifar-10-batches-py"
    write_cifar(cifar, per_batch=24)
    out = tmp_path / "fig5"
    out.mkdir()
    o = run_fig5(Context(quick=True, data=cifar), out)
    float_row = o.deltas[0]
    assert float_row.quantity == "float (no ADC)" and "CIFAR-10 (--data)" in float_row.basis
    # the paper's kind of network by default: trained with 8-bit weights and activations
    assert "8-bit weights and activations" in float_row.basis
    [entry] = (tmp_path / train_cache(cifar)).glob("vgg8-cifar10-*")
    assert json.loads((entry / "meta.json").read_text())["spec"]["qat_bits"] == 8
    assert float_row.paper == 90.24  # the paper's float VGG8 on CIFAR-10 (fig5c)
    # 24 random test images: every accuracy is a multiple of 1/24 (the data given was used, not Fashion-MNIST)
    for d in o.deltas[1:7]:
        assert abs(d.memspice * 24 / 100 - round(d.memspice * 24 / 100)) < 1e-9, d
    assert any("ImageNet" in n and "offline" in n for n in o.notes)
    assert (out / "fig5_overlay.png").stat().st_size > 0
    # the weights of these files are cached apart from `memspice train`'s (a different CIFAR-10 folder
    # with the same training spec must not load them)
    tagged = train_cache(cifar)
    assert tagged.parent == CACHE and any((tmp_path / tagged).iterdir())
    write_cifar(tmp_path / "other", per_batch=25)
    assert train_cache(tmp_path / "other") != tagged


def test_fig5_network_float_is_another_experiment_with_its_own_stage_key_and_weights():
    from memspice.reproduce.accuracy import fig5_train_spec

    qat, what_q = fig5_train_spec(Context())
    flt, what_f = fig5_train_spec(Context(fig5_network="float"))
    assert qat.qat_bits == 8 and flt.qat_bits == 0 and qat.spec_hash() != flt.spec_hash()
    assert "8-bit weights and activations" in what_q and "a different experiment" in what_f
    assert _config(Context(), "5") != _config(Context(fig5_network="float"), "5")


def test_fig5_cause_sentence_is_attributed_to_its_own_measurement():
    # the cause docs/nn.md measured (evaluate's seed 0, 2000 images, Fashion-MNIST) is not this run's gap,
    # and says nothing about a network given by --data
    from pathlib import Path

    from memspice.reproduce.accuracy import _cause

    qat = _cause(Context())
    assert "eval seed 0, 2000 test images, a gap of 8.35 points there" in qat and "this network" not in qat
    assert "--qat 0" in _cause(Context(fig5_network="float"))
    given = _cause(Context(data=Path("cifar-10-batches-py")))
    assert "not on this CIFAR-10 one" in given and "8.35" not in given
