"""The GANViz main window: set up a run, start it, watch it learn, intervene.

The window opens before torch has loaded (importing torch takes about 2-3 s): the engine is
imported in the background and the device list filled in when it is ready. Training runs in a
`TrainingWorker` on its own QThread; this window only forwards commands to it and draws what it
sends. Layout, last settings and recent runs persist in `GANVIZ_HOME/settings.ini`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QThreadPool, QTimer, QUrl
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QToolBar,
    QWidget,
)

from ganviz_gui import __version__
from ganviz_gui.core.app_dirs import app_home, runs_dir
from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.errors import ConfigError
from ganviz_gui.gui.app import app_icon
from ganviz_gui.gui.background import LatestOnly
from ganviz_gui.gui.checkpoint_compare import CheckpointCompare
from ganviz_gui.gui.diagnostics_panel import DiagnosticsPanel
from ganviz_gui.gui.field_view import FieldView
from ganviz_gui.gui.help_texts import SHORTCUTS, TOUR, about_html, shortcuts_html
from ganviz_gui.gui.latent_explorer import LatentExplorer, torch_threads_for_this_job
from ganviz_gui.gui.loss_plots import LossPlots
from ganviz_gui.gui.network_view import NetworkView
from ganviz_gui.gui.run_scrubber import CheckpointCache, RunScrubber
from ganviz_gui.gui.sample_grid import SampleGrid
from ganviz_gui.gui.setup_panel import SetupPanel
from ganviz_gui.gui.theme import THEMES, apply_theme
from ganviz_gui.gui.training_worker import (
    RefreshRates,
    RunEnded,
    RunStarted,
    TrainingThread,
    TrainingUpdate,
    TrainingWorker,
)

MAX_RECENT_RUNS = 10
EXAMPLE_RUN = "digits-dcgan"  # resources/examples/<this>: File > Open example
CLOSE_WAIT_MS = 10_000  # the worker stops between steps and saves; normally well under 2 s
SETTINGS_VERSION = 2  # 2: the Networks and Quality docks


def app_settings() -> QSettings:
    """Settings in GANVIZ_HOME (not the registry): tests and portable installs stay isolated."""
    path = app_home() / "settings.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    return QSettings(str(path), QSettings.IniFormat)


def load_engine() -> list[tuple[str, str]]:
    """Import torch and the trainer (the slow part of start-up); list the devices that exist."""
    import ganviz_gui.core.live_views  # noqa: F401  (pulls in torch, the models, the trainer)
    from ganviz_gui.core.devices import available_devices

    return [(d.name, d.description) for d in available_devices()]


def load_checkpoint_views(step: int, path: Path, opened: Any = None) -> tuple[int, Any, Any]:
    """What the panels show of one checkpoint: its generator and its fixed-noise sample sheet
    (or 2D field). `opened`: the checkpoint's GeneratorFile if already read (no second read)."""
    from ganviz_gui.core.devices import apply_num_threads
    from ganviz_gui.core.generator_files import open_generator_file
    from ganviz_gui.core.live_views import checkpoint_sample_sheet

    apply_num_threads(1)  # a background job: leave the other core to the GUI
    generator = opened if opened is not None else open_generator_file(path)
    if generator.is_image:
        return step, generator, checkpoint_sample_sheet(generator.checkpoint)
    return step, generator, checkpoint_field(generator.checkpoint)


def checkpoint_field(checkpoint: Any) -> Any:
    """The 2D field view of a checkpoint of a 2D run (its data regenerated or re-read)."""
    from ganviz_gui.core.data import load_dataset
    from ganviz_gui.core.live_views import NetworksAtStep, PlaneField

    dataset = load_dataset(checkpoint.config)
    return PlaneField(NetworksAtStep.from_checkpoint(checkpoint, dataset)).snapshot()


def preview_data(config: TrainingConfig) -> tuple[Any, str]:
    from ganviz_gui.core.live_views import dataset_preview

    return dataset_preview(config)


class MainWindow(QMainWindow):
    def __init__(self, rates: RefreshRates | None = None):
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"GANViz {__version__}")
        self.setWindowIcon(app_icon())
        self.resize(1400, 860)
        self.rates = rates or RefreshRates()
        self.training: TrainingThread | None = None
        self.run_info: RunStarted | None = None
        self.last_update: TrainingUpdate | None = None
        self.last_run_end: RunEnded | None = None
        self.error_box: QMessageBox | None = None
        self.opened: Any = None  # core.inspection.OpenedPath shown in the explorer
        self._opening: tuple[str, bool] = ("", False)
        self._latest_samples: Any = None  # kept for a hidden panel, drawn when it is shown
        self._latest_field: Any = None
        self.engine_ready = False
        self.recent_runs: list[str] = []

        self.setup_panel = SetupPanel()
        self.loss_plots = LossPlots()
        self.sample_grid = SampleGrid()
        self.field_view = FieldView()
        self.setCentralWidget(self.loss_plots)
        self.setDockNestingEnabled(True)
        self.setup_dock = self._dock("setupDock", "Setup", self.setup_panel, Qt.LeftDockWidgetArea)
        self.field_dock = self._dock(
            "fieldDock", "2D field", self.field_view, Qt.RightDockWidgetArea
        )
        self.sample_dock = self._dock(
            "sampleDock", "Samples", self.sample_grid, Qt.RightDockWidgetArea
        )
        self.latent_explorer = LatentExplorer()
        self.explorer_dock = self._dock(
            "explorerDock", "Latent explorer", self.latent_explorer, Qt.RightDockWidgetArea
        )
        self.compare = CheckpointCompare()
        self.compare_dock = self._dock(
            "compareDock", "Compare", self.compare, Qt.RightDockWidgetArea
        )
        self.network_view = NetworkView()
        self.network_dock = self._dock(
            "networkDock", "Networks", self.network_view, Qt.RightDockWidgetArea
        )
        self.diagnostics = DiagnosticsPanel()
        self.diagnostics_dock = self._dock(
            "diagnosticsDock", "Diagnostics", self.diagnostics, Qt.RightDockWidgetArea
        )
        # One tab each: a run raises its own view, opening a generator raises the explorer.
        self.tabifyDockWidget(self.field_dock, self.sample_dock)
        self.tabifyDockWidget(self.sample_dock, self.explorer_dock)
        self.tabifyDockWidget(self.explorer_dock, self.compare_dock)
        self.tabifyDockWidget(self.compare_dock, self.network_dock)
        self.tabifyDockWidget(self.network_dock, self.diagnostics_dock)
        self.field_dock.raise_()
        self.setAcceptDrops(True)  # drop a checkpoint, a run folder or a generator to open it
        self.field_dock.visibilityChanged.connect(self._on_field_dock_shown)
        self.sample_dock.visibilityChanged.connect(self._on_sample_dock_shown)
        self._build_controls()
        self.scrubber = RunScrubber(self)
        self.addToolBar(Qt.BottomToolBarArea, self.scrubber)
        self.scrubber.hide()  # shown when a run is opened for inspection
        self.scrubber.checkpoint_chosen.connect(self._show_checkpoint)
        self.loss_plots.step_clicked.connect(self._on_plot_clicked)
        self.sample_grid.sample_clicked.connect(self._on_sample_clicked)
        self.sample_grid.sample_clicked.connect(self._find_neighbours)
        self.latent_explorer.follow_check.toggled.connect(lambda _: self._on_follow_changed())
        self.latent_explorer.follow_combo.activated.connect(lambda _: self._on_follow_changed())
        self.network_dock.visibilityChanged.connect(lambda _: self._on_follow_changed())
        self.network_view.tabs.currentChanged.connect(lambda _: self._on_follow_changed())
        self.network_view.cursor_button.clicked.connect(self._take_cursor_apart)
        self.diagnostics.step_chosen.connect(self._on_finding_chosen)
        self.diagnostics.findings_changed.connect(self.loss_plots.set_findings)
        self._checkpoint_views = CheckpointCache()
        self._build_status_bar()
        self._build_menus()
        self._default_state = self.saveState(SETTINGS_VERSION)

        self._opener = LatestOnly(self)
        self._opener.finished.connect(self._on_opened)
        self._checkpoint_loader = LatestOnly(self, own_thread=True)  # scrubbing stays quick
        self._checkpoint_loader.finished.connect(self._on_checkpoint_loaded)
        self._neighbour_finder = LatestOnly(self, own_thread=True)
        self._neighbour_finder.finished.connect(self._on_neighbours_found)
        self._training_data: tuple[str, Any, float] | None = None  # (config, data, typical)
        self._compare_loader = LatestOnly(self, own_thread=True)
        self._compare_loader.finished.connect(self._on_compare_loaded)
        self.compare.compare_wanted.connect(self._load_comparison)
        self.recent_files: list[str] = []
        self._engine_loader = LatestOnly(self)
        self._engine_loader.finished.connect(self._on_engine_loaded)
        self._previewer = LatestOnly(self)
        self._previewer.finished.connect(self._on_preview_ready)
        self.setup_panel.preview_wanted.connect(self._request_preview)
        self.setup_panel.live_setting_changed.connect(self._on_live_setting_changed)
        self.setup_panel.config_changed.connect(self._update_buttons)

        self._pending_preview: TrainingConfig | None = None
        self.theme = "system"
        # The desktop switching between light and dark re-styles the plots when following it.
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)
        self._restore_settings()
        self.setup_panel.refresh_preview()  # the panel's first request came before we listened
        self._update_buttons()
        self.statusBar().showMessage("Loading the engine (torch)...")
        # Importing torch is Python code that holds the GIL for 2-3 s: started before the
        # window has painted, it would delay the first paint by as much. So it waits for it.
        self._engine_load_started = False
        self.first_paint_after: float | None = None  # seconds from process start, where known

    # ------------------------------------------------------------------ building
    def _panel_docks(self) -> tuple[QDockWidget, ...]:
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
        dock = QDockWidget(title, self, objectName=name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _button(self, name: str, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, objectName=name)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        self.controls.addWidget(button)
        return button

    def _build_controls(self) -> None:
        self.controls = QToolBar("Controls", self, objectName="controlsToolbar")
        self.addToolBar(Qt.TopToolBarArea, self.controls)
        self.start_button = self._button(
            "startButton", "Start", "Start a new run with these settings", self.start_training
        )
        self.pause_button = self._button(
            "pauseButton", "Pause", "Pause or resume between two steps", self.toggle_pause
        )
        self.step_button = self._button(
            "stepButton", "Step", "One iteration (D steps, then one G step)", lambda: self.step()
        )
        self.step_d_button = self._button(
            "stepDButton", "Step D", "One discriminator update only", lambda: self.step("d")
        )
        self.step_g_button = self._button(
            "stepGButton", "Step G", "One generator update only", lambda: self.step("g")
        )
        self.stop_button = self._button(
            "stopButton", "Stop", "Stop and save a checkpoint", self.stop_training
        )
        self.save_button = self._button(
            "saveButton", "Save checkpoint", "Save a checkpoint now", self.save_checkpoint
        )

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.step_label = QLabel(objectName="stepLabel")
        self.rate_label = QLabel(objectName="rateLabel")
        self.eta_label = QLabel(objectName="etaLabel")
        self.elapsed_label = QLabel(objectName="elapsedLabel")
        self.device_label = QLabel(objectName="deviceLabel")
        self.run_folder_label = QLabel(objectName="runFolderLabel")
        self.run_folder_label.setTextFormat(Qt.RichText)
        self.run_folder_label.linkActivated.connect(self._open_folder)
        for label in (
            self.step_label,
            self.rate_label,
            self.eta_label,
            self.elapsed_label,
            self.device_label,
            self.run_folder_label,
        ):
            bar.addPermanentWidget(label)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_file = QAction("&Open...", self, objectName="openAction")
        open_file.setShortcut("Ctrl+O")
        open_file.setToolTip("A checkpoint, a DCGAN state_dict or a TorchScript generator")
        open_file.triggered.connect(self._choose_file_to_open)
        file_menu.addAction(open_file)
        open_run = QAction("Open run &folder...", self, objectName="openRunAction")
        open_run.setShortcut("Ctrl+Shift+O")
        open_run.triggered.connect(self._choose_folder_to_open)
        file_menu.addAction(open_run)
        example = QAction("Open e&xample", self, objectName="openExampleAction")
        example.setToolTip(
            "A small digits DCGAN run trained by GANViz, to try the inspection views"
        )
        example.triggered.connect(self.open_example)
        file_menu.addAction(example)
        self.recent_files_menu = file_menu.addMenu("Open recent")
        self.recent_files_menu.setObjectName("recentFilesMenu")
        export_menu = file_menu.addMenu("&Export")
        export_menu.setObjectName("exportMenu")
        for name, text, slot in (
            ("exportGridAction", "Sample grid as PNG (true pixels)...", self.export_grid),
            ("exportMosaicAction", "Explorer mosaic (a 2D mesh) as PNG...", self.export_mosaic),
            ("exportStripAction", "Interpolation strip as PNG...", self.export_strip),
            ("exportStripGifAction", "Interpolation as an animated GIF...", self.export_strip_gif),
            ("exportMetricsAction", "Metrics as CSV...", self.export_metrics),
            ("exportGifAction", "Training as an animated GIF...", self.export_gif),
        ):
            action = QAction(text, self, objectName=name)
            action.triggered.connect(slot)
            export_menu.addAction(action)
        save_marks = QAction("Save latent bookmarks...", self, objectName="saveBookmarksAction")
        save_marks.triggered.connect(self.save_bookmarks)
        load_marks = QAction("Load latent bookmarks...", self, objectName="loadBookmarksAction")
        load_marks.triggered.connect(self.load_bookmarks)
        file_menu.addAction(save_marks)
        file_menu.addAction(load_marks)
        file_menu.addSeparator()
        resume = QAction("&Continue a run...", self, objectName="resumeAction")
        resume.setToolTip("Continue training a run folder from its newest checkpoint")
        resume.triggered.connect(self._choose_run_to_resume)
        file_menu.addAction(resume)
        self.recent_menu = file_menu.addMenu("Recent runs")
        self.recent_menu.setObjectName("recentRunsMenu")
        open_runs = QAction("Show runs folder", self, objectName="showRunsAction")
        open_runs.triggered.connect(lambda: self._open_folder(str(runs_dir())))
        file_menu.addAction(open_runs)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, objectName="quitAction")
        quit_action.setShortcut("Ctrl+Q")
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        for dock in self._panel_docks():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addAction(self.controls.toggleViewAction())
        view_menu.addSeparator()
        restore = QAction("Restore default layout", self, objectName="restoreLayoutAction")
        restore.triggered.connect(self.restore_default_layout)
        view_menu.addAction(restore)
        self.theme_menu = view_menu.addMenu("Theme")
        self.theme_menu.setObjectName("themeMenu")
        self._theme_actions = QActionGroup(self)
        for key, text in THEMES:
            action = QAction(text, self, objectName=f"theme{key.capitalize()}Action")
            action.setCheckable(True)
            action.setData(key)
            action.triggered.connect(lambda _=False, k=key: self.set_theme(k))
            self._theme_actions.addAction(action)
            self.theme_menu.addAction(action)
        self._build_run_menu()
        self._build_help_menu()

    def _build_run_menu(self) -> None:
        """The controls as menu actions with keyboard shortcuts (help_texts.SHORTCUTS)."""
        keys = dict((text, key) for key, text in SHORTCUTS)
        run_menu = self.menuBar().addMenu("&Run")
        self.run_actions: dict[str, QAction] = {}
        for name, text, description, slot in (
            ("startPauseAction", "Start / Pause", SHORTCUTS[0][1], self.start_or_pause),
            ("stepAction", "Step", SHORTCUTS[1][1], lambda: self.step()),
            ("stepDAction", "Step D", SHORTCUTS[2][1], lambda: self.step("d")),
            ("stepGAction", "Step G", SHORTCUTS[3][1], lambda: self.step("g")),
            ("stopAction", "Stop", SHORTCUTS[4][1], self.stop_training),
            ("saveCheckpointAction", "Save checkpoint", SHORTCUTS[5][1], self.save_checkpoint),
        ):
            action = QAction(text, self, objectName=name)
            action.setShortcut(keys[description])
            action.setToolTip(description)
            action.triggered.connect(slot)
            run_menu.addAction(action)
            self.run_actions[name] = action

    def _build_help_menu(self) -> None:
        help_menu = self.menuBar().addMenu("&Help")
        for name, text, shortcut, slot in (
            ("tourAction", "Tour of the panels", "F1", self.show_tour),
            ("shortcutsAction", "Keyboard shortcuts", "", self.show_shortcuts),
            ("aboutAction", "About GANViz", "", self.show_about),
        ):
            action = QAction(text, self, objectName=name)
            if shortcut:
                action.setShortcut(shortcut)
            action.triggered.connect(slot)
            help_menu.addAction(action)

    # ------------------------------------------------------------------ help
    def _message(self, name: str, title: str, html: str) -> QMessageBox:
        """A non-modal box of rich text (the window keeps working while it is open)."""
        box = QMessageBox(QMessageBox.NoIcon, title, html, QMessageBox.Ok, self)
        box.setObjectName(name)
        box.setTextFormat(Qt.RichText)
        box.open()
        return box

    def show_tour(self) -> QMessageBox:
        return self._message("tourDialog", "Tour of GANViz", TOUR)

    def show_shortcuts(self) -> QMessageBox:
        return self._message("shortcutsDialog", "Keyboard shortcuts", shortcuts_html())

    def show_about(self) -> QMessageBox:
        if self.run_info is not None:
            device = f"{self.run_info.device} (the run training now)"
        elif self.engine_ready:
            from ganviz_gui.core.devices import resolve_device

            device = f"{resolve_device('auto')} (the best available here)"
        else:
            device = "not known yet (the engine is loading)"
        return self._message("aboutDialog", "About GANViz", about_html(device))

    def show_crash(self, log: Path, summary: str) -> None:
        """An uncaught exception (see ganviz_gui.runtime): say so, and where its log is."""
        self._show_error(
            f"Something went wrong inside GANViz:\n{summary}\n\nThe details are in {log}. "
            "Runs save checkpoints as they go; the window keeps running."
        )

    def _on_scheme_changed(self, _scheme: Any) -> None:
        if self.theme == "system":
            self.set_theme("system")

    def start_or_pause(self) -> None:
        """Space: start a run with the setup's settings, or pause / resume the running one."""
        if self.training is None:
            self.start_training()
        elif self.run_info is not None:
            self.toggle_pause()

    def set_theme(self, key: str) -> None:
        """ "system" follows the desktop's light or dark scheme; "light" and "dark" fix it."""
        self.theme = key
        for action in self._theme_actions.actions():
            action.setChecked(action.data() == key)
        apply_theme(self, key)

    # ------------------------------------------------------------------ engine and preview
    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._engine_load_started:
            from ganviz_gui.runtime import seconds_since_process_start

            self.first_paint_after = seconds_since_process_start()  # for the self-test
            self._engine_load_started = True
            QTimer.singleShot(50, lambda: self._engine_loader.submit(load_engine))

    def _on_engine_loaded(self, devices: Any, error: str) -> None:
        if error:
            self._show_error(f"The training engine could not load:\n{error}")
            return
        self.engine_ready = True
        self.setup_panel.set_devices(devices)
        self.statusBar().showMessage("Ready", 3000)
        if self._pending_preview is not None:
            self._request_preview(self._pending_preview)

    def _request_preview(self, config: TrainingConfig) -> None:
        self.setup_panel.show_preview(None, "loading a preview...")
        if not self.engine_ready:  # the preview needs torch: it follows the engine
            self._pending_preview = config
            return
        self._pending_preview = None
        self._previewer.submit(lambda: (config, preview_data(config)))

    def _on_preview_ready(self, result: Any, error: str) -> None:
        if error:
            text = error
            try:
                config = self.setup_panel.config()
            except ConfigError:
                config = None
            if config is not None and config.download and "not found" in error:
                text = f"{config.dataset} is not downloaded yet: it is fetched when training starts"
            self.setup_panel.show_preview(None, text)
            return
        _config, (picture, summary) = result
        self.setup_panel.show_preview(picture, summary)

    # ------------------------------------------------------------------ training commands
    def is_training(self) -> bool:
        return self.training is not None and self.training.is_running()

    def start_training(self, paused: bool = False) -> bool:
        """Start a new run with the setup panel's settings; False (and a message) if refused."""
        if self.training is not None:
            return False
        try:
            config = self.setup_panel.config()
        except ConfigError as exc:
            self.setup_panel.show_error(str(exc))
            self._show_error(f"Cannot start: {exc}")
            return False
        self._launch(TrainingWorker(config, start_paused=paused, rates=self.rates))
        return True

    def resume_run(self, checkpoint: str) -> bool:
        if self.training is not None:
            return False
        self._launch(TrainingWorker(resume_from=checkpoint, rates=self.rates))
        return True

    def _launch(self, worker: TrainingWorker) -> None:
        self.scrubber.stop()
        self.scrubber.hide()  # the plots and the grid now follow the new run
        self.loss_plots.clear()
        self.sample_grid.clear()
        self.network_view.clear()
        self.diagnostics.clear()
        self.run_info, self.last_update, self.last_run_end = None, None, None
        self._latest_samples = self._latest_field = None
        worker.run_started.connect(self._on_run_started)
        worker.updated.connect(self._on_update)
        worker.run_ended.connect(self._on_run_ended)
        worker.setting_refused.connect(self._on_setting_refused)
        worker.checkpoint_saved.connect(self._on_checkpoint_saved)
        worker.set_wanted("field", _shown(self.field_dock))
        worker.set_wanted("samples", _shown(self.sample_dock))
        worker.set_wanted("weights", self._weights_wanted())
        worker.weights_interval = self.latent_explorer.follow_combo.currentData()
        # Not parented: dropping the reference when the thread has finished frees the run.
        self.training = TrainingThread(worker)
        self.training.thread.finished.connect(self._on_thread_finished)
        self.setup_panel.set_running(True)
        self.statusBar().showMessage("Starting: loading data and building the models...")
        self.training.start()
        self._update_buttons()

    def toggle_pause(self) -> None:
        if self.training is None:
            return
        paused = self.last_update is not None and self.last_update.state == "paused"
        self.training.worker.request("resume" if paused else "pause")

    def step(self, kind: str = "both") -> None:
        """One iteration; with no run yet, start one paused first."""
        if self.training is None and not self.start_training(paused=True):
            return
        self.training.worker.request("step", kind=kind)

    def stop_training(self) -> None:
        if self.training is not None:
            self.training.stop("stopped")
            self.stop_button.setEnabled(False)
            self.statusBar().showMessage("Stopping: saving a checkpoint...")

    def save_checkpoint(self) -> None:
        if self.training is not None:
            self.training.worker.request("save")

    def _on_live_setting_changed(self, name: str, value: Any) -> None:
        if self.training is None:
            return
        worker = self.training.worker
        if name in ("lr_g", "lr_d"):
            worker.request("set_rates", **{name: value})
        elif name == "d_steps":
            worker.request("set_d_steps", d_steps=value)
        elif name == "loss":
            worker.request("set_loss", loss=value)
        elif name == "steps":
            worker.request("set_steps", steps=value)

    # ------------------------------------------------------------------ from the worker
    def _on_run_started(self, info: RunStarted) -> None:
        self.run_info = info
        self._remember_run(info.run_dir)
        self.device_label.setText(f"{info.device}, {info.threads} thread(s)")
        self.run_folder_label.setText(
            f"<a href='{QUrl.fromLocalFile(info.run_dir).toString()}'>{Path(info.run_dir).name}</a>"
        )
        self.run_folder_label.setToolTip(f"Open {info.run_dir}")
        if info.is_image:
            self.field_view.show_message("The field view shows 2D data; this run trains images.")
            self.sample_dock.raise_()
        else:
            self.field_dock.raise_()
            self.sample_grid.show_message(
                "This run trains 2D points: its samples are in the 2D field view."
            )
        message = f"Training {info.data_summary} on {info.device}"
        if info.skipped_files:
            message += f" ({len(info.skipped_files)} unreadable file(s) skipped)"
        self.statusBar().showMessage(message, 8000)
        config = TrainingConfig.from_dict(info.config)
        self.setup_panel.set_config(config)
        self.setup_panel.set_running(True)
        self._describe_networks(config, info.sample_shape)
        self.diagnostics.loss = config.loss

    def _on_update(self, update: TrainingUpdate) -> None:
        try:
            self.last_update = update
            self.loss_plots.add_records(update.records)
            self.loss_plots.add_events(update.events)
            self.network_view.add_stats(update.stats)
            self.diagnostics.add_records(update.records, update.events)
            # A hidden panel is not drawn (drawing costs the training thread the GIL); it
            # catches up with the newest picture when shown again.
            if update.samples is not None:
                self._latest_samples = update.samples
                if _shown(self.sample_dock):
                    self.sample_grid.set_sheet(update.samples)
            if update.field is not None:
                self._latest_field = update.field
                if _shown(self.field_dock):
                    self.field_view.set_snapshot(update.field)
            if update.weights is not None:
                self._follow_live(update)
            self._show_progress(update)
            self._update_buttons()
        finally:
            if self.training is not None:
                self.training.worker.acknowledge()

    def _follow_live(self, update: TrainingUpdate) -> None:
        """The explorer shows the generator being trained, at its newest weights."""
        from ganviz_gui.core.generator_files import live_generator

        info = self.run_info
        live = live_generator(
            TrainingConfig.from_dict(info.config),
            info.sample_shape,
            update.weights,
            update.step,
            info.run_dir,
        )
        if self._forward_pass_shown():
            import torch

            self.network_view.set_generator_file(live, torch.from_numpy(info.fixed_noise))
        explorer = self.latent_explorer
        if not explorer.follow_check.isChecked():
            return
        if explorer.opened is not None and explorer.opened.kind == live.kind:
            explorer.show_generator(live, keep_plane=True)
        else:
            self.scrubber.hide()  # the explorer leaves any inspected run for the live one
            explorer.set_generator(live)

    def _forward_pass_shown(self) -> bool:
        return _shown(self.network_dock) and self.network_view.tabs.currentIndex() == 1

    def _weights_wanted(self) -> bool:
        """Copies of the live weights serve the explorer's live mode and the forward pass."""
        return self.latent_explorer.follow_check.isChecked() or self._forward_pass_shown()

    def _on_follow_changed(self) -> None:
        if self.training is not None:
            worker = self.training.worker
            worker.weights_interval = self.latent_explorer.follow_combo.currentData()
            worker.set_wanted("weights", self._weights_wanted())

    def _describe_networks(self, config: TrainingConfig, sample_shape: tuple[int, ...]) -> None:
        """The architecture table of a run's networks (freshly built: shapes need no weights)."""
        from ganviz_gui.core.models import build_models
        from ganviz_gui.core.network_stats import describe_networks

        generator, discriminator = build_models(config, tuple(sample_shape))
        self.network_view.set_architecture(
            describe_networks(generator, discriminator, config.latent_dim, tuple(sample_shape))
        )

    def _inspect_networks(self, generator: Any) -> None:
        """The network view on an opened generator file: its layers and its forward pass."""
        from ganviz_gui.core.network_stats import describe_networks

        self.network_view.set_generator_file(generator, _latents_of(generator))
        networks = self.network_view.build_networks()
        self.network_view.set_architecture(
            describe_networks(
                networks["generator"],
                networks.get("discriminator"),
                generator.latent_dim,
                generator.sample_shape,
            )
        )

    def _take_cursor_apart(self) -> None:
        explorer = self.latent_explorer
        if explorer.plane is None:
            self.statusBar().showMessage("Open a generator in the latent explorer first.", 5000)
            return
        self.network_view.use_latent(explorer.cursor_latent())

    def _on_finding_chosen(self, step: int) -> None:
        """A diagnostic finding: the plots' cursor (and an opened run's slider) go to its start."""
        self.loss_plots.set_step_cursor(step)
        if self.scrubber.isVisible() and self.scrubber.steps:
            self._on_plot_clicked(float(step))

    def _on_field_dock_shown(self, visible: bool) -> None:
        if self.training is not None:
            self.training.worker.set_wanted("field", visible)
        if visible and self._latest_field is not None:
            self.field_view.set_snapshot(self._latest_field)

    def _on_sample_dock_shown(self, visible: bool) -> None:
        if self.training is not None:
            self.training.worker.set_wanted("samples", visible)
        if visible and self._latest_samples is not None:
            self.sample_grid.set_sheet(self._latest_samples)

    def _show_progress(self, update: TrainingUpdate) -> None:
        self.step_label.setText(f"step {update.step:,} / {update.total_steps:,}")
        if update.state == "paused":
            self.rate_label.setText("paused")
            self.eta_label.setText("")
        else:
            self.rate_label.setText(f"{update.steps_per_sec:,.0f} steps/s")
            left = update.total_steps - update.step
            eta = left / update.steps_per_sec if update.steps_per_sec > 0 else None
            self.eta_label.setText(f"ETA {_clock(eta)}" if eta is not None else "ETA -")
        self.elapsed_label.setText(f"elapsed {_clock(update.active_seconds)}")

    def _on_run_ended(self, end: RunEnded) -> None:
        self.last_run_end = end
        if end.reason == "error":
            kept = (
                f"\n\nThe run up to step {end.step:,} is kept ({end.checkpoint})."
                if end.checkpoint
                else ""
            )
            self._show_error(f"Training stopped with an error:\n{end.message}{kept}")
        else:
            saved = f"; checkpoint {Path(end.checkpoint).name}" if end.checkpoint else ""
            self.statusBar().showMessage(f"Run {end.reason} at step {end.step:,}{saved}")

    def _on_thread_finished(self) -> None:
        self.training = None
        self.setup_panel.set_running(False)
        self.rate_label.setText("")
        self.eta_label.setText("")
        self._update_buttons()

    def _on_setting_refused(self, message: str) -> None:
        self.setup_panel.show_error(message)
        self._show_error(f"The engine refused the change: {message}")

    def _on_checkpoint_saved(self, path: str) -> None:
        self.statusBar().showMessage(f"Saved {path}", 5000)

    # ------------------------------------------------------------------ state
    def _update_buttons(self) -> None:
        active = self.training is not None
        started = active and self.run_info is not None
        paused = started and self.last_update is not None and self.last_update.state == "paused"
        self.start_button.setEnabled(not active)
        self.pause_button.setEnabled(started)
        self.pause_button.setText("Resume" if paused else "Pause")
        for button in (self.step_button, self.step_d_button, self.step_g_button):
            button.setEnabled(not active or started)
        self.stop_button.setEnabled(active)
        self.save_button.setEnabled(started)
        actions = self.run_actions
        actions["startPauseAction"].setText(
            "Start" if not active else ("Resume" if paused else "Pause")
        )
        actions["startPauseAction"].setEnabled(not active or started)
        for name in ("stepAction", "stepDAction", "stepGAction"):
            actions[name].setEnabled(not active or started)
        actions["stopAction"].setEnabled(active)
        actions["saveCheckpointAction"].setEnabled(started)

    def _show_error(self, text: str) -> None:
        """A non-blocking warning: training (and tests) keep running while it is open."""
        self.statusBar().showMessage(text.splitlines()[0], 10000)
        box = QMessageBox(QMessageBox.Warning, "GANViz", text, QMessageBox.Ok, self)
        box.setObjectName("errorDialog")
        box.open()
        self.error_box = box

    def _open_folder(self, link: str) -> None:
        url = QUrl(link) if "://" in link else QUrl.fromLocalFile(link)
        QDesktopServices.openUrl(url)

    # ------------------------------------------------------------------ opening to inspect
    def _choose_file_to_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a checkpoint or generator",
            str(runs_dir()),
            "PyTorch files (*.pt *.pth *.ckpt *.tar);;All files (*)",
        )
        if path:
            self.open_path(path)

    def _choose_folder_to_open(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a run folder", str(runs_dir()))
        if folder:
            self.open_path(folder)

    def open_path(self, path: str, trust: bool = False) -> None:
        """Open a run folder, checkpoint or generator in the background; errors become dialogs."""
        from ganviz_gui.core.inspection import open_path

        self.statusBar().showMessage(f"Opening {path}...")
        self._opener.submit(lambda: (path, trust, open_path(path, trust=trust)))
        self._opening = (path, trust)

    def open_example(self) -> None:
        """The example run shipped in resources/ (trained by scripts/make_example_run.py)."""
        from ganviz_gui.core.resources import resource_path

        try:
            folder = resource_path("examples", EXAMPLE_RUN)
        except FileNotFoundError as exc:
            self._show_error(str(exc))
            return
        self.open_path(str(folder))

    def _on_opened(self, result: Any, error: str) -> None:
        path, trust = self._opening
        if error:
            if "TorchScript" in error and not trust and self._confirm_trust(path):
                self.open_path(path, trust=True)
                return
            self._show_error(f"Cannot open it:\n{error}")
            return
        _, _, opened = result
        self.opened = opened
        self.latent_explorer.follow_check.setChecked(False)  # the opened file is what to show
        self._checkpoint_views.clear()
        self._remember_file(path)
        self.latent_explorer.set_generator(opened.generator)
        self._inspect_networks(opened.generator)
        inspect_run = opened.run_dir is not None and self.training is None
        # Image generators open in the explorer; a 2D run opens in the field view (below), a
        # lone 2D generator in the explorer's mesh.
        field = inspect_run and not opened.generator.is_image
        view = self.field_dock if field else self.explorer_dock
        view.show()
        view.raise_()
        if inspect_run:
            # The run's curves as recorded, and a slider over its checkpoints (a live run
            # keeps its own plots and sample grid).
            self.loss_plots.clear()
            self.loss_plots.add_records(opened.metrics)
            self.loss_plots.add_events(opened.events)
            self.network_view.set_stats(opened.network_stats)
            config = opened.generator.config
            self.diagnostics.set_run(opened.metrics, opened.events, config and config.loss)
            steps = [step for step, _ in opened.checkpoints]
            shown = steps.index(opened.generator.step) if opened.generator.step in steps else None
            self.scrubber.set_steps(steps, shown)
            self._show_checkpoint(self.scrubber.slider.value())
            self.compare.set_steps(steps)
        self.scrubber.setVisible(inspect_run)
        what = opened.generator.kind
        if opened.generator.step is not None:
            what += f", step {opened.generator.step:,}"
        self.statusBar().showMessage(f"Opened {Path(path).name} ({what})", 8000)

    # ------------------------------------------------------------------ exports
    def _run_dir_shown(self) -> Path | None:
        """The run the plots show: an inspected run, else the run trained in this window."""
        if self.scrubber.isVisible() and self.opened is not None:
            return self.opened.run_dir
        if self.run_info is not None:
            return Path(self.run_info.run_dir)
        return self.opened.run_dir if self.opened is not None else None

    def _export(self, title: str, suggested: str, file_filter: str, write) -> None:
        """Ask where, write, and report; `write(path)` returns a short description of it."""
        from ganviz_gui.core.errors import GanvizError

        path, _ = QFileDialog.getSaveFileName(self, title, suggested, file_filter)
        if not path:
            return
        try:
            what = write(Path(path))
        except (GanvizError, OSError) as exc:
            self._show_error(f"Export failed:\n{exc}")
            return
        self.statusBar().showMessage(f"Exported {what} to {path}", 8000)

    def export_grid(self) -> None:
        from ganviz_gui.core.sample_images import save_png

        sheet = self.sample_grid.sheet
        if sheet is None:
            self._show_error("There is no sample grid to export yet.")
            return

        def write(path: Path) -> str:
            save_png(sheet.fake_grid, path)  # one pixel per sample pixel
            return f"{len(sheet.fake_scores)} samples of step {sheet.step:,}"

        self._export(
            "Export the sample grid", f"samples_step_{sheet.step:08d}.png", "PNG (*.png)", write
        )

    def export_mosaic(self) -> None:
        from ganviz_gui.core.sample_images import save_png

        explorer = self.latent_explorer
        if explorer.mesh_points is not None:  # a 2D generator: the plane and its mesh as drawn
            self.explorer_dock.raise_()  # what is saved is what the user sees, at its size
            QApplication.processEvents()
            self._export(
                "Export the plane and its mesh",
                "mesh.png",
                "PNG (*.png)",
                lambda path: self._save_widget(explorer.graphics, path, "the plane and G's mesh"),
            )
            return
        picture = explorer.mosaic_picture
        if picture is None:
            self._show_error("Open a generator first: there is no mosaic to export.")
            return
        size = explorer.mosaic_size()

        def write(path: Path) -> str:
            save_png(picture, path)
            return f"a {size} x {size} mosaic"

        self._export("Export the mosaic", "mosaic.png", "PNG (*.png)", write)

    @staticmethod
    def _save_widget(widget: QWidget, path: Path, what: str) -> str:
        if not widget.grab().save(str(path), "PNG"):
            raise OSError(f"{path}: could not be written")
        return what

    def _strip_missing(self) -> bool:
        """Says why there is no strip to export, if there is none."""
        if self.latent_explorer.shows_points:
            self._show_error(
                "A 2D generator's interpolation is the green path in the explorer's data view: "
                "export it with the mesh (File > Export > Mosaic)."
            )
            return True
        if self.latent_explorer.strip_picture is None:
            self._show_error("Set both ends of an interpolation (A and B) in the explorer first.")
            return True
        return False

    def export_strip(self) -> None:
        from ganviz_gui.core.sample_images import save_png

        picture = self.latent_explorer.strip_picture
        if self._strip_missing():
            return

        def write(path: Path) -> str:
            save_png(picture, path)
            return f"a strip of {self.latent_explorer.strip_steps_spin.value()} samples"

        self._export("Export the interpolation strip", "interpolation.png", "PNG (*.png)", write)

    def export_strip_gif(self) -> None:
        from ganviz_gui.core.exports import write_frames_gif
        from ganviz_gui.core.sample_images import tile_scale

        frames = self.latent_explorer.strip_frames()
        if self._strip_missing():
            return
        scale = tile_scale(frames[0].shape[0])
        # There and back again, so the loop has no jump.
        loop = frames + frames[-2:0:-1]

        def write(path: Path) -> str:
            return f"{write_frames_gif(loop, path, scale=scale)} frames"

        self._export("Export the interpolation", "interpolation.gif", "GIF (*.gif)", write)

    def save_bookmarks(self) -> None:
        from ganviz_gui.core.latent_bookmarks import save_bookmarks

        bookmarks = self.latent_explorer.bookmarks
        if bookmarks is None:
            self._show_error("Bookmark a latent in the explorer first (the Bookmark button).")
            return

        def write(path: Path) -> str:
            save_bookmarks(bookmarks, path)
            return f"{len(bookmarks.latents)} latents and {len(bookmarks.planes)} planes"

        self._export("Save latent bookmarks", "bookmarks.json", "Bookmarks (*.json)", write)

    def load_bookmarks(self) -> None:
        from ganviz_gui.core.errors import GanvizError
        from ganviz_gui.core.latent_bookmarks import load_bookmarks

        path, _ = QFileDialog.getOpenFileName(self, "Load latent bookmarks", "", "(*.json)")
        if not path:
            return
        try:
            self.latent_explorer.set_bookmarks(load_bookmarks(path))
        except GanvizError as exc:
            self._show_error(f"Cannot use these bookmarks:\n{exc}")
            return
        self.statusBar().showMessage(f"Loaded bookmarks from {path}", 8000)

    def export_metrics(self) -> None:
        from ganviz_gui.core.exports import write_metrics_csv
        from ganviz_gui.core.run_folder import read_jsonl

        run_dir = self._run_dir_shown()
        if run_dir is None:
            self._show_error("There is no run to export metrics from yet.")
            return
        records = read_jsonl(run_dir / "metrics.jsonl")

        def write(path: Path) -> str:
            write_metrics_csv(records, path)
            return f"{len(records)} records"

        self._export("Export the metrics", f"{run_dir.name}-metrics.csv", "CSV (*.csv)", write)

    def export_gif(self) -> None:
        from ganviz_gui.core.exports import write_run_gif

        run_dir = self._run_dir_shown()
        if run_dir is None:
            self._show_error("There is no run to animate yet.")
            return
        self._export(
            "Export the training as a GIF",
            f"{run_dir.name}.gif",
            "GIF (*.gif)",
            lambda path: f"{write_run_gif(run_dir, path)} frames",
        )

    # ------------------------------------------------------------------ scrubbing a run
    def _show_checkpoint(self, index: int) -> None:
        """Show the opened run at its `index`-th checkpoint: cached, or loaded in the background."""
        if self.opened is None or not self.opened.checkpoints:
            return
        step, path = self.opened.checkpoints[index]
        self.loss_plots.set_step_cursor(step)
        self.network_view.set_step(step)
        views = self._checkpoint_views.get(step)
        if views is not None:
            self._draw_checkpoint(*views)
            return
        # The checkpoint File > Open just read is not read a second time.
        opened = self.opened.generator if self.opened.generator.step == step else None
        self._checkpoint_loader.submit(lambda: load_checkpoint_views(step, path, opened))

    def _on_checkpoint_loaded(self, result: Any, error: str) -> None:
        if error:
            self._show_error(f"Cannot show that checkpoint:\n{error}")
            return
        step, generator, sheet = result
        self._checkpoint_views.put(step, (generator, sheet))
        self._draw_checkpoint(generator, sheet)

    def _draw_checkpoint(self, generator: Any, picture: Any) -> None:
        """`picture`: a SampleSheet (images) or a FieldSnapshot (2D points)."""
        self.latent_explorer.show_generator(generator)
        self.network_view.set_generator_file(generator, _latents_of(generator))
        if self.training is not None:
            return  # the panels follow the live run
        if generator.is_image:
            self.sample_grid.set_sheet(picture)
            self.compare.set_sheets(sheet_a=picture)
        else:  # the tab in front stays in front: scrubbing from the diagnostics keeps them
            self.field_view.set_snapshot(picture)

    def _load_comparison(self, step: int) -> None:
        """Checkpoint B of the comparison: cached, or loaded on a thread of its own."""
        if self.opened is None:
            return
        views = self._checkpoint_views.get(step)
        if not self.opened.generator.is_image:
            return  # 2D runs are compared by scrubbing the field view
        if views is not None:
            self.compare.set_sheets(sheet_b=views[1])
            return
        path = dict(self.opened.checkpoints)[step]
        self._compare_loader.submit(lambda: load_checkpoint_views(step, path))

    def _on_compare_loaded(self, result: Any, error: str) -> None:
        if error:
            self._show_error(f"Cannot compare with that checkpoint:\n{error}")
            return
        step, generator, sheet = result
        self._checkpoint_views.put(step, (generator, sheet))
        self.compare.set_sheets(sheet_b=sheet)

    def _on_sample_clicked(self, which: str, index: int) -> None:
        """A generated sample: its latent goes to the explorer, when the explorer shows the
        generator that drew the grid (the inspected run, or the live run it follows)."""
        import torch

        explorer = self.latent_explorer.opened
        if which != "fake" or explorer is None:
            return
        if self.scrubber.isVisible() and explorer.checkpoint is not None:
            latent = explorer.checkpoint.state["fixed_noise"][index]
        elif explorer.kind == "live run" and self.run_info is not None:
            latent = torch.from_numpy(self.run_info.fixed_noise[index])
        else:
            return
        self.latent_explorer.use_latent(latent)
        picked = len(self.latent_explorer.picked)
        # The grid stays in front, so that three samples can be picked in a row.
        self.statusBar().showMessage(
            f"Sample {index}'s latent is the explorer's origin now ({picked} of 3 picked for "
            "the plane through three samples)",
            8000,
        )

    def _config_shown(self) -> TrainingConfig | None:
        """The settings of the run whose samples the grid shows (live, or opened)."""
        if self.scrubber.isVisible() and self.opened is not None:
            return self.opened.generator.config
        if self.run_info is not None:
            return TrainingConfig.from_dict(self.run_info.config)
        return None

    def _find_neighbours(self, which: str, index: int) -> None:
        """A generated sample's nearest training images, found in the background."""
        dialogs = self.sample_grid.dialogs
        if which != "fake" or not dialogs:
            return
        dialog = dialogs[-1]
        config = self._config_shown()
        if config is None or config.is_2d:
            dialog.neighbours_label.setText("The training data of this generator is not known.")
            return
        dialog.neighbours_label.setText("Looking for the nearest training images...")
        key = config.to_json()
        known = self._training_data
        cached = known if known is not None and known[0] == key else None
        sample = dialog.sample

        def find() -> tuple:
            from ganviz_gui.core.data import load_dataset, to_model_space
            from ganviz_gui.core.memorisation import nearest_images, typical_neighbour_distance
            from ganviz_gui.core.sample_images import image_grid

            torch_threads_for_this_job()
            if cached is not None:
                _, dataset, typical = cached
            else:
                dataset = load_dataset(config.replace(download=False))
                typical = typical_neighbour_distance(dataset)
            channels = dataset.data.shape[1]
            pixels = sample.transpose(2, 0, 1)[:channels].astype(np.float32) / 127.5 - 1.0
            indices, distances = nearest_images(pixels, dataset, k=5)
            pictures = [
                image_grid(to_model_space(dataset.data[[int(i)]]).numpy(), 1, padding=0)
                for i in indices
            ]
            return dialog, (key, dataset, typical), pictures, distances

        self._neighbour_finder.submit(find)

    def _on_neighbours_found(self, result: Any, error: str) -> None:
        if error:
            if self.sample_grid.dialogs:
                self.sample_grid.dialogs[-1].neighbours_label.setText(
                    f"Cannot search the training data: {error}"
                )
            return
        dialog, training_data, pictures, distances = result
        self._training_data = training_data
        if dialog not in self.sample_grid.dialogs:
            return  # closed meanwhile
        typical = training_data[2]
        ratio = distances[0] / typical if typical > 0 else float("inf")
        verdict = (
            "much closer to a training image than training images are to each other: it may "
            "be a copy."
            if ratio < 0.5
            else "no closer to a training image than training images are to each other: no "
            "sign of copying."
        )
        dialog.show_neighbours(
            pictures,
            f"Nearest training images (L2 in pixel space, nearest first): "
            f"{', '.join(f'{d:.2f}' for d in distances)}. Training images lie {typical:.2f} "
            f"from their nearest other training image (median); this sample is {ratio:.2f}x "
            f"that, {verdict}",
        )

    def _on_plot_clicked(self, step: float) -> None:
        if self.scrubber.isVisible():
            self.scrubber.choose_step(step)

    def _confirm_trust(self, path: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Open a TorchScript model?",
            f"{path} is a TorchScript model. Such a file carries code, which runs when it is "
            "opened. Open it only if you trust where it came from.\n\nOpen it?",
        )
        return answer == QMessageBox.Yes

    def _remember_file(self, path: str) -> None:
        self.recent_files = [path] + [p for p in self.recent_files if p != path]
        self.recent_files = self.recent_files[:MAX_RECENT_RUNS]
        self._fill_recent_files_menu()

    def _fill_recent_files_menu(self) -> None:
        self.recent_files_menu.clear()
        for path in self.recent_files:
            action = self.recent_files_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        self.recent_files_menu.setEnabled(bool(self.recent_files))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        local = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if local:
            event.acceptProposedAction()
            self.open_path(local[0])

    # ------------------------------------------------------------------ runs
    def _choose_run_to_resume(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a run folder", str(runs_dir()))
        if folder:
            self.resume_run_folder(folder)

    def resume_run_folder(self, folder: str) -> bool:
        from ganviz_gui.core.run_folder import list_checkpoints

        checkpoints = list_checkpoints(folder)
        if not checkpoints:
            self._show_error(f"{folder}: no checkpoint found to continue from")
            return False
        return self.resume_run(str(checkpoints[-1][1]))

    def _remember_run(self, run_dir: str) -> None:
        self.recent_runs = [run_dir] + [r for r in self.recent_runs if r != run_dir]
        self.recent_runs = self.recent_runs[:MAX_RECENT_RUNS]
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for run in self.recent_runs:
            action = self.recent_menu.addAction(f"Continue {Path(run).name}")
            action.setToolTip(run)
            action.triggered.connect(lambda _=False, r=run: self.resume_run_folder(r))
        self.recent_menu.setEnabled(bool(self.recent_runs))

    # ------------------------------------------------------------------ persistence
    def restore_default_layout(self) -> None:
        self.restoreState(self._default_state, SETTINGS_VERSION)
        for dock in self._panel_docks():
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
        recent = settings.value("runs/recent", "[]")
        try:
            runs = json.loads(recent) if isinstance(recent, str) else []
            self.recent_runs = [r for r in runs if isinstance(r, str) and Path(r).is_dir()]
        except json.JSONDecodeError:
            self.recent_runs = []
        self._fill_recent_menu()
        files = settings.value("files/recent", "[]")
        try:
            paths = json.loads(files) if isinstance(files, str) else []
            self.recent_files = [p for p in paths if isinstance(p, str) and Path(p).exists()]
        except json.JSONDecodeError:
            self.recent_files = []
        self._fill_recent_files_menu()
        theme = settings.value("view/theme", "system")
        self.set_theme(theme if theme in dict(THEMES) else "system")
        saved = settings.value("setup/config")
        if isinstance(saved, str) and saved:
            try:
                self.setup_panel.set_config(
                    TrainingConfig.from_dict(json.loads(saved), source="saved settings")
                )
                preset = settings.value("setup/preset")
                if isinstance(preset, str):
                    self.setup_panel.preset_combo.setCurrentText(preset)
                return
            except (ConfigError, json.JSONDecodeError, TypeError) as exc:
                self.statusBar().showMessage(f"Saved settings ignored: {exc}", 8000)
        self.setup_panel.apply_preset(self.setup_panel.preset_combo.currentText())

    def save_settings(self) -> None:
        settings = app_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState(SETTINGS_VERSION))
        settings.setValue("runs/recent", json.dumps(self.recent_runs))
        settings.setValue("files/recent", json.dumps(self.recent_files))
        settings.setValue("view/theme", self.theme)
        try:
            settings.setValue("setup/config", self.setup_panel.config().to_json())
            settings.setValue("setup/preset", self.setup_panel.preset_combo.currentText())
        except ConfigError:
            pass  # an invalid form is not worth keeping; the last good one stays
        settings.sync()

    def closeEvent(self, event) -> None:
        """Stop the run between two steps, let it save its checkpoint, then close."""
        if self.training is not None:
            self.statusBar().showMessage("Stopping: saving a checkpoint...")
            self.training.stop("window closed")
            if not self.training.wait(CLOSE_WAIT_MS):
                # Never terminate(): a thread killed mid-write could corrupt the run.
                answer = QMessageBox.question(
                    self,
                    "GANViz",
                    "Training has not stopped yet (a long step or a slow disk). Keep waiting?",
                )
                if answer == QMessageBox.Yes:
                    self.training.wait(24 * 3600 * 1000)
                else:
                    event.ignore()
                    return
            self.training = None
        self.latent_explorer.close_decoder()
        self.save_settings()
        QThreadPool.globalInstance().waitForDone(5000)
        super().closeEvent(event)


def _latents_of(generator: Any) -> Any:
    """The latents a generator file's forward pass picks from: a GANViz checkpoint's fixed
    noise (the sample grid's latents), else 16 seeded ones."""
    import torch

    if generator.checkpoint is not None and "fixed_noise" in generator.checkpoint.state:
        return generator.checkpoint.state["fixed_noise"]
    return torch.randn(16, generator.latent_dim, generator=torch.Generator().manual_seed(0))


def _shown(dock: QDockWidget) -> bool:
    """Visible on screen: not closed, and not behind another tab."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
