"""How long after the hand lets go of the step slider the checkpoint it stopped on is shown.

A run folder of N checkpoints (a tiny digits DCGAN: one real checkpoint written again at each
step, each with its own step) is opened in the window offscreen. Each drag moves the slider
one notch at a time across the run, the event loop running between moves as in a real drag
(`--move-ms` apart), and ends on a notch not loaded before (the checkpoint cache is emptied
first). Measured: from the last `setValue` (the release) to the sample grid showing that
step's sheet; also how many checkpoint loads the drag ran (newest wins: not one per notch).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_scrub.py [--drags 5] [--move-ms 8]
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_scrub.py --smoke   # CI: 20, one drag

Prints, for 100 and 1,000 checkpoints, each drag's milliseconds and loads, then the median;
target: the last notch shown within 100 ms of release.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT_S = 120  # a drag's last notch not shown by then: the benchmark fails


def make_run(folder: Path, count: int) -> Path:
    """A run folder with `count` checkpoints at steps 10, 20, ..."""
    import torch
    from tiny_runs import tiny_digits_run

    tiny_digits_run(folder, 10, keep_checkpoints=0)
    checkpoints = folder / "checkpoints"
    state = torch.load(checkpoints / "step_00000010.pt", weights_only=True)
    for step in range(20, 10 * count + 1, 10):
        state["step"] = step
        torch.save(state, checkpoints / f"step_{step:08d}.pt")
    return folder


def wait(app, done, what: str) -> None:
    ends = time.monotonic() + TIMEOUT_S
    while not done():
        app.processEvents()
        time.sleep(0.0005)
        if time.monotonic() > ends:
            raise TimeoutError(what)


def drag(app, window, start: int, end: int, move_s: float) -> tuple[float, int]:
    """One drag from notch `start` to `end`: (ms from release to its sheet shown, loads run)."""
    import ganviz_gui.gui.inspection_controller as inspection

    slider, grid = window.scrubber.slider, window.sample_grid
    window.inspector.cache.clear()  # the last notch is loaded, not found
    loads = []
    real_load = inspection.load_checkpoint_views

    def counted(step, *args, **kwargs):
        loads.append(step)
        return real_load(step, *args, **kwargs)

    inspection.load_checkpoint_views = counted
    try:
        direction = 1 if end > start else -1
        for index in range(start, end + direction, direction):
            slider.setValue(index)
            moved = time.perf_counter() + move_s
            while time.perf_counter() < moved:  # the hand moves on; the window works
                app.processEvents()
        released = time.perf_counter()
        last = window.scrubber.steps[end]
        wait(app, lambda: getattr(grid.sheet, "step", None) == last, f"step {last} shown")
        shown_ms = 1000 * (time.perf_counter() - released)
        settled = time.perf_counter() + 0.3  # anything still running ends before the next
        while time.perf_counter() < settled:
            app.processEvents()
    finally:
        inspection.load_checkpoint_views = real_load
    return shown_ms, len(loads)


def measure(app, count: int, drags: int, move_s: float) -> list[tuple[float, int]]:
    from ganviz_gui.gui import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        folder = make_run(Path(tmp) / "run", count)
        window = MainWindow()
        window.resize(1300, 820)
        window.show()
        try:
            wait(app, lambda: window.engine_ready, "the engine")
            window.open_path(str(folder))
            scrubber = window.scrubber
            wait(app, lambda: len(scrubber.steps) == count, f"{count} checkpoints")
            last = scrubber.steps[-1]
            wait(app, lambda: getattr(window.sample_grid.sheet, "step", None) == last, "open")
            # Back and forth over most of the run, ending on a new notch each time: down
            # near the start, up near the end, each turn a little further in.
            gap = max(1, count // (2 * drags + 2))
            results, at = [], count - 1
            for number in range(drags):
                turn = number // 2
                end = 1 + turn * gap if number % 2 == 0 else count - 2 - turn * gap
                results.append(drag(app, window, at, end, move_s))
                at = end
            return results
        finally:
            window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drags", type=int, default=5, help="drags per run (median taken)")
    parser.add_argument("--move-ms", type=float, default=8.0, help="between two notches")
    parser.add_argument("--smoke", action="store_true", help="20 checkpoints, one drag (CI)")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    sizes, drags = ([20], 1) if args.smoke else ([100, 1000], args.drags)
    print("checkpoints  drags  ms from release to shown (loads run)          median ms")
    for count in sizes:
        results = measure(app, count, drags, args.move_ms / 1000)
        each = "  ".join(f"{ms:.0f} ({loads})" for ms, loads in results)
        median = statistics.median(ms for ms, _ in results)
        print(f"{count:>11,}  {drags:>5}  {each:<45}  {median:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
