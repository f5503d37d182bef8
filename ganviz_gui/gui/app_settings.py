"""What the window remembers between sessions: QSettings in GANVIZ_HOME, and recent items.

One `RecentItems` list serves both recent files (File > Open recent) and recent runs (File >
Recent runs): newest first, no duplicates, at most `MAX_RECENT` entries, paths that no longer
exist dropped when read back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

from ganviz_gui.core.app_dirs import app_home
from ganviz_gui.core.picture_budget import PICTURE_BUDGETS

T = TypeVar("T", list, dict)  # what a setting saved as JSON holds

MAX_RECENT = 10
SETTINGS_VERSION = 2  # 2: the Networks and Quality docks


def app_settings() -> QSettings:
    """Settings in GANVIZ_HOME (not the registry): tests and portable installs stay isolated."""
    path = app_home() / "settings.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    return QSettings(str(path), QSettings.Format.IniFormat)


class RecentItems:
    """A recent-items list kept in the settings under `key`, shown in `menu`."""

    def __init__(
        self,
        key: str,
        menu: QMenu,
        open_item: Callable[[str], object],
        label: Callable[[str], str] = lambda path: Path(path).name,
        exists: Callable[[Path], bool] = Path.exists,
    ):
        self.key, self.menu, self.open_item, self.label = key, menu, open_item, label
        self._exists = exists
        self.items: list[str] = []

    def load(self, settings: QSettings) -> None:
        items = load_json_setting(settings, self.key, [])
        self.items = [p for p in items if isinstance(p, str) and self._exists(Path(p))]
        self._fill()

    def save(self, settings: QSettings) -> None:
        settings.setValue(self.key, json.dumps(self.items))

    def remember(self, path: str) -> None:
        self.items = [path, *(p for p in self.items if p != path)][:MAX_RECENT]
        self._fill()

    def _fill(self) -> None:
        self.menu.clear()
        for path in self.items:
            action = self.menu.addAction(self.label(path))
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_item(p))
        self.menu.setEnabled(bool(self.items))


class TrustedRuns:
    """Run folders whose TorchScript programs the user said to trust (a run logged with
    `ganviz_gui.Run` from the user's own generator class), so each is asked about once.

    Kept in the settings as resolved paths; a file inside a trusted folder is trusted too.
    """

    KEY = "trust/runs"

    def __init__(self) -> None:
        self.folders: list[str] = []

    def load(self, settings: QSettings) -> None:
        folders = load_json_setting(settings, self.KEY, [])
        self.folders = [f for f in folders if isinstance(f, str)]

    def save(self, settings: QSettings) -> None:
        settings.setValue(self.KEY, json.dumps(self.folders))

    def trusts(self, path: str | Path) -> bool:
        resolved = Path(path).resolve()
        return any(resolved.is_relative_to(folder) for folder in self.folders)

    def trust(self, run_dir: str | Path) -> None:
        folder = str(Path(run_dir).resolve())
        if folder not in self.folders:
            self.folders.append(folder)


def load_json_setting(settings: QSettings, key: str, default: T) -> T:
    """A value saved as JSON under `key`, of the type of `default` (a list, a dict);
    `default` if absent, damaged or of another type."""
    saved = settings.value(key, "")
    try:
        value = json.loads(saved) if isinstance(saved, str) and saved else default
    except json.JSONDecodeError:
        return default
    return value if isinstance(value, type(default)) else default


def saved_picture_budget(settings: QSettings, default: float) -> float:
    """The live pictures' share of training chosen last (View > Live pictures); `default` if
    absent, damaged or not one the menu offers (an edited settings file)."""
    saved = settings.value("view/picture_budget", default)
    if not isinstance(saved, (str, int, float)):
        return default
    try:
        share = float(saved)
    except ValueError:
        return default
    return share if share in PICTURE_BUDGETS else default
