"""What a closed window leaves behind: RSS after each of N MainWindows opened and closed in
one process.

Each window is shown, loads the engine, opens a small recorded run (a tiny digits DCGAN with
three checkpoints) and scrubs through its checkpoints, then is closed as the user closes it
(`close()`, nothing more); then the pending events are processed (deferred deletes too) and
the garbage collector runs. Printed: the process's RSS after each window, the median growth
per window after the warm-up windows, and how many windows are still alive (a weak reference
to each). A window that frees itself costs about nothing once the first few have warmed the
caches up; one kept alive by what it connected costs about 20 MB.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_window_leak.py [--windows 10]
        [--warm-up 3] [--no-run] [--delete-later]

`--windows 2` is CI's smoke run. `--delete-later`: the caller also calls `deleteLater()`
after `close()` (what pytest-qt does), to compare.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import statistics
import sys
import tempfile
import time
import weakref
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GANVIZ_HOME", tempfile.mkdtemp(prefix="ganviz-bench-"))

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

WAIT_S = 90.0  # engine loads and checkpoint decodes on a slow shared machine


def rss_mb() -> float:
    """The resident set size now (Linux: /proc/self/statm), else the peak (getrusage)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def spin(milliseconds: int) -> None:
    """Run the event loop for a while (queued signals, timers, deferred deletes)."""
    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def wait_until(done, what: str, limit_s: float = WAIT_S) -> None:
    started = time.perf_counter()
    while not done():
        if time.perf_counter() - started > limit_s:
            raise SystemExit(f"{what}: not done within {limit_s:.0f} s")
        spin(20)


def settle() -> None:
    """Let a closed window go: deferred deletes, the events they post, then a collection."""
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    gc.collect()


def recorded_run(folder: Path) -> Path:
    """A tiny digits DCGAN of 30 steps with checkpoints at 10, 20 and 30."""
    from tiny_runs import tiny_digits_run

    tiny_digits_run(folder, 30)
    return folder


def open_and_close_window(run: Path | None, delete_later: bool) -> weakref.ref:
    """One window's life, as a user lives it; returns a weak reference to the closed window."""
    from ganviz_gui.gui import MainWindow

    window = MainWindow()
    window.resize(1300, 820)
    window.show()
    wait_until(lambda: window.engine_ready, "loading the engine")
    if run is not None:
        scrub_through(window, run)
    spin(200)
    window.close()
    if delete_later:
        window.deleteLater()
    return weakref.ref(window)


def scrub_through(window, run: Path) -> None:
    """Open `run` and show each of its checkpoints (a function of its own: no local here
    keeps a panel of the closed window alive while it is measured)."""
    explorer = window.latent_explorer
    window.open_path(str(run))
    wait_until(
        lambda: explorer.mosaic_picture is not None and explorer.cursor_picture is not None,
        "opening the run",
    )
    for step in window.workspace.scrub_steps:
        window.workspace.set_step(step)
        spin(100)


def measure(windows: int, warm_up: int, run: Path | None, delete_later: bool) -> dict:
    """RSS after each window; the median growth per window after `warm_up` windows."""
    closed: list[weakref.ref] = []
    sizes = [rss_mb()]
    for index in range(windows):
        closed.append(open_and_close_window(run, delete_later))
        settle()  # here, where no local of the window's function holds it any more
        sizes.append(rss_mb())
        alive = sum(ref() is not None for ref in closed)
        print(f"window {index + 1}: RSS {sizes[-1]:.0f} MB, windows alive {alive}", flush=True)
    growth = [after - before for before, after in itertools.pairwise(sizes)]
    warm_up = min(warm_up, len(growth) - 1)  # a smoke run of few windows measures the last
    return {
        "warm_up": warm_up,
        "median_growth_mb": statistics.median(growth[warm_up:]),
        "alive": sum(ref() is not None for ref in closed),
        "first_mb": sizes[0],
        "last_mb": sizes[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--warm-up", type=int, default=3, help="windows not in the median")
    parser.add_argument("--no-run", action="store_true", help="open no run in the windows")
    parser.add_argument(
        "--delete-later", action="store_true", help="the caller calls deleteLater() too"
    )
    args = parser.parse_args()

    app = QApplication.instance() or QApplication(sys.argv)  # noqa: F841 (kept alive)
    with tempfile.TemporaryDirectory(prefix="ganviz-leak-") as folder:
        run = None if args.no_run else recorded_run(Path(folder) / "run")
        result = measure(max(args.windows, 1), args.warm_up, run, args.delete_later)
    print(
        f"{args.windows} windows: RSS {result['first_mb']:.0f} -> {result['last_mb']:.0f} MB, "
        f"median growth per window after {result['warm_up']} warm-up windows "
        f"{result['median_growth_mb']:.1f} MB (target < 5), "
        f"{result['alive']} closed windows still alive (target 0)"
    )
    if result["warm_up"] < args.warm_up:  # a smoke run: the caches are still warming up
        print(f"(too few windows to judge the growth: more than {args.warm_up + 1} are needed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
