"""Canary for the PySide6 6.12.0 bug on CPython 3.11: each Signal.emit() dropped a reference
to True (void calls: to None) until the interpreter aborted in bool_dealloc. pyproject.toml
excludes that release; this fails if a build with the same leak comes back."""

import sys

import pytest

QtCore = pytest.importorskip("PySide6.QtCore")


class _Emitter(QtCore.QObject):
    flag_changed = QtCore.Signal(bool)
    pinged = QtCore.Signal()


def test_ten_thousand_emits_leave_refcounts_of_true_and_none_unchanged(qtbot):
    emitter = _Emitter()
    received = []
    emitter.flag_changed.connect(received.append)
    emitter.pinged.connect(lambda: None)
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(10_000):
        emitter.flag_changed.emit(True)
        emitter.pinged.emit()
    assert len(received) == 10_000
    received.clear()
    # Small drift from unrelated objects is possible; the bug lost one reference per emit.
    assert abs(sys.getrefcount(True) - true_before) < 100
    assert abs(sys.getrefcount(None) - none_before) < 100
