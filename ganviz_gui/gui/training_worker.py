"""The training thread: a worker that drives a `TrainingSession` and reports at display rate.

Only numpy arrays, plain values and strings cross to the GUI thread. Updates are coalesced:
records and events pile up in the worker and go out at most `RefreshRates.update_hz` times a
second, and only once the GUI has taken the previous one (measured: one signal per step from a
busy loop starved the GUI, with stalls of 37-604 ms). Every update costs the training thread
too: the GUI's Python code holds the GIL it needs, so the rates are as low as still looks live. Pictures (the sample grid, the 2D field)
are computed and tiled here, at their own lower rates, never in a paint handler.

Stop, pause and close are cooperative: the loop checks a command queue between steps and
never gets `terminate()`d. The worker quits its own thread when it ends, so closing the
window can wait for it without needing the GUI thread's event loop.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot


@dataclass(frozen=True)
class RefreshRates:
    update_hz: float = 10.0  # scalars, events and the status line
    field_hz: float = 10.0  # the 2D field view (D's heat map, manifold, arrows)
    samples_hz: float = 2.0  # the fixed-noise sample grid (a decode of 64 samples)
    weights_hz: float = 1.0  # copies of G (EMA) and D for the latent explorer's live mode


@dataclass
class RunStarted:
    run_dir: str
    device: str
    config: dict[str, Any]
    is_image: bool
    sample_shape: tuple[int, ...]
    threads: int
    data_summary: str
    skipped_files: list[tuple[str, str]]
    fixed_noise: Any = None  # (n_samples, latent_dim) numpy: the latents of the sample grid


@dataclass
class TrainingUpdate:
    step: int
    total_steps: int
    steps_per_sec: float  # over the last few seconds of wall time
    active_seconds: float  # wall time spent running (pauses excluded)
    state: str  # running / paused
    records: list[dict[str, Any]] = field(default_factory=list)  # metrics since the last update
    events: list[dict[str, Any]] = field(default_factory=list)
    stats: list[dict[str, Any]] = field(default_factory=list)  # network_stats since the last
    samples: Any = None  # core.live_views.SampleSheet, when refreshed
    field: Any = None  # core.live_views.FieldSnapshot, when refreshed (2D data)
    weights: Any = None  # {"generator": EMA state_dict, "discriminator": ...}, CPU copies


@dataclass
class RunEnded:
    reason: str  # finished / stopped / window closed / error
    step: int
    checkpoint: str  # the last checkpoint written ("" if none could be)
    message: str = ""  # what went wrong, for people (errors only)


class TrainingWorker(QObject):
    run_started = Signal(object)  # RunStarted
    updated = Signal(object)  # TrainingUpdate
    setting_refused = Signal(str)  # a live change the engine refused, with its message
    checkpoint_saved = Signal(str)  # path of a checkpoint saved on request
    run_ended = Signal(object)  # RunEnded

    def __init__(
        self,
        config: Any = None,  # core.config.TrainingConfig of a new run
        start_paused: bool = False,
        rates: RefreshRates | None = None,
        run_dir: str | None = None,
        resume_from: str | None = None,  # a checkpoint to continue instead (starts paused)
    ):
        super().__init__()
        if (config is None) == (resume_from is None):
            raise ValueError("give either a config or a checkpoint to resume from")
        self.config = config
        self.resume_from = resume_from
        self.rates = rates or RefreshRates()
        self.run_dir = run_dir
        self._commands: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._stop_reason: str | None = None  # set from the GUI thread; read between steps
        self._paused = start_paused
        self._gui_ready = threading.Event()  # the GUI has handled the last update
        self._gui_ready.set()
        # Pictures for panels the user cannot see are not computed (set from the GUI thread;
        # a plain attribute write, read between steps).
        self.wanted = {"field": True, "samples": True, "weights": False}
        self.weights_interval = 1.0 / self.rates.weights_hz  # seconds; the explorer may change it
        # Owned by the training thread once it runs.
        self._pending_records: list[dict[str, Any]] = []
        self._pending_stats: list[dict[str, Any]] = []
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=64)  # (time, step)
        self._active = 0.0
        self._last_sent = self._last_field = self._last_samples = self._last_weights = 0.0
        self._plane_field: Any = None  # core.live_views.PlaneField for 2D data
        self._real: Any = None  # the real samples shown beside the generated ones

    # ------------------------------------------------------------------ called from the GUI
    def request(self, command: str, **arguments: Any) -> None:
        """Queue a command (pause, resume, step, set_rates, set_d_steps, set_loss, save)."""
        self._commands.put((command, arguments))

    def request_stop(self, reason: str = "stopped") -> None:
        self._stop_reason = reason
        self._commands.put(("wake", {}))

    def set_wanted(self, view: str, shown: bool) -> None:
        """Whether the GUI shows `view` ("field", "samples" or "weights" for the explorer);
        what is not shown costs nothing."""
        self.wanted = {**self.wanted, view: shown}

    def acknowledge(self) -> None:
        """The GUI has drawn an update; the next may be sent."""
        self._gui_ready.set()

    # ------------------------------------------------------------------ the training thread
    @Slot()
    def run(self) -> None:
        try:
            self._run()
        finally:
            # Quit from here: a queued finished->quit would need the GUI thread, which may
            # be blocked in closeEvent waiting for this thread.
            QThread.currentThread().quit()

    def _run(self) -> None:
        from ganviz_gui.core.devices import apply_num_threads
        from ganviz_gui.core.errors import GanvizError
        from ganviz_gui.core.training_session import TrainingSession

        try:
            if self.resume_from is not None:
                session = TrainingSession.resume(self.resume_from)
                self._paused = True  # show where the run stands; Resume continues it
            else:
                session = TrainingSession.start(self.config, run_dir=self.run_dir)
            threads = apply_num_threads(session.trainer.config.num_threads)
        except Exception as exc:  # bad data, missing device, out of memory at start
            message = str(exc) if isinstance(exc, GanvizError) else _describe(exc)
            self.run_ended.emit(RunEnded("error", 0, "", message))
            return
        trainer = session.trainer
        dataset = trainer.dataset
        self.run_started.emit(
            RunStarted(
                run_dir=str(session.run_dir),
                device=_device_text(trainer.device),
                config=trainer.config.to_dict(),
                is_image=dataset.is_image,
                sample_shape=tuple(dataset.sample_shape),
                threads=threads,
                data_summary=f"{dataset.name}: {len(dataset):,} samples of shape "
                f"{tuple(dataset.sample_shape)}",
                skipped_files=list(dataset.skipped[:50]),
                fixed_noise=trainer.fixed_noise.numpy().copy(),
            )
        )
        reason, message = "finished", ""
        try:
            self._loop(session)
            reason = self._stop_reason or "finished"
        except Exception as exc:
            reason = "error"
            message = str(exc) if isinstance(exc, GanvizError) else _describe(exc)
            try:
                session.record_error(message)
            except Exception:  # the run folder itself may be the problem (disk full)
                traceback.print_exc()
        checkpoint = ""
        try:
            checkpoint = str(session.close(reason) or "")
        except Exception as exc:
            message = (message + "\n" if message else "") + f"could not save: {_describe(exc)}"
            reason = "error"
        try:  # the final state, so the views match the last checkpoint
            self._send_update(session, force=True, pictures=True)
        except Exception:
            traceback.print_exc()
        # Let the models and data go with the run, not with this object.
        self._plane_field = self._real = None
        self.run_ended.emit(RunEnded(reason, session.step_count, checkpoint, message))

    def _loop(self, session: Any) -> None:
        from ganviz_gui.core.errors import ConfigError
        from ganviz_gui.core.live_views import PlaneField, real_batch

        trainer = session.trainer
        self._plane_field = None if trainer.dataset.is_image else PlaneField(trainer)
        self._real = (
            real_batch(trainer, trainer.config.n_samples, trainer.config.seed + 6)
            if trainer.dataset.is_image
            else None
        )
        self._send_update(session, force=True, pictures=True)
        running_since = time.perf_counter()
        while True:
            # Between steps: apply what the GUI asked for. Paused, block briefly instead.
            block = self._paused and self._stop_reason is None
            try:
                command, arguments = (
                    self._commands.get(timeout=0.05) if block else (self._commands.get_nowait())
                )
            except queue.Empty:
                command, arguments = None, {}
            if self._stop_reason is not None:
                return
            if command is not None:
                try:
                    changed = self._apply(session, command, arguments)
                except ConfigError as exc:
                    self.setting_refused.emit(str(exc))
                    changed = False
                if changed:
                    self._send_update(session, force=True, pictures=True)
                continue  # drain all commands before the next step
            if self._paused:
                running_since = time.perf_counter()
                continue
            if session.step_count >= trainer.config.steps:
                return
            result = session.step()
            self._keep(result)
            now = time.perf_counter()
            self._active += now - running_since
            running_since = now
            self._rate_window.append((now, result.step))
            self._send_update(session)

    def _keep(self, result: Any) -> None:
        """Hold a step's metrics and layer statistics for the next update."""
        if result.record is not None:
            self._pending_records.append(result.record)
        if result.stats is not None:
            self._pending_stats.append(result.stats)

    def _apply(self, session: Any, command: str, arguments: dict[str, Any]) -> bool:
        """Apply one command; True when the views should refresh at once."""
        trainer = session.trainer
        if command == "pause":
            self._paused = True
        elif command == "resume":
            self._paused = False
            self._rate_window.clear()
        elif command == "step":
            self._paused = True
            result = session.step(arguments.get("kind", "both"))
            self._keep(result)
        elif command == "set_rates":
            trainer.set_learning_rates(arguments.get("lr_g"), arguments.get("lr_d"))
        elif command == "set_d_steps":
            trainer.set_d_steps(arguments["d_steps"])
        elif command == "set_loss":
            trainer.set_loss(arguments["loss"])
        elif command == "set_steps":
            trainer.config = trainer.config.replace(steps=int(arguments["steps"]))
        elif command == "save":
            self.checkpoint_saved.emit(str(session.save_checkpoint()))
        elif command == "wake":
            return False
        else:
            raise ValueError(f"unknown command {command!r}")
        session.flush_events()
        return True

    def _send_update(self, session: Any, force: bool = False, pictures: bool = False) -> None:
        """Emit what piled up, at most update_hz times a second and only when the GUI is free."""
        from ganviz_gui.core.live_views import sample_sheet

        now = time.perf_counter()
        if not force and (
            now - self._last_sent < 1.0 / self.rates.update_hz or not self._gui_ready.is_set()
        ):
            return
        trainer = session.trainer
        update = TrainingUpdate(
            step=session.step_count,
            total_steps=trainer.config.steps,
            steps_per_sec=self._steps_per_sec(now),
            active_seconds=self._active,
            state="paused" if self._paused else "running",
            records=self._pending_records,
            events=session.take_new_events(),
            stats=self._pending_stats,
        )
        self._pending_records, self._pending_stats = [], []
        if self._plane_field is not None and (
            pictures or (self.wanted["field"] and now - self._last_field >= 1 / self.rates.field_hz)
        ):
            update.field = self._plane_field.snapshot()
            self._last_field = now
        if self._real is not None and (
            pictures
            or (self.wanted["samples"] and now - self._last_samples >= 1 / self.rates.samples_hz)
        ):
            update.samples = sample_sheet(trainer, self._real)
            self._last_samples = now
        if self.wanted["weights"] and (
            pictures or now - self._last_weights >= self.weights_interval
        ):
            update.weights = {
                "generator": _cpu_copy(trainer.sampling_generator("ema").state_dict()),
                "discriminator": _cpu_copy(trainer.discriminator.state_dict()),
            }
            self._last_weights = now
        self._last_sent = now
        self._gui_ready.clear()
        self.updated.emit(update)

    def _steps_per_sec(self, now: float) -> float:
        window = self._rate_window
        if not window or self._paused:
            return 0.0
        first_time, first_step = window[0]
        last_time, last_step = window[-1]
        if now - last_time > 2.0 or last_time <= first_time:
            return 0.0
        return (last_step - first_step) / (last_time - first_time)


def _cpu_copy(state: dict[str, Any]) -> dict[str, Any]:
    """Weights the GUI can use while training goes on: detached CPU copies."""
    return {key: value.detach().to("cpu", copy=True) for key, value in state.items()}


def _device_text(device: Any) -> str:
    if device.type == "cuda":
        import torch

        return f"{torch.cuda.get_device_name(device)} ({device})"
    return {"cpu": "CPU", "mps": "Apple GPU (mps)"}.get(device.type, str(device))


def _describe(exc: BaseException) -> str:
    """An unexpected exception for people: its kind and message, e.g. out of memory."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class TrainingThread(QObject):
    """One run's QThread and worker, wired before start (superqt's new_worker_qthread order)."""

    def __init__(self, worker: TrainingWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("trainingThread")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)

    def start(self) -> None:
        self.thread.start()

    def stop(self, reason: str = "stopped") -> None:
        self.worker.request_stop(reason)

    def wait(self, milliseconds: int) -> bool:
        """Block until the thread has ended (the worker saves its checkpoint first)."""
        return self.thread.wait(milliseconds)

    def is_running(self) -> bool:
        return self.thread.isRunning()
