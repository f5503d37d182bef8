"""The one model of what the window shows: which run, at which step, which generator.

Every panel takes the workspace in its constructor and subscribes to the signals it draws.
Controllers (training, inspection) write the run and what is shown of it; panels write only
the user's selections (the step, picked latents, the layer, following training). A panel never
asks another panel anything: what two panels share lives here. Sources of runs (the built-in trainer, a run
folder on disk, later a folder another process writes or a TensorBoard log) all feed it the
same way, through `show_run` and `extend` (see `core.run_sources`); what a source hands over
that is no record at all (a record that is not a dict) is left out there, before any panel
sees it (`readable_delta`).

Qt-free: signals are psygnal's, emitted synchronously on the thread that changes the model,
which is the GUI thread in the window (results of worker threads reach it through queued Qt
signals first). psygnal holds bound methods weakly, so a panel that goes away is no longer
called; a lambda is held strongly, and keeps what it captures alive as long as the workspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from ganviz_gui.core.record_columns import RecordColumns, as_columns

if TYPE_CHECKING:
    import numpy as np

    from ganviz_gui.core.config import TrainingConfig
    from ganviz_gui.core.diagnostics import Finding
    from ganviz_gui.core.generator_files import GeneratorFile
    from ganviz_gui.core.live_views import FieldSnapshot, SampleSheet

MAX_PICKED = 3  # latents of the samples last clicked: the plane through three of them


class Mode(str, Enum):
    IDLE = "idle"  # nothing opened, nothing trained yet
    TRAINING = "training"  # the run the built-in trainer is training
    # A run folder that another process is still writing, followed as it grows: kept for the
    # sources of issue 12 (an opened folder is already polled while INSPECTING).
    FOLLOWING = "following"
    INSPECTING = "inspecting"  # a run or a generator opened from disk, scrubbed by the user


@dataclass(frozen=True)
class RunInfo:
    """What a source says of its run once, when it is shown."""

    source: str  # "trainer", "folder", ...: where the run comes from, for people
    name: str  # a short name for the status bar (the run folder's name)
    run_dir: Path | None = None
    config: TrainingConfig | None = None
    is_image: bool = True
    sample_shape: tuple[int, ...] = ()
    fixed_noise: np.ndarray | None = None  # (n_samples, latent_dim): the sample grid's latents
    device: str = ""  # where it trains, if it trains here
    threads: int = 0


@dataclass
class RunDelta:
    """What is new in a run since a source was last asked."""

    # metrics.jsonl lines: dicts (a few, pushed live) or columns (read from a file)
    records: list[dict[str, Any]] | RecordColumns = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    stats: list[dict[str, Any]] = field(default_factory=list)  # network_stats.jsonl lines
    checkpoints: list[tuple[int, Path]] | None = None  # the whole list now, when it changed
    # The run's sample pictures, the whole list now when it changed: (step, a PNG or JPEG file
    # or its encoded bytes), oldest first (a run folder's samples/, a TensorBoard log's images).
    pictures: list[tuple[int, Path | bytes]] | None = None
    restarted: bool = False  # the source's files were rewritten: forget what came before

    def __bool__(self) -> bool:
        new = self.records or self.events or self.stats or self.restarted
        return bool(new) or self.checkpoints is not None or self.pictures is not None


def readable_delta(delta: RunDelta) -> RunDelta:
    """`delta` as the views read it: records as columns or a list of dicts with text keys,
    events and stats as lists of dicts. Whatever else a source handed over is no record and
    is left out here, so that it reaches no view (sources check the values inside; the views
    skip what they cannot draw)."""
    records, events, stats = delta.records, delta.events, delta.stats
    kept_records = records if isinstance(records, RecordColumns) else _dicts(records, True)
    kept_events, kept_stats = _dicts(events), _dicts(stats)
    if kept_records is records and kept_events is events and kept_stats is stats:
        return delta  # the common case: nothing to leave out, nothing copied
    return replace(delta, records=kept_records, events=kept_events, stats=kept_stats)


def _dicts(items: Any, text_keys: bool = False) -> list[dict[str, Any]]:
    """The dicts of a list (with text keys only, if asked): the list itself when all are."""
    if not isinstance(items, (list, tuple)):
        return []
    kept = [
        item
        for item in items
        if isinstance(item, dict) and (not text_keys or all(type(k) is str for k in item))
    ]
    return items if isinstance(items, list) and len(kept) == len(items) else kept


@dataclass
class OverlaidRun:
    """Another run whose curves are drawn over the run shown, on the same axes."""

    name: str
    path: Path  # its folder or log: the key it is known by
    color: tuple[int, int, int]
    records: RecordColumns = field(default_factory=RecordColumns)
    visible: bool = True


# Colours of overlaid runs, far from D's blue and G's orange (the run shown).
OVERLAY_COLORS = ((80, 200, 120), (200, 120, 220), (230, 210, 90), (220, 80, 80), (90, 200, 220))


@dataclass(frozen=True)
class Progress:
    """Where a training run stands (the status bar; the run controls' enabled states)."""

    step: int
    total_steps: int
    steps_per_sec: float
    active_seconds: float
    state: str  # "running", "paused", "starting", "stopping", "ended"

    @property
    def eta_seconds(self) -> float | None:
        if self.state != "running" or self.steps_per_sec <= 0:
            return None
        return max(self.total_steps - self.step, 0) / self.steps_per_sec


@dataclass(frozen=True)
class ShownGenerator:
    """The generator the explorer, the forward pass and sample clicks work with."""

    generator: GeneratorFile
    # "opened" (a file the user chose), "checkpoint" (the cursor's checkpoint of the run shown),
    # "live" (copies of the weights being trained)
    origin: str


class Workspace:
    mode_changed = Signal(object)  # Mode
    run_changed = Signal(object)  # RunInfo | None: a different run (panels start afresh)
    run_extended = Signal(object)  # RunDelta: records, events or stats appended to the run
    checkpoints_changed = Signal(object)  # list[(step, Path)] of the run, oldest first
    pictures_changed = Signal(object)  # list[(step, Path | bytes)]: the run's sample pictures
    step_changed = Signal(object)  # int | None: the one step cursor every panel follows
    progress_changed = Signal(object)  # Progress | None
    sheet_changed = Signal(object)  # SampleSheet | None: the fixed-noise samples at the step
    field_changed = Signal(object)  # FieldSnapshot | None: the 2D field at the step
    generator_changed = Signal(object)  # ShownGenerator | None
    picked_changed = Signal(object)  # list[torch.Tensor]: latents clicked in the sample grid
    layer_changed = Signal(object)  # (network, layer name) | None
    findings_changed = Signal(object)  # list[Finding] of the newest diagnosis
    following_changed = Signal(object)  # (follow: bool, interval seconds): the explorer's
    forward_pass_changed = Signal(bool)  # the Networks tab's forward pass is on screen
    picture_drawn = Signal(str, float)  # a live picture drawn: view, seconds (for its budget)
    overlays_changed = Signal(object)  # list[OverlaidRun]: runs drawn over the run shown
    overlay_extended = Signal(object)  # (OverlaidRun, RecordColumns): new records of one
    shown_visible_changed = Signal(bool)  # the run shown's own curves are drawn
    comparison_wanted = Signal(int)  # the checkpoint step chosen as B in Compare
    comparison_changed = Signal(object)  # SampleSheet | None: B's samples
    devices_changed = Signal(object)  # [(name, description)] once the engine has loaded
    preview_changed = Signal(object)  # (picture | None, text): real samples of the setup's data
    setting_refused = Signal(str)  # the engine's message on a live change it refused
    message = Signal(str, int)  # (text, milliseconds): for the status line
    problem = Signal(str)  # something the user must read: a dialog
    batchnorm_mode_changed = Signal(str)  # "eval" | "train": how shown generators' BN samples
    real_samples_changed = Signal(str)  # why the sheets shown have no real samples ("": they do)

    def __init__(self) -> None:
        self.mode = Mode.IDLE
        self.run: RunInfo | None = None
        self.records = RecordColumns()  # the run's metric records, as columns
        self.events: list[dict[str, Any]] = []
        self.stats: list[dict[str, Any]] = []
        self.checkpoints: list[tuple[int, Path]] = []
        self.pictures: list[tuple[int, Path | bytes]] = []
        self.step: int | None = None
        self.progress: Progress | None = None
        self.sheet: SampleSheet | None = None
        self.field: FieldSnapshot | None = None
        self.shown: ShownGenerator | None = None
        self.picked: list[Any] = []
        self.layer: tuple[str, str] | None = None
        self.findings: list[Finding] = []
        # The explorer follows the run being trained, refreshed every `follow_interval` s.
        self.follow_training = False
        self.follow_interval = 1.0
        self.forward_pass_shown = False  # the Networks tab's forward pass wants live weights
        self.cursor_latent: Any = None  # the latent under the explorer's cursor
        self.comparison_step: int | None = None  # B of Compare, as last asked for
        self.overlays: list[OverlaidRun] = []  # kept when another run is shown
        self.shown_visible = True
        # Batch-norm layers of the generators shown sample with their running statistics
        # ("eval") or with the batch's ("train", as pytorch/examples draws): the user's choice.
        self.batchnorm_mode = "eval"
        self.real_samples_note = ""  # why an opened run's sheets have no real samples beside

    # ------------------------------------------------------------------ the run
    def show_run(self, run: RunInfo | None, mode: Mode, initial: RunDelta | None = None) -> None:
        """Show another run (or none): everything of the previous one is forgotten. `initial`:
        what the run recorded so far, there for the panels when they hear of the new run."""
        initial = readable_delta(initial or RunDelta())
        self.run = run
        # Columns a source read are taken as they are (a long run's are 10^8 bytes).
        self.records = as_columns(initial.records)
        self.events = list(initial.events)
        self.stats = list(initial.stats)
        self.checkpoints = list(initial.checkpoints or [])
        self.pictures = list(initial.pictures or [])
        had_step, had_progress = self.step is not None, self.progress is not None
        had_picks, had_layer = bool(self.picked), self.layer is not None
        self.step = None
        self.progress = None
        self.sheet = None
        self.field = None
        self.findings = []
        self.picked = []
        self.layer = None
        self.comparison_step = None
        self._set_mode(mode)
        self.run_changed.emit(run)
        if self.checkpoints:
            self.checkpoints_changed.emit(self.checkpoints)
        if self.pictures:
            self.pictures_changed.emit(self.pictures)
        # What was reset and is drawn outside the run's own panels: the step cursor, progress.
        if had_step:
            self.step_changed.emit(None)
        if had_progress:
            self.progress_changed.emit(None)
        if had_picks:
            self.picked_changed.emit(self.picked)
        if had_layer:
            self.layer_changed.emit(None)

    def forget_run(self) -> None:
        """A lone generator is shown: no run, no curves, no step."""
        self.show_run(None, Mode.INSPECTING)

    def extend(self, delta: RunDelta) -> None:
        """Append what a source found new; a restarted source replaces what came before."""
        delta = readable_delta(delta)
        if delta.restarted:  # subscribers see `delta.restarted` and redraw from the lists
            self.records, self.events, self.stats = RecordColumns(), [], []
        self.records.append(delta.records)
        self.events.extend(delta.events)
        self.stats.extend(delta.stats)
        if delta.records or delta.events or delta.stats or delta.restarted:
            self.run_extended.emit(delta)
        if delta.checkpoints is not None and delta.checkpoints != self.checkpoints:
            self.checkpoints = list(delta.checkpoints)
            self.checkpoints_changed.emit(self.checkpoints)
        if delta.pictures is not None and delta.pictures != self.pictures:
            self.pictures = list(delta.pictures)
            self.pictures_changed.emit(self.pictures)

    def set_mode(self, mode: Mode) -> None:
        """The same run, seen another way (a trained run that ended is inspected)."""
        self._set_mode(mode)

    def _set_mode(self, mode: Mode) -> None:
        if mode != self.mode:
            self.mode = mode
            self.mode_changed.emit(mode)

    @property
    def inspecting_run(self) -> bool:
        """A run from disk is shown, with checkpoints to scrub through."""
        return self.mode in (Mode.INSPECTING, Mode.FOLLOWING) and self.run is not None

    @property
    def config(self) -> TrainingConfig | None:
        """The settings of the run shown, or of the generator shown where it carries them."""
        if self.run is not None and self.run.config is not None:
            return self.run.config
        return self.shown.generator.config if self.shown is not None else None

    @property
    def run_name(self) -> str:
        return self.run.name if self.run is not None else ""

    @property
    def run_dir(self) -> Path | None:
        return self.run.run_dir if self.run is not None else None

    # ------------------------------------------------------------------ the step cursor
    def set_step(self, step: int | None) -> None:
        if step != self.step:
            self.step = step
            self.step_changed.emit(step)

    def checkpoint_nearest(self, step: float) -> tuple[int, Path] | None:
        """The run's checkpoint nearest `step` (a click on a plot, a finding's first step)."""
        if not self.checkpoints:
            return None
        return min(self.checkpoints, key=lambda item: abs(item[0] - step))

    @property
    def scrub_steps(self) -> list[int]:
        """The steps an inspected run can be shown at: its checkpoints, or, where it has none
        (a run logged without checkpoints, a TensorBoard log), its sample pictures."""
        return [step for step, _ in (self.checkpoints or self.pictures)]

    def scrub_step_nearest(self, step: float) -> int | None:
        steps = self.scrub_steps
        return min(steps, key=lambda s: abs(s - step)) if steps else None

    def picture_at(self, step: int | None) -> Path | bytes | None:
        """The newest sample picture at or before `step`."""
        if step is None:
            return None
        found = None
        for picture_step, picture in self.pictures:
            if picture_step > step:
                break
            found = picture
        return found

    def checkpoint_at(self, step: int | None) -> Path | None:
        return dict(self.checkpoints).get(step) if step is not None else None

    def set_progress(self, progress: Progress | None) -> None:
        self.progress = progress
        self.progress_changed.emit(progress)

    # ------------------------------------------------------------------ pictures and generator
    def set_sheet(self, sheet: SampleSheet | None) -> None:
        self.sheet = sheet
        self.sheet_changed.emit(sheet)

    def set_field(self, snapshot: FieldSnapshot | None) -> None:
        self.field = snapshot
        self.field_changed.emit(snapshot)

    def show_generator(self, shown: ShownGenerator | None) -> None:
        """Show a generator; an opened file or a checkpoint samples in the workspace's
        batch-norm mode (the live run's weights always in eval, as its sample grid draws)."""
        mode = self.batchnorm_mode if shown is None or shown.origin != "live" else "eval"
        if shown is not None and getattr(shown.generator, "batchnorm", mode) != mode:
            shown = replace(shown, generator=shown.generator.in_batchnorm_mode(mode))
        self.shown = shown
        self.generator_changed.emit(shown)

    def set_batchnorm_mode(self, mode: str) -> None:
        """Batch-norm `mode` "eval" or "train": the generator shown is shown again in that
        mode, and whoever draws samples of checkpoints draws them anew."""
        if mode not in ("eval", "train"):  # core.generator_files.BATCHNORM_MODES (no torch here)
            raise ValueError(f"batch-norm mode {mode!r}: 'eval' or 'train'")
        if mode == self.batchnorm_mode:
            return
        self.batchnorm_mode = mode
        self.batchnorm_mode_changed.emit(mode)
        if self.shown is not None:
            self.show_generator(self.shown)

    def set_real_samples_note(self, note: str) -> None:
        """Why the run's sample sheets have no real samples beside them ("" when they do)."""
        self.real_samples_note = note
        self.real_samples_changed.emit(note)

    @property
    def generator(self) -> GeneratorFile | None:
        return self.shown.generator if self.shown is not None else None

    # ------------------------------------------------------------------ selections
    def latent_of_sample(self, index: int) -> Any:
        """The latent behind sample `index` of the grid, if the generator the explorer shows drew
        the grid: the scrubbed checkpoint of the run shown, or the live run it follows."""
        shown = self.shown
        if shown is None:
            return None
        # A checkpoint of the run inspected: the grid shows its sheet (opened, or scrubbed to),
        # drawn from the checkpoint's fixed noise (GANViz's, or one ganviz_gui.Run logged).
        of_this_run = self.inspecting_run and self.generator_in_run()
        noise = shown.generator.fixed_noise
        if shown.origin in ("checkpoint", "opened") and of_this_run and noise is not None:
            return noise[index] if index < len(noise) else None
        live = shown.origin == "live" and self.follow_training  # the explorer shows it then
        if live and self.run is not None and self.run.fixed_noise is not None:
            import torch

            if index < len(self.run.fixed_noise):
                return torch.from_numpy(self.run.fixed_noise[index])
        return None

    def generator_in_run(self) -> bool:
        """The shown generator's file lies in the run shown (one of its checkpoints)."""
        if self.shown is None or self.run is None or self.run.run_dir is None:
            return False
        path = Path(self.shown.generator.path).resolve()
        return path.is_relative_to(Path(self.run.run_dir).resolve())

    def pick_latent(self, z: Any) -> None:
        """A latent picked in the grid: the explorer's origin, and one of the three-sample plane."""
        self.picked = [*self.picked, z.reshape(-1).float()][-MAX_PICKED:]
        self.picked_changed.emit(self.picked)

    def select_layer(self, network: str, layer: str) -> None:
        self.layer = (network, layer)
        self.layer_changed.emit(self.layer)

    def set_findings(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        self.findings_changed.emit(self.findings)

    def set_following(self, follow: bool, interval: float | None = None) -> None:
        self.follow_training = follow
        if interval is not None:
            self.follow_interval = float(interval)
        self.following_changed.emit((self.follow_training, self.follow_interval))

    def note_picture_drawn(self, view: str, seconds: float) -> None:
        """A live picture ("field", "samples") was drawn on screen in `seconds` of the GUI
        thread; the live run makes it less often when that is dear."""
        self.picture_drawn.emit(view, seconds)

    def set_forward_pass_shown(self, shown: bool) -> None:
        if shown != self.forward_pass_shown:
            self.forward_pass_shown = shown
            self.forward_pass_changed.emit(shown)

    @property
    def live_weights_wanted(self) -> bool:
        """Copies of the live weights serve the explorer's live mode and the forward pass."""
        return self.follow_training or self.forward_pass_shown

    def set_cursor_latent(self, z: Any) -> None:
        self.cursor_latent = z

    # ------------------------------------------------------------------ compare
    def want_comparison(self, step: int) -> None:
        self.comparison_step = step
        self.comparison_wanted.emit(step)

    def set_comparison(self, sheet: SampleSheet | None) -> None:
        self.comparison_changed.emit(sheet)

    # ------------------------------------------------------------------ overlaid runs
    def overlay(self, name: str, path: Path, records: RecordColumns) -> OverlaidRun:
        """Draw another run's curves over the run shown (again: its records are replaced)."""
        path = Path(path)
        kept = [run for run in self.overlays if run.path != path]
        used = {run.color for run in kept}
        spare = [c for c in OVERLAY_COLORS if c not in used]
        color = spare[0] if spare else OVERLAY_COLORS[len(kept) % len(OVERLAY_COLORS)]
        run = OverlaidRun(name, path, color, records)
        self.overlays = [*kept, run]
        self.overlays_changed.emit(self.overlays)
        return run

    def extend_overlay(self, path: Path, records: RecordColumns) -> None:
        for run in self.overlays:
            if run.path == Path(path) and len(records):
                run.records.append(records)
                self.overlay_extended.emit((run, records))

    def remove_overlays(self) -> None:
        if self.overlays:
            self.overlays = []
            self.overlays_changed.emit(self.overlays)

    def set_overlay_visible(self, path: Path | None, visible: bool) -> None:
        """Hide or show one overlaid run's curves (`path` None: the run shown's own)."""
        if path is None:
            self.shown_visible = visible
            self.shown_visible_changed.emit(visible)
            return
        for run in self.overlays:
            if run.path == Path(path) and run.visible != visible:
                run.visible = visible
                self.overlays_changed.emit(self.overlays)

    # ------------------------------------------------------------------ the application
    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.devices_changed.emit(list(devices))

    def set_preview(self, picture: np.ndarray | None, text: str) -> None:
        self.preview_changed.emit((picture, text))

    def say(self, text: str, milliseconds: int = 8000) -> None:
        """A line for the status bar."""
        self.message.emit(text, milliseconds)

    def warn(self, text: str) -> None:
        """Something went wrong that the user must know about (a non-blocking dialog)."""
        self.problem.emit(text)

    def scrub_to(self, step: float) -> None:
        """A click on a plot: an inspected run moves to the checkpoint nearest it."""
        if self.inspecting_run:
            self.go_to_step(step)

    def go_to_step(self, step: float) -> None:
        """A click on a plot or a finding: an inspected run moves to its nearest checkpoint,
        anything else just moves the step cursor."""
        nearest = self.scrub_step_nearest(step) if self.inspecting_run else None
        if nearest is not None:
            self.set_step(nearest)
        else:
            self.set_step(round(step))
