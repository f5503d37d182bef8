"""Training under torchrun: one process per device, joined by torch.distributed.

torchrun starts `ganviz train` once per device and tells each process who it is through the
environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT); nothing else is read.
Without those variables `DistributedContext.from_environment()` joins nothing (it only
resolves the device) and every method here does nothing, so a plain `ganviz train` runs exactly
as it always has.

The trainer wraps G and D in DistributedDataParallel through `wrap`, which averages gradients
during backward, so every rank applies the same update to the same weights. Everything else
that decides what a rank does next (recovering from a non-finite update, keeping a snapshot)
must also come out the same on every rank, or one rank would wait in a collective the others
never enter; `all_reduce_mean`, `any_rank` and `every_rank` make those decisions together. Every collective runs under a
timeout, so a dead or stuck peer ends the job with an error instead of hanging it.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ganviz_gui.core.devices import resolve_device
from ganviz_gui.core.errors import DeviceError, GanvizError

# How long a rank waits for its peers at any collective. Rank 0 alone writes samples and
# checkpoints and measures quality (at most seconds, or a classifier's first training) while
# the others wait for it at the next step, so this is generous; a peer that is gone takes it
# down sooner (torchrun stops every worker when one fails).
PEER_TIMEOUT = timedelta(minutes=5)


# Set once this process has joined a process group: it then ends through `end_worker_process`.
_joined_a_group = False


class DistributedError(GanvizError):
    """torchrun's environment is incomplete, or this process cannot reach its peers."""


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0  # the rank among the processes of this machine: its GPU index
    backend: str | None = None  # "nccl" or "gloo" once a process group is joined
    device: torch.device | None = None  # this rank's device, chosen by from_environment

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run folder and reports progress."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_environment(
        cls, device: str = "auto", timeout: timedelta = PEER_TIMEOUT
    ) -> DistributedContext:
        """Join torchrun's process group, or, without torchrun, a single-process context.

        `device` is the kind of device (auto, cpu, cuda, mps); under torchrun, each rank on
        CUDA takes cuda:LOCAL_RANK, and the backend is NCCL on CUDA, gloo on the CPU.
        """
        world_size = _environment_int("WORLD_SIZE", default=1)
        if world_size <= 1:
            return cls(device=resolve_device(device))
        rank = _environment_int("RANK")
        local_rank = _environment_int("LOCAL_RANK", default=0)
        chosen = _rank_device(device, local_rank)
        backend = "nccl" if chosen.type == "cuda" else "gloo"
        if chosen.type == "cuda":
            torch.cuda.set_device(chosen)  # NCCL uses the current device for its streams
        try:
            dist.init_process_group(
                backend,
                timeout=timeout,
                # Binds NCCL to this rank's GPU at once, so barriers cannot pick another.
                device_id=chosen if chosen.type == "cuda" else None,
            )
        except (ValueError, RuntimeError) as exc:  # DistError is a RuntimeError
            raise DistributedError(
                f"rank {rank} of {world_size}: cannot join the other processes ({first_line(exc)})"
            ) from None
        global _joined_a_group
        _joined_a_group = True
        return cls(rank, world_size, local_rank, backend, chosen)

    def describe(self) -> dict[str, Any]:
        """What the `started` and `resumed` events record (nothing for a single process)."""
        if not self.is_distributed:
            return {}
        return {"world_size": self.world_size, "backend": self.backend}

    def wrap(self, module: nn.Module) -> nn.Module:
        """`module` in DistributedDataParallel, or `module` itself for a single process.

        The wrapper shares the module's parameters: state dicts, EMA and checkpoints stay on
        the plain module, so checkpoints look the same whatever the number of processes.
        """
        if not self.is_distributed:
            return module
        gpu = self.device if self.device is not None and self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(
            module, device_ids=None if gpu is None else [gpu.index]
        )

    def all_reduce_mean(self, values: Mapping[str, float | torch.Tensor]) -> dict[str, float]:
        """The mean over ranks of each value, as plain floats: one collective, one sync.

        A rank whose value is NaN or infinite is left out of that value's mean (as a refused
        update's loss is left out of a rank's own mean); NaN if no rank has a finite value.
        With one process, the values themselves.
        """
        if not values:
            return {}
        names = list(values)
        stacked = torch.stack(
            [torch.as_tensor(values[n], device=self._tensor_device(values)) for n in names]
        )
        if not self.is_distributed:
            return dict(zip(names, stacked.tolist(), strict=True))
        stacked = stacked.to(torch.float64)
        finite = torch.isfinite(stacked)
        sums_and_counts = torch.stack([torch.where(finite, stacked, 0.0), finite.double()])
        dist.all_reduce(sums_and_counts)
        means = sums_and_counts[0] / sums_and_counts[1]  # 0 / 0: NaN, no rank had a value
        return dict(zip(names, means.tolist(), strict=True))

    def any_rank(self, flag: torch.Tensor) -> torch.Tensor:
        """`flag` (a 0/1 tensor) set to 1 on every rank where any rank has it set, in place."""
        if self.is_distributed:
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return flag

    def every_rank(self, flag: bool) -> bool:
        """True where `flag` is true on all ranks (a sync: for decisions taken rarely)."""
        if not self.is_distributed:
            return flag
        agreed = torch.tensor(int(flag), device=self.device)
        dist.all_reduce(agreed, op=dist.ReduceOp.MIN)
        return bool(agreed)

    def shutdown(self) -> None:
        """Leave the process group (at the end of the run, or after an error)."""
        if self.is_distributed and dist.is_initialized():
            dist.destroy_process_group()

    @contextmanager
    def joined(self) -> Iterator[Callable[[], bool]]:
        """Train inside this; it yields `should_stop` for the training loop.

        torchrun stops its workers with SIGTERM (a peer failed, Ctrl+C, the job was preempted):
        under torchrun that only makes `should_stop()` true, so the loop ends between two steps
        and rank 0 saves a checkpoint, where dying mid-step would lose the steps since the last
        one. A peer lost or stuck past the timeout becomes one DistributedError naming this rank
        (not pages of C++ frames). The group is left at the end. Call it from the main thread.
        """
        asked_to_stop = threading.Event()
        previous = None
        if self.is_distributed:
            previous = signal.signal(signal.SIGTERM, lambda *_: asked_to_stop.set())
        try:
            yield asked_to_stop.is_set
        except RuntimeError as exc:
            if not (self.is_distributed and _is_communication_error(exc)):
                raise
            if asked_to_stop.is_set():  # told to stop, and a peer stopped first: as Ctrl+C
                raise KeyboardInterrupt from None
            raise DistributedError(
                f"rank {self.rank} of {self.world_size}: lost contact with the other processes "
                f"({first_line(exc)}); the other ranks' output says why"
            ) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            self.shutdown()

    def _tensor_device(self, values: Mapping[str, float | torch.Tensor]) -> torch.device:
        for value in values.values():
            if isinstance(value, torch.Tensor):
                return value.device
        return self.device or torch.device("cpu")


SINGLE_PROCESS = DistributedContext()  # what the trainer assumes when given no context


def end_worker_process(status: int) -> None:
    """End this process with `status` now, without Python's shutdown, if it joined a process
    group (a torchrun worker); otherwise return. Call it last, once everything is written.

    A worker that let Python shut down could abort ("terminate called without an active
    exception", SIGABRT) and fail the torchrun job after a good run: a gloo worker thread frees
    a collective's tensors a moment after the rank that waited on it has moved on, and freeing
    a tensor Python has seen takes the GIL, which a thread cannot take once Python is shutting
    down. `destroy_process_group` cannot stop those threads: DistributedDataParallel keeps the
    group alive (measured on torch 2.13: its worker threads outlive the wrappers and a
    garbage collection). `os._exit` ends the process before those threads can run into
    Python's shutdown. The run's files are closed by then (`TrainingSession.close` waits for
    its writer thread); only the standard streams are left to flush. Python's atexit functions
    are not run: the engine registers none on this path.
    """
    if not _joined_a_group:
        return
    for stream in (sys.stdout, sys.stderr):
        # A reader gone (`| head`) must not send the process back to the shutdown.
        with suppress(OSError, ValueError):
            if stream is not None:
                stream.flush()
    os._exit(status)


def first_line(error: BaseException) -> str:
    """What a torch.distributed message says, without its C++ source location, advice or
    stack: "Read error [127.0.0.1]:26256: Connection reset by peer"."""
    lines = str(error).strip().splitlines()
    text = re.sub(r"^\[[^\]]*\.(cc|cpp|h|hpp):\d+\]\s*", "", lines[0] if lines else "")
    return text.split(". ")[0].rstrip(".") or type(error).__name__


def _is_communication_error(error: RuntimeError) -> bool:
    # A failed collective inside backward reaches Python as a plain RuntimeError (autograd
    # re-raises it), so the type alone does not tell; the transports name themselves.
    markers = ("gloo", "NCCL", "Connection reset", "Connection closed", "timed out", "Timed out")
    return isinstance(error, dist.DistError) or any(m in str(error) for m in markers)


def _environment_int(name: str, default: int | None = None) -> int:
    text = os.environ.get(name)
    if text is None:
        if default is None:
            raise DistributedError(f"{name} is not set: start several processes with torchrun")
        return default
    try:
        return int(text)
    except ValueError:
        raise DistributedError(f"{name}={text!r}: expected a whole number") from None


def _rank_device(kind: str, local_rank: int) -> torch.device:
    """This rank's device: `kind` is what --device says; each CUDA rank takes its own GPU."""
    if kind == "mps":
        raise DeviceError(
            "device mps: cannot train with several processes on Apple's Metal backend "
            "(torch.distributed has no backend for it); use cpu or cuda under torchrun"
        )
    wants_cuda = kind.startswith("cuda") or (kind == "auto" and torch.cuda.is_available())
    if not wants_cuda:
        # auto without CUDA means the CPU here, never MPS (see above).
        return resolve_device("cpu" if kind == "auto" else kind)
    resolve_device("cuda")  # the usual message when there is no CUDA at all
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise DeviceError(
            f"LOCAL_RANK {local_rank}: this machine shows only {count} CUDA device(s); start "
            f"at most {count} processes per node (torchrun --nproc_per_node {count})"
        )
    return torch.device("cuda", local_rank)
