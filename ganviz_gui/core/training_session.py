"""`TrainingSession`: a trainer writing its run folder on schedule.

The command line and the GUI's worker both drive a session one step at a time, so what either
writes is the same: metrics at the logging interval, sample pictures, checkpoints (the newest K
kept), events, and a last checkpoint when the run stops for any reason.

Under torchrun every rank runs a session, so all step in the same rhythm, but only rank 0's
writes anything: the others train and write nothing (`writes` is False). A request to stop
(SIGTERM, SIGUSR1) is agreed on by every rank every STOP_CHECK_EVERY steps, so all of them
stop after the same step.

Every file is written on a writer thread (`SessionWriter`), so a step pays for copies, not for
the disk: records are handed over as they are, a picture as G's samples or, on a CPU run with
a core to spare, as a copy of G's weights (the decode, grid and PNG are made there:
core/run_pictures.py), a checkpoint's tensors in one batched copy (core/host_copies.py). What the
thread fails at is raised on the training thread at its next step or at close, never lost.

A full disk raises one DiskFullError naming the last good checkpoint (which the failed write
left intact), and closing then writes nothing more. A run that ends with its losses run away
closes as `diverged`, not `finished` (`verdict`).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganviz_gui import __version__
from ganviz_gui.core.atomic_files import reporting_disk_full
from ganviz_gui.core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.data import Dataset, load_dataset
from ganviz_gui.core.devices import apply_num_threads, resolve_device
from ganviz_gui.core.distributed import DistributedContext
from ganviz_gui.core.errors import CheckpointError, DiskFullError, NonFiniteWeightsError
from ganviz_gui.core.host_copies import HostCopy
from ganviz_gui.core.run_folder import RunWriter, new_run_dir, run_dir_of_checkpoint
from ganviz_gui.core.run_log_writer import MAX_PENDING_CHECKPOINTS, WriterThread
from ganviz_gui.core.run_pictures import RunPictures
from ganviz_gui.core.sample_images import save_png_bytes
from ganviz_gui.core.trainer import StepResult, Trainer

if TYPE_CHECKING:
    from ganviz_gui.core.diagnostics import Finding

# Under torchrun the ranks agree whether to stop at every this many steps (a collective of one
# number; single-process runs look at every step).
STOP_CHECK_EVERY = 10
# Why a run may be asked to stop, in rising priority: what the ranks agree on is the highest.
STOP_REASONS = ("stopped", "interrupted", "preempted")
# Pieces of work (a record, a picture, a checkpoint) the writer thread may be behind by before
# a step waits for it; a checkpoint's copies are bounded apart (MAX_PENDING_CHECKPOINTS).
WRITER_QUEUE = 256


class TrainingSession:
    def __init__(self, trainer: Trainer, run_dir: Path, resume_step: int | None = None):
        self.trainer = trainer
        self.run_dir = Path(run_dir)
        self.writes = trainer.distributed.is_main
        last_checkpoint_step = resume_step if resume_step is not None else -1
        self.writer = (
            SessionWriter(
                RunWriter(self.run_dir, trainer.config, resume_step=resume_step),
                last_checkpoint_step,
            )
            if self.writes
            else None
        )
        self._last_checkpoint: Path | None = None  # where no writer keeps it (other ranks)
        self._last_sample_step = -1
        self.pictures = RunPictures(trainer)  # what each sample picture is made from, and where
        self.closed = False
        self.disk_full = False  # a write failed for want of space: closing writes nothing more
        self.divergence = DivergenceWatch()
        self.verdict: Verdict | None = None  # set by close() when the run diverged
        self._unread_events: list[dict[str, Any]] = []  # for a live view; see take_new_events
        event = "resumed" if resume_step is not None else "started"
        self._write_events(
            [
                {
                    "step": trainer.step_count,
                    "kind": event,
                    "device": str(trainer.device),
                    "app_version": __version__,
                    "torch_version": torch.__version__,
                    "data": trainer.dataset.describe(),
                    # config.json keeps the settings (0 = auto); these are the steps they mean
                    # for this session's length (a resume with more steps resolves them anew).
                    "checkpoint_interval": trainer.config.checkpoint_interval(),
                    "sample_interval": trainer.config.sample_interval(),
                    **trainer.distributed.describe(),  # world_size and backend, under torchrun
                }
            ]
        )
        if resume_step is None and self.writes:
            self.write_samples()  # what G makes before training: the start of every timeline

    # ------------------------------------------------------------------ construction
    @classmethod
    def start(
        cls,
        config: TrainingConfig,
        run_dir: str | Path | None = None,
        dataset: Dataset | None = None,
        device: torch.device | None = None,
        distributed: DistributedContext | None = None,
    ) -> TrainingSession:
        # The Python API trains in its caller's thread: give torch (and numpy's BLAS) the
        # run's thread count there, as the CLI and the window's worker do.
        apply_num_threads(config.num_threads)
        trainer = Trainer(config, dataset=dataset, device=device, distributed=distributed)
        return cls(trainer, Path(run_dir) if run_dir else new_run_dir(config))

    @classmethod
    def resume(
        cls,
        checkpoint: str | Path | Checkpoint,
        run_dir: str | Path | None = None,
        device: str | None = None,
        overrides: dict[str, Any] | None = None,
        distributed: DistributedContext | None = None,
    ) -> TrainingSession:
        """Continue a run: same step numbering, metrics appended to the same run folder.

        `overrides` may change settings that do not alter the architecture (steps, rates,...).
        Under torchrun every rank loads the same checkpoint.
        """
        ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
        config = ckpt.config
        if overrides:
            config = config.replace(**overrides)
        apply_num_threads(config.num_threads)  # as in start
        dataset = load_dataset(config)
        if tuple(dataset.sample_shape) != ckpt.sample_shape:
            raise CheckpointError(
                f"{ckpt.path}: trained on samples of shape {ckpt.sample_shape}, but "
                f"{config.dataset} now gives {tuple(dataset.sample_shape)}"
            )
        trainer = Trainer(
            config,
            dataset=dataset,
            device=resolve_device(device or config.device),
            distributed=distributed,
        )
        try:
            trainer.load_checkpoint_state(ckpt.state)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(
                f"{ckpt.path}: cannot resume from it ({type(exc).__name__})"
            ) from None
        target = (
            Path(run_dir) if run_dir else (run_dir_of_checkpoint(ckpt.path) or new_run_dir(config))
        )
        session = cls(trainer, target, resume_step=trainer.step_count)
        session.last_checkpoint = ckpt.path
        return session

    # ------------------------------------------------------------------ stepping
    @property
    def step_count(self) -> int:
        return self.trainer.step_count

    @property
    def last_checkpoint(self) -> Path | None:
        """The newest good checkpoint of the run: the newest this session's writer has
        finished writing, or the one the session resumed from."""
        return self._last_checkpoint if self.writer is None else self.writer.last_checkpoint

    @last_checkpoint.setter
    def last_checkpoint(self, path: Path | None) -> None:
        if self.writer is None:
            self._last_checkpoint = path
        else:
            self.writer.last_checkpoint = path

    def step(self, kind: str = "both") -> StepResult:
        """One iteration plus whatever the schedule asks for at this step (handed to the
        writer thread). A failure of the writer since the last step is raised first."""
        self._raise_writer_failure()
        try:
            result = self.trainer.step(kind)
        finally:
            self.flush_events()
        if result.record is not None:
            self.divergence.observe(result.record)
        writer = self.writer
        if writer is None:  # a rank other than 0
            return result
        files = writer.files
        # Copies of the top level: the caller may add to the dicts it is given.
        if result.record is not None:
            writer.submit(files.append_metrics, dict(result.record))
        if result.stats is not None:
            writer.submit(files.append_stats, dict(result.stats))
        # Resolved each step: an auto interval follows the steps the run is given live.
        config = self.trainer.config
        if result.step % config.sample_interval() == 0:
            self.write_samples()
        if result.step % config.checkpoint_interval() == 0:
            self._save_scheduled_checkpoint()
        return result

    def _save_scheduled_checkpoint(self) -> None:
        """A checkpoint the schedule asks for. Weights gone NaN or infinite are not saved and
        the run goes on: its end says whether it diverged (the verdict) and which checkpoint is
        the last good one, as it does when no checkpoint fell due on the way. The writer
        thread finds them so (in its copy) and calls `_checkpoint_skipped` there."""
        self.save_checkpoint(wait=False)

    def _checkpoint_skipped(self, step: int, exc: Exception) -> None:
        # On the writer thread: written in its turn, and told to a live view (take_new_events).
        assert self.writer is not None
        skipped = {"step": step, "kind": "checkpoint_skipped", "reason": str(exc)}
        self.writer.files.append_events([{"time": round(time.time(), 3), **skipped}])
        self.writer.new_events.put(skipped)

    def run(
        self,
        until_step: int,
        should_stop: Callable[[], bool | str | None] = lambda: False,
        on_step: Callable[[StepResult], None] | None = None,
    ) -> str:
        """Step until `until_step` or `should_stop()`; return why it ended: "finished", or the
        reason should_stop gave ("interrupted", "preempted"; "stopped" for a plain True).

        Under torchrun every rank ends after the same step, whichever ranks were asked."""
        while self.step_count < until_step:
            stop = self._agreed_stop(should_stop)
            if stop is not None:
                return stop
            result = self.step()
            if on_step is not None:
                on_step(result)
        return "finished"

    def _agreed_stop(self, should_stop: Callable[[], bool | str | None]) -> str | None:
        """Why to stop now, or None. Under torchrun the ranks decide together, every
        STOP_CHECK_EVERY steps: each says what it was asked and all take the strongest request
        (a rank that stopped alone would leave the others waiting in a collective)."""
        asked = should_stop()
        reason = (asked if isinstance(asked, str) else "stopped") if asked else None
        distributed = self.trainer.distributed
        if not distributed.is_distributed:
            return reason
        if self.step_count % STOP_CHECK_EVERY:
            return None
        wanted = STOP_REASONS.index(reason) + 1 if reason in STOP_REASONS else int(bool(reason))
        agreed = distributed.any_rank(torch.tensor(wanted, device=self.trainer.device))
        code = int(agreed.item())
        return STOP_REASONS[code - 1] if code else None

    # ------------------------------------------------------------------ events
    def flush_events(self) -> None:
        """Write the trainer's pending events (live setting changes, recoveries) now."""
        self._write_events(self.trainer.drain_events())

    def record_error(self, message: str) -> None:
        """Log a failure that ends the run (the caller then closes the session)."""
        self.flush_events()
        self._write_events([{"step": self.step_count, "kind": "error", "message": message}])

    def take_new_events(self) -> list[dict[str, Any]]:
        """Events written since the last call: what a live view has not shown yet."""
        if self.writer is not None:  # those the writer thread made (skipped checkpoints)
            while not self.writer.new_events.empty():
                self._unread_events.append(self.writer.new_events.get())
        events, self._unread_events = self._unread_events, []
        return events

    def _write_events(self, events: list[dict[str, Any]]) -> None:
        if events and self.writer is not None:
            self._unread_events.extend(events)
            # Stamped now, not when the writer thread gets to them.
            stamped = [{"time": round(time.time(), 3), **event} for event in events]
            self.writer.submit(self.writer.files.append_events, stamped)

    # ------------------------------------------------------------------ outputs
    def write_samples(self) -> Path:
        """Queue this step's picture; returns the path it will have. What G makes at this
        step is taken here; the grid or plot and its PNG are made on the writer thread, and on
        a CPU run with a core to spare G's decode too (core/run_pictures.py)."""
        writer = self._run_writer()
        path = writer.files.sample_path(self.step_count)
        writer.submit(writer.write_picture, path, self.pictures.capture())
        self._last_sample_step = self.step_count
        return path

    def save_checkpoint(self, wait: bool = True) -> Path:
        """Save a checkpoint of this step: its tensors are copied now, in one go, and written
        by the writer thread. `wait`: return once it is on disk, raising what failed (weights
        not finite, a full disk); else a non-finite state is `_checkpoint_skipped`."""
        writer = self._run_writer()
        step = self.step_count
        path = writer.files.checkpoint_path(step)
        writer.checkpoint_slots.acquire()  # at most this many whole copies wait for the disk
        try:
            state = HostCopy.batched(self.trainer.checkpoint_state(copied=False))
        except BaseException:
            writer.checkpoint_slots.release()
            raise
        failed: list[Exception] = []  # what the checkpoint waited for failed at
        report = failed.append if wait else lambda exc: self._checkpoint_skipped(step, exc)
        keep = self.trainer.config.keep_checkpoints
        writer.submit(writer.write_checkpoint, path, step, state, keep, report, wait)
        if wait:
            writer.wait()
            self._raise_writer_failure()  # what failed before it
            if failed:
                with self._naming_last_checkpoint():
                    raise failed[0]
        return path

    def _raise_writer_failure(self) -> None:
        """Raise here what the writer thread failed at (a full disk: naming the last good
        checkpoint, which the failed write did not touch); nothing if it failed at nothing."""
        failure = None if self.writer is None else self.writer.take_failure()
        if failure is not None:
            with self._naming_last_checkpoint():
                raise failure

    @contextmanager
    def _naming_last_checkpoint(self) -> Iterator[None]:
        """A full disk inside this: remembered (closing writes nothing more) and raised naming
        the last good checkpoint, which the failed write did not touch."""
        try:
            yield
        except DiskFullError as exc:
            self.disk_full = True
            if exc.checkpoint_named:
                raise
            raise exc.naming_checkpoint(self.last_checkpoint) from exc

    def _run_writer(self) -> SessionWriter:
        if self.writer is None:
            raise RuntimeError("under torchrun only rank 0 writes the run folder")
        return self.writer

    def close(self, reason: str = "finished") -> Path | None:
        """Write the last samples and checkpoint (unless just written), log why, close files.

        A run that would close "finished" with its losses run away closes "diverged" (see
        `verdict`). After a full disk (raised already) nothing more is written and nothing
        raised; a first full disk here is raised once the files are closed. Returns the newest
        good checkpoint of the run.
        """
        if self.closed:
            return self.last_checkpoint
        self.closed = True
        if reason == "finished":
            self.verdict = self.divergence.verdict()
            if self.verdict is not None:
                reason = "diverged"
        reported = self.disk_full  # that full disk was raised already: not again
        failure: BaseException | None = None
        try:
            self._writer_caught_up()
        except BaseException as exc:  # a failure since the last step: the run ended in error
            failure = exc
            if not isinstance(exc, KeyboardInterrupt):
                reason = f"error: {exc}"
        for finish in (self._write_last_outputs, lambda: self._write_closed(reason)):
            try:
                finish()
            except DiskFullError as exc:
                failure = failure or (None if reported else exc)
            except CheckpointError as exc:
                if self.verdict is None:
                    failure = failure or exc
                else:  # a diverged run's last state may hold infinities: said, not raised
                    self.verdict = Verdict(f"{self.verdict.reason}; {exc}")
            except BaseException as exc:  # Ctrl+C while saving too: the files still close
                failure = failure or exc
        # Asked again to stop while saving (a second Ctrl+C): the writer is not waited for.
        if self.writer is not None and not isinstance(failure, KeyboardInterrupt):
            try:
                self.writer.close()  # what is queued, then the files closed
                self._raise_writer_failure()
            except DiskFullError as exc:
                failure = failure or (None if reported else exc)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return self.last_checkpoint

    def _writer_caught_up(self) -> None:
        """Wait for the writer thread, raising what it failed at since the last step."""
        if self.writer is not None:
            self.writer.wait()
            self._raise_writer_failure()

    def _write_last_outputs(self) -> None:
        if self.writer is None or self.disk_full:
            return
        if self._last_sample_step != self.step_count:
            self.write_samples()
        # The writer has caught up: its newest checkpoint is the newest there is.
        if self.writer.last_checkpoint_step != self.step_count:
            self.save_checkpoint()

    def _write_closed(self, reason: str) -> None:
        self.flush_events()
        self._write_events([{"step": self.step_count, "kind": "closed", "reason": reason}])

    def findings(self) -> list[Finding]:
        """The diagnostics' findings on the whole run folder (its records before a resume
        too), read as `ganviz diagnose` reads it. Rank 0 only, after close."""
        from ganviz_gui.core.diagnostics import diagnose
        from ganviz_gui.core.run_sources import RunFolderSource

        recorded = RunFolderSource(self.run_dir).poll_all()
        return diagnose(recorded.records, recorded.events, self.trainer.config.loss)


# ---------------------------------------------------------------------- the writer thread
class SessionWriter(WriterThread):
    """A TrainingSession's run folder, written on a thread of its own.

    The thread owns the RunWriter (its records, in the order they were handed over) and does
    every write: JSON lines, pictures and their PNGs, checkpoints with their fsyncs. Its first
    failure is kept for the training thread, which raises it (`take_failure`); from then on
    pictures and scheduled checkpoints are dropped, as a run that failed in step stopped
    there, so the checkpoint the error names as the last good one stays the newest written.
    """

    def __init__(self, files: RunWriter, last_checkpoint_step: int):
        super().__init__("ganviz-session-writer", WRITER_QUEUE)
        self.files = files
        # Set by this thread once a checkpoint is on disk (or by a resume, to its checkpoint).
        self.last_checkpoint: Path | None = None
        self.last_checkpoint_step = last_checkpoint_step
        self.checkpoint_slots = threading.BoundedSemaphore(MAX_PENDING_CHECKPOINTS)
        # Events this thread made, for the session's live view (take_new_events).
        self.new_events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.failed = False
        self._failure: Exception | None = None
        self.thread.start()

    def take_failure(self) -> Exception | None:
        """The failure not raised yet, once (any thread)."""
        failure, self._failure = self._failure, None
        return failure

    def wait(self) -> None:
        if self.thread.is_alive():  # closed (a test's "crash"): nothing more will be done
            super().wait()

    # ------------------------------------------------------------------ the writer thread
    def write_picture(self, path: Path, make_png: Callable[[], bytes]) -> None:
        if self.failed:
            return
        with reporting_disk_full(path):
            save_png_bytes(make_png(), path)

    def write_checkpoint(
        self,
        path: Path,
        step: int,
        state: HostCopy,
        keep: int,
        report: Callable[[Exception], None],
        asked: bool,
    ) -> None:
        """Save the copied state atomically, then fsync the logs, so they agree with it after
        a crash, and keep the newest `keep`. A state that is not finite is refused and
        `report`ed. `asked`: a checkpoint someone waits for, tried even after a failure,
        whose own failure is `report`ed to it."""
        try:
            if self.failed and not asked:
                return
            save_checkpoint(state.get(), path, finite=state.all_finite())
            self.last_checkpoint, self.last_checkpoint_step = path, step
            self.files.sync()
            self.files.prune_checkpoints(keep)
        except NonFiniteWeightsError as exc:
            report(exc)
        except Exception as exc:
            if not asked:
                raise  # the writer's failure, raised at the next step
            report(exc)
        finally:
            self.checkpoint_slots.release()

    def _failed(self, work: Callable[..., None], exc: Exception) -> None:
        if not self.failed:  # the first one says it; what fails after it follows from it
            self.failed = True
            self._failure = exc

    def _finish(self) -> None:
        try:
            self.files.close()
        except Exception as exc:
            self._failed(self.files.close, exc)


# ---------------------------------------------------------------------- the verdict
# No GAN objective reaches this magnitude while training works (the losses are softplus,
# squares or hinges of D's outputs, O(1)-O(100) even for a drifting WGAN critic)...
DIVERGED_LOSS = 1e6
# ...nor this one, with G's samples on none of the modes.
RUNAWAY_LOSS = 1e4
DIVERGED_RECORDS = 3  # the last this many records all past it: sustained, not a spike


@dataclass(frozen=True)
class Verdict:
    """Why a run that reached its last step did not train: for people, with the numbers."""

    reason: str


class DivergenceWatch:
    """The run's last few records and its largest loss, for the verdict at close (the records
    themselves are in metrics.jsonl; this holds O(1) of them)."""

    def __init__(self) -> None:
        self.recent: deque[float] = deque(maxlen=DIVERGED_RECORDS)  # largest |loss| per record
        self.peak = (0.0, "", 0)  # (|loss|, which, step)
        self.coverage: tuple[Any, Any] | None = None  # newest (modes_covered, modes_total)

    def observe(self, record: dict[str, Any]) -> None:
        sizes = [
            (abs(value), key)
            for key in ("loss_d", "loss_g")
            if isinstance(value := record.get(key), int | float) and math.isfinite(value)
        ]
        if sizes:
            size, key = max(sizes)
            self.recent.append(size)
            if size > self.peak[0]:
                self.peak = (size, key, int(record.get("step", 0)))
        if record.get("modes_covered") is not None:
            self.coverage = (record["modes_covered"], record.get("modes_total"))

    def verdict(self) -> Verdict | None:
        """A Verdict when the run diverged: its last DIVERGED_RECORDS records all have a loss
        of at least DIVERGED_LOSS, or of RUNAWAY_LOSS with G covering no mode; else None."""
        if len(self.recent) < DIVERGED_RECORDS:
            return None
        lowest = min(self.recent)
        covers_nothing = self.coverage is not None and self.coverage[0] == 0
        if lowest < DIVERGED_LOSS and not (lowest >= RUNAWAY_LOSS and covers_nothing):
            return None
        size, key, step = self.peak
        threshold = DIVERGED_LOSS if lowest >= DIVERGED_LOSS else RUNAWAY_LOSS
        reason = (
            f"the losses ran away: {key} reached {size:.3g} at step {step:,} and every one of "
            f"the last {DIVERGED_RECORDS} records is above {threshold:.0e}"
        )
        if self.coverage is not None:
            covered, total = self.coverage
            reason += f"; G covers {covered} of {total} modes"
        return Verdict(reason)
