"""Test helper: write small IDX files (the Fashion-MNIST format) for the nn tests."""

from __future__ import annotations

import gzip

import numpy as np


def write_idx(path, array, compress: bool = True) -> None:
    """Write ``array`` as unsigned-byte IDX at ``path``, gzipped unless ``compress`` is false."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def write_fashion_standin(folder, n_train: int, n_test: int, seed: int) -> None:
    """A learnable stand-in for Fashion-MNIST in ``folder``: noise, class k a bright 6x6 square at grid
    position k (3 x 3 positions, class 9 at the first again), ``n_train`` / ``n_test`` images."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 40, (n, 28, 28))
        for i, k in enumerate(labels):
            r, c = 2 + 8 * (k // 3), 2 + 8 * (k % 3)
            images[i, r:r + 6, c:c + 6] = 250
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
