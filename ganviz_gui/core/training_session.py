"""`TrainingSession`: a trainer writing its run folder on schedule.

The command line and the GUI's worker both drive a session one step at a time, so what either
writes is the same: metrics at the logging interval, sample pictures, checkpoints (the newest K
kept), events, and a last checkpoint when the run stops for any reason.

Under torchrun every rank runs a session, so all step in the same rhythm, but only rank 0's
writes anything: the others train and write nothing (`writes` is False). A request to stop
(SIGTERM, SIGUSR1) is agreed on by every rank every STOP_CHECK_EVERY steps, so all of them
stop after the same step.

A full disk raises one DiskFullError naming the last good checkpoint (which the failed write
left intact), and closing then writes nothing more. A run that ends with its losses run away
closes as `diverged`, not `finished` (`verdict`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganviz_gui import __version__
from ganviz_gui.core.atomic_files import reporting_disk_full
from ganviz_gui.core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.data import Dataset, load_dataset
from ganviz_gui.core.devices import resolve_device
from ganviz_gui.core.distributed import DistributedContext
from ganviz_gui.core.errors import CheckpointError, DiskFullError, NonFiniteWeightsError
from ganviz_gui.core.run_folder import RunWriter, new_run_dir, run_dir_of_checkpoint
from ganviz_gui.core.sample_images import image_grid, save_png, scatter_plot, tile_scale, upscale
from ganviz_gui.core.trainer import StepResult, Trainer

if TYPE_CHECKING:
    from ganviz_gui.core.diagnostics import Finding

SCATTER_REAL_POINTS = 2000
SCATTER_FAKE_POINTS = 2000
# Under torchrun the ranks agree whether to stop at every this many steps (a collective of one
# number; single-process runs look at every step).
STOP_CHECK_EVERY = 10
# Why a run may be asked to stop, in rising priority: what the ranks agree on is the highest.
STOP_REASONS = ("stopped", "interrupted", "preempted")


class TrainingSession:
    def __init__(self, trainer: Trainer, run_dir: Path, resume_step: int | None = None):
        self.trainer = trainer
        self.run_dir = Path(run_dir)
        self.writes = trainer.distributed.is_main
        self.writer = (
            RunWriter(self.run_dir, trainer.config, resume_step=resume_step)
            if self.writes
            else None
        )
        self._last_checkpoint_step = resume_step if resume_step is not None else -1
        # The newest good checkpoint of the run: this session's, or the one it resumed from.
        self.last_checkpoint: Path | None = None
        self._last_sample_step = -1
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

    def step(self, kind: str = "both") -> StepResult:
        """One iteration plus whatever the schedule asks for at this step."""
        try:
            result = self.trainer.step(kind)
        finally:
            self.flush_events()
        if result.record is not None:
            self.divergence.observe(result.record)
        writer = self.writer
        if writer is None:  # a rank other than 0
            return result
        with self._naming_last_checkpoint():
            if result.record is not None:
                writer.append_metrics(result.record)
            if result.stats is not None:
                writer.append_stats(result.stats)
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
        the last good one, as it does when no checkpoint fell due on the way."""
        try:
            self.save_checkpoint()
        except NonFiniteWeightsError as exc:
            self._write_events(
                [{"step": self.step_count, "kind": "checkpoint_skipped", "reason": str(exc)}]
            )

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
        events, self._unread_events = self._unread_events, []
        return events

    def _write_events(self, events: list[dict[str, Any]]) -> None:
        if events and self.writer is not None:
            self._unread_events.extend(events)
            with self._naming_last_checkpoint():
                self.writer.append_events(events)

    # ------------------------------------------------------------------ outputs
    def write_samples(self) -> Path:
        step = self.step_count
        picture = self.sample_picture()
        path = self._run_writer().sample_path(step)
        with self._naming_last_checkpoint(), reporting_disk_full(path):
            save_png(picture, path)
        self._last_sample_step = step
        return path

    def sample_picture(self) -> np.ndarray:
        """The fixed-noise grid (images) or a real-versus-generated scatter plot (2D data)."""
        trainer = self.trainer
        if trainer.dataset.is_image:
            samples = trainer.fixed_samples()
            return upscale(image_grid(samples), tile_scale(samples.shape[-1]))
        real = trainer.dataset.data[:SCATTER_REAL_POINTS].numpy()
        fake = trainer.sample(SCATTER_FAKE_POINTS, seed=trainer.config.seed + 5)
        return scatter_plot(real, fake)

    def save_checkpoint(self) -> Path:
        writer = self._run_writer()
        with self._naming_last_checkpoint():
            path = save_checkpoint(
                self.trainer.checkpoint_state(), writer.checkpoint_path(self.step_count)
            )
            self._last_checkpoint_step = self.step_count
            self.last_checkpoint = path
            writer.sync()
        writer.prune_checkpoints(self.trainer.config.keep_checkpoints)
        return path

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

    def _run_writer(self) -> RunWriter:
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
        if self.writer is not None:
            try:
                with self._naming_last_checkpoint():
                    self.writer.close()
            except DiskFullError as exc:
                failure = failure or (None if reported else exc)
        if failure is not None:
            raise failure
        return self.last_checkpoint

    def _write_last_outputs(self) -> None:
        if not self.writes or self.disk_full:
            return
        if self._last_sample_step != self.step_count:
            self.write_samples()
        if self._last_checkpoint_step != self.step_count:
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
