"""Datasets for deepmix: seeded 2-D toy sets generated on the fly, and image sets read from local files.

Nothing is downloaded unless you ask for it (``load_torchvision(..., download=True)``).
"""

from deepmix_core.data.images import (
    load_digits_images,
    load_mnist_split,
    load_shared_mnist,
    load_torchvision,
    read_idx,
    resize_images,
    to_unit_range,
)
from deepmix_core.data.toy import checkerboard, rings, sierpinski, swiss_roll, two_moons

__all__ = [
    "checkerboard",
    "load_digits_images",
    "load_mnist_split",
    "load_shared_mnist",
    "load_torchvision",
    "read_idx",
    "resize_images",
    "rings",
    "sierpinski",
    "swiss_roll",
    "to_unit_range",
    "two_moons",
]
