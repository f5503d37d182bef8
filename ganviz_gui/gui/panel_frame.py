"""The frame the picture panels share: a tool bar, a view that shows a message until there is
something to draw, and a one-line read-out of what is under the mouse."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel, QLayout, QSizePolicy, QStackedLayout, QVBoxLayout, QWidget

W = TypeVar("W", bound=QObject)


def on_screen(widget: QWidget) -> bool:
    """Drawn on screen now: shown, and not behind another tab of a tabbed dock (Qt leaves a
    dock behind a tab visible, with none of it exposed)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def named(widget: W, name: str) -> W:
    """`widget` with its objectName set (tests and automation find it by this)."""
    widget.setObjectName(name)
    return widget


class PanelFrame:
    def __init__(self, owner: QWidget, bar: QLayout, view: QWidget, name: str, message: str):
        self.message = QLabel(objectName=f"{name}Message", alignment=Qt.AlignCenter, wordWrap=True)
        self.message.setText(message)
        self.placeholder = message  # what the panel says while it has nothing to show
        self.readout = QLabel(objectName=f"{name}Readout")
        # A long readout is cut, never allowed to widen the dock and squeeze its neighbours.
        self.readout.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.view = view
        self.stack = QStackedLayout()
        self.stack.addWidget(self.message)
        self.stack.addWidget(view)
        layout = QVBoxLayout(owner)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addLayout(self.stack, 1)
        layout.addWidget(self.readout)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def show_view(self) -> None:
        self.stack.setCurrentWidget(self.view)

    def showing_view(self) -> bool:
        return self.stack.currentWidget() is self.view
