"""A closed window leaks nothing: windows opened, used and closed one after another in one
process are deleted, and the process's memory stops growing once the first ones have warmed
its caches up (benchmarks/bench_window_leak.py prints the figures).

Each window is closed as the user closes it (`close()`); then the pending events are
processed, deferred deletes included, and the garbage collector runs. A window kept alive by
what it connected cost about 20 MB; one that frees itself, well under 1 MB.
"""

from __future__ import annotations

import gc
import itertools
import os
import statistics
import weakref

import pytest

pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QCoreApplication, QEvent

from tests.gui.conftest import WAIT_MS

WARM_UP_WINDOWS = 2  # the first windows fill one-off caches (fonts, torch's kernels)
MEASURED_WINDOWS = 4
GROWTH_LIMIT_MB = 5.0  # median RSS growth per window after the warm-up


def rss_mb() -> float:
    """The resident set size now, from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def settle(qtbot) -> None:
    """Let closed windows go: deferred deletes, what they post, then a full collection."""
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        qtbot.wait(20)
    gc.collect()


def open_use_and_close(qtbot, run_dir) -> weakref.ref:
    """A window that loads the engine, opens a run and shows each of its checkpoints in the
    explorer, then is closed; returns a weak reference to it."""
    from ganviz_gui.gui import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)  # closed by the teardown if an assertion stops the test first
    window.resize(1300, 820)
    window.show()
    qtbot.waitUntil(lambda: window.engine_ready, timeout=WAIT_MS)
    explorer = window.latent_explorer
    window.open_path(str(run_dir))
    qtbot.waitUntil(
        lambda: explorer.mosaic_picture is not None and explorer.cursor_picture is not None,
        timeout=WAIT_MS,
    )
    for step in window.workspace.scrub_steps:
        window.workspace.set_step(step)
        qtbot.wait(50)
    window.close()
    return weakref.ref(window)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc")
def test_closed_windows_are_deleted_and_their_memory_is_reused(qtbot, digits_run):
    closed, sizes = [], []
    for _ in range(WARM_UP_WINDOWS + MEASURED_WINDOWS):
        closed.append(open_use_and_close(qtbot, digits_run))
        settle(qtbot)
        sizes.append(rss_mb())
    alive = sum(ref() is not None for ref in closed)
    assert alive == 0, f"{alive} of {len(closed)} closed windows are still alive"
    measured = sizes[WARM_UP_WINDOWS - 1 :]
    growth = [after - before for before, after in itertools.pairwise(measured)]
    per_window = statistics.median(growth)
    assert per_window < GROWTH_LIMIT_MB, (
        f"RSS grew {per_window:.1f} MB per closed window (median of {growth}); "
        f"RSS after each window: {[round(size) for size in sizes]} MB"
    )
