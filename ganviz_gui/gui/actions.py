"""Actions as data: one table builds the menus, the control buttons and their shortcuts.

Each `ActionSpec` names what the user can do, where it appears and when it is enabled; the
`ActionRegistry` makes one QAction per spec (a button is a view of its action: clicking it
triggers the action, and it is enabled when the action is), so one rule decides when an action
works, wherever it is offered (napari's `Action(..., enablement=...)` tables are the model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu, QPushButton, QToolBar

SEPARATOR = "---"


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the QAction's objectName (tests and automation find it by this)
    text: str
    handler: Callable[[], Any]
    menu: str = ""  # "File", "File/Export", ...: "" for a button only
    shortcut: str = ""
    tip: str = ""
    button: str = ""  # objectName of a button in the controls toolbar, if one
    enabled_when: Callable[[], bool] | None = None  # None: always enabled
    text_when: Callable[[], str] | None = None  # a text that follows the state (Start / Pause)


@dataclass(frozen=True)
class MenuItem:
    """A separator (`name` == SEPARATOR) or an empty submenu others fill (recent files)."""

    menu: str
    name: str
    object_name: str = ""


class ActionRegistry:
    def __init__(self, window: QMainWindow, toolbar: QToolBar):
        self.window = window
        self.toolbar = toolbar
        self.actions: dict[str, QAction] = {}
        self.buttons: dict[str, QPushButton] = {}
        self.menus: dict[str, QMenu] = {}
        self._specs: list[ActionSpec] = []

    def menu(self, path: str) -> QMenu:
        """The menu at `path` ("File/Export"), made (in order of first use) if new."""
        if path not in self.menus:
            parent, _, title = path.rpartition("/")
            container = self.menu(parent) if parent else self.window.menuBar()
            menu = container.addMenu(f"&{title}" if not parent else title)
            self.menus[path] = menu
        return self.menus[path]

    def build(self, items: Sequence[ActionSpec | MenuItem]) -> None:
        for item in items:
            if isinstance(item, MenuItem):
                if item.name == SEPARATOR:
                    self.menu(item.menu).addSeparator()
                else:
                    submenu = self.menu(f"{item.menu}/{item.name}")
                    submenu.setObjectName(item.object_name)
                continue
            self._add(item)
        self.refresh()

    def _add(self, spec: ActionSpec) -> None:
        action = QAction(spec.text, self.window)
        action.setObjectName(spec.name)
        if spec.shortcut:
            action.setShortcut(spec.shortcut)
        if spec.tip:
            action.setToolTip(spec.tip)
        action.triggered.connect(lambda _=False, handler=spec.handler: handler())
        self.actions[spec.name] = action
        self._specs.append(spec)
        if spec.menu:
            self.menu(spec.menu).addAction(action)
        else:
            self.window.addAction(action)  # a button's action: its shortcut still works
        if spec.button:
            button = QPushButton(spec.text)
            button.setObjectName(spec.button)
            button.setToolTip(spec.tip)
            button.clicked.connect(action.trigger)
            self.toolbar.addWidget(button)
            self.buttons[spec.name] = button

    def refresh(self) -> None:
        """Apply every spec's enabled-when and text-when rule (after any change of state)."""
        for spec in self._specs:
            action = self.actions[spec.name]
            enabled = spec.enabled_when() if spec.enabled_when is not None else True
            action.setEnabled(enabled)
            text = spec.text_when() if spec.text_when is not None else None
            if text is not None:
                action.setText(text)
            button = self.buttons.get(spec.name)
            if button is not None:
                button.setEnabled(enabled)
                if text is not None:
                    button.setText(text)
