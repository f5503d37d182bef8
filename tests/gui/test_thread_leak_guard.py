"""The dangling-QThread guard in tests/conftest.py reports a thread a test leaves running."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QThread

from tests.conftest import STARTED_QTHREADS, check_no_dangling_qthreads


def test_a_thread_left_running_is_reported_by_name_and_place(qapp):
    thread = QThread()
    thread.setObjectName("leakyThread")
    thread.start()  # runs its event loop until quit()
    try:
        with pytest.raises(pytest.fail.Exception) as info:
            check_no_dangling_qthreads()
        message = str(info.value)
        assert "1 QThread(s) running" in message
        assert "'leakyThread'" in message and "test_thread_leak_guard.py" in message
    finally:
        thread.quit()
        assert thread.wait(5000)
    check_no_dangling_qthreads()  # stopped: no longer reported


def test_a_subclass_is_tracked_too_and_once_finished_is_not_reported(qapp):
    class Worker(QThread):
        def run(self):
            pass

    thread = Worker()
    thread.start()
    assert thread in STARTED_QTHREADS.current
    assert thread.wait(5000)
    check_no_dangling_qthreads()
