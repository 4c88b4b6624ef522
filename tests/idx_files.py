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
