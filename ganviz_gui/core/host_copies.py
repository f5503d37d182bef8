"""Copies of tensors to the host that the thread taking them does not wait for.

`HostCopy.of(tree)` is called on the training thread: CUDA tensors are copied with
`non_blocking=True` (into pinned memory, in stream order, so the copy holds the values of this
moment even though training goes on) and a CUDA event is recorded after the copies; CPU tensors
are cloned. `get()` is called on another thread (the run writer): it waits for the event and
returns the CPU tensors. Nothing on the training thread waits for the device.

Other accelerators (MPS, XPU) have no such events here: their tensors are copied with a
blocking `.cpu()`, which waits for the device once per copy.
"""

from __future__ import annotations

from typing import Any

import torch


class HostCopy:
    """A tree (tensor, dict, list, tuple) of CPU tensors, ready once `get()` returns."""

    def __init__(self, tree: Any, events: list[torch.cuda.Event]):
        # The copies, possibly still being written by the device: hold them, wrap them in a
        # module copy, but read them only after `get()`.
        self.pending = tree
        self._events = events

    @classmethod
    def of(cls, tree: Any, fresh: bool = False) -> HostCopy:
        """Start copying every tensor of `tree` to the host (detached). `fresh`: the tensors
        were made for this copy (a stack) and nobody changes them: CPU ones are kept as they
        are rather than cloned."""
        cuda_devices: set[torch.device] = set()
        copied = _copy_tree(tree, cuda_devices, fresh)
        return cls(copied, cuda_events(cuda_devices))

    def get(self) -> Any:
        """The copied tree, once the device has finished copying (blocks this thread only)."""
        for event in self._events:
            event.synchronize()
        self._events = []
        return self.pending


def cuda_events(devices: set[torch.device]) -> list[torch.cuda.Event]:
    """An event on the current stream of each CUDA device among `devices`: it completes once
    the work queued there so far (copies, statistics) has."""
    events = []
    for device in devices:
        if device.type == "cuda":
            with torch.cuda.device(device):
                # blocking: the waiting writer thread sleeps instead of spinning on a core the
                # training thread needs to launch its kernels.
                event = torch.cuda.Event(blocking=True)
                event.record()
            events.append(event)
    return events


def _copy_tree(tree: Any, cuda_devices: set[torch.device], fresh: bool) -> Any:
    if isinstance(tree, torch.Tensor):
        tensor = tree.detach()
        if tensor.device.type == "cuda":
            cuda_devices.add(tensor.device)
            return tensor.to("cpu", non_blocking=True)
        if tensor.device.type == "cpu":
            # The caller goes on changing its tensors in place (weights): copy them now.
            return tensor if fresh else tensor.clone()
        return tensor.cpu()
    if isinstance(tree, dict):
        return {key: _copy_tree(value, cuda_devices, fresh) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_copy_tree(value, cuda_devices, fresh) for value in tree)
    return tree
