"""The live training loop: drives a `TrainingSession` and reports at display rate, without Qt.

The GUI's training thread runs a `LiveLoop`; a `LoopListener` (the Qt adapter in
gui/training_worker.py, or a test) receives what it sends. Only numpy arrays, CPU tensors,
plain values and strings go out. Updates are coalesced: records and events pile up in the loop
and go out at most `RefreshRates.update_hz` times a second, and only once the consumer has
acknowledged the previous one (measured: one signal per step from a busy loop starved the GUI,
with stalls of 37-604 ms). Every update costs the training thread too: the GUI's Python code
holds the GIL it needs, so the rates are as low as still looks live. Pictures (the sample grid
with D's verdicts, the 2D field, the weight copies the explorer follows) are computed and tiled
here, at their own lower rates and only for views someone shows, never in a paint handler.
Each picture's cost is measured and its interval stretched so that all of them together take
at most `RefreshRates.picture_budget` of the training thread's time (core/picture_budget.py):
a cheap picture keeps its rate, a big model's grid comes less often instead of slowing training.

Commands are typed (`Pause`, `Step`, `SetLearningRates`, ...) and applied between steps. Stop,
pause and close are cooperative: the loop checks its command queue between steps and is never
killed, so the last checkpoint is always written.

This module imports neither Qt nor torch at import time: the window imports it before torch has
loaded (that takes 2-3 s), and the engine runs where Qt is absent.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, get_args

from ganviz_gui.core.picture_budget import PictureBudget

if TYPE_CHECKING:
    import numpy as np
    import torch

    from ganviz_gui.core.config import TrainingConfig
    from ganviz_gui.core.live_views import FieldSnapshot, LiveSamples, PlaneField, SampleSheet
    from ganviz_gui.core.trainer import StepResult, Trainer
    from ganviz_gui.core.training_session import TrainingSession

PAUSED_POLL_SECONDS = 0.05  # how long a paused loop blocks on its queue before looking again
RATE_WINDOW_STEPS = 64  # steps/s is measured over the last this many steps...
RATE_STALE_SECONDS = 2.0  # ...and reads 0 when the newest of them is older than this

StepKind: TypeAlias = Literal["both", "d", "g"]
STEP_KINDS: tuple[StepKind, ...] = get_args(StepKind)  # as core.trainer.STEP_KINDS
VIEWS = ("field", "samples", "weights")  # the pictures a consumer may want


# ---------------------------------------------------------------------- messages out
@dataclass(frozen=True)
class RefreshRates:
    # Scalars, events and the status line. 5, not 10: each update costs the window's thread
    # about 3.9 ms on 8 Gaussians at 10^6 records (appends to the columns and the plots'
    # pyramids, which redraw 3 times a second anyway); at 10 a second that thread took 6.1-6.6%
    # of the time, holding the GIL the training step needs, at 5 3.8-4.3%.
    update_hz: float = 5.0
    field_hz: float = 10.0  # the 2D field view (D's heat map, manifold, arrows)
    samples_hz: float = 2.0  # the fixed-noise sample grid (a decode of 64 samples)
    weights_hz: float = 1.0  # copies of G (EMA) and D for the latent explorer's live mode
    # The most of the training thread's time all wanted pictures together may take; a picture
    # costing more than its share comes less often than its rate above (`PictureBudget`).
    # 2%, not 3%: the window's other costs (records, the plots' GIL) take about 1% more, and
    # the window as a whole is to keep 97% of headless speed (8 Gaussians measured 0.969 with
    # its field at 3%, 0.976 at 2%). The user may choose another (View > Live pictures).
    picture_budget: float = 0.02


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
    fixed_noise: np.ndarray | None = None  # (n_samples, latent_dim): the sample grid's latents


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
    samples: SampleSheet | None = None  # when refreshed (image data)
    field: FieldSnapshot | None = None  # when refreshed (2D data)
    weights: dict[str, dict[str, torch.Tensor]] | None = None  # generator (EMA), discriminator
    # Seconds between refreshes of each wanted picture now, as the budget stretched them.
    # (`field` is shadowed in this class by the attribute above.)
    picture_intervals: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclass
class RunEnded:
    reason: str  # finished / diverged / stopped / window closed / error
    step: int
    checkpoint: str  # the last good checkpoint ("" if none could be written)
    message: str = ""  # what went wrong, for people (errors, and why a run diverged)


class LoopListener(Protocol):
    """What a `LiveLoop` reports to; called on the loop's thread, in this order of a run:
    run_started once (unless the run cannot start), then the others, run_ended always last."""

    def run_started(self, started: RunStarted) -> None: ...

    def updated(self, update: TrainingUpdate) -> None: ...

    def setting_refused(self, message: str) -> None: ...  # a live change the engine refused

    def checkpoint_saved(self, path: str) -> None: ...  # a checkpoint saved on request

    def run_ended(self, ended: RunEnded) -> None: ...


# ---------------------------------------------------------------------- commands in
@dataclass(frozen=True)
class Pause:
    """Stop stepping; the loop waits for commands (the views still refresh on changes)."""


@dataclass(frozen=True)
class Resume:
    """Go on stepping after a pause."""


@dataclass(frozen=True)
class Step:
    """One step, then stay paused: "both" (d_steps D updates and one G update), "d" or "g"."""

    kind: StepKind = "both"

    def __post_init__(self) -> None:
        # Checked here, in the sender's thread: a bad kind inside the loop would end the run.
        if self.kind not in STEP_KINDS:
            raise ValueError(f"step kind must be one of {STEP_KINDS}, got {self.kind!r}")


@dataclass(frozen=True)
class SetLearningRates:
    """New learning rates; None leaves that network's rate as it is."""

    lr_g: float | None = None
    lr_d: float | None = None


@dataclass(frozen=True)
class SetDSteps:
    """D updates per step from now on."""

    d_steps: int


@dataclass(frozen=True)
class SetLoss:
    """Another loss (one of core.config.LOSSES) from now on."""

    loss: str


@dataclass(frozen=True)
class SetSteps:
    """Where the run ends (at or below the current step: it ends now)."""

    steps: int


@dataclass(frozen=True)
class SaveCheckpoint:
    """Write a checkpoint now; the listener's checkpoint_saved gets its path."""


Command: TypeAlias = (
    Pause | Resume | Step | SetLearningRates | SetDSteps | SetLoss | SetSteps | SaveCheckpoint
)
COMMAND_TYPES: tuple[type, ...] = get_args(Command)


# ---------------------------------------------------------------------- the loop
class LiveLoop:
    """One run, driven step by step on the thread that calls `run()`.

    `send`, `stop`, `acknowledge`, `set_wanted` and `set_weights_interval` may be called from
    any thread; the loop reads what they set between steps. `clock` times the refresh rates
    (a test passes a fake one); `cost_clock` times what each picture costs (real time unless a
    test passes another).
    """

    def __init__(
        self,
        listener: LoopListener,
        config: TrainingConfig | None = None,  # a new run...
        *,
        start_paused: bool = False,
        rates: RefreshRates | None = None,
        run_dir: str | None = None,
        resume_from: str | None = None,  # ...or a checkpoint to continue (starts paused)
        clock: Callable[[], float] = time.perf_counter,
        cost_clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if (config is None) == (resume_from is None):
            raise ValueError("give either a config or a checkpoint to resume from")
        self.listener = listener
        self.config = config
        self.resume_from = resume_from
        self.rates = rates or RefreshRates()
        self.run_dir = run_dir
        self._clock = clock
        self._cost_clock = cost_clock
        self.budget = PictureBudget(self.rates.picture_budget)
        self._made_once: set[str] = set()  # pictures made at least once (warmed up)
        self._commands: queue.Queue[Command | None] = queue.Queue()  # None: only wakes it
        self._stop_reason: str | None = None  # set from another thread; read between steps
        self._paused = start_paused
        self._consumer_ready = threading.Event()  # the consumer has handled the last update
        self._consumer_ready.set()
        # Pictures for views nobody shows are not computed. Set from another thread: the
        # dict is replaced, never changed in place, so a reader sees the old or the new one.
        self._wanted = {"field": True, "samples": True, "weights": False}
        self._weights_interval = 1.0 / self.rates.weights_hz  # seconds
        self._started = False
        # Owned by the loop's thread once it runs.
        self._pending_records: list[dict[str, Any]] = []
        self._pending_stats: list[dict[str, Any]] = []
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=RATE_WINDOW_STEPS)
        self._active = 0.0
        # -inf: the first update of each kind is due at once, whatever the clock's origin.
        self._last_sent = self._last_field = self._last_samples = self._last_weights = -math.inf
        self._plane_field: PlaneField | None = None  # for 2D data
        self._samples: LiveSamples | None = None  # for image data: the grid and its real samples

    # ------------------------------------------------------------------ any thread
    def send(self, command: Command) -> None:
        """Queue a command; it is applied between steps, in the order sent."""
        if not isinstance(command, COMMAND_TYPES):
            raise TypeError(f"not a live-loop command: {command!r}")
        self._commands.put(command)

    def stop(self, reason: str = "stopped") -> None:
        """End the run after the current step (with a last checkpoint); `reason` is reported."""
        self._stop_reason = reason
        self._commands.put(None)  # wakes a paused loop at once

    def acknowledge(self) -> None:
        """The consumer has handled an update; the next may be sent."""
        self._consumer_ready.set()

    def set_wanted(self, view: str, shown: bool) -> None:
        """Whether `view` ("field", "samples" or "weights" for the latent explorer) is shown;
        what is not shown costs nothing."""
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
        self._wanted = {**self._wanted, view: bool(shown)}

    def note_drawn(self, view: str, seconds: float) -> None:
        """What drawing `view`'s last picture cost the GUI thread (any thread may call this)."""
        if view in VIEWS:
            self.budget.record_drawn(view, seconds)

    def set_picture_budget(self, share: float) -> None:
        """The share of the training time all wanted pictures together may take, from the next
        picture on (any thread may call this)."""
        self.budget.set_share(share)

    def set_weights_interval(self, seconds: float) -> None:
        """How often wanted weight copies are sent (the explorer's follow rate)."""
        self._weights_interval = float(seconds)

    @property
    def wanted(self) -> dict[str, bool]:
        return dict(self._wanted)

    @property
    def weights_interval(self) -> float:
        return self._weights_interval

    # ------------------------------------------------------------------ the loop's thread
    def run(self) -> None:
        """The whole run: start (or resume) the session, step until it ends, save, report.

        Never raises for a failure of the run: that is a RunEnded("error") with a message for
        people, the run folder's error event and the checkpoint up to that step.
        """
        from ganviz_gui.core.errors import GanvizError

        if self._started:
            raise RuntimeError("a LiveLoop runs once")
        self._started = True
        session = self._open_session()
        if session is None:
            return
        reason, message = "finished", ""
        try:
            self._loop(session)
            reason = self._stop_reason or "finished"
        except Exception as exc:
            reason = "error"
            message = str(exc) if isinstance(exc, GanvizError) else _describe(exc)
            if not session.disk_full:  # a full disk takes the error event too: said once
                try:
                    session.record_error(message)
                except Exception:  # the run folder itself may be the problem
                    traceback.print_exc()
        try:
            session.close(reason)  # after a full disk (reported), it writes nothing more
        except Exception as exc:
            saving = str(exc) if isinstance(exc, GanvizError) else _describe(exc)
            if saving != message:
                message = (message + "\n" if message else "") + f"could not save: {saving}"
            reason = "error"
        if session.verdict is not None:  # it reached its last step, but did not train
            reason, message = "diverged", session.verdict.reason
        checkpoint = str(session.last_checkpoint or "")
        try:  # the final state, so the views match the last checkpoint
            self._send_update(session, force=True, pictures=True)
        except Exception:
            traceback.print_exc()
        # Let the models and data go with the run, not with this object.
        self._plane_field = self._samples = None
        self.listener.run_ended(RunEnded(reason, session.step_count, checkpoint, message))

    def _open_session(self) -> TrainingSession | None:
        """Start or resume the session and report RunStarted; None (reported) if it cannot."""
        from ganviz_gui.core.devices import apply_num_threads
        from ganviz_gui.core.errors import GanvizError
        from ganviz_gui.core.training_session import TrainingSession

        try:
            if self.resume_from is not None:
                session = TrainingSession.resume(self.resume_from)
                self._paused = True  # show where the run stands; Resume continues it
            else:
                assert self.config is not None  # checked in __init__
                session = TrainingSession.start(self.config, run_dir=self.run_dir)
            threads = apply_num_threads(session.trainer.config.num_threads)
        except Exception as exc:  # bad data, missing device, out of memory at start
            message = str(exc) if isinstance(exc, GanvizError) else _describe(exc)
            self.listener.run_ended(RunEnded("error", 0, "", message))
            return None
        trainer = session.trainer
        dataset = trainer.dataset
        self.listener.run_started(
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
        return session

    def _loop(self, session: TrainingSession) -> None:
        from ganviz_gui.core.errors import ConfigError
        from ganviz_gui.core.live_views import LiveSamples, PlaneField, run_real_samples

        trainer = session.trainer
        self._plane_field = None if trainer.dataset.is_image else PlaneField(trainer)
        self._samples = (
            LiveSamples(
                trainer,
                run_real_samples(trainer.dataset.data, trainer.config, trainer.config.n_samples),
            )
            if trainer.dataset.is_image
            else None
        )
        self._send_update(session, force=True, pictures=True)
        running_since = self._clock()
        while True:
            # Between steps: apply what was sent. Paused, block briefly instead of spinning.
            block = self._paused and self._stop_reason is None
            try:
                command = (
                    self._commands.get(timeout=PAUSED_POLL_SECONDS)
                    if block
                    else self._commands.get_nowait()
                )
            except queue.Empty:
                command = None
            if self._stop_reason is not None:
                return
            if command is not None:
                try:
                    changed = self._apply(session, command)
                except ConfigError as exc:
                    self.listener.setting_refused(str(exc))
                    changed = False
                if changed:
                    self._send_update(session, force=True, pictures=True)
                continue  # drain all commands before the next step
            if self._paused:
                running_since = self._clock()
                continue
            if session.step_count >= trainer.config.steps:
                return
            result = session.step()
            self._keep(result)
            now = self._clock()
            self._active += now - running_since
            running_since = now
            self._rate_window.append((now, result.step))
            self._send_update(session)

    def _keep(self, result: StepResult) -> None:
        """Hold a step's metrics and layer statistics for the next update."""
        if result.record is not None:
            self._pending_records.append(result.record)
        if result.stats is not None:
            self._pending_stats.append(result.stats)

    def _apply(self, session: TrainingSession, command: Command) -> bool:
        """Apply one command; True when the views should refresh at once."""
        trainer = session.trainer
        match command:
            case Pause():
                self._paused = True
            case Resume():
                self._paused = False
                self._rate_window.clear()
            case Step(kind=kind):
                self._paused = True
                self._keep(session.step(kind))
            case SetLearningRates(lr_g=lr_g, lr_d=lr_d):
                trainer.set_learning_rates(lr_g, lr_d)
            case SetDSteps(d_steps=d_steps):
                trainer.set_d_steps(d_steps)
            case SetLoss(loss=loss):
                trainer.set_loss(loss)
            case SetSteps(steps=steps):
                trainer.config = trainer.config.replace(steps=int(steps))  # validates
            case SaveCheckpoint():
                self.listener.checkpoint_saved(str(session.save_checkpoint()))
            case _:  # send() lets only commands in
                raise TypeError(f"not a live-loop command: {command!r}")
        session.flush_events()
        return True

    def _send_update(
        self, session: TrainingSession, force: bool = False, pictures: bool = False
    ) -> None:
        """Send what piled up, at most update_hz times a second and only when the consumer is
        free; `force` sends now, `pictures` refreshes every wanted picture."""
        now = self._clock()
        if not force and (
            now - self._last_sent < 1.0 / self.rates.update_hz or not self._consumer_ready.is_set()
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
        self._add_pictures(update, trainer, now, pictures)
        self._last_sent = now
        self._consumer_ready.clear()
        self.listener.updated(update)

    def _picture_intervals(self) -> dict[str, float]:
        """Seconds between two of each picture this run makes and someone wants, stretched
        by the budget, which the wanted ones share (hidden ones cost nothing, take no share)."""
        wanted = self._wanted
        base = {
            "field": 1.0 / self.rates.field_hz if self._plane_field is not None else None,
            "samples": 1.0 / self.rates.samples_hz if self._samples is not None else None,
            "weights": self._weights_interval,
        }
        made = {view: seconds for view, seconds in base.items() if seconds is not None}
        shown = [view for view in made if wanted[view]]
        return {view: self.budget.interval(view, made[view], sharing=len(shown)) for view in shown}

    def _add_pictures(
        self, update: TrainingUpdate, trainer: Trainer, now: float, every: bool
    ) -> None:
        """The wanted pictures that are due (`every`: all of them, and those of views made
        however hidden, so views never lag after a change), each timed for the budget."""
        intervals = self._picture_intervals()

        def due(view: str, last: float) -> bool:
            return view in intervals and now - last >= intervals[view]

        if self._plane_field is not None and (every or due("field", self._last_field)):
            update.field = self._timed("field", self._plane_field.snapshot)
            self._last_field = now
        if self._samples is not None and (every or due("samples", self._last_samples)):
            update.samples = self._timed("samples", self._samples.sheet)
            self._last_samples = now
        if self._wanted["weights"] and (every or due("weights", self._last_weights)):
            update.weights = self._timed("weights", lambda: _weight_copies(trainer))
            self._last_weights = now
        update.picture_intervals = self._picture_intervals()  # with the costs just measured

    def _timed(self, view: str, make: Callable[[], Any]) -> Any:
        """`make()`, its cost recorded for `view`'s budget. The first of a run is not: it
        may pay for building kernels and buffers, and alone it would set the second's wait.
        On CUDA the copy to the CPU also waits for the step queued before it: the cost reads
        high, so pictures come less often, never more."""
        started = self._cost_clock()
        made = make()
        cost = self._cost_clock() - started
        if view in self._made_once:
            self.budget.record(view, cost)
        self._made_once.add(view)
        return made

    def _steps_per_sec(self, now: float) -> float:
        window = self._rate_window
        if not window or self._paused:
            return 0.0
        first_time, first_step = window[0]
        last_time, last_step = window[-1]
        if now - last_time > RATE_STALE_SECONDS or last_time <= first_time:
            return 0.0
        return (last_step - first_step) / (last_time - first_time)


def _weight_copies(trainer: Trainer) -> dict[str, dict[str, torch.Tensor]]:
    """What the latent explorer's live mode builds its networks from."""
    return {
        "generator": _cpu_copy(trainer.sampling_generator("ema").state_dict()),
        "discriminator": _cpu_copy(trainer.discriminator.state_dict()),
    }


def _cpu_copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights the consumer can use while training goes on: detached CPU copies."""
    return {key: value.detach().to("cpu", copy=True) for key, value in state.items()}


def _device_text(device: torch.device) -> str:
    if device.type == "cuda":
        import torch

        return f"{torch.cuda.get_device_name(device)} ({device})"
    return {"cpu": "CPU", "mps": "Apple GPU (mps)"}.get(device.type, str(device))


def _describe(exc: BaseException) -> str:
    """An unexpected exception for people: its kind and message, e.g. out of memory."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
