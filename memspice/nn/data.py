"""Image data sets: Fashion-MNIST from IDX files and CIFAR-10 from its python-pickle batches.

Both loaders are pure numpy and return :class:`ImageSet` (uint8 images, channel-first). Nothing is
downloaded: Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package (or a folder given
by ``--data`` / ``MEMSPICE_FASHION_MNIST``), CIFAR-10 from the standard ``cifar-10-batches-py``
folder given by ``--data`` / ``MEMSPICE_CIFAR10``. A missing or malformed file raises
:class:`~memspice.errors.DataError` naming every place that was searched.
"""

from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from memspice.errors import DataError, SpecError

DATASETS = ("fashion_mnist", "cifar10")
FASHION_MNIST_DEFAULT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_ENV = "MEMSPICE_FASHION_MNIST"
CIFAR10_ENV = "MEMSPICE_CIFAR10"
_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


@dataclass(frozen=True)
class ImageSet:
    """Images ``(N, C, H, W)`` uint8 and labels ``(N,)`` int64 of one split of a data set."""

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    source: Path

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def size(self) -> int:
        return int(self.images.shape[2])

    def head(self, n: int | None) -> ImageSet:
        """The first ``n`` images (all when ``n`` is None or larger than the set)."""
        if n is None or n >= len(self):
            return self
        return ImageSet(self.name, self.split, self.images[:n], self.labels[:n], self.source)


def dataset_info(name: str) -> tuple[int, int, int]:
    """``(channels, image size in pixels, classes)`` of a data set name."""
    if name == "fashion_mnist":
        return 1, 28, 10
    if name == "cifar10":
        return 3, 32, 10
    raise SpecError("dataset", name, "one of " + ", ".join(DATASETS))


def load_dataset(name: str, split: str, root: str | Path | None = None) -> ImageSet:
    """Load ``split`` ('train' or 'test') of ``name`` ('fashion_mnist' or 'cifar10')."""
    if split not in ("train", "test"):
        raise SpecError("split", split, "'train' or 'test'")
    if name == "fashion_mnist":
        return load_fashion_mnist(split, root)
    if name == "cifar10":
        return load_cifar10(split, root)
    raise SpecError("dataset", name, "one of " + ", ".join(DATASETS))


# -- Fashion-MNIST -----------------------------------------------------------------------------


def fashion_mnist_candidates(root: str | Path | None = None) -> list[Path]:
    """Folders searched for Fashion-MNIST, in order."""
    if root is not None:
        return [Path(root)]
    out = []
    if os.environ.get(FASHION_MNIST_ENV):
        out.append(Path(os.environ[FASHION_MNIST_ENV]))
    out.append(FASHION_MNIST_DEFAULT)
    return out


def load_fashion_mnist(split: str, root: str | Path | None = None) -> ImageSet:
    images_name, labels_name = _FASHION_FILES[split]
    searched = []
    for folder in fashion_mnist_candidates(root):
        images_path = _find_idx(folder, images_name)
        labels_path = _find_idx(folder, labels_name)
        searched.append(str(folder))
        if images_path is None or labels_path is None:
            continue
        images = read_idx(images_path)
        labels = read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{images_path} and {labels_path}: expected N images of HxW pixels and N labels; "
                            f"got shapes {images.shape} and {labels.shape}")
        return ImageSet("fashion_mnist", split, np.ascontiguousarray(images[:, None]),
                        labels.astype(np.int64), folder)
    raise DataError(
        f"Fashion-MNIST {split} files ({images_name}[.gz], {labels_name}[.gz]) not found; looked in: "
        f"{', '.join(searched)}. Install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist), "
        f"or pass --data DIR / set {FASHION_MNIST_ENV}")


def _find_idx(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): unsigned-byte data of any rank."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: cannot be read ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count:
        raise DataError(f"{path}: IDX header promises {count} bytes of data for shape {shape}; "
                        f"file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


# -- CIFAR-10 ------------------------------------------------------------------------------------


def cifar10_candidates(root: str | Path | None = None) -> list[Path]:
    """Folders searched for the CIFAR-10 batches, in order (a folder and its cifar-10-batches-py)."""
    bases = []
    if root is not None:
        bases.append(Path(root))
    elif os.environ.get(CIFAR10_ENV):
        bases.append(Path(os.environ[CIFAR10_ENV]))
    out = []
    for base in bases:
        out += [base, base / "cifar-10-batches-py"]
    return out


def load_cifar10(split: str, root: str | Path | None = None) -> ImageSet:
    names = _CIFAR_FILES[split]
    candidates = cifar10_candidates(root)
    if not candidates:
        raise DataError(f"CIFAR-10 cannot be downloaded here: pass --data DIR (the folder holding "
                        f"{', '.join(names)}, e.g. cifar-10-batches-py) or set {CIFAR10_ENV}")
    for folder in candidates:
        if all((folder / n).is_file() for n in names):
            images, labels = [], []
            for n in names:
                x, y = read_cifar_batch(folder / n)
                images.append(x)
                labels.append(y)
            return ImageSet("cifar10", split, np.concatenate(images), np.concatenate(labels), folder)
    missing = [n for n in names if not (candidates[0] / n).is_file()]
    raise DataError(f"CIFAR-10 {split} batches not found (missing e.g. {missing[0]}); looked in: "
                    f"{', '.join(str(c) for c in candidates)}")


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR batch holds: builtins and numpy arrays (no arbitrary code)."""

    _ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset({
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    })

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data batch")


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch: ``(N, 3, 32, 32)`` uint8 images and ``(N,)`` int64 labels."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            batch = _BatchUnpickler(fh, encoding="bytes").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as err:
        raise DataError(f"{path}: not a CIFAR-10 python-pickle batch ({err})") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path}: expected a dict with keys b'data' and b'labels'; got {type(batch).__name__}")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise DataError(f"{path}: expected keys b'data' and b'labels'; found {sorted(map(repr, batch))}")
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8 or len(labels) != len(data):
        raise DataError(f"{path}: b'data' must be N x 3072 uint8 with N labels; got {data.shape} {data.dtype} "
                        f"and {labels.shape[0]} labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: labels must be 0-9; got {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels


def write_cifar_batch(path: str | Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """Write a batch in the standard format (for tests and small fixtures)."""
    images = np.asarray(images, dtype=np.uint8).reshape(len(images), 3072)
    path = Path(path)
    with path.open("wb") as fh:
        pickle.dump({b"batch_label": b"memspice", b"data": images, b"labels": [int(v) for v in labels]}, fh)
    return path
