"""Data loaders on generated files: CIFAR-10 python-pickle batches and Fashion-MNIST IDX files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from memspice.errors import DataError
from memspice.nn import data
from tests.idx_files import write_idx

pytestmark = pytest.mark.unit


def make_fashion(folder, n_train: int = 20, n_test: int = 10, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))


def make_cifar(folder, per_batch: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, per_batch)
        data.write_cifar_batch(folder / name, x, y)
        images.append(x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels)


def test_cifar10_loader_reads_standard_batches(tmp_path):
    images, labels = make_cifar(tmp_path / "cifar-10-batches-py")
    train = data.load_dataset("cifar10", "train", tmp_path)  # the parent folder is accepted too
    test = data.load_dataset("cifar10", "test", tmp_path / "cifar-10-batches-py")
    assert train.images.shape == (30, 3, 32, 32) and train.images.dtype == np.uint8
    np.testing.assert_array_equal(train.images, images[:30])
    np.testing.assert_array_equal(test.labels, labels[30:])
    # channel-major RGB: the first 1024 bytes of a row are the red plane
    row = images[0].reshape(3072)
    np.testing.assert_array_equal(train.images[0, 0].ravel(), row[:1024])


def test_cifar10_batch_written_like_the_original_python_pickles(tmp_path):
    # the original files are dicts with bytes keys and a list of labels, pickled by python 2 numpy
    x = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    with (tmp_path / "b").open("wb") as fh:
        pickle.dump({b"batch_label": b"x", b"data": x, b"labels": [3, 7], b"filenames": [b"a.png", b"b.png"]}, fh,
                    protocol=2)
    images, labels = data.read_cifar_batch(tmp_path / "b")
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [3, 7]


def test_cifar10_missing_names_where_it_looked(tmp_path):
    with pytest.raises(DataError, match="data_batch_1.*looked in.*" + str(tmp_path)):
        data.load_dataset("cifar10", "train", tmp_path)


def test_cifar10_without_a_path_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv(data.CIFAR10_ENV, raising=False)
    with pytest.raises(DataError, match="--data"):
        data.load_dataset("cifar10", "test")


def test_cifar10_malformed_and_unsafe_batches_are_data_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="bad"):
        data.read_cifar_batch(tmp_path / "bad")
    with (tmp_path / "shape").open("wb") as fh:
        pickle.dump({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}, fh)
    with pytest.raises(DataError, match="3072"):
        data.read_cifar_batch(tmp_path / "shape")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with (tmp_path / "evil").open("wb") as fh:
        pickle.dump({b"data": Evil(), b"labels": []}, fh)
    with pytest.raises(DataError, match="refusing"):
        data.read_cifar_batch(tmp_path / "evil")


def test_fashion_mnist_from_a_folder_of_idx_files(tmp_path):
    make_fashion(tmp_path)
    train = data.load_dataset("fashion_mnist", "train", tmp_path)
    assert train.images.shape == (20, 1, 28, 28) and train.labels.shape == (20,)
    assert train.images.flags.writeable
    assert len(train.head(5)) == 5


def test_fashion_mnist_uncompressed_idx_and_bad_magic(tmp_path):
    arr = np.arange(12).reshape(3, 4)
    write_idx(tmp_path / "a", arr, compress=False)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a"), arr)
    (tmp_path / "b").write_bytes(b"\x00\x00\x09\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match="magic"):
        data.read_idx(tmp_path / "b")
    (tmp_path / "c").write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"\x00" * 3)
    with pytest.raises(DataError, match="promises 10 bytes"):
        data.read_idx(tmp_path / "c")


def test_fashion_mnist_missing_names_every_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(tmp_path / "env"))
    monkeypatch.setattr(data, "FASHION_MNIST_DEFAULT", tmp_path / "debian")
    with pytest.raises(DataError) as err:
        data.load_dataset("fashion_mnist", "test")
    assert str(tmp_path / "env") in str(err.value) and str(tmp_path / "debian") in str(err.value)
    assert "dataset-fashion-mnist" in str(err.value)


def test_real_fashion_mnist_when_installed():
    if not (data.FASHION_MNIST_DEFAULT / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    test = data.load_dataset("fashion_mnist", "test")
    assert test.images.shape == (10_000, 1, 28, 28)
    assert np.bincount(test.labels).tolist() == [1000] * 10
