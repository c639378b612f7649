"""Datasets for deepmix: small, seeded, generated on the fly (nothing is downloaded)."""

from deepmix_core.data.toy import checkerboard, rings, sierpinski, swiss_roll, two_moons

__all__ = ["checkerboard", "rings", "sierpinski", "swiss_roll", "two_moons"]
