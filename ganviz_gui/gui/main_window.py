"""The GANViz main window: docks, layout, menus from the action table, and closing.

What the window shows lives in one `Workspace` (core/workspace.py); every panel takes it in
its constructor and draws from it. Controllers write into it: `TrainingController` (the
training thread), `InspectionController` (opening, scrubbing, comparing, following a run
folder), `SetupController` (the engine and data previews), `ExportController` and
`NeighbourSearch`. This class only builds them, lays out the docks, wires user intents of the
views to controllers, and closes everything safely. See docs/architecture.md.

The window opens before torch has loaded (importing torch takes about 2-3 s): the engine is
imported in the background once the window has painted.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import shiboken6
from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QToolBar,
    QWidget,
)

from ganviz_gui import __version__, runtime
from ganviz_gui.core.errors import ConfigError
from ganviz_gui.core.live_loop import RefreshRates, StepKind
from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui import file_dialogs, help_dialogs
from ganviz_gui.gui.actions import ActionRegistry
from ganviz_gui.gui.app import app_icon
from ganviz_gui.gui.app_settings import (
    SETTINGS_VERSION,
    RecentItems,
    TrustedRuns,
    app_settings,
    load_json_setting,
    saved_picture_budget,
)
from ganviz_gui.gui.background import close_jobs
from ganviz_gui.gui.checkpoint_compare import CheckpointCompare
from ganviz_gui.gui.diagnostics_panel import DiagnosticsPanel
from ganviz_gui.gui.export_controller import ExportController
from ganviz_gui.gui.field_view import FieldView
from ganviz_gui.gui.inspection_controller import InspectionController
from ganviz_gui.gui.latent_explorer import LatentExplorer
from ganviz_gui.gui.loss_plots import LossPlots
from ganviz_gui.gui.neighbour_search import NeighbourSearch
from ganviz_gui.gui.network_view import NetworkView
from ganviz_gui.gui.panel_frame import named, on_screen
from ganviz_gui.gui.run_scrubber import RunScrubber
from ganviz_gui.gui.sample_grid import SampleGrid
from ganviz_gui.gui.setup_controller import SetupController
from ganviz_gui.gui.setup_panel import SetupPanel
from ganviz_gui.gui.status_bar import RunStatusBar
from ganviz_gui.gui.theme import THEMES, apply_theme
from ganviz_gui.gui.tour import Tour, offer_tour_once
from ganviz_gui.gui.training_controller import TrainingController
from ganviz_gui.gui.window_actions import build_view_menu, window_actions

EXAMPLE_RUN = "digits-dcgan"  # resources/examples/<this>: File > Open example
CLOSE_WAIT_MS = 10_000  # the worker stops between steps and saves; normally well under 2 s


class MainWindow(QMainWindow):
    def __init__(self, rates: RefreshRates | None = None):
        super().__init__()
        self.setObjectName("mainWindow")
        runtime.without_huge_page_stalls()
        # A closed window deletes itself. Nothing else would: the lambdas and methods its
        # actions, docks and panels are connected to are held by Qt inside the window's own
        # widgets, out of the garbage collector's sight, so a closed window that is only
        # dropped stays alive with its plots, runs and generators (about 20 MB each).
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"GANViz {__version__}")
        self.setWindowIcon(app_icon())
        self.resize(1400, 860)
        self.error_box: QMessageBox | None = None
        self.first_paint_after: float | None = None  # seconds from process start, where known
        self._engine_load_started = False
        self._raise_on_first_paint: QDockWidget | None = None
        self.theme = "system"

        workspace = self.workspace = Workspace()
        self.trainer = TrainingController(workspace, rates, parent=self)
        self.inspector = InspectionController(
            workspace,
            training_active=lambda: self.trainer.active,
            confirm_trust=self._confirm_trust,
            parent=self,
        )
        self.setup = SetupController(workspace, parent=self)
        self.neighbours = NeighbourSearch(workspace, parent=self)

        self.setup_panel = SetupPanel(workspace)
        self.loss_plots = LossPlots(workspace)
        self.sample_grid = SampleGrid(workspace)
        self.field_view = FieldView(workspace)
        self.latent_explorer = LatentExplorer(workspace)
        self.compare = CheckpointCompare(workspace)
        self.network_view = NetworkView(workspace)
        self.diagnostics = DiagnosticsPanel(workspace)
        self._build_docks()
        self.controls = named(QToolBar("Controls", self), "controlsToolbar")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.controls)
        self.scrubber = RunScrubber(workspace, self)
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, self.scrubber)
        self.status = RunStatusBar(workspace, self.statusBar())
        self.exports = ExportController(workspace, self.latent_explorer, self, self._raise_explorer)
        self.registry = ActionRegistry(self, self.controls)
        self.registry.build(window_actions(self))
        self._theme_actions, self._budget_actions = build_view_menu(self)
        self.recent_files = RecentItems(
            "files/recent", self.registry.menus["File/Open recent"], self.open_path
        )
        self.recent_runs = RecentItems(
            "runs/recent",
            self.registry.menus["File/Recent runs"],
            self.resume_run_folder,
            label=lambda run: f"Continue {Path(run).name}",
            exists=Path.is_dir,
        )
        self._default_state = self.saveState(SETTINGS_VERSION)
        self._wire()
        self.trusted_runs = TrustedRuns()
        self._restore_settings()
        self.tour_offer = offer_tour_once(self, app_settings())  # the first start only
        self.setup_panel.refresh_preview()  # the panel's first request came before we listened
        self.statusBar().showMessage("Loading the engine (torch)...")

    # ------------------------------------------------------------------ building
    def _build_docks(self) -> None:
        self.setCentralWidget(self.loss_plots)
        self.setDockNestingEnabled(True)
        self.setup_dock = self._dock(
            "setupDock", "Setup", self.setup_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.field_dock = self._dock("fieldDock", "2D field", self.field_view, right)
        self.sample_dock = self._dock("sampleDock", "Samples", self.sample_grid, right)
        self.explorer_dock = self._dock(
            "explorerDock", "Latent explorer", self.latent_explorer, right
        )
        self.compare_dock = self._dock("compareDock", "Compare", self.compare, right)
        self.network_dock = self._dock("networkDock", "Networks", self.network_view, right)
        self.diagnostics_dock = self._dock(
            "diagnosticsDock", "Diagnostics", self.diagnostics, right
        )
        # One tab each: a run raises its own view, opening a generator raises the explorer.
        docks = self.panel_docks()[1:]
        for first, second in itertools.pairwise(docks):
            self.tabifyDockWidget(first, second)
        # The form needs room to be read; the tabbed panels take what the plots leave.
        # 320: the form's labels and values whole beside a vertical scroll bar (Advanced open).
        self.resizeDocks([self.setup_dock, self.field_dock], [320, 600], Qt.Orientation.Horizontal)
        self.field_dock.raise_()
        self.setAcceptDrops(True)  # drop a checkpoint, a run folder or a generator to open it

    def panel_docks(self) -> tuple[QDockWidget, ...]:
        return (
            self.setup_dock,
            self.field_dock,
            self.sample_dock,
            self.explorer_dock,
            self.compare_dock,
            self.network_dock,
            self.diagnostics_dock,
        )

    def _dock(self, name: str, title: str, widget: QWidget, area) -> QDockWidget:
        dock = named(QDockWidget(title, self), name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _wire(self) -> None:
        """User intents of the views -> the controllers; controller state -> the actions."""
        workspace, trainer = self.workspace, self.trainer
        self.setup_panel.preview_wanted.connect(self.setup.preview)
        self.setup_panel.live_setting_changed.connect(trainer.change_setting)
        self.setup_panel.config_changed.connect(self.registry.refresh)
        self.sample_grid.sample_opened.connect(self.neighbours.find)
        trainer.state_changed.connect(self.registry.refresh)
        self.inspector.file_opened.connect(self.recent_files.remember)
        self.inspector.mappings_changed.connect(self.save_settings)
        self.inspector.opened.connect(self._raise_opened_view)
        workspace.run_changed.connect(self._on_run_changed)
        workspace.run_changed.connect(lambda _: self.registry.refresh())
        workspace.problem.connect(self._show_error)
        # Pictures of hidden docks are not computed by the training thread.
        self.field_dock.visibilityChanged.connect(lambda _: self._tell_shown())
        self.sample_dock.visibilityChanged.connect(lambda _: self._tell_shown())
        # Panels behind a tab draw nothing; brought to the front, they catch up.
        for dock, view in (
            (self.field_dock, self.field_view),
            (self.sample_dock, self.sample_grid),
            (self.network_dock, self.network_view),
        ):
            dock.visibilityChanged.connect(view.dock_shown_changed)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)

    # ------------------------------------------------------------------ layout follows the run
    def _on_run_changed(self, run) -> None:
        """A run started here raises its own view (samples for images, the field for 2D)."""
        if run is not None and run.source == "trainer":
            self.recent_runs.remember(str(run.run_dir))
            (self.sample_dock if run.is_image else self.field_dock).raise_()

    def _raise_opened_view(self, shown) -> None:
        """Image generators open in the explorer; a 2D run in the field view, a lone 2D
        generator in the explorer's mesh."""
        field = self.workspace.inspecting_run and not shown.generator.is_image
        view = self.field_dock if field else self.explorer_dock
        view.show()
        view.raise_()

    def _raise_explorer(self) -> None:
        self.explorer_dock.raise_()

    def _tell_shown(self) -> None:
        self.trainer.set_shown("field", _shown(self.field_dock))
        self.trainer.set_shown("samples", _shown(self.sample_dock))

    # ------------------------------------------------------------------ help and theme
    def show_tour(self) -> Tour:
        return help_dialogs.show_tour(self)

    def show_shortcuts(self) -> QMessageBox:
        return help_dialogs.show_shortcuts(self)

    def show_about(self) -> QMessageBox:
        return help_dialogs.show_about(self, self.workspace, self.engine_ready)

    def show_crash(self, log: Path, summary: str) -> None:
        """An uncaught exception (see ganviz_gui.runtime): say so, and where its log is."""
        if not shiboken6.isValid(self):
            return  # closed and deleted: the crash log is all there is
        self._show_error(
            f"Something went wrong inside GANViz:\n{summary}\n\nThe details are in {log}. "
            "Runs save checkpoints as they go; the window keeps running."
        )

    def _on_scheme_changed(self, _scheme) -> None:
        if self.theme == "system":
            self.set_theme("system")

    def set_theme(self, key: str) -> None:
        """ "system" follows the desktop's light or dark scheme; "light" and "dark" fix it."""
        self.theme = key
        for action in self._theme_actions.actions():
            action.setChecked(action.data() == key)
        apply_theme(self, key)

    def set_picture_budget(self, share: float) -> None:
        """The share of the training time the live pictures may take (View > Live pictures)."""
        self.trainer.set_picture_budget(share)
        for action in self._budget_actions.actions():
            action.setChecked(action.data() == share)

    def _show_error(self, text: str) -> None:
        """A non-blocking warning: training (and tests) keep running while it is open."""
        self.statusBar().showMessage(text.splitlines()[0], 10000)
        box = QMessageBox(
            QMessageBox.Icon.Warning, "GANViz", text, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("errorDialog")
        box.open()
        self.error_box = box

    # ------------------------------------------------------------------ engine
    @property
    def engine_ready(self) -> bool:
        return self.setup.engine_ready

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._engine_load_started:
            from ganviz_gui.runtime import seconds_since_process_start

            self.first_paint_after = seconds_since_process_start()  # for the self-test
            self._engine_load_started = True
            if self._raise_on_first_paint is not None:
                QTimer.singleShot(0, self, self._raise_on_first_paint.raise_)
            # Importing torch holds the GIL for 2-3 s: started before the window has painted,
            # it would delay the first paint by as much. So it waits for it.
            QTimer.singleShot(50, self.setup.load_engine)

    # ------------------------------------------------------------------ training
    def start_training(self, paused: bool = False) -> bool:
        """Start a new run with the setup panel's settings; False (and a message) if refused."""
        if self.trainer.active:
            return False
        try:
            config = self.setup_panel.config()
        except ConfigError as exc:
            self.setup_panel.show_error(str(exc))
            self._show_error(f"Cannot start: {exc}")
            return False
        self._tell_shown()
        return self.trainer.start(config, paused=paused)

    def start_or_pause(self) -> None:
        """Space: start a run with the setup's settings, or pause / resume the running one."""
        if not self.trainer.active:
            self.start_training()
        elif self.trainer.started_run:
            self.trainer.toggle_pause()

    def step(self, kind: StepKind = "both") -> None:
        """One iteration; with no run yet, start one paused first."""
        if not self.trainer.active and not self.start_training(paused=True):
            return
        self.trainer.step(kind)

    def stop_training(self) -> None:
        self.trainer.stop("stopped")

    def resume_run_folder(self, folder: str) -> bool:
        from ganviz_gui.core.run_folder import list_checkpoints

        checkpoints = list_checkpoints(folder)
        if not checkpoints:
            self._show_error(f"{folder}: no checkpoint found to continue from")
            return False
        self._tell_shown()
        return self.trainer.resume(str(checkpoints[-1][1]))

    def _choose_run_to_resume(self) -> None:
        folder = file_dialogs.ask_folder(self, "Choose a run folder to continue")
        if folder:
            self.resume_run_folder(folder)

    # ------------------------------------------------------------------ opening
    def open_path(self, path: str, trust: bool = False, follow: bool = False) -> None:
        # A run folder trusted before opens trusted at once, not read, refused and read again.
        self.inspector.open_path(path, trust or self.trusted_runs.trusts(path), follow)

    def _confirm_trust(self, path: str, why: str = "") -> bool:
        """Ask before trusting a file (`why`: what it needs trust for), once per run folder
        (remembered)."""
        from ganviz_gui.core.run_folder import run_dir_of

        if self.trusted_runs.trusts(path):
            return True
        if not file_dialogs.confirm_trust(self, path, why):
            return False
        run_dir = run_dir_of(path)
        if run_dir is not None:
            self.trusted_runs.trust(run_dir)
            self.trusted_runs.save(app_settings())
        return True

    def open_example(self) -> None:
        """The example run shipped in resources/ (trained by scripts/make_example_run.py)."""
        from ganviz_gui.core.resources import resource_path

        try:
            folder = resource_path("examples", EXAMPLE_RUN)
        except FileNotFoundError as exc:
            self._show_error(str(exc))
            return
        self.open_path(str(folder))

    def _choose_file_to_open(self) -> None:
        path = file_dialogs.ask_generator_file(self)
        if path:
            self.open_path(path)

    def _choose_folder_to_open(self) -> None:
        folder = file_dialogs.ask_folder(self, "Open a run folder or a TensorBoard log")
        if folder:
            self.open_path(folder)

    def edit_tensorboard_tags(self) -> None:
        """Show what each tag of the opened log is plotted as; the user's corrections redraw
        the run and are remembered for that log."""
        from ganviz_gui.core.tensorboard_log import TensorBoardSource
        from ganviz_gui.gui.tag_mapping_dialog import TagMappingDialog

        source = self.inspector.source
        if not isinstance(source, TensorBoardSource):
            return
        dialog = TagMappingDialog(
            source.tag_rows(), source.image_counts(), source.mapping, source.picture_tag, self
        )
        if dialog.exec() == TagMappingDialog.DialogCode.Accepted:
            self.inspector.remap_tags(dialog.chosen_mapping())

    def _choose_run_to_overlay(self) -> None:
        folder = file_dialogs.ask_folder(self, "Overlay a run folder or TensorBoard log")
        if folder:
            self.inspector.overlay_path(folder)

    def _choose_folder_to_follow(self) -> None:
        folder = file_dialogs.ask_folder(self, "Follow a run folder or TensorBoard log")
        if folder:
            self.open_path(folder, follow=True)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        local = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if local:
            event.acceptProposedAction()
            self.open_path(local[0])

    # ------------------------------------------------------------------ persistence
    def restore_default_layout(self) -> None:
        self.restoreState(self._default_state, SETTINGS_VERSION)
        for dock in self.panel_docks():
            dock.show()
        self.controls.show()

    def _restore_settings(self) -> None:
        settings = app_settings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state, SETTINGS_VERSION)
        else:  # the first start: the default preset's own view in front, once laid out
            self._raise_on_first_paint = self.field_dock
        self.recent_runs.load(settings)
        self.recent_files.load(settings)
        self.trusted_runs.load(settings)
        self.inspector.saved_mappings = load_json_setting(settings, "tensorboard/mappings", {})
        theme = settings.value("view/theme", "system")
        self.set_theme(theme if isinstance(theme, str) and theme in dict(THEMES) else "system")
        self.set_picture_budget(saved_picture_budget(settings, self.trainer.picture_budget))
        problem = self.setup_panel.restore(settings)
        if problem:
            self.statusBar().showMessage(f"Saved settings ignored: {problem}", 8000)

    def save_settings(self) -> None:
        settings = app_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState(SETTINGS_VERSION))
        self.recent_runs.save(settings)
        self.recent_files.save(settings)
        settings.setValue("tensorboard/mappings", json.dumps(self.inspector.saved_mappings))
        settings.setValue("view/theme", self.theme)
        settings.setValue("view/picture_budget", self.trainer.picture_budget)
        self.setup_panel.save(settings)
        settings.sync()

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event) -> None:
        """Stop the run between two steps and let it save its checkpoint; then stop and join
        every thread and pool the window started, whatever they are loading, so nothing runs
        (or arrives) after the window is gone."""
        if not self.trainer.shutdown(CLOSE_WAIT_MS):
            # Never terminate(): a thread killed mid-write could corrupt the run.
            answer = QMessageBox.question(
                self,
                "GANViz",
                "Training has not stopped yet (a long step or a slow disk). Keep waiting?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                self.trainer.keep_going()
                event.ignore()
                return
            self.trainer.wait_more(24 * 3600 * 1000)
        self.inspector.shutdown()
        self.latent_explorer.shut_down()
        close_jobs(self)
        self.save_settings()
        super().closeEvent(event)  # accepted: Qt deletes the window (WA_DeleteOnClose)

    def close(self) -> bool:
        """Close the window (it then deletes itself). Whoever still holds it once deleted (a
        test's teardown closes every window it saw) may close it again: it stays closed."""
        if not shiboken6.isValid(self):
            return True
        return super().close()

    def deleteLater(self) -> None:
        if shiboken6.isValid(self):  # a window closed and deleted already is gone
            super().deleteLater()


def _shown(dock: QDockWidget) -> bool:
    """Visible on screen: not closed, and not behind another tab."""
    return on_screen(dock)
