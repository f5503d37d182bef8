"""Help > Tour, Keyboard shortcuts and About: non-modal boxes (the tour's is gui/tour.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from ganviz_gui.core.workspace import Mode, Workspace
from ganviz_gui.gui import tour
from ganviz_gui.gui.help_texts import about_html, shortcuts_html

if TYPE_CHECKING:
    from ganviz_gui.gui.main_window import MainWindow


def message_box(parent: QWidget, name: str, title: str, html: str) -> QMessageBox:
    """A non-modal box of rich text (the window keeps working while it is open)."""
    box = QMessageBox(QMessageBox.Icon.NoIcon, title, html, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(name)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.open()
    return box


def show_tour(window: MainWindow) -> tour.Tour:
    """The tour of the window's parts, one step at a time, from its first."""
    return tour.show_tour(window)


def show_shortcuts(parent: QWidget) -> QMessageBox:
    return message_box(parent, "shortcutsDialog", "Keyboard shortcuts", shortcuts_html())


def show_about(parent: QWidget, workspace: Workspace, engine_ready: bool) -> QMessageBox:
    """The versions in use and the device: the run training now, or the best one here."""
    run = workspace.run
    if workspace.mode == Mode.TRAINING and run is not None:
        device = f"{run.device} (the run training now)"
    elif engine_ready:
        from ganviz_gui.core.devices import resolve_device

        device = f"{resolve_device('auto')} (the best available here)"
    else:
        device = "not known yet (the engine is loading)"
    return message_box(parent, "aboutDialog", "About GANViz", about_html(device))
