"""Image data sets: the offline MNIST files, scikit-learn's 8×8 digits, and torchvision's loaders.

Three sources, from most to least available:

* :func:`load_digits_images` — scikit-learn's bundled 8×8 digits (1,797 images); always offline.
* :func:`load_shared_mnist` — MNIST IDX files in the folder ``$DEEPMIX_DATA/mnist``: the full test set
  ``t10k`` and a leak-free 5,000-image training subset ``train5k`` (the test set-up of this repository
  points ``$DEEPMIX_DATA`` at its offline data when they are there). Without them, use
  :func:`load_torchvision`.
* :func:`load_torchvision` — MNIST, FashionMNIST and SVHN through torchvision (installed with deepmix), under
  one cached root. It only downloads when asked to (``download=True``).

Images come back as ``uint8`` tensors of shape (N, C, H, W) with int64 labels (the digits as floats in
[0, 1]); :func:`to_unit_range` and :func:`resize_images` convert them. For a flow, dequantise the integer
pixels with :func:`deepmix_core.flows.data_scaling.dequantize` instead.

What we found in the offline MNIST files
----------------------------------------
* ``t10k-*``: the published MNIST test set (10,000 images; the md5 sums match the README's), labels in
  MNIST's original order.
* ``train5k-*``: 5,000 training images, exactly 500 per class, **sorted by label** (500 zeros, then 500
  ones, …). That is why ``train5k-labels-idx1-ubyte.gz`` is only 86 bytes: ten runs of one byte compress
  to almost nothing. Shuffle (or stratify) before taking a subset or minibatches — ``images[:1000]`` holds
  only zeros and ones.
* The labels match the images: a nearest-class-mean classifier built on t10k labels 80% of train5k
  correctly, and 1-nearest-neighbour from train5k labels 93.5% of t10k.
* No train5k image is identical to a t10k image (nor to another train5k image); the closest train5k/t10k
  pair is at Euclidean distance 294 (pixel values 0–255), so the pair is leak-free as the README says.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "load_digits_images",
    "load_mnist_split",
    "load_shared_mnist",
    "load_torchvision",
    "read_idx",
    "resize_images",
    "to_unit_range",
]

# IDX type codes (third byte of the magic number) → big-endian numpy dtypes (LeCun's format description).
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

_SHARED_MNIST_FILES = {
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    "train5k": ("train5k-images-idx3-ubyte.gz", "train5k-labels-idx1-ubyte.gz"),
}

_TORCHVISION_SETS = ("MNIST", "FashionMNIST", "SVHN")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or plain, into a numpy array.

    The header is two zero bytes, a type code (0x08 = uint8, …), the number of dimensions n, then n
    big-endian int32 sizes; the values follow in row-major order. Compression is detected from the
    gzip magic bytes, not from the file name.

    We read the files ourselves because torchvision's MNIST reader needs torchvision's directory layout
    (``root/MNIST/raw/...``, uncompressed names), which the offline files do not follow.

    Returns
    -------
    numpy array with the file's shape and dtype (uint8 for MNIST), in native byte order.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:  # BadGzipFile is an OSError; a cut-off stream an EOFError
            raise ValueError(f"{path} is a damaged or truncated gzip file ({error}); download it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (magic bytes {raw[:4].hex()})")
    dtype, n_dims = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * n_dims
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: its header announces {n_dims} sizes but the file ends first")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">i4", count=n_dims, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: the header says shape {shape} ({expected} bytes of values) but the file holds "
            f"{len(raw) - header} bytes; it is truncated or damaged"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header)
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def _default_shared_mnist_root() -> Path:
    """``$DEEPMIX_DATA/mnist`` (``~/.cache/deepmix/mnist`` when the variable is not set)."""
    return _default_data_root() / "mnist"


def load_shared_mnist(split: str = "test", root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The offline MNIST files: the test set (``"test"``, 10,000) or the 5k training subset (``"train5k"``).

    Parameters
    ----------
    split : "test" or "train5k"
        ``train5k`` is sorted by label (500 per class): shuffle it before taking subsets or minibatches.
    root : folder with the four ``*-idx?-ubyte.gz`` files; default ``$DEEPMIX_DATA/mnist``.

    Returns
    -------
    images : uint8 tensor (N, 1, 28, 28), values 0–255
    labels : int64 tensor (N,), values 0–9

    Raises
    ------
    FileNotFoundError when the files are not there.
    """
    if split not in _SHARED_MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(_SHARED_MNIST_FILES)}, got {split!r}")
    folder = Path(root).expanduser() if root is not None else _default_shared_mnist_root()
    paths = [folder / name for name in _SHARED_MNIST_FILES[split]]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"MNIST split {split!r} not found: {', '.join(missing)} missing in {folder}. Put the IDX files in "
            "$DEEPMIX_DATA/mnist (or pass root=), or use load_torchvision('MNIST', download=True)."
        )
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"{paths[0]}: expected uint8 images (N, 28, 28), got {images.dtype} {images.shape}")
    if labels.shape != (len(images),) or labels.max(initial=0) > 9:
        raise ValueError(f"{paths[1]}: expected {len(images)} labels in 0–9, got shape {labels.shape}")
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def load_digits_images(as_levels: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8×8 handwritten digits (1,797 images, offline) as image tensors.

    Parameters
    ----------
    as_levels : if True, return the raw pixel levels 0–16 as uint8 (what ``dequantize(..., levels=17)``
        expects) instead of floats in [0, 1].

    Returns
    -------
    images : float32 tensor (1797, 1, 8, 8) = levels / 16 in [0, 1] (uint8 levels 0–16 if ``as_levels``)
    labels : int64 tensor (1797,), values 0–9
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    levels = torch.from_numpy(digits.images.astype(np.uint8)).unsqueeze(1)
    images = levels if as_levels else levels.to(torch.float32) / 16.0
    return images, torch.from_numpy(digits.target.astype(np.int64))


def _default_data_root() -> Path:
    """``$DEEPMIX_DATA`` if set, else ``~/.cache/deepmix``."""
    return Path(os.environ.get("DEEPMIX_DATA") or Path.home() / ".cache" / "deepmix").expanduser()


def load_torchvision(
    name: str = "MNIST",
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST, FashionMNIST or SVHN through torchvision, cached under one root; never downloads implicitly.

    Parameters
    ----------
    name : "MNIST", "FashionMNIST" or "SVHN"
    split : "train" or "test"
    root : cache folder; default ``$DEEPMIX_DATA`` or ``~/.cache/deepmix``
    download : fetch the files if they are missing (needs the network). Off by default.

    Returns
    -------
    images : uint8 tensor (N, C, H, W) — (N, 1, 28, 28) for MNIST/FashionMNIST, (N, 3, 32, 32) for SVHN
    labels : int64 tensor (N,), values 0–9

    Raises
    ------
    ImportError if torchvision is not installed; FileNotFoundError if the files are absent and
    ``download`` is False.
    """
    if name not in _TORCHVISION_SETS:
        raise ValueError(f"name must be one of {_TORCHVISION_SETS}, got {name!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    try:
        import torchvision.datasets
    except ImportError as err:
        raise ImportError(
            "load_torchvision needs torchvision (a deepmix dependency that is missing here): pip install torchvision"
        ) from err
    folder = Path(root).expanduser() if root is not None else _default_data_root()
    dataset_class = getattr(torchvision.datasets, name)
    split_kwargs = {"split": split} if name == "SVHN" else {"train": split == "train"}
    try:
        dataset = dataset_class(root=str(folder), download=download, **split_kwargs)
    except RuntimeError as err:
        if download or "not found" not in str(err).lower():
            raise
        raise FileNotFoundError(
            f"{name} ({split}) is not in {folder} and download=False. Download it once with "
            f"load_torchvision({name!r}, {split!r}, download=True) (needs the network), or set $DEEPMIX_DATA "
            "(or root=) to a folder that already holds it."
        ) from err
    if name == "SVHN":  # numpy (N, 3, 32, 32) and labels 0–9 (torchvision maps SVHN's '10' to 0)
        images, labels = torch.as_tensor(np.asarray(dataset.data)), torch.as_tensor(np.asarray(dataset.labels))
    else:  # tensors (N, 28, 28) and (N,)
        images, labels = torch.as_tensor(dataset.data).unsqueeze(1), torch.as_tensor(dataset.targets)
    return images.to(torch.uint8).contiguous(), labels.to(torch.int64)


def to_unit_range(images, max_value: float | None = None) -> torch.Tensor:
    """Pixel values as float32 in [0, 1]: ``images / max_value``.

    ``max_value`` defaults to 255 for uint8 images and to 1 for float images (which are then only cast).
    """
    values = torch.as_tensor(images)
    if max_value is None:
        max_value = 255.0 if values.dtype == torch.uint8 else 1.0
    return values.to(torch.float32) / float(max_value)


def resize_images(images, size: int | tuple[int, int]) -> torch.Tensor:
    """Resize (N, C, H, W) images to ``size`` (an int for square) with antialiased bilinear interpolation.

    Antialiasing averages over the source pixels each output pixel covers when shrinking (28 → 8 would
    otherwise skip most pixels). The result keeps the input's dtype: uint8 images are rounded and clipped to
    0–255; float images stay in the input's range (the filter weights are non-negative and sum to one).
    """
    values = torch.as_tensor(images)
    if values.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(values.shape)}")
    size = (size, size) if isinstance(size, int) else tuple(size)
    resized = F.interpolate(values.to(torch.float32), size=size, mode="bilinear", antialias=True, align_corners=False)
    if values.dtype == torch.uint8:
        return resized.round().clamp(0, 255).to(torch.uint8)
    return resized.to(values.dtype if values.is_floating_point() else torch.float32)


def load_mnist_split(root: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """The offline MNIST split the DCGMM notebooks and checkpoints use, as floats in [0, 1].

    * training: ``train5k`` (5,000) + the first half of the test set ``t10k[:5000]`` — 10,000 images;
    * held-out: the second half ``t10k[5000:]`` (5,000 images, never trained on).

    Taking half of the published test set for training doubles what a 5k subset gives; the other half
    stays untouched, so held-out numbers are honest. Returns ``train_images``, ``train_labels``,
    ``test_images``, ``test_labels``. Raises FileNotFoundError (see :func:`load_shared_mnist`) when the files
    are absent.
    """
    train5k, train5k_labels = load_shared_mnist("train5k", root)
    test, test_labels = load_shared_mnist("test", root)
    return {
        "train_images": to_unit_range(torch.cat([train5k, test[:5000]])),
        "train_labels": torch.cat([train5k_labels, test_labels[:5000]]),
        "test_images": to_unit_range(test[5000:]),
        "test_labels": test_labels[5000:],
    }
