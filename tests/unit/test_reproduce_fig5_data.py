"""Fig. 5 of ``memspice reproduce`` on CIFAR-10 batches given by ``--data`` (small files the test writes)."""

import numpy as np

from memspice.nn import data
from memspice.reproduce.accuracy import CACHE, run_fig5, train_cache
from memspice.reproduce.cell import Context


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
