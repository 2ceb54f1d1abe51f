"""Fixtures for the whole suite."""
import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One torch thread for the whole suite (session scope, so module fixtures that train get it too).

    The tensors are tiny, and on a 2-core CI box a second thread only adds start-up and contention
    costs (measured 4x slower under load). Restored afterwards.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
