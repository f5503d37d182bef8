"""`TrainingSession`: a trainer writing its run folder on schedule.

The command line and the GUI's worker both drive a session one step at a time, so what either
writes is the same: metrics at the logging interval, sample pictures, checkpoints (the newest K
kept), events, and a last checkpoint when the run stops for any reason.

Under torchrun every rank runs a session, so all step in the same rhythm, but only rank 0's
writes anything: the others train and write nothing (`writes` is False).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganviz_gui import __version__
from ganviz_gui.core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.data import Dataset, load_dataset
from ganviz_gui.core.devices import resolve_device
from ganviz_gui.core.distributed import DistributedContext
from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.run_folder import RunWriter, new_run_dir, run_dir_of_checkpoint
from ganviz_gui.core.sample_images import image_grid, save_png, scatter_plot, tile_scale, upscale
from ganviz_gui.core.trainer import StepResult, Trainer

SCATTER_REAL_POINTS = 2000
SCATTER_FAKE_POINTS = 2000


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
        self.last_checkpoint: Path | None = None
        self._last_sample_step = -1
        self.closed = False
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
        return cls(trainer, target, resume_step=trainer.step_count)

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
        writer = self.writer
        if writer is None:  # a rank other than 0
            return result
        if result.record is not None:
            writer.append_metrics(result.record)
        if result.stats is not None:
            writer.append_stats(result.stats)
        config = self.trainer.config
        if result.step % config.sample_every == 0:
            self.write_samples()
        if result.step % config.checkpoint_every == 0:
            self.save_checkpoint()
        return result

    def run(
        self,
        until_step: int,
        should_stop: Callable[[], bool] = lambda: False,
        on_step: Callable[[StepResult], None] | None = None,
    ) -> str:
        """Step until `until_step` or `should_stop()`; return why it ended ('finished'/'stopped')."""
        while self.step_count < until_step:
            if should_stop():
                return "stopped"
            result = self.step()
            if on_step is not None:
                on_step(result)
        return "finished"

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
            self.writer.append_events(events)
            self._unread_events.extend(events)

    # ------------------------------------------------------------------ outputs
    def write_samples(self) -> Path:
        step = self.step_count
        path = save_png(self.sample_picture(), self._run_writer().sample_path(step))
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
        path = save_checkpoint(
            self.trainer.checkpoint_state(), writer.checkpoint_path(self.step_count)
        )
        self._last_checkpoint_step = self.step_count
        self.last_checkpoint = path
        writer.sync()
        writer.prune_checkpoints(self.trainer.config.keep_checkpoints)
        return path

    def _run_writer(self) -> RunWriter:
        if self.writer is None:
            raise RuntimeError("under torchrun only rank 0 writes the run folder")
        return self.writer

    def close(self, reason: str = "finished") -> Path | None:
        """Write the last samples and checkpoint (unless just written), log why, close files.

        Returns the newest checkpoint of this session.
        """
        if self.closed:
            return self.last_checkpoint
        self.closed = True
        try:
            if self.writes and self._last_sample_step != self.step_count:
                self.write_samples()
            if self.writes and self._last_checkpoint_step != self.step_count:
                self.save_checkpoint()
        finally:
            self.flush_events()
            self._write_events([{"step": self.step_count, "kind": "closed", "reason": reason}])
            if self.writer is not None:
                self.writer.close()
        return self.last_checkpoint
