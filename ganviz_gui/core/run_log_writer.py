"""The writer thread of `ganviz_gui.Run`: every file a logged run writes, written off the loop.

The training thread hands each piece of work over as (method, arguments) through a bounded
queue and goes on; when the queue is full (the disk far behind), `submit` waits. The writer
waits for device copies to land (core/host_copies.py), encodes JSON and PNGs, saves programs
and checkpoints atomically (temporary file, fsync, rename), and flushes the JSONL files after
each batch of work it found queued: a killed process loses what was still queued, and leaves
at worst a partial last line, which readers skip.

A failure to write one thing (a full disk, a sample G got wrong) is warned about once per kind
of file and recorded as a `write_failed` event; the writer goes on with the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import os
import queue
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import torch
from torch import nn

from ganviz_gui.core.atomic_files import atomic_write, free_bytes, is_disk_full
from ganviz_gui.core.errors import DiskFullError
from ganviz_gui.core.finite import all_finite
from ganviz_gui.core.host_copies import HostCopy
from ganviz_gui.core.logged_checkpoint import (
    PROGRAM_FILES,
    discriminator_output,
    logged_checkpoint,
    make_programs,
)
from ganviz_gui.core.network_stats import LayerStats
from ganviz_gui.core.run_folder import list_checkpoints, step_name
from ganviz_gui.core.sample_images import save_png, saved_grid, scatter_plot

JSONL_FILES = ("metrics", "events", "network_stats")
MAX_PENDING_CHECKPOINTS = 2  # whole CPU copies of the weights waiting in the queue at most
RESERVED_NAMES = ("step", "time", "elapsed")  # fields every metrics record has


# ---------------------------------------------------------------------- handed over
@dataclasses.dataclass
class CapturedScalars:
    """One `log` call's values: plain numbers as given, tensors stacked per device and copied
    to the host in one transfer each, read on the writer thread."""

    names: list[str]  # in the order given
    plain: dict[str, int | float]
    copies: list[tuple[list[str], HostCopy]]

    @classmethod
    def of(cls, scalars: dict[str, Any]) -> CapturedScalars:
        plain: dict[str, int | float] = {}
        # One stack per device, integers apart from floats (a count stays a whole number).
        stacks: dict[tuple[torch.device, bool], list[tuple[str, torch.Tensor]]] = {}
        for name, value in scalars.items():
            if name in RESERVED_NAMES:
                raise ValueError(f"log({name}=...): '{name}' is a field of every record already")
            if value is None:
                continue  # absent, as a record leaves out what nothing measured
            if isinstance(value, torch.Tensor):
                check_one_number(name, value)
                key = (value.device, value.is_floating_point())
                stacks.setdefault(key, []).append(
                    (name, value if value.dim() == 0 else value.reshape(()))
                )
            elif isinstance(value, bool | numbers.Integral):
                plain[name] = int(value)
            elif isinstance(value, numbers.Real):
                plain[name] = float(value)
            else:
                raise TypeError(
                    f"log({name}={value!r}): log numbers, or tensors holding one number"
                )
        copies = []
        with torch.no_grad():  # no graph, so no detach per tensor: a third of the cost
            for items in stacks.values():
                stacked = torch.stack([tensor for _, tensor in items])
                copies.append(([name for name, _ in items], HostCopy.of(stacked, fresh=True)))
        return cls([name for name in scalars if scalars[name] is not None], plain, copies)

    def values(self) -> dict[str, Any]:
        """{name: number} in the order given (waits for the device copies)."""
        found: dict[str, Any] = dict(self.plain)
        for names, copy in self.copies:
            found.update(zip(names, copy.get().tolist(), strict=True))
        return {name: found[name] for name in self.names}


def one_number(name: str, value: torch.Tensor) -> torch.Tensor:
    """The tensor as a 0-d tensor, detached (no copy yet); one element or a clear error."""
    check_one_number(name, value)
    return value.detach().reshape(())


def check_one_number(name: str, value: torch.Tensor) -> None:
    if value.numel() != 1:
        raise ValueError(
            f"log({name}=...): a tensor of {value.numel()} values; log one number per name "
            f"(for example {name}=loss.mean())"
        )
    if value.is_complex():
        raise TypeError(f"log({name}=...): a complex number; log real numbers")


@dataclasses.dataclass
class RunDetails:
    """What every checkpoint of the run carries besides the weights (writer thread only)."""

    fixed_noise: torch.Tensor  # (n, latent_dim), CPU
    latent_shape: list[int]
    data: dict[str, Any]  # {"kind": "images" | "points", "sample_shape": [...]}
    config: dict[str, Any]  # the user's config, JSON-safe
    loss: str
    has_discriminator: bool
    # Found when the programs are made (None: they were not):
    ends_in_sigmoid: bool = False
    architecture: str | None = None
    layers: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)

    def for_checkpoint(self, elapsed: float) -> dict[str, Any]:
        return {
            "fixed_noise": self.fixed_noise,
            "latent_shape": list(self.latent_shape),
            "data": self.data,
            "config": self.config,
            "loss": self.loss,
            "discriminator_output": discriminator_output(self.loss, self.ends_in_sigmoid),
            "generator_architecture": self.architecture,
            "layers": self.layers,
            "elapsed": round(elapsed, 3),
        }


# ---------------------------------------------------------------------- the writer
class WriterThread:
    """A thread that does file work handed over by the training thread, in order.

    `submit` queues `work(*args)` and returns at once (it waits only while the queue is full:
    the disk far behind). The thread takes whatever is queued in one go, runs it, then calls
    `_after_batch` (flushing, say); a failure of one piece goes to `_failed`, and the thread
    lives on, or the training thread would wait on a full queue for ever. `close` runs what
    is queued, then `_finish`, and ends the thread. `ganviz_gui.Run` and TrainingSession each
    write their run folder through one (RunLogWriter, training_session.SessionWriter).
    """

    def __init__(self, name: str, queue_size: int):
        self._queue: queue.Queue[tuple[Callable[..., None], tuple[Any, ...]] | None]
        self._queue = queue.Queue(maxsize=max(queue_size, 1))
        # A daemon: a process that ends without close() (a second Ctrl+C) must not hang on
        # it; what was still queued is lost then, and atomic writes leave no half file.
        self.thread = threading.Thread(target=self._work, name=name, daemon=True)

    # ------------------------------------------------------------------ any thread
    def submit(self, work: Callable[..., None], *args: Any) -> None:
        """Queue `work(*args)` for the writer thread (waits only while the queue is full)."""
        self._queue.put((work, args))

    def wait(self) -> None:
        """Return once everything queued so far has been done."""
        done = threading.Event()
        self.submit(done.set)
        done.wait()

    def close(self) -> None:
        """Do everything queued, then `_finish`; end the thread."""
        if self.thread.is_alive():
            self._queue.put(None)
            self.thread.join()

    # ------------------------------------------------------------------ the writer thread
    def _work(self) -> None:
        running = True
        while running:
            batch = [self._queue.get()]
            with contextlib.suppress(queue.Empty):
                while True:
                    batch.append(self._queue.get_nowait())
            for item in batch:
                if item is None:
                    running = False
                    continue
                work, args = item
                try:
                    work(*args)
                except Exception as exc:  # one file failing must not stop the others
                    self._failed(work, exc)
            self._after_batch()
        self._finish()

    def _failed(self, work: Callable[..., None], exc: Exception) -> None:
        raise NotImplementedError

    def _after_batch(self) -> None:
        """Called after each batch of queued work (on the writer thread)."""

    def _finish(self) -> None:
        """Called once at close, after the last work (on the writer thread)."""


class RunLogWriter(WriterThread):
    """Owns a run folder's files; every method but `submit` and `close` runs on its thread.

    A failure to write one thing is warned about once per kind of file and recorded as a
    `write_failed` event; the writer goes on with the rest."""

    def __init__(self, root: Path, details: RunDetails, queue_size: int):
        super().__init__("ganviz-run-writer", queue_size)
        self.root = Path(root)
        self.details = details
        self.samples_dir = self.root / "samples"
        self.checkpoints_dir = self.root / "checkpoints"
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        self.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        self._files = {name: (self.root / f"{name}.jsonl").open("ab") for name in JSONL_FILES}
        self.programs: dict[str, str] = {}  # network: file name, once written
        self.checkpoint_slots = threading.BoundedSemaphore(MAX_PENDING_CHECKPOINTS)
        self._failed_kinds: set[str] = set()
        self._last_step = 0  # of the newest record written: the step of a write_failed event
        self.thread.start()

    # ------------------------------------------------------------------ the writer thread
    def _failed(self, work: Callable[..., None], exc: Exception) -> None:
        self._failed_to(work.__name__.removeprefix("write_"), exc)

    def _after_batch(self) -> None:
        try:
            self._flush()
        except OSError as exc:  # a full disk: the thread must live on, or log() would wait
            self._failed_to("the logs", exc)

    def _finish(self) -> None:
        self._close_files()

    def write_config(self, config: dict[str, Any]) -> None:
        text = orjson.dumps(config, option=orjson.OPT_INDENT_2) + b"\n"
        atomic_write(self.root / "config.json", lambda handle: handle.write(text))

    def write_event(self, event: dict[str, Any]) -> None:
        self._append("events", event)

    def write_metrics(
        self, step: int, wall_time: float, elapsed: float, scalars: CapturedScalars
    ) -> None:
        record = {"step": step, "time": round(wall_time, 3), "elapsed": round(elapsed, 3)}
        record.update(scalars.values())
        self._append("metrics", record)
        self._last_step = step

    def write_stats(self, step: int, stats: dict[str, LayerStats], computed: HostCopy) -> None:
        computed.get()  # the device has finished computing them
        self._append(
            "network_stats", {"step": step, **{name: s.to_record() for name, s in stats.items()}}
        )

    def write_sample(self, step: int, samples: HostCopy) -> None:
        batch = samples.get().float().numpy()
        # 2D points: the generated ones only (a logged run has no real data at hand).
        picture = saved_grid(batch) if batch.ndim == 4 else scatter_plot(np.empty((0, 2)), batch)
        save_png(picture, self.samples_dir / step_name(step, "png"))

    def write_programs(
        self,
        generator: nn.Module,
        discriminator: nn.Module | None,
        weights: list[HostCopy],
        latents: torch.Tensor,
        step: int,
    ) -> None:
        """Trace G (and D on G's output) from their CPU copies, once; save each program."""
        for copied in weights:
            copied.get()  # the copies' tensors have landed
        made = make_programs(generator, discriminator, latents)
        self.details.layers = made.layers
        self.details.ends_in_sigmoid = made.ends_in_sigmoid
        self.details.architecture = made.architecture
        for network, archive in made.archives.items():
            name = PROGRAM_FILES[network]
            _write_bytes(self.root / name, archive)
            self.programs[network] = name
        for network, reason in made.failures.items():
            self.write_event(program_failed(step, network, reason))

    def write_checkpoint(self, step: int, states: HostCopy, elapsed: float, keep: int) -> None:
        try:
            weights = states.get()
            if not all_finite(weights):
                self.write_event(
                    event(
                        step,
                        "checkpoint_refused",
                        reason="the weights hold NaN or infinite values",
                    )
                )
                return
            programs: dict[str, str | None] = {"generator": self.programs.get("generator")}
            if self.details.has_discriminator:
                programs["discriminator"] = self.programs.get("discriminator")
            payload = logged_checkpoint(
                step,
                weights["generator"],
                weights["discriminator"],
                self.details.for_checkpoint(elapsed),
                programs,
            )
            path = self.checkpoints_dir / step_name(step, "pt")
            atomic_write(path, lambda handle: torch.save(payload, handle))
            self._flush(sync=True)  # the logs agree with the checkpoint after a crash
            if keep > 0:
                for _, old in list_checkpoints(self.root)[:-keep]:
                    old.unlink(missing_ok=True)
        finally:
            self.checkpoint_slots.release()

    def _append(self, name: str, record: dict[str, Any]) -> None:
        # orjson writes NaN and infinities as null: JSON has neither.
        self._files[name].write(orjson.dumps(record) + b"\n")

    def _flush(self, sync: bool = False) -> None:
        for handle in self._files.values():
            handle.flush()
            if sync:
                _fsync(handle)

    def _close_files(self) -> None:
        for name, handle in self._files.items():
            try:
                handle.flush()
                _fsync(handle)
                handle.close()
            except OSError as exc:
                self._failed_to(name, exc)

    def _failed_to(self, what: str, exc: Exception) -> None:
        reason = self._disk_full_reason() if is_disk_full(exc) else str(exc)
        if what not in self._failed_kinds:
            self._failed_kinds.add(what)
            warnings.warn(
                f"ganviz_gui.Run: could not write {what} to {self.root}: {reason}",
                RuntimeWarning,
                stacklevel=1,
            )
        with contextlib.suppress(Exception):  # the events file may be what fails
            failed = event(self._last_step, "write_failed", what=what, reason=reason)
            self._append("events", failed)

    def _disk_full_reason(self) -> str:
        """A full disk said as one (torch's own words for it are "unexpected pos ..."), with the
        space left and the checkpoint that stays good (the failed one's temp file is gone)."""
        free = free_bytes(self.root)
        reason = "disk full" + ("" if free is None else f" ({DiskFullError.size_text(free)} free)")
        kept = list_checkpoints(self.root)
        return reason + (f"; the last good checkpoint is {kept[-1][1]}" if kept else "")


def event(step: int, kind: str, **fields: Any) -> dict[str, Any]:
    """An events.jsonl record, stamped now."""
    return {"step": step, "time": round(time.time(), 3), "kind": kind, **fields}


def program_failed(step: int, network: str, reason: str) -> dict[str, Any]:
    """The `generator_program_failed` / `discriminator_program_failed` event."""
    return event(step, f"{network}_program_failed", reason=reason)


def _write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda handle: handle.write(data))


def _fsync(handle: Any) -> None:
    # Some file systems (network shares) refuse fsync; the data was flushed all the same.
    with contextlib.suppress(OSError):
        os.fsync(handle.fileno())
