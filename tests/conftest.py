"""Shared test fixtures."""

import pytest
import torch
from threadpoolctl import threadpool_limits


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
