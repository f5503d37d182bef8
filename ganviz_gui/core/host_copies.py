"""Copies of tensors to the host that the thread taking them does not wait for.

`HostCopy.of(tree)` is called on the training thread: CUDA tensors are copied with
`non_blocking=True` (into pinned memory, in stream order, so the copy holds the values of this
moment even though training goes on) and a CUDA event is recorded after the copies; CPU tensors
are cloned. `get()` is called on another thread (the run writer): it waits for the event and
returns the CPU tensors. Nothing on the training thread waits for the device.

`HostCopy.batched(tree)` does the same for a whole state (a checkpoint's state dicts): the
tensors of one device and dtype are joined on their device and travel as one flat tensor, one
copy per kind instead of one per tensor, and `get()` cuts them apart again into tensors of
their own (so what torch.save writes of them is what a tensor-by-tensor copy gives).

Other accelerators (MPS, XPU) have no such events here: their tensors are copied with a
blocking `.cpu()`, which waits for the device once per copy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ganviz_gui.core.finite import all_finite


class HostCopy:
    """A tree (tensor, dict, list, tuple) of CPU tensors, ready once `get()` returns."""

    def __init__(
        self,
        tree: Any,
        events: list[torch.cuda.Event],
        finish: Callable[[Any], Any] | None = None,
    ):
        # The copies, possibly still being written by the device: hold them, wrap them in a
        # module copy, but read them only after `get()`.
        self.pending = tree
        self._events = events
        self._finish = finish  # run once the copies have landed (batched: cut them apart)
        self._flats: list[torch.Tensor] | None = None  # batched: the joined copies
        self._skeleton: Any = None  # batched: the tree, its tensors' places marked

    @classmethod
    def of(cls, tree: Any, fresh: bool = False) -> HostCopy:
        """Start copying every tensor of `tree` to the host (detached). `fresh`: the tensors
        were made for this copy (a stack) and nobody changes them: CPU ones are kept as they
        are rather than cloned."""
        cuda_devices: set[torch.device] = set()
        copied = _copy_tree(tree, cuda_devices, fresh)
        return cls(copied, cuda_events(cuda_devices))

    @classmethod
    def batched(cls, tree: Any) -> HostCopy:
        """Start copying every tensor of `tree` to the host, one flat copy per device and
        dtype (the caller goes on changing its tensors in place: the copy is taken now)."""
        leaves: list[torch.Tensor] = []
        skeleton = _slotted(tree, leaves)
        kinds: dict[tuple[torch.device, torch.dtype], list[int]] = {}
        for index, tensor in enumerate(leaves):
            kinds.setdefault((tensor.device, tensor.dtype), []).append(index)
        cuda_devices: set[torch.device] = set()
        flats = []
        with torch.no_grad():
            for indices in kinds.values():
                parts = [leaves[i].detach().reshape(-1) for i in indices]
                # cat makes a tensor of its own, even of one part: a copy of this moment.
                joined = torch.cat(parts)
                flat = _copy_tree(joined, cuda_devices, fresh=True)
                flats.append((indices, [tuple(leaves[i].shape) for i in indices], flat))

        def cut_apart(_: Any) -> Any:
            tensors: list[torch.Tensor | None] = [None] * len(leaves)
            for indices, shapes, flat in flats:
                offset = 0
                for index, shape in zip(indices, shapes, strict=True):
                    size = math.prod(shape)
                    # A clone: a tensor of its own, not a view sharing the flat storage.
                    tensors[index] = flat[offset : offset + size].view(shape).clone()
                    offset += size
            return _filled(skeleton, tensors)

        copy = cls(None, cuda_events(cuda_devices), finish=cut_apart)
        copy._flats = [flat for _, _, flat in flats]
        copy._skeleton = skeleton
        return copy

    def all_finite(self) -> bool:
        """Whether every floating value copied is finite (waits for the copies as `get`
        does). A batched copy is checked on its flat tensors, one check per dtype rather
        than one per tensor (76 for the 8 Gaussians' checkpoint: 3.6 ms of the GIL)."""
        if self._flats is None:
            return all_finite(self.get())
        self._wait()
        return all(all_finite(flat) for flat in self._flats) and all_finite(self._skeleton)

    def _wait(self) -> None:
        for event in self._events:
            event.synchronize()
        self._events = []

    def get(self) -> Any:
        """The copied tree, once the device has finished copying (blocks this thread only)."""
        self._wait()
        if self._finish is not None:
            self.pending, self._finish = self._finish(self.pending), None
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


class _Slot(int):
    """Where a tensor of a batched copy goes back: its index among the tree's tensors."""


def _slotted(tree: Any, leaves: list[torch.Tensor]) -> Any:
    if isinstance(tree, torch.Tensor):
        leaves.append(tree)
        return _Slot(len(leaves) - 1)
    if isinstance(tree, dict):
        return {key: _slotted(value, leaves) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_slotted(value, leaves) for value in tree)
    return tree


def _filled(tree: Any, tensors: list[Any]) -> Any:
    if isinstance(tree, _Slot):
        return tensors[tree]
    if isinstance(tree, dict):
        return {key: _filled(value, tensors) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_filled(value, tensors) for value in tree)
    return tree


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
