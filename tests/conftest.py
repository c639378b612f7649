"""Shared test fixtures."""

import pytest
import torch
from threadpoolctl import threadpool_limits

from deepmix_core import DRMM
from deepmix_core.data.kinematics import Arm, Humanoid


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
    model.fit(arm.dataset(5000, seed=0), iterations=300, seed=0, progress=False)
    return model


@pytest.fixture(scope="session")
def humanoid_model(humanoid):
    """A tiny DRMM on humanoid poses (30 variables), for the viz and explorer tests."""
    model = DRMM(2, 16)
    model.fit(humanoid.dataset(5000, seed=0), iterations=200, seed=0, progress=False)
    return model
