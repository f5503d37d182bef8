"""The main window as a fixture, shared by the GUI tests."""

from __future__ import annotations

import pytest

WAIT_MS = 90_000  # generous: CI machines are shared and slow


@pytest.fixture
def window(qtbot):
    """A shown MainWindow whose engine (torch) has loaded; closed afterwards, which stops any
    run (the dangling-thread check in tests/conftest.py verifies it)."""
    pytest.importorskip("pyqtgraph")
    from ganviz_gui.gui import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1300, 820)
    win.show()
    qtbot.waitUntil(lambda: win.engine_ready, timeout=WAIT_MS)
    yield win
    win.close()
