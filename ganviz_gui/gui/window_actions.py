"""The window's actions, as one table: File, Run and Help menus, the run control buttons, their
shortcuts and the rule for when each is enabled (`actions.ActionRegistry` builds them); and
the View menu, which shows the window's docks and sets the live pictures' share of training."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from ganviz_gui.core.app_dirs import runs_dir
from ganviz_gui.core.live_loop import RefreshRates
from ganviz_gui.core.picture_budget import PICTURE_BUDGETS
from ganviz_gui.gui.actions import SEPARATOR, ActionSpec, MenuItem
from ganviz_gui.gui.help_texts import SHORTCUTS
from ganviz_gui.gui.panel_frame import named
from ganviz_gui.gui.status_bar import open_folder
from ganviz_gui.gui.theme import THEMES

if TYPE_CHECKING:
    from ganviz_gui.gui.main_window import MainWindow

KEYS = dict((text, key) for key, text in SHORTCUTS)


def window_actions(window: MainWindow) -> list[ActionSpec | MenuItem]:
    """Every action of the window: menus, buttons, shortcuts and when each is enabled."""
    trainer, exports = window.trainer, window.exports
    idle = lambda: not trainer.active  # noqa: E731 (the table reads best with short rules)
    started = lambda: trainer.started_run  # noqa: E731
    can_step = lambda: not trainer.active or trainer.started_run  # noqa: E731
    pause_text = lambda: "Resume" if trainer.paused else "Pause"  # noqa: E731
    return [
        ActionSpec("openAction", "&Open...", window._choose_file_to_open, "File", "Ctrl+O",
                   "A checkpoint, a DCGAN state_dict or a TorchScript generator"),
        ActionSpec("openRunAction", "Open run &folder...", window._choose_folder_to_open,
                   "File", "Ctrl+Shift+O",
                   "A GANViz run folder (also one your own loop writes with ganviz_gui.Run) "
                   "or a TensorBoard log"),
        ActionSpec("followRunAction", "&Follow run folder...", window._choose_folder_to_follow,
                   "File", "Ctrl+Shift+F",
                   "Watch a run another process or machine is writing: new records, samples and "
                   "checkpoints appear within a second"),
        ActionSpec("openExampleAction", "Open e&xample", window.open_example, "File",
                   tip="A small digits DCGAN run trained by GANViz, to try the inspection views"),
        ActionSpec("overlayRunAction", "Overlay a run on the plots...",
                   window._choose_run_to_overlay, "File",
                   tip="Draw another run's curves over this one's, each run a colour"),
        ActionSpec("tensorboardTagsAction", "TensorBoard tags...", window.edit_tensorboard_tags,
                   "File", tip="What each tag of the opened TensorBoard log is plotted as",
                   enabled_when=lambda: window.workspace.run is not None
                   and window.workspace.run.source == "tensorboard"),
        MenuItem("File", "Open recent", "recentFilesMenu"),
        MenuItem("File", "Export", "exportMenu"),
        ActionSpec("exportGridAction", "Sample grid as PNG (true pixels)...",
                   exports.export_grid, "File/Export"),
        ActionSpec("exportMosaicAction", "Explorer mosaic (a 2D mesh) as PNG...",
                   exports.export_mosaic, "File/Export"),
        ActionSpec("exportStripAction", "Interpolation strip as PNG...",
                   exports.export_strip, "File/Export"),
        ActionSpec("exportStripGifAction", "Interpolation as an animated GIF...",
                   exports.export_strip_gif, "File/Export"),
        ActionSpec("exportMetricsAction", "Metrics as CSV...", exports.export_metrics,
                   "File/Export"),
        ActionSpec("exportGifAction", "Training as an animated GIF...", exports.export_gif,
                   "File/Export"),
        ActionSpec("saveBookmarksAction", "Save latent bookmarks...", exports.save_bookmarks,
                   "File"),
        ActionSpec("loadBookmarksAction", "Load latent bookmarks...", exports.load_bookmarks,
                   "File"),
        MenuItem("File", SEPARATOR),
        ActionSpec("resumeAction", "&Continue a run...", window._choose_run_to_resume, "File",
                   tip="Continue training a run folder from its newest checkpoint",
                   enabled_when=idle),
        MenuItem("File", "Recent runs", "recentRunsMenu"),
        ActionSpec("showRunsAction", "Show runs folder", lambda: open_folder(str(runs_dir())),
                   "File"),
        MenuItem("File", SEPARATOR),
        ActionSpec("quitAction", "&Quit", window.close, "File", "Ctrl+Q"),
        # The run controls: a button each, and the Run menu with keyboard shortcuts.
        # The run controls: one action each, shown in the Run menu with its shortcut and, where
        # it has one, as a button; Start and Pause are buttons of their own, Space does both.
        ActionSpec("startButtonAction", "Start", window.start_training, tip=
                   "Start a new run with these settings", button="startButton",
                   enabled_when=idle),
        ActionSpec("pauseButtonAction", "Pause", trainer.toggle_pause,
                   tip="Pause or resume between two steps", button="pauseButton",
                   enabled_when=started, text_when=pause_text),
        ActionSpec("startPauseAction", "Start / Pause", window.start_or_pause, "Run",
                   KEYS[SHORTCUTS[0][1]], SHORTCUTS[0][1], enabled_when=can_step,
                   text_when=lambda: "Start" if not trainer.active else pause_text()),
        ActionSpec("stepAction", "Step", window.step, "Run", KEYS[SHORTCUTS[1][1]],
                   SHORTCUTS[1][1], button="stepButton", enabled_when=can_step),
        ActionSpec("stepDAction", "Step D", lambda: window.step("d"), "Run",
                   KEYS[SHORTCUTS[2][1]], SHORTCUTS[2][1], button="stepDButton",
                   enabled_when=can_step),
        ActionSpec("stepGAction", "Step G", lambda: window.step("g"), "Run",
                   KEYS[SHORTCUTS[3][1]], SHORTCUTS[3][1], button="stepGButton",
                   enabled_when=can_step),
        ActionSpec("stopAction", "Stop", window.stop_training, "Run", KEYS[SHORTCUTS[4][1]],
                   SHORTCUTS[4][1], button="stopButton",
                   enabled_when=lambda: trainer.active and not trainer.stopping),
        ActionSpec("saveCheckpointAction", "Save checkpoint", trainer.save, "Run",
                   KEYS[SHORTCUTS[5][1]], SHORTCUTS[5][1], button="saveButton",
                   enabled_when=started),
        ActionSpec("tourAction", "Tour of the panels", window.show_tour, "Help", "F1"),
        ActionSpec("shortcutsAction", "Keyboard shortcuts", window.show_shortcuts, "Help"),
        ActionSpec("aboutAction", "About GANViz", window.show_about, "Help"),
    ]  # fmt: skip


def batchnorm_action(window: MainWindow) -> QAction:
    """Checked: the generators shown sample with batch statistics (BN in train mode, as
    pytorch/examples draws its pictures); unchecked, with the running statistics (eval).
    Enabled while an opened generator or checkpoint with batch-norm layers is shown (the live
    run's grid is always in eval), and whenever it is checked, so that it can be unchecked."""
    workspace = window.workspace
    action = named(
        QAction("Batch norm: sample with batch statistics (train mode)", window),
        "batchnormTrainAction",
    )
    action.setCheckable(True)
    action.setStatusTip(
        "Unchecked: batch-norm layers use their running statistics (eval mode, GANViz's "
        "default). Checked: the statistics of one batch, the run's fixed noise (train mode, "
        "as pytorch/examples draws its pictures), kept for every latent so that each "
        "picture depends on its latent alone; the file's running statistics are never changed"
    )
    action.setToolTip(action.statusTip())
    action.toggled.connect(lambda on: workspace.set_batchnorm_mode("train" if on else "eval"))

    def follow(_: object = None) -> None:
        shown = workspace.shown
        offered = (
            shown is not None and shown.origin != "live" and shown.generator.batchnorm_found is True
        )
        action.setEnabled(offered or workspace.batchnorm_mode == "train")
        action.blockSignals(True)
        action.setChecked(workspace.batchnorm_mode == "train")
        action.blockSignals(False)

    workspace.generator_changed.connect(follow)
    workspace.batchnorm_mode_changed.connect(follow)
    follow()
    return action


def build_view_menu(window: MainWindow) -> tuple[QActionGroup, QActionGroup]:
    """Show or hide each dock, restore the layout, choose the theme and the live pictures'
    share of training; the theme's and the share's choices, as two action groups."""
    view_menu = window.menuBar().addMenu("&View")
    # The View menu sits between File and Run, as before.
    window.menuBar().insertMenu(window.registry.menus["Run"].menuAction(), view_menu)
    for dock in window.panel_docks():
        view_menu.addAction(dock.toggleViewAction())
    view_menu.addAction(window.controls.toggleViewAction())
    view_menu.addSeparator()
    view_menu.addAction(batchnorm_action(window))
    view_menu.addSeparator()
    restore = named(QAction("Restore default layout", window), "restoreLayoutAction")
    restore.triggered.connect(window.restore_default_layout)
    view_menu.addAction(restore)
    themes = [(key, text, f"theme{key.capitalize()}Action") for key, text in THEMES]
    theme_menu = choice_menu(view_menu, "Theme", "themeMenu", themes, window.set_theme)
    # The live pictures: the training thread makes them, and the GUI thread's drawing holds
    # the GIL the training step needs.
    budgets = [
        (
            share,
            f"At most {share:.0%} of training time{PICTURE_BUDGET_NOTES.get(share, '')}",
            f"pictureBudget{round(share * 100)}Action",
        )
        for share in PICTURE_BUDGETS
    ]
    tip = (
        "The most of the training time the live sample grid, the 2D field and the explorer's "
        "follow may take together, making and drawing them: a picture that costs more comes "
        "less often instead of slowing training. Hidden panels cost nothing."
    )
    budget_menu = choice_menu(
        view_menu, "Live pictures", "pictureBudgetMenu", budgets, window.set_picture_budget, tip
    )
    return theme_menu, budget_menu


PICTURE_BUDGET_NOTES = {
    0.01: " (fastest training)",
    RefreshRates().picture_budget: " (default)",
    0.10: " (liveliest pictures)",
}


def choice_menu(
    parent: QMenu,
    title: str,
    object_name: str,
    choices: list[tuple[Any, str, str]],
    choose: Callable[[Any], None],
    tip: str = "",
) -> QActionGroup:
    """A submenu of `parent` offering one of `choices` (value, text, action name), checked
    by whoever applies the choice; `choose(value)` when one is picked; `tip` on each."""
    menu = parent.addMenu(title)
    menu.setObjectName(object_name)
    menu.setToolTipsVisible(bool(tip))
    group = QActionGroup(parent)
    for value, text, name in choices:
        action = named(QAction(text, parent), name)
        action.setCheckable(True)
        action.setData(value)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _=False, v=value: choose(v))
        group.addAction(action)
        menu.addAction(action)
    return group
