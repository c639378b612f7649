"""Shared test fixtures, and the test set-up's pointer to offline data."""

import os
from pathlib import Path

import pytest
import torch
from threadpoolctl import threadpool_limits

from deepmix_core import DRMM
from deepmix_core.data.kinematics import Arm, Humanoid

# In this workplace the offline data sets (MNIST test set + 5k training subset, Fashion-MNIST) sit in a
# folder beside the repository. The package never looks there by itself: the test set-up points
# $DEEPMIX_DATA at it when it exists (a user's clone has no such folder, and the tests that need it skip).
OFFLINE_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if "DEEPMIX_DATA" not in os.environ and OFFLINE_DATA.is_dir():
    os.environ["DEEPMIX_DATA"] = str(OFFLINE_DATA)


@pytest.fixture(scope="session", autouse=True)
def single_threaded():
    """Run the tests with one torch thread and one BLAS/OpenMP thread.

    The tests use small tensors, for which thread start-up and contention with other processes on a
    2-core machine cost far more than they gain (a module went from ~5 s to ~100 s under load).
    It is applied to the whole session (autouse).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(previous)


# ---------------------------------------------------------------- rigs and tiny IK models shared by the IK tests
@pytest.fixture(scope="session")
def arm():
    return Arm()


@pytest.fixture(scope="session")
def humanoid():
    return Humanoid()


@pytest.fixture(scope="session")
def arm_model(arm):
    """A tiny DRMM on arm poses: enough to exercise the IK code, not to solve IK well."""
    model = DRMM(2, 16)
    model.fit(arm.dataset(5000, seed=0), steps=300, seed=0, progress=False)
    return model


@pytest.fixture(scope="session")
def humanoid_model(humanoid):
    """A tiny DRMM on humanoid poses (30 variables), for the viz and explorer tests."""
    model = DRMM(2, 16)
    model.fit(humanoid.dataset(5000, seed=0), steps=200, seed=0, progress=False)
    return model
