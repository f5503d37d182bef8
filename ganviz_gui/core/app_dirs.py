"""Where GANViz keeps its own data: runs, caches, settings.

`GANVIZ_HOME` moves all of it to a folder of the user's choice (tests use it to stay isolated).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def app_home() -> Path:
    override = os.environ.get("GANVIZ_HOME")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "GANViz"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "GANViz"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "ganviz"


def runs_dir() -> Path:
    return app_home() / "runs"


def cache_dir() -> Path:
    return app_home() / "cache"
