"""Inspecting runs and generators: open, scrub, compare, and follow a run folder as it grows.

Everything that reads a file runs off the GUI thread (`LatestOnly` jobs); the newest request
wins. An opened run folder becomes a `RunFolderSource` that is polled once a second, so the
step slider offers checkpoints as they appear and drops ones rotated away. What a checkpoint
shows (its generator and fixed-noise sheet, or a 2D run's field) is cached by step.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from PySide6.QtCore import QObject, QTimer, Signal

from ganviz_gui.core.run_sources import RunFolderSource
from ganviz_gui.core.workspace import Mode, ShownGenerator, Workspace
from ganviz_gui.gui.background import LatestOnly

if TYPE_CHECKING:
    from ganviz_gui.core.generator_files import GeneratorFile
    from ganviz_gui.core.inspection import OpenedPath
    from ganviz_gui.core.live_views import FieldSnapshot, SampleSheet
    from ganviz_gui.core.workspace import RunDelta, RunInfo

# What a checkpoint shows: its generator, and its sample sheet (images) or 2D field (points).
CheckpointViews: TypeAlias = "tuple[int, GeneratorFile, SampleSheet | FieldSnapshot]"

POLL_MS = 1000  # an opened run folder is looked at again this often
CACHE_SIZE = 16  # checkpoints kept decoded: a DCGAN 64 px one is a few MB


def open_for_inspection(
    path: str, trust: bool
) -> tuple[OpenedPath, RunFolderSource | None, RunDelta | None]:
    """(OpenedPath, the run's source or None, everything the run recorded so far)."""
    from ganviz_gui.core.inspection import open_path

    opened = open_path(path, trust=trust)
    if opened.run_dir is None:
        return opened, None, None
    source = RunFolderSource(opened.run_dir, opened.generator)
    return opened, source, source.poll()


def load_checkpoint_views(
    step: int, path: Path, opened: GeneratorFile | None = None
) -> CheckpointViews:
    """What the panels show of one checkpoint: its generator and its fixed-noise sample sheet
    (or 2D field). `opened`: the checkpoint's GeneratorFile if already read (no second read)."""
    from ganviz_gui.core.devices import apply_num_threads
    from ganviz_gui.core.generator_files import open_generator_file
    from ganviz_gui.core.live_views import checkpoint_field, checkpoint_sample_sheet

    apply_num_threads(1)  # a background job: leave the other core to the GUI
    generator = opened if opened is not None else open_generator_file(path)
    assert generator.checkpoint is not None  # a run's checkpoints are GANViz files
    if generator.is_image:
        return step, generator, checkpoint_sample_sheet(generator.checkpoint)
    return step, generator, checkpoint_field(generator.checkpoint)


class CheckpointCache:
    """The newest `size` loaded checkpoints' views, by file: a step of another run is never
    mistaken for one shown before (the cache is emptied when another run is shown or the run's
    files are rewritten)."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
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


class InspectionController(QObject):
    opened = Signal(object)  # ShownGenerator just opened (the window raises its view)
    file_opened = Signal(str)  # a path opened without error (recent files)

    def __init__(
        self,
        workspace: Workspace,
        training_active: Callable[[], bool],  # a run trains in this window
        confirm_trust: Callable[[str], bool],  # ask before running a TorchScript file's code
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.workspace = workspace
        self._training_active = training_active
        self.confirm_trust = confirm_trust
        self.source: RunFolderSource | None = None
        self.cache = CheckpointCache()
        self._opening: tuple[str, bool] = ("", False)
        # The checkpoint File > Open read (not read a second time to show it).
        self._opened_generator: GeneratorFile | None = None
        self._polling = False
        self._loading: Path | None = None  # the checkpoint of the newest load asked for
        self._comparing: Path | None = None  # ... of the newest comparison asked for
        self._opener = LatestOnly(self)
        self._opener.finished.connect(self._on_opened)
        self._checkpoint_loader = LatestOnly(self, own_thread=True)  # scrubbing stays quick
        self._checkpoint_loader.finished.connect(self._on_checkpoint_loaded)
        self._compare_loader = LatestOnly(self, own_thread=True)
        self._compare_loader.finished.connect(self._on_compare_loaded)
        self._poller = LatestOnly(self, own_thread=True)
        self._poller.finished.connect(self._on_polled)
        self._poll_timer = QTimer(self, interval=POLL_MS)
        self._poll_timer.timeout.connect(self.poll)
        workspace.run_changed.connect(self._on_run_changed)
        workspace.mode_changed.connect(self._on_mode_changed)
        workspace.step_changed.connect(self._on_step_changed)
        workspace.checkpoints_changed.connect(self._on_checkpoints_changed)
        workspace.run_extended.connect(self._on_run_extended)
        workspace.comparison_wanted.connect(self._on_comparison_wanted)

    # ------------------------------------------------------------------ opening
    def open_path(self, path: str, trust: bool = False) -> None:
        """Open a run folder, checkpoint or generator in the background; errors become dialogs."""
        self.workspace.say(f"Opening {path}...", 0)
        self._opening = (path, trust)
        self._opener.submit(lambda: open_for_inspection(path, trust))

    def _on_opened(self, result: Any, error: str) -> None:
        path, trust = self._opening
        workspace = self.workspace
        if error:
            if "TorchScript" in error and not trust and self.confirm_trust(path):
                self.open_path(path, trust=True)
                return
            workspace.warn(f"Cannot open it:\n{error}")
            return
        opened, source, delta = result
        self.file_opened.emit(path)
        workspace.set_following(False)  # the opened file is what the explorer shows now
        shown = ShownGenerator(opened.generator, "opened")
        generator = opened.generator
        inspect_run = source is not None and not self._training_active()
        if inspect_run:
            assert source is not None
            self.cache.clear()
            self.source = source
            self._opened_generator = generator  # its views are made from it, not read again
            workspace.show_run(source.describe(), Mode.INSPECTING, delta)
            self._update_polling()
        elif not self._training_active():  # a lone generator: no curves, no slider
            workspace.forget_run()

        workspace.show_generator(shown)
        steps = [step for step, _ in workspace.checkpoints]
        if inspect_run and steps:
            workspace.set_step(generator.step if generator.step in steps else steps[-1])
        what = generator.kind + (f", step {generator.step:,}" if generator.step is not None else "")
        message = f"Opened {Path(path).name} ({what})"
        if source is not None and not inspect_run:
            message += " in the explorer; the run training here keeps the plots and the slider"
        workspace.say(message, 8000)
        self.opened.emit(shown)

    # ------------------------------------------------------------------ following the folder
    def _on_run_changed(self, run: RunInfo | None) -> None:
        if run is None or run.source != "folder":
            self.source = None  # another run is shown: its source is no longer polled
        self.cache.clear()
        self._update_polling()

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
        self._update_polling()

    def _update_polling(self) -> None:
        if self.source is not None and self.workspace.inspecting_run:
            self._poll_timer.start()
        else:
            self._poll_timer.stop()

    def poll(self) -> None:
        """Look at the opened run's folder again (in the background, one look at a time)."""
        source = self.source
        if source is None or self._polling:
            return
        self._polling = True
        self._poller.submit(lambda: (source, source.poll()))

    def _on_polled(self, result: Any, error: str) -> None:
        self._polling = False
        if error or result is None:
            return  # a folder briefly unreadable (a network disk): the next poll tries again
        source, delta = result
        if source is self.source and delta:
            self.workspace.extend(delta)

    def _on_checkpoints_changed(self, checkpoints: list[tuple[int, Path]]) -> None:
        """Rotated away under the slider: move to the nearest checkpoint still there."""
        workspace = self.workspace
        if not workspace.inspecting_run or not checkpoints or workspace.step is None:
            return  # the step of a run just shown is chosen by whoever showed it
        steps = [step for step, _ in checkpoints]
        if workspace.step not in steps:
            nearest = workspace.checkpoint_nearest(workspace.step)
            assert nearest is not None
            workspace.set_step(nearest[0])

    # ------------------------------------------------------------------ scrubbing
    def _on_step_changed(self, step: int | None) -> None:
        """Show the run at its checkpoint `step`: cached, or loaded in the background."""
        workspace = self.workspace
        if not workspace.inspecting_run:
            return
        path = workspace.checkpoint_at(step)
        if path is None or step is None:
            return
        views = self.cache.get(path)
        if views is not None:
            self._show_views(views[1], views[2])
            return
        opened = self._opened_generator
        if opened is None or opened.step != step or opened.path != path:
            opened = None
        self._loading = path  # only the newest load reports back: a failure is this file's
        self._checkpoint_loader.submit(lambda: load_checkpoint_views(step, path, opened))

    def _on_checkpoint_loaded(self, result: Any, error: str) -> None:
        if error:
            if self._loading is not None:
                self._checkpoint_failed(error, "Cannot show that checkpoint", self._loading)
            return
        _step, generator, picture = result
        self.cache.put(generator.path, result)
        if generator.path == self.workspace.checkpoint_at(self.workspace.step):
            self._show_views(generator, picture)  # (not a late result of another run or step)

    def _checkpoint_failed(self, error: str, what: str, path: Path) -> None:
        """A checkpoint rotated away between listing and loading is no error: say so, and look
        at the folder again (the slider then drops it). Anything else is a dialog."""
        if not path.exists():
            self.workspace.say(f"{path.name} is gone (rotated away?); looking at the run again")
            self.poll()
            return
        self.workspace.warn(f"{what}:\n{error}")

    def _show_views(self, generator: GeneratorFile, picture: SampleSheet | FieldSnapshot) -> None:
        """`picture`: a SampleSheet (images) or a FieldSnapshot (2D points)."""
        from ganviz_gui.core.live_views import SampleSheet

        workspace = self.workspace
        shown = workspace.shown
        # A file the user opened from elsewhere while this run trained stays in the explorer.
        kept = shown is not None and shown.origin == "opened" and not workspace.generator_in_run()
        if not kept and (shown is None or shown.generator is not generator):
            workspace.show_generator(ShownGenerator(generator, "checkpoint"))
        if isinstance(picture, SampleSheet):
            if not _same_step_with_real_samples(workspace.sheet, picture):
                workspace.set_sheet(picture)
        elif workspace.field is None or workspace.field.step != picture.step:
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
        if views is not None:
            self._compare_with(views)
            return
        self._comparing = path
        self._compare_loader.submit(lambda: load_checkpoint_views(step, path))

    def _on_compare_loaded(self, result: Any, error: str) -> None:
        if error:
            if self._comparing is not None:
                self._checkpoint_failed(
                    error, "Cannot compare with that checkpoint", self._comparing
                )
            return
        generator = result[1]
        self.cache.put(generator.path, result)
        if generator.path == self.workspace.checkpoint_at(self.workspace.comparison_step):
            self._compare_with(result)

    def _compare_with(self, views: CheckpointViews) -> None:
        from ganviz_gui.core.live_views import SampleSheet

        if isinstance(views[2], SampleSheet):
            self.workspace.set_comparison(views[2])

    def shutdown(self) -> None:
        self._poll_timer.stop()
        self.source = None


def _same_step_with_real_samples(shown: SampleSheet | None, loaded: SampleSheet) -> bool:
    """The sheet shown is the run's last live one, at the loaded checkpoint's step: it also has
    real samples beside the generated ones, so it stays (a run that just ended)."""
    return shown is not None and shown.step == loaded.step and shown.real_grid is not None
