"""Test set-up shared by the core and GUI tests.

- Qt runs headless (offscreen) and faulthandler prints a traceback if a test crashes the process.
- GANVIZ_HOME points at a fresh folder per test, so no test touches the user's runs or cache.
- GANVIZ_BLOCK_QT=1 makes importing PySide6 / pyqtgraph fail: CI runs the core tests that way
  to prove the engine works with Qt absent (run with `-p no:pytest-qt`).
- Any test that leaves a QThread it started running fails (QThread.start is patched for the
  session to remember each thread): a QThread destroyed while running aborts the whole test
  session, far from the test that caused it.
"""

from __future__ import annotations

import faulthandler
import functools
import os
import sys
import traceback
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
faulthandler.enable()

QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph")


class _QtBlocker:
    """A meta-path finder that refuses the Qt packages, as if they were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in QT_MODULES:
            raise ModuleNotFoundError(f"{name} is blocked (GANVIZ_BLOCK_QT=1)", name=name)
        return None


if os.environ.get("GANVIZ_BLOCK_QT") == "1":
    sys.meta_path.insert(0, _QtBlocker())


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("ganviz_home")
    monkeypatch.setenv("GANVIZ_HOME", str(home))
    return home


class _StartedQThreads:
    """Every QThread started through Python during the current test, with where it started.

    Weak keys: the tracking must not keep a thread object alive longer than the code under test
    would. Tracking the starts costs nothing per test, where scanning gc.get_objects() for live
    QThreads before and after each test cost 80-150 ms.
    """

    def __init__(self) -> None:
        self.current: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def install(self, qthread_class) -> Callable[[], None]:
        """Patch qthread_class.start to remember each thread; returns the undo."""
        original = qthread_class.start
        tracker = self

        @functools.wraps(original)
        def start(thread, *args, **kwargs):
            tracker.current[thread] = _caller()
            return original(thread, *args, **kwargs)

        qthread_class.start = start
        return lambda: setattr(qthread_class, "start", original)

    def running(self) -> list[str]:
        """A line for each tracked thread still running: its objectName and where it started."""
        lines = []
        for thread, where in list(self.current.items()):
            try:
                if not thread.isRunning():
                    continue
            except RuntimeError:  # its C++ object is gone, so it no longer runs
                continue
            lines.append(f"{type(thread).__name__} {thread.objectName()!r} started at {where}")
        return sorted(lines)


_PROJECT = str(Path(__file__).resolve().parents[1])  # frames in pytest or Qt say nothing


def _caller() -> str:
    """The innermost project frames (not this file's) that called QThread.start, innermost first."""
    frames = [
        f
        for f in traceback.extract_stack()
        if f.filename.startswith(_PROJECT)
        and "site-packages" not in f.filename  # a virtualenv inside the checkout
        and f.filename != __file__
    ]
    return " <- ".join(
        f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[-3:])
    )


STARTED_QTHREADS = _StartedQThreads()


@pytest.fixture(scope="session", autouse=True)
def _track_qthread_starts():
    """Patch QThread.start once, before any test runs, unless Qt is blocked or absent."""
    if os.environ.get("GANVIZ_BLOCK_QT") == "1":
        yield
        return
    try:
        from PySide6.QtCore import QThread
    except ImportError:
        yield  # no Qt installed: no QThread can exist
        return
    undo = STARTED_QTHREADS.install(QThread)
    yield
    undo()


@pytest.fixture(autouse=True)
def _no_dangling_qthreads():
    STARTED_QTHREADS.current = weakref.WeakKeyDictionary()
    yield
    check_no_dangling_qthreads()


def check_no_dangling_qthreads() -> None:
    """Fail if a QThread started in the current test still runs (test_thread_leak_guard.py)."""
    leaked = STARTED_QTHREADS.running()
    if leaked:
        pytest.fail(f"test left {len(leaked)} QThread(s) running: " + "; ".join(leaked))
