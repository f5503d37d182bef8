"""Training in the window: start, resume, pause, step, stop, save, live settings.

Owns the one training thread and turns what it reports into changes of the `Workspace`
(through a `TrainerSource`, the same way any other source of runs feeds it). When the run
ends, its folder stays shown and becomes an inspected run: the slider, the explorer and
Compare offer the run just trained.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.live_loop import (
    Pause,
    RefreshRates,
    Resume,
    RunEnded,
    RunStarted,
    SaveCheckpoint,
    SetDSteps,
    SetLearningRates,
    SetLoss,
    SetSteps,
    Step,
    TrainingUpdate,
)
from ganviz_gui.core.record_columns import RecordColumns, as_columns
from ganviz_gui.core.run_sources import RunFolderSource, TrainerSource
from ganviz_gui.core.workspace import Mode, Progress, RunDelta, ShownGenerator, Workspace
from ganviz_gui.gui.background import LatestOnly
from ganviz_gui.gui.training_worker import TrainingThread, TrainingWorker

if TYPE_CHECKING:
    from collections.abc import Callable

    from ganviz_gui.core.live_loop import Command, StepKind

# A live setting of the setup panel -> the typed command that applies it.
LIVE_SETTINGS: dict[str, Callable[[Any], Command]] = {
    "lr_g": lambda value: SetLearningRates(lr_g=value),
    "lr_d": lambda value: SetLearningRates(lr_d=value),
    "d_steps": lambda value: SetDSteps(int(value)),
    "loss": lambda value: SetLoss(str(value)),
    "steps": lambda value: SetSteps(int(value)),
}


class TrainingController(QObject):
    state_changed = Signal()  # started, paused, resumed, stopping or ended: refresh the actions

    def __init__(self, workspace: Workspace, rates: RefreshRates | None = None, parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.rates = rates or RefreshRates()
        self.training: TrainingThread | None = None
        self.source: TrainerSource | None = None
        self.started: RunStarted | None = None
        self.last_update: TrainingUpdate | None = None
        self.last_end: RunEnded | None = None
        self.stopping = False
        self._closing = False  # the window is closing: a run that ends is not inspected
        self._resuming = False  # the next run launched continues a run folder
        self._continues_a_run = False  # the run launched last does
        self._history = LatestOnly(self, own_thread=True)  # a continued run's records so far
        self._history.finished.connect(self._on_history_read)
        self.wanted = {"field": True, "samples": True}  # panels shown on screen
        workspace.following_changed.connect(self._on_following_changed)
        workspace.forward_pass_changed.connect(self._on_following_changed)
        workspace.picture_drawn.connect(self._on_picture_drawn)

    def _on_picture_drawn(self, view: str, seconds: float) -> None:
        if self.training is not None:
            self.training.worker.note_drawn(view, seconds)

    # ------------------------------------------------------------------ state
    @property
    def active(self) -> bool:
        """A run's thread exists (starting, training, paused or saving at its end)."""
        return self.training is not None

    @property
    def started_run(self) -> bool:
        return self.training is not None and self.started is not None

    @property
    def paused(self) -> bool:
        return (
            self.started_run and self.last_update is not None and self.last_update.state == "paused"
        )

    # ------------------------------------------------------------------ commands
    def start(self, config: TrainingConfig, paused: bool = False) -> bool:
        if self.training is not None:
            return False
        self._launch(TrainingWorker(config, start_paused=paused, rates=self.rates))
        return True

    def resume(self, checkpoint: str) -> bool:
        if self.training is not None:
            return False
        self._resuming = True
        self._launch(TrainingWorker(resume_from=checkpoint, rates=self.rates))
        return True

    def send(self, command: Command) -> None:
        if self.training is not None:
            self.training.worker.send(command)

    def toggle_pause(self) -> None:
        if self.started_run:
            self.send(Resume() if self.paused else Pause())

    def step(self, kind: StepKind = "both") -> None:
        self.send(Step(kind))

    def save(self) -> None:
        if self.started_run:
            self.send(SaveCheckpoint())

    def change_setting(self, name: str, value: Any) -> None:
        """A live change from the setup panel, as the engine's typed command."""
        make = LIVE_SETTINGS.get(name)
        if make is not None:
            self.send(make(value))

    def stop(self, reason: str = "stopped") -> None:
        if self.training is not None and not self.stopping:
            self.stopping = True
            self.training.stop(reason)
            self.workspace.say("Stopping: saving a checkpoint...", 0)
            self.state_changed.emit()

    def shutdown(self, milliseconds: int) -> bool:
        """Stop between two steps and wait for the checkpoint; False if it is still busy."""
        if self.training is None:
            return True
        self._closing = True
        self.stop("window closed")
        if not self.training.wait(milliseconds):
            return False
        self._on_thread_finished()
        return True

    def keep_going(self) -> None:
        """The window stays open after all (the user would not wait): the run, already told to
        stop, ends as any stopped run does and is then inspected."""
        self._closing = False

    def wait_more(self, milliseconds: int) -> bool:
        return self.training is None or self.training.wait(milliseconds)

    def set_shown(self, view: str, shown: bool) -> None:
        """Whether the field view / sample grid is on screen: hidden pictures cost nothing."""
        self.wanted[view] = shown
        if self.training is not None:
            self.training.worker.set_wanted(view, shown)

    @property
    def picture_budget(self) -> float:
        return self.rates.picture_budget

    def set_picture_budget(self, share: float) -> None:
        """The share of the training time the live pictures may take, for the running run
        (from its next picture) and the runs started after it."""
        self.rates = dataclasses.replace(self.rates, picture_budget=share)
        if self.training is not None:
            self.training.worker.set_picture_budget(share)

    # ------------------------------------------------------------------ the thread
    def _launch(self, worker: TrainingWorker) -> None:
        self._continues_a_run, self._resuming = self._resuming, False
        self._history.cancel()
        self.started, self.last_update, self.last_end, self.stopping = None, None, None, False
        worker.run_started.connect(self._on_run_started)
        worker.updated.connect(self._on_update)
        worker.run_ended.connect(self._on_run_ended)
        worker.setting_refused.connect(self._on_setting_refused)
        worker.checkpoint_saved.connect(self._on_checkpoint_saved)
        for view, shown in self.wanted.items():
            worker.set_wanted(view, shown)
        worker.set_wanted("weights", self.workspace.live_weights_wanted)
        worker.set_weights_interval(self.workspace.follow_interval)
        # Not parented: dropping the reference when the thread has finished frees the run.
        self.training = TrainingThread(worker)
        self.training.qthread.finished.connect(self._on_thread_finished)
        # The previous run (trained or inspected) leaves every panel now, not when the engine
        # has loaded the data.
        self.workspace.show_run(None, Mode.TRAINING)
        self.workspace.set_progress(Progress(0, 0, 0.0, 0.0, "starting"))
        self.workspace.say("Starting: loading data and building the models...", 0)
        self.training.start()
        self.state_changed.emit()

    def _on_run_started(self, started: RunStarted) -> None:
        self.started = started
        self.source = TrainerSource(started)
        workspace = self.workspace
        workspace.show_run(self.source.describe(), Mode.TRAINING)
        if self._continues_a_run:
            # Its curves so far, read off the GUI thread (the run waits paused meanwhile).
            run_dir = self.source.run_dir
            self._history.submit(lambda: (started, RunFolderSource(run_dir).poll_all()))
        message = f"Training {started.data_summary} on {started.device}"
        if started.skipped_files:
            message += f" ({len(started.skipped_files)} unreadable file(s) skipped)"
        workspace.say(message, 8000)
        self.state_changed.emit()

    def _on_update(self, update: TrainingUpdate) -> None:
        try:
            if self.source is None or self.training is None:
                return
            was_paused = self.paused
            self.last_update = update
            self.source.push(update)
            workspace = self.workspace
            workspace.extend(self.source.poll())
            workspace.set_progress(
                Progress(
                    update.step,
                    update.total_steps,
                    update.steps_per_sec,
                    update.active_seconds,
                    "stopping" if self.stopping else update.state,
                )
            )
            if update.samples is not None:
                workspace.set_sheet(update.samples)
            if update.field is not None:
                workspace.set_field(update.field)
            if update.weights is not None:
                self._show_live_weights(update)
            if self.paused != was_paused:
                self.state_changed.emit()
        finally:
            if self.training is not None:
                self.training.worker.acknowledge()

    def _show_live_weights(self, update: TrainingUpdate) -> None:
        """The generator being trained, at its newest weights (built by whoever draws it, on
        their own threads: this only wraps the CPU copies)."""
        from ganviz_gui.core.generator_files import live_generator

        started, run = self.started, self.workspace.run
        assert started is not None and update.weights is not None
        assert run is not None and run.config is not None  # the trainer's run, shown
        live = live_generator(
            run.config,
            started.sample_shape,
            update.weights,
            update.step,
            started.run_dir,
        )
        self.workspace.show_generator(ShownGenerator(live, "live"))

    def _on_run_ended(self, end: RunEnded) -> None:
        self.last_end = end
        if self._closing:
            return  # the window is going: no dialog for a run it stopped itself
        if end.reason == "error":
            # A full disk's message names the checkpoint kept (older than the failing step).
            kept = (
                f"\n\nThe run up to step {end.step:,} is kept ({end.checkpoint})."
                if end.checkpoint and end.checkpoint not in end.message
                else ""
            )
            self.workspace.warn(f"Training stopped with an error:\n{end.message}{kept}")
        elif end.reason == "diverged":
            saved = f" Its last checkpoint is {end.checkpoint}." if end.checkpoint else ""
            self.workspace.warn(
                f"The run reached step {end.step:,} but diverged: {end.message}.{saved}\n\n"
                "The Diagnostics panel has the findings on its records."
            )
        else:
            saved = f"; checkpoint {Path(end.checkpoint).name}" if end.checkpoint else ""
            self.workspace.say(f"Run {end.reason} at step {end.step:,}{saved}", 0)

    def _on_thread_finished(self) -> None:
        if self.training is None:
            return
        self.training = None
        source, self.source = self.source, None
        workspace = self.workspace
        if workspace.mode != Mode.TRAINING:
            pass  # another run was opened meanwhile: it stays shown
        elif source is None or workspace.run is None:
            workspace.show_run(None, Mode.IDLE)  # it never started (bad data, a missing device)
        elif self._closing:
            pass  # the window closes: nothing more is loaded for it
        else:
            source.checkpoint_written()
            workspace.extend(source.poll())
            progress = workspace.progress
            if progress is not None:
                workspace.set_progress(
                    Progress(
                        progress.step, progress.total_steps, 0.0, progress.active_seconds, "ended"
                    )
                )
            # The run just trained is now a run to inspect, at its newest checkpoint.
            workspace.set_mode(Mode.INSPECTING)
            if workspace.checkpoints:
                workspace.set_step(workspace.checkpoints[-1][0])
        self.state_changed.emit()

    def _on_history_read(self, result: Any, error: str) -> None:
        """A continued run's records before this session, under what it has sent since."""
        workspace = self.workspace
        if error or result is None or workspace.mode != Mode.TRAINING:
            return
        started, history = result
        if started is not self.started or workspace.run is None:
            return  # another run meanwhile
        # A restarted delta: the panels redraw their curves from the merged lists, and keep
        # the pictures they show.
        workspace.extend(
            RunDelta(
                records=_records_then_newer(history.records, workspace.records),
                events=_then_newer(history.events, workspace.events),
                stats=_then_newer(history.stats, workspace.stats),
                restarted=True,
            )
        )

    def _on_setting_refused(self, message: str) -> None:
        self.workspace.setting_refused.emit(message)
        self.workspace.warn(f"The engine refused the change: {message}")

    def _on_checkpoint_saved(self, path: str) -> None:
        if self.source is not None:
            self.source.checkpoint_written()
        self.workspace.say(f"Saved {path}", 5000)

    def _on_following_changed(self, _following: Any) -> None:
        if self.training is not None:
            worker = self.training.worker
            worker.set_weights_interval(self.workspace.follow_interval)
            worker.set_wanted("weights", self.workspace.live_weights_wanted)


def _records_then_newer(before: RecordColumns | list, since: RecordColumns) -> RecordColumns:
    """Metric records read from the run's files, then those sent live after the newest."""
    merged = as_columns(before)
    newest = float(merged.steps.max()) if len(merged) else -1.0
    merged.append(since.after_step(newest))
    return merged


def _then_newer(before: list[dict[str, Any]], since: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records read from the run's files, then those sent live after the newest of them (the
    files may already hold the first live ones)."""
    newest = max((r.get("step", -1) for r in before), default=-1)
    return [*before, *(r for r in since if r.get("step", -1) > newest)]
