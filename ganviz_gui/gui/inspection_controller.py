"""Inspecting runs and generators: open, scrub, compare, and follow a run as it is written.

Everything that reads a file runs off the GUI thread (`LatestOnly` jobs); the newest request
wins. An opened run becomes a run source that is polled once a second, reading only what was
appended (polling, not file-system events: those do not fire on the network mounts cluster
runs are watched through). A run still being written (no `closed` event after its start), or
one opened with "follow", is shown FOLLOWING: the step stays at the newest checkpoint or
picture as they arrive, until the user moves it away or the run ends. What a checkpoint shows
(its generator and fixed-noise sheet, or a 2D run's field) is cached by file. Scrubbing is
newest wins: a drag over many checkpoints runs the load under way and the last one asked
(those waiting between are dropped); the one under way is cached, and only the step now
asked is drawn.
"""

from __future__ import annotations

import traceback
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from PySide6.QtCore import QObject, QTimer, Signal

from ganviz_gui.core.errors import TRUST_ADVICE
from ganviz_gui.core.record_columns import RecordColumns, as_columns
from ganviz_gui.core.run_sources import RunFolderSource, RunSource
from ganviz_gui.core.workspace import Mode, RunDelta, ShownGenerator, Workspace
from ganviz_gui.gui.background import LatestOnly

if TYPE_CHECKING:
    import numpy as np

    from ganviz_gui.core.generator_files import GeneratorFile
    from ganviz_gui.core.inspection import OpenedPath
    from ganviz_gui.core.live_views import FieldSnapshot, SampleSheet
    from ganviz_gui.core.workspace import RunInfo

# What a checkpoint shows: its generator, and its sample sheet (images) or 2D field (points);
# None for the 2D points of a run ganviz_gui.Run logged (no settings, no real data: no field).
CheckpointViews: TypeAlias = "tuple[int, GeneratorFile, SampleSheet | FieldSnapshot | None]"

POLL_MS = 1000  # an opened run is looked at again this often
POLLED_SOURCES = ("folder", "tensorboard")  # runs on disk, followed as they grow
HANDOVER_RECORDS = 100_000  # a long run's records reach the panels in slices of this many
CACHE_SIZE = 16  # checkpoints kept decoded: a DCGAN 64 px one is a few MB


def open_for_inspection(
    path: str, trust: bool
) -> tuple[OpenedPath, RunSource | None, RunDelta | None]:
    """(OpenedPath, the run's source or None, the first piece of what the run recorded: a
    long run's rest is read by the polls that follow at once)."""
    from ganviz_gui.core.inspection import open_path

    opened = open_path(path, trust=trust)
    if opened.generator is not None:
        found_batchnorm(opened.generator)  # known before the window offers the BN modes
    source = opened.run_source()
    if source is None:
        return opened, None, None
    return opened, source, source.poll()


def read_overlay(path: str) -> tuple[Any, RecordColumns]:
    """(a run's source, all its records so far): a run to overlay on the plots."""
    from ganviz_gui.core.inspection import open_run_source

    source = open_run_source(path)
    return source, as_columns(source.poll_all().records)


def load_picture(step: int, picture: Path | bytes) -> SampleSheet:
    """A run's sample picture (a file, or encoded bytes) as a sheet for the sample grid."""
    from ganviz_gui.core.live_views import picture_sheet
    from ganviz_gui.core.sample_images import read_picture

    return picture_sheet(read_picture(picture), step)


def load_checkpoint_views(
    step: int,
    path: Path,
    opened: GeneratorFile | None = None,
    trust: bool = False,
    batchnorm: str = "eval",
    real: np.ndarray | None = None,
) -> CheckpointViews:
    """What the panels show of one checkpoint: its generator and its fixed-noise sample sheet
    (or 2D field). `opened`: the checkpoint's GeneratorFile if already read (no second read);
    `trust`: the run was opened trusted (a logged run's programs carry code); `batchnorm`:
    the workspace's batch-norm mode, said in the sheet's caption where G has batch norm;
    `real`: the run's real samples (model space), tiled beside the generated ones and judged
    by the same D."""
    from ganviz_gui.core.devices import apply_num_threads
    from ganviz_gui.core.generator_files import open_generator_file
    from ganviz_gui.core.live_views import (
        checkpoint_field,
        checkpoint_sample_sheet,
        generator_sample_sheet,
    )

    apply_num_threads(1)  # a background job: leave the other core to the GUI
    generator = opened if opened is not None else open_generator_file(path, trust=trust)
    # Asked before the copy in `batchnorm` mode: the file read keeps the answer too.
    batch_norm = generator.is_image and found_batchnorm(generator)
    generator = generator.in_batchnorm_mode(batchnorm)
    if not generator.is_image:
        if generator.checkpoint is None:  # the 2D points of a logged run: no field
            return step, generator, None
        return step, generator, checkpoint_field(generator.checkpoint)
    if generator.checkpoint is None:  # logged by ganviz_gui.Run: its weights and fixed noise
        sheet = generator_sample_sheet(generator, step, real)
    elif batch_norm and batchnorm == "train":  # drawn by the file's G, in the mode asked
        sheet = generator_sample_sheet(generator, step, real)
        sheet.caption = "generated (EMA)"
    else:
        sheet = checkpoint_sample_sheet(generator.checkpoint, real)
    if batch_norm:
        sheet.caption += f", BN: {batchnorm}"
    return step, generator, sheet


def found_batchnorm(generator: GeneratorFile) -> bool:
    """Whether the file's G has batch-norm layers, kept on the file (`batchnorm_found`). A
    GANViz checkpoint's settings say which G it is (no G is built); StyleGANs have none; any
    other file's G is built once to look (a background job's question), and one that cannot
    be built is said so elsewhere."""
    if generator.batchnorm_found is not None:
        return generator.batchnorm_found
    checkpoint = generator.checkpoint
    if checkpoint is not None:
        from ganviz_gui.core.inspection import generator_has_batchnorm

        found = generator_has_batchnorm(checkpoint.config)
    elif generator.style_based:
        found = False
    else:
        try:
            found = generator.has_batchnorm()
        except Exception:
            found = False
    generator.batchnorm_found = found
    return found


def add_real_samples_to_views(views: CheckpointViews, real: np.ndarray) -> CheckpointViews:
    """Cached views of a checkpoint, drawn before the run's real samples came, with them
    beside: G is not built nor decoded again, only D judges them (a background job)."""
    from ganviz_gui.core.devices import apply_num_threads
    from ganviz_gui.core.inspection import with_real_samples
    from ganviz_gui.core.live_views import SampleSheet

    apply_num_threads(1)
    step, generator, sheet = views
    if isinstance(sheet, SampleSheet):
        sheet = with_real_samples(sheet, real, generator)
    return step, generator, sheet


def load_real_samples(run: RunInfo, count: int) -> tuple[RunInfo, np.ndarray]:
    """(the run, its real samples, numpy in model space): the background job behind "Real
    samples beside"."""
    from ganviz_gui.core.devices import apply_num_threads
    from ganviz_gui.core.inspection import real_samples_of_run

    apply_num_threads(1)
    assert run.config is not None
    return run, real_samples_of_run(run.config, count)


def needs_trust(error: str) -> bool:
    """The file opens once the user trusts it: it carries code (TorchScript, torch.export), or
    it is a StyleGAN pickle of edited code that GANViz rebuilds with its own networks. Every
    such refusal tells the command line's user to pass --trust."""
    return error.rstrip().endswith(TRUST_ADVICE)


class CheckpointCache:
    """The newest `size` loaded checkpoints' views, by file: a step of another run is never
    mistaken for one shown before (the cache is emptied when another run is shown or the run's
    files are rewritten). `epoch` counts the emptyings: a load asked before one is not kept."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self.epoch = 0
        self._items: OrderedDict[Path, CheckpointViews] = OrderedDict()

    def get(self, path: Path) -> CheckpointViews | None:
        if path in self._items:
            self._items.move_to_end(path)
            return self._items[path]
        return None

    def put(self, path: Path, value: CheckpointViews) -> None:
        self._items[path] = value
        self._items.move_to_end(path)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()
        self.epoch += 1


class InspectionController(QObject):
    opened = Signal(object)  # ShownGenerator just opened (the window raises its view)
    file_opened = Signal(str)  # a path opened without error (recent files)
    mappings_changed = Signal()  # a log's tag mapping was edited (the window saves them)

    def __init__(
        self,
        workspace: Workspace,
        training_active: Callable[[], bool],  # a run trains in this window
        confirm_trust: Callable[[str, str], bool],  # (path, why): ask before trusting a file
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.workspace = workspace
        self._training_active = training_active
        self.confirm_trust = confirm_trust
        self.source: RunSource | None = None
        self.cache = CheckpointCache()
        self._opening: tuple[str, bool, bool] = ("", False, False)  # path, trust, follow
        self._follow_asked = False  # followed because the user asked, whatever the run says
        # TensorBoard logs' tag mappings the user edited: {resolved log folder: mapping dict}
        self.saved_mappings: dict[str, dict[str, Any]] = {}
        # The checkpoint File > Open read (not read a second time to show it).
        self._opened_generator: GeneratorFile | None = None
        self._notes_said: list[str] = []  # what was left out of the run shown, said already
        self._pending_notes: list[str] = []  # the open's notes, said once the run is all read
        self._trusted = False  # the run shown was opened trusted: so are its other checkpoints
        self._asked_trust = False  # ... or the user was asked once, while it was shown
        self._polling = False
        self._loading: Path | None = None  # the checkpoint of the newest load asked for
        self._comparing: Path | None = None  # ... of the newest comparison asked for
        self._opener = LatestOnly(self)
        self._opener.finished.connect(self._on_opened)
        self._checkpoint_loader = LatestOnly(self, own_thread=True)  # scrubbing stays quick
        self._checkpoint_loader.finished.connect(self._on_checkpoint_loaded)
        # A load passed over in a drag finishes anyway: kept for a drag back, never shown.
        self._checkpoint_loader.superseded.connect(self._keep_checkpoint_loaded)
        self._compare_loader = LatestOnly(self, own_thread=True)
        self._compare_loader.finished.connect(self._on_compare_loaded)
        self._picture_loader = LatestOnly(self, own_thread=True)
        self._picture_loader.finished.connect(self._on_picture_loaded)
        self._poller = LatestOnly(self, own_thread=True)
        self._poller.finished.connect(self._on_polled)
        # The opened run's real samples, for "Real samples beside": (run, samples) once loaded.
        # Loading them reads the whole data set (MNIST, a large folder) and a closed window
        # drops them: the loader is never waited for at close (not joined, not a child that
        # close_jobs joins; `shutdown` closes it).
        self._real: tuple[RunInfo, np.ndarray] | None = None
        self._real_loader = LatestOnly(joined_at_close=False)
        self._real_loader.finished.connect(self._on_real_samples_loaded)
        self._poll_timer = QTimer(self, interval=POLL_MS)
        self._poll_timer.timeout.connect(self.poll)
        self._overlay_sources: dict[Path, Any] = {}  # overlaid runs' sources, followed too
        self._overlay_polling = False
        self._overlay_reader = LatestOnly(self)
        self._overlay_reader.finished.connect(self._on_overlay_read)
        self._overlay_poller = LatestOnly(self, own_thread=True)
        self._overlay_poller.finished.connect(self._on_overlays_polled)
        self._overlay_timer = QTimer(self, interval=POLL_MS)
        self._overlay_timer.timeout.connect(self._poll_overlays)
        workspace.overlays_changed.connect(self._on_overlays_changed)
        workspace.run_changed.connect(self._on_run_changed)
        workspace.mode_changed.connect(self._on_mode_changed)
        workspace.step_changed.connect(self._on_step_changed)
        workspace.checkpoints_changed.connect(self._on_checkpoints_changed)
        workspace.run_extended.connect(self._on_run_extended)
        workspace.comparison_wanted.connect(self._on_comparison_wanted)
        workspace.batchnorm_mode_changed.connect(self._on_batchnorm_mode_changed)

    # ------------------------------------------------------------------ opening
    def open_path(self, path: str, trust: bool = False, follow: bool = False) -> None:
        """Open a run folder, checkpoint or generator in the background; errors become dialogs.
        `follow`: keep showing the newest of the run as it is written, even if it says it ended
        (another process may resume it)."""
        self.workspace.say(f"Opening {path}...", 0)
        self._opening = (path, trust, follow)
        self._opener.submit(lambda: open_for_inspection(path, trust))

    def _on_opened(self, result: Any, error: str) -> None:
        path, trust, follow = self._opening
        workspace = self.workspace
        if error:
            if needs_trust(error) and not trust and self.confirm_trust(path, error):
                self.open_path(path, trust=True, follow=follow)
                return
            workspace.warn(f"Cannot open it:\n{error}")
            return
        opened, source, delta = result
        self.file_opened.emit(path)
        try:
            self._show_opened(path, opened, source, delta, trust, follow)
        except Exception as exc:  # a view could not draw what was read: a dialog, no half run
            self._failed_to_show(path, exc)

    def _show_opened(
        self,
        path: str,
        opened: OpenedPath,
        source: Any,  # a RunSource or None; some sources say more (notes, a tag mapping)
        delta: RunDelta | None,
        trust: bool,
        follow: bool,
    ) -> None:
        workspace = self.workspace
        workspace.set_following(False)  # the opened file is what the explorer shows now
        generator = opened.generator
        shown = ShownGenerator(generator, "opened") if generator is not None else None
        inspect_run = source is not None and not self._training_active()
        if inspect_run:
            assert source is not None
            self.cache.clear()
            self.source = source
            self._follow_asked = follow
            self._trusted, self._asked_trust = trust, trust
            self._opened_generator = generator  # its views are made from it, not read again
            writing = getattr(source, "writing", None)
            mode = Mode.FOLLOWING if follow or writing else Mode.INSPECTING
            workspace.show_run(source.describe(), mode, delta)
            self._update_polling()
            if getattr(source, "more", False):
                self.poll()  # a long run: the rest is read piece by piece, shown as it comes
            if hasattr(source, "set_mapping"):
                self._apply_saved_mapping(source)
        elif not self._training_active():  # a lone generator: no curves, no slider
            workspace.forget_run()

        if shown is not None:
            workspace.show_generator(shown)
        elif inspect_run:
            workspace.show_generator(None)  # the explorer says why it is empty
        steps = workspace.scrub_steps
        if inspect_run and steps:
            at = generator.step if generator is not None else None
            workspace.set_step(at if at in steps else steps[-1])
        workspace.say(self._opened_message(path, opened, source, inspect_run), 8000)
        self._say_notes(Path(path).name, source, opened.notes())
        if shown is not None:
            self.opened.emit(shown)

    def _failed_to_show(self, what: str, error: Exception) -> None:
        """Showing a run raised (a view met a record it could not draw): no run is shown
        rather than half of one, the run is no longer polled, and a dialog says what failed
        (the traceback goes to a crash log, as an uncaught exception's would)."""
        from ganviz_gui import runtime

        self.source = None
        self._opened_generator = None
        self._polling = False
        self.cache.clear()
        cause = error.__cause__ or error  # psygnal wraps what a subscriber raised
        try:
            log = runtime.write_crash_log(type(cause), cause, cause.__traceback__)
            details = f"\n\nThe details are in {log}."
        except OSError:
            traceback.print_exception(cause)
            details = ""
        workspace = self.workspace
        try:
            workspace.show_generator(None)
            if not self._training_active():  # a run training here keeps its plots
                workspace.show_run(None, Mode.IDLE)
        except Exception:  # a view that fails even to clear: the dialog still says why
            traceback.print_exc()
        self._update_polling()
        workspace.warn(f"Cannot show {what}:\n{type(cause).__name__}: {cause}{details}")

    def _opened_message(
        self, path: str, opened: OpenedPath, source: RunSource | None, inspect_run: bool
    ) -> str:
        generator = opened.generator
        if generator is None:
            message = f"Opened {Path(path).name}: no checkpoint yet (curves and pictures only)"
        else:
            step = f", step {generator.step:,}" if generator.step is not None else ""
            what = generator.format or generator.kind
            architecture = generator.description.get("architecture")
            if architecture and architecture not in what:
                what += f": {architecture}"
            message = f"Opened {Path(path).name} ({what}{step})"
            if generator.notes:
                message += "; " + "; ".join(generator.notes)
        if source is not None and not inspect_run:
            message += " in the explorer; the run training here keeps the plots and the slider"
        elif self.workspace.mode == Mode.FOLLOWING:
            message += "; following it as it is written"
        return message

    # ------------------------------------------------------------------ following the run
    def _on_run_changed(self, run: RunInfo | None) -> None:
        if run is None or run.source not in POLLED_SOURCES:
            self.source = None  # another run is shown: its source is no longer polled
        self.cache.clear()
        self._update_polling()
        self._real = None
        self._real_loader.cancel()
        if run is not None and run.source == "trainer":
            self.workspace.set_real_samples_note("")  # live sheets bring their own
        else:
            self._load_real_samples(run)

    # ------------------------------------------------------------------ real samples
    def _load_real_samples(self, run: RunInfo | None) -> None:
        """Load the real samples of an inspected image run in the background, where its
        settings name a data set that can be loaded; else say why there are none."""
        if run is None or not run.is_image:
            self.workspace.set_real_samples_note("")
            return
        if run.config is None:
            self.workspace.set_real_samples_note(
                "No real samples: this run's settings name no data set (not a GANViz run, or "
                "no config.json)"
            )
            return
        count = len(run.fixed_noise) if run.fixed_noise is not None else run.config.n_samples
        self.workspace.set_real_samples_note(f"Loading {run.config.dataset} for real samples...")
        self._real_loader.submit(lambda: load_real_samples(run, count))

    def _on_real_samples_loaded(self, result: Any, error: str) -> None:
        run = self.workspace.run
        if error:
            if run is not None:
                self.workspace.set_real_samples_note(
                    f"No real samples: the run's data set cannot be loaded: {error}"
                )
            return
        loaded_run, samples = result
        if loaded_run is not run:
            return  # loaded for a run no longer shown
        self._real = (run, samples)
        self.workspace.set_real_samples_note("")
        if self.workspace.inspecting_run and self.workspace.step is not None:
            self._on_step_changed(self.workspace.step)  # its sheet, with them beside

    def _real_samples(self) -> np.ndarray | None:
        real = self._real
        return real[1] if real is not None and real[0] is self.workspace.run else None

    def _drawn_as_asked(self, views: CheckpointViews, with_real: bool = True) -> bool:
        """Cached views drawn in the workspace's BN mode, with the real samples if loaded and
        they fit its sheet (and `with_real`: the sample grid shows them, Compare does not).
        Real samples of another tile shape are never added: such a sheet is as asked."""
        generator = views[1]
        if generator.batchnorm != self.workspace.batchnorm_mode:
            return False
        return not (with_real and self._lacks_real_samples(views))

    def _lacks_real_samples(self, views: CheckpointViews) -> bool:
        """The views' sheet has none of the loaded real samples beside it, though they fit."""
        from ganviz_gui.core.live_views import SampleSheet, real_samples_fit

        sheet, real = views[2], self._real_samples()
        return (
            isinstance(sheet, SampleSheet)
            and sheet.real_grid is None
            and real is not None
            and real_samples_fit(sheet, real)
        )

    def _show_step_again(self) -> None:
        """The step's checkpoint and Compare's B drawn anew in another BN mode, from the
        files already read (`_drawn_as_asked` tells the cached views that are not)."""
        if self.workspace.inspecting_run and self.workspace.step is not None:
            self._on_step_changed(self.workspace.step)
        self._compare_again()

    def _on_batchnorm_mode_changed(self, mode: str) -> None:
        self._show_step_again()

    def _on_run_extended(self, delta: RunDelta) -> None:
        if delta.restarted:  # the run's files were rewritten: so may its checkpoints have been
            self.cache.clear()
            self._opened_generator = None

    def _on_mode_changed(self, mode: Mode) -> None:
        run = self.workspace.run
        if mode == Mode.INSPECTING and run is not None and run.source == "trainer":
            # The run trained here has ended: its folder is followed like any opened run.
            assert run.run_dir is not None
            self.source = RunFolderSource(run.run_dir)
            self.source.skip_to_end()
            self._follow_asked = False
            self._trusted = False
            self._load_real_samples(run)  # its checkpoints' sheets, scrubbed, show them too
        self._update_polling()

    def _update_polling(self) -> None:
        if self.source is not None and self.workspace.inspecting_run:
            self._poll_timer.start()
        else:
            self._poll_timer.stop()

    def poll(self) -> None:
        """Look at the opened run again (in the background, one look at a time)."""
        source = self.source
        if source is None or self._polling:
            return
        self._polling = True
        # The rest of a long run is read in one go (drawn once, not once a piece).
        bulk = getattr(source, "more", False)
        self._poller.submit(lambda: (source, source.poll_all() if bulk else source.poll()))

    def _on_polled(self, result: Any, error: str) -> None:
        if error or result is None:
            self._polling = False
            return  # a folder briefly unreadable (a network disk): the next poll tries again
        source, delta = result
        if source is not self.source:
            self._polling = False
            return
        records = delta.records
        if isinstance(records, RecordColumns) and len(records) > HANDOVER_RECORDS:
            # A long run's rest: handed to the panels a slice at a time, the event loop
            # running between slices, so the window never freezes for the whole of it.
            slices = records.split(HANDOVER_RECORDS)
            delta.records = slices[0]
            self._hand_over(source, delta, slices[1:])
            return
        self._take_poll(source, delta)

    def _hand_over(self, source: Any, delta: RunDelta, rest: list[RecordColumns]) -> None:
        if source is not self.source:
            self._polling = False
            return  # another run was shown meanwhile
        if not rest:
            self._take_poll(source, delta)
            return
        try:
            self.workspace.extend(RunDelta(records=delta.records))
        except Exception as exc:
            self._failed_to_show(self.workspace.run_name or "the run", exc)
            return
        delta.records = rest[0]
        QTimer.singleShot(0, self, lambda: self._hand_over(source, delta, rest[1:]))

    def _take_poll(self, source: Any, delta: RunDelta) -> None:
        self._polling = False
        workspace = self.workspace
        newest = workspace.scrub_steps[-1:] == [workspace.step]  # the step kept at the newest
        try:
            if delta:
                workspace.extend(delta)
            steps = workspace.scrub_steps
            following = workspace.mode == Mode.FOLLOWING
            if following and steps and (newest or workspace.step is None):
                workspace.set_step(steps[-1])  # before the run's end is noted: the end is shown
        except Exception as exc:  # what was read cannot be drawn: a dialog, not half a run
            self._failed_to_show(workspace.run_name or "the run", exc)
            return
        self._note_run_state(source)
        if getattr(source, "more", False):
            self.poll()  # the rest of a long run, at once
        else:
            self._say_notes(workspace.run_name or "the run", source)

    def _say_notes(self, name: str, source: Any, opened_notes: list[str] | None = None) -> None:
        """What was left out (a bad newest checkpoint, a damaged file, skipped records): the
        run is shown from what was good and a dialog says the rest, once the run has been read
        to its end (a long run's notes come with its later pieces); what is new after that,
        while following, goes to the status bar. `opened_notes`: the open's own, at an open."""
        if opened_notes is not None:
            self._pending_notes, self._notes_said = list(opened_notes), []
        if getattr(source, "more", False):
            return  # said when all of the run has been read
        notes = self._pending_notes + (source.notes() if hasattr(source, "notes") else [])
        self._pending_notes = []
        new = [note for note in notes if note not in self._notes_said]
        if not new:
            return
        first = not self._notes_said
        self._notes_said += new
        if first:
            self.workspace.warn(
                f"Opened {name}, without what could not be read:\n- " + "\n- ".join(new)
            )
        else:
            self.workspace.say(f"{name}: " + "; ".join(new), 15000)

    def _note_run_state(self, source: Any) -> None:
        """A followed run that ends is inspected; an inspected one that starts again (resumed
        by another process) is followed."""
        workspace = self.workspace
        writing = getattr(source, "writing", None)
        if workspace.mode == Mode.FOLLOWING and writing is False and not self._follow_asked:
            workspace.set_mode(Mode.INSPECTING)
            ended = getattr(source, "ended", None) or {}
            reason = ended.get("reason", "ended")
            step = ended.get("step")
            at = f" at step {step:,}" if isinstance(step, int) else ""
            workspace.say(f"The run {workspace.run_name} ended{at}: {reason}", 0)
        elif workspace.mode == Mode.INSPECTING and writing is True:
            workspace.set_mode(Mode.FOLLOWING)
            workspace.say(f"The run {workspace.run_name} is being written again: following it")

    def _on_checkpoints_changed(self, checkpoints: list[tuple[int, Path]]) -> None:
        """Rotated away under the slider: move to the nearest checkpoint still there."""
        workspace = self.workspace
        if not workspace.inspecting_run or not checkpoints or workspace.step is None:
            return  # the step of a run just shown is chosen by whoever showed it
        steps = workspace.scrub_steps
        if workspace.step not in steps:
            nearest = workspace.scrub_step_nearest(workspace.step)
            assert nearest is not None
            workspace.set_step(nearest)

    # ------------------------------------------------------------------ scrubbing
    def _on_step_changed(self, step: int | None) -> None:
        """Show the run at `step`: its checkpoint (cached, or loaded in the background), or,
        for a run without checkpoints, its sample picture."""
        workspace = self.workspace
        if not workspace.inspecting_run or step is None:
            return
        path = workspace.checkpoint_at(step)
        if path is None:
            if not workspace.checkpoints:
                self._show_picture(step)
            return
        views = self.cache.get(path)
        if views is not None and self._drawn_as_asked(views):
            self._show_views(views[1], views[2])
            return
        self._loading = path  # only the newest load reports back: a failure is this file's
        trust, mode, real = self._trusted, workspace.batchnorm_mode, self._real_samples()
        if views is not None and views[1].batchnorm == mode and real is not None:
            drawn = views  # drawn before the real samples came: only they are added
            self._load_checkpoint(lambda: add_real_samples_to_views(drawn, real))
            return
        opened = self._opened_generator
        if views is not None:  # drawn in another BN mode
            opened = views[1]  # drawn again from the file already read
        elif opened is None or opened.step != step or opened.path != path:
            opened = None
        self._load_checkpoint(lambda: load_checkpoint_views(step, path, opened, trust, mode, real))

    def _load_checkpoint(self, load: Callable[[], CheckpointViews]) -> None:
        """Newest wins: a load still waiting is dropped (`LatestOnly`), so a drag over many
        notches runs the one under way and the last one asked, not one per notch. The result
        carries the cache's epoch, so a load of a run no longer shown is never kept."""
        epoch = self.cache.epoch
        self._checkpoint_loader.submit(lambda: (epoch, load()))

    def _show_picture(self, step: int) -> None:
        picture = self.workspace.picture_at(step)
        if picture is None:
            return
        self._picture_loader.submit(lambda: load_picture(step, picture))

    def _on_picture_loaded(self, result: Any, error: str) -> None:
        if error:
            self.workspace.say(f"Cannot show that sample picture: {error}")
            return
        if result.step == self.workspace.step and not self.workspace.checkpoints:
            self.workspace.set_sheet(result)

    def _on_checkpoint_loaded(self, result: Any, error: str) -> None:
        if error:
            if self._loading is not None:
                self._checkpoint_failed(
                    error,
                    "Cannot show that checkpoint",
                    self._loading,
                    lambda: self._on_step_changed(self.workspace.step),
                )
            return
        epoch, views = result
        if epoch != self.cache.epoch:
            return  # asked for a run (or files) no longer shown
        _step, generator, picture = views
        self.cache.put(generator.path, views)
        if generator.path == self.workspace.checkpoint_at(self.workspace.step):
            self._show_views(generator, picture)  # (not a late result of another run or step)

    def _keep_checkpoint_loaded(self, result: tuple[int, CheckpointViews]) -> None:
        """A load the hand moved past: cached if it is of the run shown, never drawn (the
        panels show only the newest step asked)."""
        epoch, views = result
        if epoch == self.cache.epoch:  # (drawn in another BN mode: the lookup tells)
            self.cache.put(views[1].path, views)

    def _checkpoint_failed(
        self, error: str, what: str, path: Path, again: Callable[[], None]
    ) -> None:
        """A checkpoint rotated away between listing and loading is no error: say so, and look
        at the folder again (the slider then drops it). One whose program needs the user's
        trust asks for it once (`again`: the load, asked anew). Anything else is a dialog."""
        if not path.exists():
            self.workspace.say(f"{path.name} is gone (rotated away?); looking at the run again")
            self.poll()
            return
        run_dir = self.workspace.run_dir
        if needs_trust(error) and run_dir is not None:
            # A run opened before its first checkpoint: its programs are asked about now,
            # once (a run folder the user trusted before is remembered by the window).
            if self._trusted:
                again()  # asked for before the user said yes
            elif not self._asked_trust:
                self._asked_trust = True
                self._trusted = self.confirm_trust(str(run_dir), error)
                if self._trusted:
                    again()
                else:
                    self.workspace.say("Not trusted: the run's curves and pictures only", 0)
            return
        self.workspace.warn(f"{what}:\n{error}")

    def _show_views(
        self, generator: GeneratorFile, picture: SampleSheet | FieldSnapshot | None
    ) -> None:
        """`picture`: a SampleSheet (images), a FieldSnapshot (2D points) or None (the 2D
        points of a logged run: the generator alone)."""
        from ganviz_gui.core.live_views import SampleSheet

        workspace = self.workspace
        shown = workspace.shown
        # A file the user opened from elsewhere while this run trained stays in the explorer.
        kept = shown is not None and shown.origin == "opened" and not workspace.generator_in_run()
        if not kept and (shown is None or shown.generator is not generator):
            workspace.show_generator(ShownGenerator(generator, "checkpoint"))
        if isinstance(picture, SampleSheet):
            if not _live_sheet_stays(workspace.sheet, picture, workspace.batchnorm_mode):
                workspace.set_sheet(picture)
        elif picture is not None and (
            workspace.field is None or workspace.field.step != picture.step
        ):
            workspace.set_field(picture)

    # ------------------------------------------------------------------ compare
    def _on_comparison_wanted(self, step: int) -> None:
        """Checkpoint B of the comparison: cached, or loaded on a thread of its own."""
        workspace = self.workspace
        run = workspace.run
        path = workspace.checkpoint_at(step)
        if run is None or not run.is_image or path is None:
            return  # 2D runs are compared by scrubbing the field view
        views = self.cache.get(path)
        if views is not None and self._drawn_as_asked(views, with_real=False):
            self._compare_with(views)
            return
        self._comparing = path
        # B is drawn without real samples (Compare shows none); the step's own load adds
        # them when it finds B's views in the cache.
        opened = views[1] if views is not None else None
        trust, mode = self._trusted, workspace.batchnorm_mode
        self._compare_loader.submit(lambda: load_checkpoint_views(step, path, opened, trust, mode))

    def _on_compare_loaded(self, result: Any, error: str) -> None:
        if error:
            if self._comparing is not None:
                self._checkpoint_failed(
                    error,
                    "Cannot compare with that checkpoint",
                    self._comparing,
                    self._compare_again,
                )
            return
        generator = result[1]
        self.cache.put(generator.path, result)
        if generator.path == self.workspace.checkpoint_at(self.workspace.comparison_step):
            self._compare_with(result)

    def _compare_again(self) -> None:
        if self.workspace.comparison_step is not None:
            self._on_comparison_wanted(self.workspace.comparison_step)

    def _compare_with(self, views: CheckpointViews) -> None:
        from ganviz_gui.core.live_views import SampleSheet

        if isinstance(views[2], SampleSheet):
            self.workspace.set_comparison(views[2])

    # ------------------------------------------------------------------ TensorBoard tags
    def remap_tags(self, mapping: Any) -> None:
        """Plot the opened log's tags as `mapping` says (a `core.tag_mapping.TagMapping`):
        the next poll redraws the run from what was read, and the mapping is remembered."""
        source = self.source
        if source is None or not hasattr(source, "set_mapping"):
            return
        source.set_mapping(mapping)
        self.saved_mappings[str(Path(source.run_dir).resolve())] = mapping.to_dict()
        self.mappings_changed.emit()
        self.poll()

    def _apply_saved_mapping(self, source: Any) -> None:
        from ganviz_gui.core.errors import ConfigError
        from ganviz_gui.core.tag_mapping import TagMapping

        saved = self.saved_mappings.get(str(Path(source.run_dir).resolve()))
        if saved is None:
            return
        try:
            self.remap_tags(TagMapping.from_dict(saved))
        except ConfigError as exc:
            self.workspace.say(f"The saved tag mapping of this log is not used: {exc}")

    # ------------------------------------------------------------------ overlaid runs
    def overlay_path(self, path: str) -> None:
        """Draw another run's curves over the plots (read in the background, then followed)."""
        self.workspace.say(f"Reading {path} to overlay it...", 0)
        self._overlay_reader.submit(lambda: read_overlay(path))

    def _on_overlay_read(self, result: Any, error: str) -> None:
        if error:
            self.workspace.warn(f"Cannot overlay it:\n{error}")
            return
        source, records = result
        path = Path(source.run_dir)  # every source of a run on disk knows its folder
        self._overlay_sources[path] = source
        run = self.workspace.overlay(path.name, path, records)
        self.workspace.say(f"Overlaid {run.name}: {len(records):,} records", 8000)
        self._overlay_timer.start()

    def _on_overlays_changed(self, overlays: list) -> None:
        kept = {run.path for run in overlays}
        self._overlay_sources = {p: s for p, s in self._overlay_sources.items() if p in kept}
        if not self._overlay_sources:
            self._overlay_timer.stop()

    def _poll_overlays(self) -> None:
        sources = list(self._overlay_sources.items())
        if sources and not self._overlay_polling:
            self._overlay_polling = True
            self._overlay_poller.submit(lambda: [(p, s.poll_all().records) for p, s in sources])

    def _on_overlays_polled(self, result: Any, error: str) -> None:
        self._overlay_polling = False
        for path, records in result or []:
            self.workspace.extend_overlay(path, as_columns(records))

    def shutdown(self) -> None:
        """The window closes: stop polling, and let go of the decoded checkpoints (their
        generators are torch modules) at once, not whenever the window is collected."""
        self._poll_timer.stop()
        self._overlay_timer.stop()
        self.source = None
        self._overlay_sources = {}
        self._opened_generator = None
        self.cache.clear()
        self._real = None
        self._real_loader.close()  # not waited for: whatever it still loads is dropped


def _live_sheet_stays(shown: SampleSheet | None, loaded: SampleSheet, batchnorm: str) -> bool:
    """The sheet shown is the run's last live one, at the loaded checkpoint's step: it also has
    real samples beside the generated ones (the loaded one has none yet), so it stays (a run
    that just ended), unless the samples are asked for with batch statistics (live sheets
    are drawn with running ones)."""
    return (
        shown is not None
        and shown.step == loaded.step
        and shown.real_grid is not None
        and loaded.real_grid is None
        and batchnorm == "eval"
    )
