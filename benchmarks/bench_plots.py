"""The loss plots' live refresh as runs grow: a growth table of time and memory.

For each size (points per curve), the plots hold the 8 curves a run records (losses, D's
outputs, gradient norms, learning rates), filled by appends in big pieces; then a live run is
imitated: 10 records appended, then a refresh (`redraw`: every curve handed what the view
shows) and a paint of the plots. Printed per size:
- refresh: append + redraw on the GUI thread, median and p90 (target < 5 ms at 10^7);
- paint: the repaint that follows, median;
- points drawn: what the longest curve hands pyqtgraph (bounded by the view's width);
- memory: the bytes the curves hold (steps counted once per shared column; target < 500 MB at
  10^7), and the process's resident memory grown while filling them (numpy's and Qt's).
Then, at the largest size, a zoom to a 1,000-step window and back.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_plots.py [--sizes 1e5,1e6,1e7] [--refreshes 40]
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_plots.py --smoke   # CI: 10^4 points

Measure on a quiet machine: the timings are of one core's work, disturbed by anything else.
Before this change (issue 16) one refresh took 112 ms at 10^6 points and 1.7 s at 10^7, and
the curves held 425 MB at 10^6 and 1.87 GB at 10^7.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GANVIZ_HOME", tempfile.mkdtemp(prefix="ganviz-bench-"))

import numpy as np
from PySide6.QtWidgets import QApplication

KEYS = ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "lr_d", "lr_g")
PIECE = 1_000_000  # records per append while filling
LIVE_BATCH = 10  # records per live append


def columns_of(start: int, count: int, rng: np.random.Generator):
    """`count` records from step `start` on, of every key, as a source hands them over."""
    from ganviz_gui.core.record_columns import RecordColumns

    # Filled column by column: 10^7 records made as dicts would take minutes.
    columns = RecordColumns()
    first = columns._reserve(count)
    columns._steps[first : first + count] = np.arange(start, start + count)
    for key in KEYS:
        if key.startswith("lr"):
            values = np.full(count, 2e-4)
        else:  # a random walk, as a loss wanders
            values = 1.0 + np.cumsum(rng.normal(0, 0.01, count)) * 0.1
        columns._column(key)[first : first + count] = values
    return columns


def resident_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def held_bytes(plots) -> int:
    """Bytes the curves hold; a step column shared by several curves counted once."""
    columns = {id(s.steps): s.steps.nbytes for s in plots.series.values()}
    return sum(s.nbytes for s in plots.series.values()) + sum(columns.values())


def measure(size: int, refreshes: int) -> dict:
    from ganviz_gui.core.workspace import Mode, RunInfo
    from ganviz_gui.gui.loss_plots import LossPlots

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    before = resident_bytes()
    plots = LossPlots()
    plots.resize(700, 900)
    plots.show()
    app.processEvents()
    plots.workspace.show_run(RunInfo("trainer", "bench"), Mode.TRAINING)
    fill_started = time.perf_counter()
    for start in range(0, size, PIECE):
        plots.add_records(columns_of(start, min(PIECE, size - start), rng))
    fill_s = time.perf_counter() - fill_started
    plots.redraw()
    app.processEvents()
    refresh_ms, paint_ms = [], []
    step = size
    for _ in range(refreshes):
        batch = columns_of(step, LIVE_BATCH, rng)
        step += LIVE_BATCH
        started = time.perf_counter()
        plots.add_records(batch)
        plots.redraw()
        drawn = time.perf_counter()
        plots.graphics.viewport().repaint()
        painted = time.perf_counter()
        refresh_ms.append((drawn - started) * 1e3)
        paint_ms.append((painted - drawn) * 1e3)
    result = {
        "size": size,
        "fill_s": fill_s,
        "refresh_median": statistics.median(refresh_ms),
        "refresh_p90": float(np.percentile(refresh_ms, 90)),
        "paint_median": statistics.median(paint_ms),
        "drawn": len(plots.drawn_curve("loss_d")[0]),
        "held_mb": held_bytes(plots) / 1e6,
        "rss_mb": (resident_bytes() - before) / 1e6,
        "plots": plots,
    }
    return result


def zoom_times(plots, size: int) -> tuple[float, float]:
    """ms to redraw every curve zoomed to a 1,000-step window, then the whole run again."""
    times = []
    view = plots.plots["losses"].getViewBox()
    for low, high in ((size // 2 - 500, size // 2 + 500), (0, size)):
        view.setXRange(low, high, padding=0)
        started = time.perf_counter()
        plots._on_view_settled()
        times.append((time.perf_counter() - started) * 1e3)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e5,1e6,1e7", help="points per curve, comma-separated")
    parser.add_argument("--refreshes", type=int, default=40)
    parser.add_argument("--smoke", action="store_true", help="10^4 points, a few refreshes")
    args = parser.parse_args()
    sizes = [10_000] if args.smoke else [int(float(size)) for size in args.sizes.split(",")]
    refreshes = 5 if args.smoke else args.refreshes
    print(f"8 curves; a live refresh = {LIVE_BATCH} records appended + redraw; then a repaint")
    header = (
        f"{'points/curve':>12} {'fill s':>7} {'refresh ms (median / p90)':>26} "
        f"{'paint ms':>9} {'drawn':>6} {'held MB':>8} {'RSS MB':>7}"
    )
    print(header)
    last = None
    for size in sizes:
        if last is not None:
            last["plots"].deleteLater()
            QApplication.instance().processEvents()
        last = measure(size, refreshes)
        print(
            f"{size:>12,} {last['fill_s']:>7.1f} "
            f"{last['refresh_median']:>14.2f} / {last['refresh_p90']:<9.2f} "
            f"{last['paint_median']:>9.2f} {last['drawn']:>6} {last['held_mb']:>8.1f} "
            f"{last['rss_mb']:>7.0f}"
        )
    zoom_in, zoom_out = zoom_times(last["plots"], last["size"])
    print(
        f"at {last['size']:,} points: redraw zoomed to 1,000 steps {zoom_in:.2f} ms, "
        f"whole run again {zoom_out:.2f} ms"
    )
    print("targets at 10^7: refresh < 5 ms, held < 500 MB (were 1.7 s and 1.87 GB)")


if __name__ == "__main__":
    main()
