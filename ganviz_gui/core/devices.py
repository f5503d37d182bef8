"""Choosing the torch device and the number of training threads."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from threadpoolctl import threadpool_limits

from ganviz_gui.core.errors import DeviceError


@dataclass(frozen=True)
class DeviceInfo:
    name: str  # what torch.device() takes: "cpu", "cuda:0", "mps"
    description: str  # for people: "NVIDIA H100 80GB HBM3 (cuda:0)"


def available_devices() -> list[DeviceInfo]:
    """The devices that really exist here, CPU first."""
    devices = [DeviceInfo("cpu", "CPU")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            name = torch.cuda.get_device_name(index)
            devices.append(DeviceInfo(f"cuda:{index}", f"{name} (cuda:{index})"))
    if _mps_available():
        devices.append(DeviceInfo("mps", "Apple GPU (mps)"))
    return devices


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA, then MPS, then CPU; an explicit device that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda:0")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name}: CUDA is not available here "
                f"(this torch {'has no CUDA support' if torch.version.cuda is None else 'finds no GPU'})"
            )
        index = int(name.partition(":")[2] or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(f"device {name}: only {count} CUDA device(s) exist (cuda:0..)")
        return torch.device(f"cuda:{index}")
    if name == "mps":
        if not _mps_available():
            raise DeviceError("device mps: Apple's Metal backend is not available here")
        return torch.device("mps")
    raise DeviceError(f"device {name!r}: expected auto, cpu, cuda, cuda:N or mps")


def default_num_threads() -> int:
    """Half the cores, at most 4: measured on 2 cores, a 2-thread torch loop slowed 5-20x in 14 of
    32 runs while another thread (the GUI) was busy; 1-thread runs never did."""
    cores = os.cpu_count() or 1
    return max(1, min(4, cores // 2))


def apply_num_threads(requested: int) -> int:
    """Set torch's intra-op threads, and the BLAS under numpy to as many. Call it in the
    thread that trains: torch's setting is per thread (the BLAS's is the process's)."""
    threads = requested or default_num_threads()
    torch.set_num_threads(threads)
    _limit_blas_threads(threads)
    return threads


_blas_threads: int | None = None  # the BLAS limit last applied (asking again costs a scan)


def _limit_blas_threads(threads: int) -> None:
    """numpy's BLAS starts a thread per core for each call (the Fréchet distance's eigh, D's
    verdict statistics); on a machine whose cores torch already uses they only wait for each
    other. threadpoolctl finds whichever BLAS is loaded and sets its pool for the process."""
    global _blas_threads
    if threads != _blas_threads:
        threadpool_limits(limits=threads, user_api="blas")
        _blas_threads = threads


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
