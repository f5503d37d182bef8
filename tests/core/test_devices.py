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
