"""The window's cost to training, and its smoothness, measured offscreen.

Prints, per case (8 Gaussians, the Digits preset, a 64 px DCGAN at ngf 64 and 128), as
medians over alternating runs, with the loss plots holding --points records per curve (10^6:
a long run, not an empty one):
- throughput ratio: steps/s of a run trained in the window (default refresh rates, every
  panel visible) over steps/s of the same run headless (`TrainingSession.run`); target >= 0.97;
- the GUI thread's CPU time while training, as a share of wall time (the window's own work,
  most of it holding the GIL the training thread needs);
- GUI timer lateness while training (in separate window runs, since the probe itself takes
  the GIL 100 times a second): a 10 ms timer on the GUI thread, p99 and worst delay;
  targets p99 <= 10 ms, no stall over 50 ms;
- how often the live sample grid (or 2D field) came, as the picture budget stretched it, and
  what one cost;
and once:
- the repaint time of the loss plots holding one curve of 1e6 points; target <= 20 ms;
- start-up: seconds from launching a fresh `python` to the window's first paint (torch still
  loading behind it); target <= 1.5 s.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--pairs 5] [--seconds 8]
        [--cases gaussians,digits,dcgan64-ngf64,dcgan64-ngf128] [--points 1000000]

Steps/s are measured after a warm-up (the first 2 s of each run), on wall time. The 64 px
cases take seconds per step on a 2-core CPU and their grid comes every tens of seconds under
the budget: give them --seconds 120 or more for a ratio that counts those pictures.

The records: once a window's run has started, the run's own curves are pre-filled with
--points records (random walks, steps 0 to points-1) and the live records are shifted past
them, as if the run had been going for that long; the headless run needs no plots.
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
POINTS = 1_000_000  # records per curve the plots hold while a window run is measured


def case_config(name: str):
    """The run each case trains, on the CPU, long enough never to end."""
    from ganviz_gui.core.presets import preset_named

    if name == "gaussians":
        return preset_named("8 Gaussians").config(steps=10**8, device="cpu")
    digits = preset_named("Digits - DCGAN")
    if name == "digits":
        return digits.config(steps=10**8, device="cpu")
    channels = {"dcgan64-ngf64": 64, "dcgan64-ngf128": 128}[name]  # KeyError: no such case
    return digits.config(
        steps=10**8, device="cpu", image_size=64, g_channels=channels, d_channels=channels
    )


CASES = ("gaussians", "digits", "dcgan64-ngf64", "dcgan64-ngf128")
_prefills: dict[tuple[tuple[str, ...], int], object] = {}


def recorded_keys(config) -> tuple[str, ...]:
    """The numbers a run of `config` records, from one step of a small copy of it."""
    from ganviz_gui.core.trainer import Trainer

    small = config.replace(batch_size=8, log_every=1)
    if config.model == "dcgan":
        small = small.replace(g_channels=8, d_channels=8)
    record = Trainer(small).step().record or {}
    return tuple(k for k, v in record.items() if k != "step" and isinstance(v, (int, float)))


def prefill_records(keys: tuple[str, ...], points: int):
    """`points` records of `keys` (random walks, steps 0 to points - 1), built once per set."""
    from ganviz_gui.core.record_columns import RecordColumns

    if (keys, points) not in _prefills:
        rng = np.random.default_rng(0)
        walks = {k: (np.cumsum(rng.normal(size=points)) * 0.01 + 1.0).tolist() for k in keys}
        columns = RecordColumns()
        piece = 100_000
        for start in range(0, points, piece):
            stop = min(points, start + piece)
            columns.append(
                [{"step": i, **{k: walks[k][i] for k in keys}} for i in range(start, stop)]
            )
        _prefills[(keys, points)] = columns
    return _prefills[(keys, points)]


def long_run_records(window, keys: tuple[str, ...], points: int) -> None:
    """The window's run as if it had been going for `points` steps: its curves pre-filled,
    and what it records from now on shifted past them."""
    from ganviz_gui.core.record_columns import as_columns
    from ganviz_gui.core.workspace import RunDelta

    if points <= 0:
        return
    source, workspace = window.trainer.source, window.workspace
    push = source.push

    def shifted(update) -> None:
        for record in update.records:
            record["step"] = record["step"] + points
        push(update)

    source.push = shifted
    merged = as_columns(prefill_records(keys, points)).snapshot()
    merged.append(workspace.records)
    # As a continued run's history arrives: the views redraw from the merged lists.
    workspace.extend(
        RunDelta(records=merged, events=workspace.events, stats=workspace.stats, restarted=True)
    )


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
    return rate_of(marks)


def rate_of(marks: list[tuple[float, int]]) -> float:
    """Steps/s between the first and the last mark; NaN with fewer than two (a run shorter
    than a step or two, as in the smoke mode)."""
    if len(marks) < 2 or marks[-1][0] <= marks[0][0]:
        return float("nan")
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


class WindowRun:
    """What one window run measured: steps/s, and the live pictures' intervals and costs."""

    def __init__(self) -> None:
        self.rate = float("nan")
        self.gui_cpu = float("nan")  # the GUI thread's CPU seconds per second of wall time
        self.pictures: dict[str, tuple[float, float]] = {}  # view: (interval s, cost s)


def window_rate(
    config,
    seconds: float,
    probe: LatenessProbe | None = None,
    keys: tuple[str, ...] = (),
    points: int = 0,
) -> WindowRun:
    from ganviz_gui.gui import MainWindow

    window = MainWindow()
    window.resize(1400, 860)
    window.show()
    window.setup_panel.set_config(config)
    marks: list[tuple[float, int]] = []
    window.start_training()
    while window.trainer.source is None:  # the run has started: its curves can be filled
        wait(0.02)
    long_run_records(window, keys, points)
    while window.trainer.last_update is None:
        wait(0.05)
    wait(warm_up())

    def on_update(update) -> None:
        marks.append((time.perf_counter(), update.step))

    worker = window.trainer.training.worker
    worker.updated.connect(on_update)
    if probe is not None:
        probe.start()
    cpu_started, wall_started = time.thread_time(), time.perf_counter()
    wait(seconds)  # this thread's CPU time from here on is the window's own work
    gui_cpu = (time.thread_time() - cpu_started) / (time.perf_counter() - wall_started)
    if probe is not None:
        probe.stop()
    measured = WindowRun()
    measured.rate = rate_of(marks)
    measured.gui_cpu = gui_cpu
    last = window.trainer.last_update
    budget = worker.loop.budget
    for view, interval in (last.picture_intervals if last is not None else {}).items():
        measured.pictures[view] = (interval, budget.cost(view))
    # Wait for the step and the last checkpoint here: a step of seconds (64 px on a CPU) would
    # outlast the window's close wait and ask, in a dialog, whether to keep waiting.
    window.trainer.shutdown(3_600_000)
    window.close()
    window.deleteLater()
    wait(0.1)
    return measured


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
    # Deleted now: a widget still alive when the application goes crashes the exit (rc 139).
    plots.deleteLater()
    wait(0.05)
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


def run_case(name: str, args: argparse.Namespace) -> None:
    config = case_config(name)
    keys = recorded_keys(config) if args.points > 0 else ()
    probe = LatenessProbe()
    ratios, delays, pictures, gui_cpu = [], [], {}, []
    # Not measured: a case's first run trains the quality classifier that later runs find
    # cached (the first headless Digits run measured 16-21 steps/s, the next ones 46-52).
    headless_rate(config, min(args.seconds, 2.0))
    for pair in range(args.pairs):
        order = ("headless", "window") if pair % 2 == 0 else ("window", "headless")
        rates = {}
        for kind in order:
            if kind == "headless":
                rates[kind] = headless_rate(config, args.seconds)
            else:
                measured = window_rate(config, args.seconds, keys=keys, points=args.points)
                rates[kind], pictures = measured.rate, measured.pictures
                gui_cpu.append(measured.gui_cpu)
        ratios.append(rates["window"] / rates["headless"])
        print(
            f"{name} pair {pair + 1}: headless {rates['headless']:.2f} steps/s, "
            f"window {rates['window']:.2f} steps/s, ratio {ratios[-1]:.3f}, "
            f"GUI thread busy {gui_cpu[-1]:.1%}",
            flush=True,
        )
    for _ in range(max(1, args.pairs // 2)):
        window_rate(config, args.seconds, probe, keys=keys, points=args.points)
        delays.extend(probe.delays)
    lateness = np.array(delays) if delays else np.full(1, np.nan)
    measured = [r for r in ratios if not np.isnan(r)]
    print(f"\n{name}, {args.pairs} pairs of {args.seconds:g} s, plots at {args.points:,} points")
    if measured:
        print(
            f"throughput ratio window/headless: median {statistics.median(measured):.3f} "
            f"(pairs {min(measured):.3f}-{max(measured):.3f}; >= 0.97)"
        )
    else:
        print("throughput ratio window/headless: n/a (runs shorter than two steps)")
    print(f"GUI thread CPU while training: median {statistics.median(gui_cpu):.1%} of wall time")
    print(
        f"GUI timer lateness: p50 {np.percentile(lateness, 50):.1f} ms, "
        f"p99 {np.percentile(lateness, 99):.1f} ms (<= 10), "
        f"worst {np.max(lateness):.1f} ms (<= 50), {len(delays)} ticks"
    )
    for view, (interval, cost) in pictures.items():
        print(
            f"live {view}: every {interval:.2f} s, {cost * 1000:.1f} ms each "
            f"({cost / interval:.1%} of the time)"
        )
    print(flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}"
    )
    parser.add_argument("--points", type=int, default=POINTS, help="records per curve, pre-filled")
    parser.add_argument("--starts", type=int, default=5, help="fresh processes timed to paint")
    parser.add_argument("--warm-up", type=float, default=WARM_UP_S, help="seconds not measured")
    args = parser.parse_args()
    os.environ["GANVIZ_BENCH_WARM_UP"] = str(args.warm_up)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"no such case: {', '.join(unknown)} (cases: {', '.join(CASES)})")

    app = QApplication.instance() or QApplication(sys.argv)
    for name in cases:
        run_case(name, args)
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
