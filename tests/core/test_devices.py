import os

import pytest
import torch

from ganviz_gui.core.devices import (
    apply_num_threads,
    available_devices,
    default_num_threads,
    resolve_device,
)
from ganviz_gui.core.errors import DeviceError


def test_cpu_is_always_listed_and_auto_picks_the_best_present():
    names = [d.name for d in available_devices()]
    assert names[0] == "cpu"
    expected = "cuda" if torch.cuda.is_available() else ("mps" if "mps" in names else "cpu")
    assert resolve_device("auto").type == expected


def test_absent_devices_are_clear_errors():
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(DeviceError, match=rf"device cuda:{count + 3}"):
        resolve_device(f"cuda:{count + 3}")
    if not torch.backends.mps.is_available():
        with pytest.raises(DeviceError, match="device mps"):
            resolve_device("mps")


def test_thread_setting_defaults_to_half_the_cores_at_most_four():
    before = torch.get_num_threads()
    try:
        assert apply_num_threads(0) == default_num_threads() == torch.get_num_threads()
        assert 1 <= default_num_threads() <= 4
        assert apply_num_threads(1) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def threads_restored():
    """Tests that set the process's thread counts put back what they found."""
    from threadpoolctl import threadpool_limits

    torch_threads = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores the BLAS's pools on exit
        yield
    torch.set_num_threads(torch_threads)
    import ganviz_gui.core.devices as devices

    devices._blas_threads = None  # the next request applies its limit again


def blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_numpys_blas_takes_torchs_thread_count(threads_restored):
    from ganviz_gui.core.devices import apply_num_threads

    assert blas_threads(), "numpy's BLAS was not found by threadpoolctl"
    apply_num_threads(1)
    assert torch.get_num_threads() == 1 and blas_threads() == {1}
    if (os.cpu_count() or 1) >= 2:  # a BLAS keeps at most one thread per core
        apply_num_threads(2)
        assert torch.get_num_threads() == 2 and blas_threads() == {2}


def test_the_python_api_applies_the_runs_thread_setting(threads_restored, tmp_path):
    """Scripts built on TrainingSession train in their own thread: start and resume set it."""
    from ganviz_gui.core.training_session import TrainingSession
    from tests.core.helpers import tiny_points_config

    torch.set_num_threads(2)
    session = TrainingSession.start(tiny_points_config(num_threads=1), run_dir=tmp_path / "run")
    assert torch.get_num_threads() == 1 and blas_threads() == {1}
    session.step()
    checkpoint = session.save_checkpoint()
    session.close()
    torch.set_num_threads(2)
    TrainingSession.resume(checkpoint).close()
    assert torch.get_num_threads() == 1
