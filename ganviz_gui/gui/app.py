"""Starting the window: `python main.py`, `ganviz` with no sub-command, `python -m ganviz_gui`."""

from __future__ import annotations

import os
import sys


def display_problem() -> str:
    """Why no window can open here (a server without a display), or "" when one can."""
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return (
                "no display found (DISPLAY and WAYLAND_DISPLAY are unset). On a server, train "
                "headless with `ganviz train ...` and open the run folder on a desktop later, "
                "or set QT_QPA_PLATFORM=offscreen."
            )
    return ""


def run_app(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("GANViz")
    app.setOrganizationName("GANViz")
    from ganviz_gui.gui import MainWindow

    window = MainWindow()
    window.show()
    return app.exec()
