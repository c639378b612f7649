"""Tests for the image loaders in deepmix_core.data.images (offline: the network is blocked in this module)."""

import gzip
import socket
import sys
import types

import numpy as np
import pytest
import torch

from deepmix_core.data import (
    load_digits_images,
    load_shared_mnist,
    load_torchvision,
    read_idx,
    resize_images,
    to_unit_range,
)
from deepmix_core.data.images import _default_shared_mnist_root

IDX_TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a test in test_image_data.py tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def write_idx(path, array: np.ndarray, compress: bool) -> None:
    """IDX writer for the tests: 0, 0, type code, n_dims, big-endian int32 sizes, big-endian values."""
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    header = bytes([0, 0, IDX_TYPE_CODES[big_endian.dtype], array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    payload = header + big_endian.tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


# ------------------------------------------------------------------------------------------------ read_idx
@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.array([7, 2, 1, 0, 9], dtype=np.uint8),
        np.array([[-5, 70000], [3, 0]], dtype=">i4"),
        np.array([0.5, -1.25, 3e6], dtype=">f4"),
    ],
)
def test_read_idx_round_trip(tmp_path, array, compress):
    path = tmp_path / ("tiny.idx.gz" if compress else "tiny.idx")
    write_idx(path, array, compress)
    read = read_idx(path)
    assert read.shape == array.shape
    assert read.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(read, array)
    torch.from_numpy(read)  # native byte order and writable: torch accepts it


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    path = tmp_path / "misnamed.idx"  # gzip data without .gz
    write_idx(path, np.array([1, 2, 3], dtype=np.uint8), compress=True)
    np.testing.assert_array_equal(read_idx(path), [1, 2, 3])


def test_read_idx_rejects_bad_files(tmp_path):
    not_idx = tmp_path / "not_idx"
    not_idx.write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(not_idx)
    truncated = tmp_path / "truncated"
    write_idx(truncated, np.zeros((4, 2), dtype=np.uint8), compress=False)
    truncated.write_bytes(truncated.read_bytes()[:-3])
    with pytest.raises(ValueError, match="header says shape"):
        read_idx(truncated)


# ------------------------------------------------------------------------------------------- shared MNIST
def _shared_mnist_or_skip(split):
    try:
        return load_shared_mnist(split)
    except FileNotFoundError:
        where = _default_shared_mnist_root()
        pytest.skip(f"no offline MNIST files in {where} ($DEEPMIX_DATA/mnist; a fresh clone has none)")


@pytest.fixture(scope="module")
def mnist_test():
    return _shared_mnist_or_skip("test")


@pytest.fixture(scope="module")
def mnist_train5k():
    return _shared_mnist_or_skip("train5k")


def test_shared_mnist_test_split(mnist_test):
    images, labels = mnist_test
    assert images.shape == (10000, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (10000,) and labels.dtype == torch.int64
    assert images.min() == 0 and images.max() == 255
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # MNIST's published test order
    assert torch.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_shared_mnist_train5k_is_balanced_and_sorted(mnist_train5k):
    images, labels = mnist_train5k
    assert images.shape == (5000, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64
    assert torch.bincount(labels).tolist() == [500] * 10
    assert torch.equal(labels, torch.arange(10).repeat_interleave(500))  # why its .gz is only 86 bytes


def test_shared_mnist_train5k_has_no_test_image(mnist_test, mnist_train5k):
    test_rows = {row.tobytes() for row in mnist_test[0].flatten(1).numpy()}
    train_rows = [row.tobytes() for row in mnist_train5k[0].flatten(1).numpy()]
    assert len(set(train_rows)) == 5000
    assert not test_rows.intersection(train_rows)


def test_shared_mnist_clear_error_when_absent(tmp_path):
    with pytest.raises(FileNotFoundError, match="DEEPMIX_DATA"):
        load_shared_mnist("test", root=tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_shared_mnist("train", root=tmp_path)


def test_shared_mnist_root_from_environment(tmp_path, monkeypatch):
    images = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    (tmp_path / "mnist").mkdir()
    write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", images, compress=True)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.array([3, 1, 4], dtype=np.uint8), compress=True)
    monkeypatch.setenv("DEEPMIX_DATA", str(tmp_path))
    loaded, labels = load_shared_mnist("test")
    assert loaded.shape == (3, 1, 28, 28)
    np.testing.assert_array_equal(loaded[:, 0].numpy(), images)
    assert labels.tolist() == [3, 1, 4]


def test_shared_mnist_rejects_mismatched_label_count(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28), dtype=np.uint8), compress=True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([3, 1], dtype=np.uint8), compress=True)
    with pytest.raises(ValueError, match="labels"):
        load_shared_mnist("test", root=tmp_path)


# ------------------------------------------------------------------------------------------------- digits
def test_digits_images():
    images, labels = load_digits_images()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert torch.equal(images * 16, (images * 16).round())  # levels / 16
    assert labels.shape == (1797,) and labels.dtype == torch.int64
    assert labels.min() == 0 and labels.max() == 9
    levels, same_labels = load_digits_images(as_levels=True)
    assert levels.dtype == torch.uint8 and int(levels.max()) == 16
    assert torch.equal(levels.float() / 16, images) and torch.equal(same_labels, labels)


# -------------------------------------------------------------------------------------------- torchvision
def test_torchvision_missing_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # makes `import torchvision` raise ImportError
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(ImportError, match="pip install torchvision"):
        load_torchvision("MNIST")


def fake_torchvision(monkeypatch, present: bool):
    """A stand-in torchvision whose datasets behave like the real ones offline; records the calls."""
    calls = []

    class FakeMNIST:
        def __init__(self, root, train=True, download=False):
            calls.append({"root": root, "train": train, "download": download})
            if not present:
                raise RuntimeError("Dataset not found. You can use download=True to download it")
            self.data = torch.full((5, 28, 28), 7, dtype=torch.uint8)
            self.targets = torch.tensor([0, 1, 2, 3, 4])

    class FakeSVHN:
        def __init__(self, root, split="train", download=False):
            calls.append({"root": root, "split": split, "download": download})
            if not present:
                raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
            self.data = np.zeros((4, 3, 32, 32), dtype=np.uint8)
            self.labels = np.array([1, 0, 9, 5])

    datasets = types.SimpleNamespace(MNIST=FakeMNIST, FashionMNIST=FakeMNIST, SVHN=FakeSVHN)
    module = types.ModuleType("torchvision")
    module.datasets = datasets
    monkeypatch.setitem(sys.modules, "torchvision", module)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    return calls


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST", "SVHN"])
def test_torchvision_absent_files_without_download(monkeypatch, tmp_path, name):
    calls = fake_torchvision(monkeypatch, present=False)
    monkeypatch.setenv("DEEPMIX_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="download=True") as error:
        load_torchvision(name, "test")
    assert str(tmp_path) in str(error.value) and "DEEPMIX_DATA" in str(error.value)
    assert calls[0]["download"] is False and calls[0]["root"] == str(tmp_path)


def test_torchvision_shapes_and_split(monkeypatch, tmp_path):
    calls = fake_torchvision(monkeypatch, present=True)
    images, labels = load_torchvision("FashionMNIST", "test", root=tmp_path)
    assert images.shape == (5, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.tolist() == [0, 1, 2, 3, 4] and labels.dtype == torch.int64
    images, labels = load_torchvision("SVHN", "train", root=tmp_path)
    assert images.shape == (4, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.tolist() == [1, 0, 9, 5] and labels.dtype == torch.int64
    assert calls[0]["train"] is False and calls[1]["split"] == "train"
    assert all(call["download"] is False for call in calls)


def test_torchvision_default_root(monkeypatch, tmp_path):
    calls = fake_torchvision(monkeypatch, present=True)
    monkeypatch.delenv("DEEPMIX_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    load_torchvision("MNIST")
    assert calls[0]["root"] == str(tmp_path / ".cache" / "deepmix") and calls[0]["train"] is True


def test_torchvision_rejects_unknown_names():
    with pytest.raises(ValueError, match="name"):
        load_torchvision("CIFAR10")
    with pytest.raises(ValueError, match="split"):
        load_torchvision("MNIST", "validation")


def test_real_torchvision_offline_error(tmp_path):
    pytest.importorskip("torchvision")
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_torchvision("MNIST", "test", root=tmp_path)


# ------------------------------------------------------------------------------------------ resize, range
def test_resize_uint8_keeps_dtype_and_range():
    images = torch.randint(0, 256, (3, 1, 28, 28), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    small = resize_images(images, 14)
    assert small.shape == (3, 1, 14, 14) and small.dtype == torch.uint8
    assert resize_images(images, (32, 20)).shape == (3, 1, 32, 20)
    constant = torch.full((1, 1, 28, 28), 200, dtype=torch.uint8)
    assert torch.equal(resize_images(constant, 8), torch.full((1, 1, 8, 8), 200, dtype=torch.uint8))
    # antialiasing averages: shrinking a 1-pixel checkerboard gives mid-grey, not a copy of every other pixel
    checkerboard = ((torch.arange(28)[:, None] + torch.arange(28)) % 2 * 255).to(torch.uint8)[None, None]
    assert resize_images(checkerboard, 7).float().sub(127.5).abs().max() <= 8


def test_resize_float_stays_in_input_range():
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1)) - 0.5
    resized = resize_images(images, 7)
    assert resized.shape == (2, 3, 7, 7) and resized.dtype == torch.float32
    assert resized.min() >= images.min() - 1e-6 and resized.max() <= images.max() + 1e-6
    assert torch.allclose(resized.mean(), images.mean(), atol=0.02)
    with pytest.raises(ValueError, match="N, C, H, W"):
        resize_images(images[0], 7)


def test_to_unit_range():
    values = torch.tensor([0, 51, 255], dtype=torch.uint8)
    assert torch.allclose(to_unit_range(values), torch.tensor([0.0, 0.2, 1.0]))
    assert to_unit_range(torch.tensor([0.25])).dtype == torch.float32
    assert torch.allclose(to_unit_range(torch.tensor([0, 8, 16]), max_value=16), torch.tensor([0.0, 0.5, 1.0]))
