"""The hostile-file table of tests/core/test_hostile_files.py through the window's own open
path: every case ends in a dialog naming the file and the problem (refused), or opens from
what was good with a dialog saying what was left out; the window keeps running either way."""

from __future__ import annotations

import pytest

pytest.importorskip("pyqtgraph")

from tests.core.test_hostile_files import HOSTILE_CASES, HostileCase
from tests.gui.conftest import WAIT_MS


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=[c.name for c in HOSTILE_CASES])
def test_every_hostile_file_gives_a_dialog_and_the_window_keeps_running(
    qtbot, window, tmp_path, case: HostileCase
):
    path = case.make(tmp_path)
    window.error_box = None
    window.open_path(str(path))
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=WAIT_MS)
    text = window.error_box.text()
    assert case.phrase in text
    if case.opens:  # shown from what was good; the dialog lists what was left out
        assert "without what could not be read" in text
        qtbot.waitUntil(lambda: window.workspace.run is not None, timeout=WAIT_MS)
        if case.step is not None:
            assert window.workspace.generator is not None
            assert window.workspace.generator.step == case.step
    else:
        assert case.names in text
        assert window.workspace.shown is None
    # The window still works: it opens the next thing asked of it.
    assert window.isVisible() and window.engine_ready
