"""Test set-up shared by the core and GUI tests.

- Qt runs headless (offscreen) and faulthandler prints a traceback if a test crashes the process.
- GANVIZ_HOME points at a fresh folder per test, so no test touches the user's runs or cache.
- GANVIZ_BLOCK_QT=1 makes importing PySide6 / pyqtgraph fail: CI runs the core tests that way
  to prove the engine works with Qt absent (run with `-p no:pytest-qt`).
- Any test that leaves a QThread running fails: a QThread destroyed while running aborts the
  whole test session, far from the test that caused it.
"""

from __future__ import annotations

import faulthandler
import os
import sys

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


@pytest.fixture(autouse=True)
def _no_dangling_qthreads():
    before = _running_qthreads()
    yield
    leaked = _running_qthreads() - before
    if leaked:
        pytest.fail(f"test left {len(leaked)} QThread(s) running: {sorted(map(repr, leaked))}")


def _running_qthreads() -> set:
    if "PySide6.QtCore" not in sys.modules:
        return set()  # Qt never loaded: no QThread can exist
    import gc

    from PySide6.QtCore import QThread

    # type() rather than isinstance(): isinstance asks lazy module proxies for __class__.
    return {obj for obj in gc.get_objects() if issubclass(type(obj), QThread) and obj.isRunning()}
