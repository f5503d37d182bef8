"""The window's cost to training, and its smoothness, measured offscreen.

Prints, as medians over alternating runs:
- throughput ratio: steps/s of a run trained in the window (default refresh rates, every
  panel visible) over steps/s of the same run headless (`TrainingSession.run`); target >= 0.90;
- GUI timer lateness while training (in separate window runs, since the probe itself takes
  the GIL 100 times a second): a 10 ms timer on the GUI thread, p99 and worst delay;
  targets p99 <= 20 ms, no stall over 100 ms;
- the repaint time of the loss plots holding one curve of 1e6 points; target <= 20 ms;
- start-up: seconds from launching a fresh `python` to the window's first paint (torch still
  loading behind it); target <= 1.5 s.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--pairs 5] [--seconds 8]
        [--preset "8 Gaussians"]

Steps/s are measured after a warm-up (the first 2 s of each run), on wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GANVIZ_HOME", tempfile.mkdtemp(prefix="ganviz-bench-"))

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

WARM_UP_S = 2.0  # seconds of each run not measured (--warm-up)


def warm_up() -> float:
    return float(os.environ.get("GANVIZ_BENCH_WARM_UP", WARM_UP_S))


def wait(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


def headless_rate(config, seconds: float) -> float:
    from ganviz_gui.core.devices import apply_num_threads
    from ganviz_gui.core.training_session import TrainingSession

    apply_num_threads(config.num_threads)
    session = TrainingSession.start(config, run_dir=tempfile.mkdtemp(prefix="bench-headless-"))
    marks: list[tuple[float, int]] = []
    started = time.perf_counter()

    def should_stop() -> bool:
        return time.perf_counter() - started > warm_up() + seconds

    def on_step(result) -> None:
        if time.perf_counter() - started > warm_up():
            marks.append((time.perf_counter(), result.step))

    session.run(10**9, should_stop=should_stop, on_step=on_step)
    session.close("benchmark")
    (t0, s0), (t1, s1) = marks[0], marks[-1]
    return (s1 - s0) / (t1 - t0)


class LatenessProbe:
    """A 10 ms precise timer on the GUI thread recording how late each tick fires."""

    def __init__(self, interval_ms: int = 10):
        self.interval = interval_ms
        self.delays: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer(timerType=Qt.PreciseTimer, interval=interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.delays.clear()
        self.clock.start()
        self.last = self.clock.nsecsElapsed()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.delays.append(max(0.0, (now - self.last) / 1e6 - self.interval))
        self.last = now


def window_rate(config, seconds: float, probe: LatenessProbe | None = None) -> float:
    from ganviz_gui.gui import MainWindow

    window = MainWindow()
    window.resize(1400, 860)
    window.show()
    window.setup_panel.set_config(config)
    marks: list[tuple[float, int]] = []
    window.start_training()
    while window.trainer.last_update is None:
        wait(0.05)
    wait(warm_up())

    def on_update(update) -> None:
        marks.append((time.perf_counter(), update.step))

    window.trainer.training.worker.updated.connect(on_update)
    if probe is not None:
        probe.start()
    wait(seconds)
    if probe is not None:
        probe.stop()
    window.close()
    window.deleteLater()
    wait(0.1)

    (t0, s0), (t1, s1) = marks[0], marks[-1]
    return (s1 - s0) / (t1 - t0)


def plot_repaint_ms(points: int = 1_000_000, repeats: int = 15) -> float:
    from ganviz_gui.gui.loss_plots import LossPlots

    plots = LossPlots()
    plots.resize(900, 700)
    plots.show()
    rng = np.random.default_rng(0)
    steps = np.arange(points, dtype=float) * 10
    values = np.cumsum(rng.normal(size=points)) * 0.01 + 1.0
    plots.add_records([{"step": s, "loss_d": v} for s, v in zip(steps, values, strict=True)])
    plots.redraw()
    plots.graphics.grab()  # first paint builds caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        plots.graphics.grab()
        times.append((time.perf_counter() - started) * 1000)
    plots.close()
    return statistics.median(times)


FIRST_PAINT_PROBE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from ganviz_gui.gui import MainWindow
window = MainWindow()
window.show()
def painted():
    print("painted", "torch loaded" if window.engine_ready else "torch loading", flush=True)
    app.quit()
QTimer.singleShot(0, painted)  # runs once the event loop has shown and painted the window
app.exec()
"""


def first_paint_seconds() -> tuple[float, str]:
    """Wall time from starting a Python process to the window's first paint."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT_PROBE], capture_output=True, text=True, check=True
    )
    took = time.perf_counter() - started
    return took, out.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument("--preset", default="8 Gaussians")
    parser.add_argument("--starts", type=int, default=5, help="fresh processes timed to paint")
    parser.add_argument("--warm-up", type=float, default=WARM_UP_S, help="seconds not measured")
    args = parser.parse_args()
    os.environ["GANVIZ_BENCH_WARM_UP"] = str(args.warm_up)

    app = QApplication.instance() or QApplication(sys.argv)
    from ganviz_gui.core.presets import preset_named

    config = preset_named(args.preset).config(steps=10**8, device="cpu")
    probe = LatenessProbe()
    ratios, delays = [], []
    for pair in range(args.pairs):
        order = ("headless", "window") if pair % 2 == 0 else ("window", "headless")
        rates = {}
        for kind in order:
            if kind == "headless":
                rates[kind] = headless_rate(config, args.seconds)
            else:
                rates[kind] = window_rate(config, args.seconds)
        ratios.append(rates["window"] / rates["headless"])
        print(
            f"pair {pair + 1}: headless {rates['headless']:.0f} steps/s, "
            f"window {rates['window']:.0f} steps/s, ratio {ratios[-1]:.3f}",
            flush=True,
        )
    for _ in range(max(1, args.pairs // 2)):
        window_rate(config, args.seconds, probe)
        delays.extend(probe.delays)
    lateness = np.array(delays)
    print(f"\n{args.preset}, {args.pairs} pairs of {args.seconds:.0f} s")
    print(f"throughput ratio window/headless: median {statistics.median(ratios):.3f} (>= 0.90)")
    print(
        f"GUI timer lateness: p50 {np.percentile(lateness, 50):.1f} ms, "
        f"p99 {np.percentile(lateness, 99):.1f} ms (<= 20), "
        f"worst {lateness.max():.1f} ms (<= 100), {lateness.size} ticks"
    )
    print(f"loss plots, one curve of 1e6 points: repaint median {plot_repaint_ms():.1f} ms (<= 20)")
    starts = [first_paint_seconds() for _ in range(max(1, args.starts))]
    print(
        f"start-up to first paint: median {statistics.median(t for t, _ in starts):.2f} s "
        f"(<= 1.5), {starts[0][1]}"
    )
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
