"""The GANViz window: a thin Qt shell over `ganviz_gui.core`.

`MainWindow` loads PySide6 and pyqtgraph but not torch: the window appears first and the engine
loads behind it. The package itself imports nothing, so `ganviz_gui.gui.app` can tell a server
without Qt or a display what to do instead.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MainWindow"]


def __getattr__(name: str) -> Any:
    if name == "MainWindow":
        from ganviz_gui.gui.main_window import MainWindow

        return MainWindow
    raise AttributeError(name)
