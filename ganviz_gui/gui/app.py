"""Starting the window: `python main.py`, `ganviz` with no sub-command, `python -m ganviz_gui`."""

from __future__ import annotations

import gc
import os
import signal
import sys

from ganviz_gui import runtime
from ganviz_gui.gui.system_libraries import missing_libraries_problem


def display_problem() -> str:
    """Why no window can open here (a server without a display, a desktop without the system
    libraries Qt's X11 platform needs), or "" when one can."""
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return (
                "no display found (DISPLAY and WAYLAND_DISPLAY are unset). On a server, train "
                "headless with `ganviz train ...`; the window can continue its run folder on a "
                "desktop (File > Continue a run). Or set QT_QPA_PLATFORM=offscreen."
            )
    # Asked before Qt loads: Qt aborts the process (exit 134) on a missing xcb library.
    return missing_libraries_problem()


def run_app(
    argv: list[str] | None = None,
    open_path: str | None = None,
    trust: bool = False,
    follow: bool = False,
) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("GANViz")
    app.setOrganizationName("GANViz")
    app.setWindowIcon(app_icon())
    from ganviz_gui.gui import MainWindow

    window = MainWindow()
    runtime.set_crash_reporter(window.show_crash)
    window.show()
    if open_path:
        window.open_path(open_path, trust=trust, follow=follow)
    # Ctrl+C in the terminal closes the window as its close button would (the run stops and
    # saves). Python only sees the signal when it runs, so a timer lets it run now and then.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    interrupt_check = QTimer(interval=250)
    interrupt_check.timeout.connect(lambda: None)
    interrupt_check.start()
    code = app.exec()
    # The last window has closed: its run is saved and every thread joined. What is left is
    # Python's own teardown, whose garbage collections walk each of the millions of objects
    # torch, Qt and the panels made: about a second (benchmarks/bench_quit.py). Frozen, they
    # are not walked, and the OS frees the memory at once; exit handlers still run.
    gc.freeze()
    return code


def app_icon():
    """The icon of resources/ (an empty icon if the installation lacks it)."""
    from PySide6.QtGui import QIcon

    from ganviz_gui.core.resources import resource_path

    try:
        return QIcon(str(resource_path("icon.png")))
    except FileNotFoundError:
        return QIcon()
