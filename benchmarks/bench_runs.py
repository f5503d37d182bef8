"""Long runs: opening, following and diagnosing run folders of 10^4 to 10^6 records.

Each figure is measured in a fresh process, so one case's memory does not hide in another's:

- read: `RunFolderSource.poll_all()` of the whole folder (what the window's background
  opener reads), seconds and the peak memory it allocates (tracemalloc: its timing is longer
  than without, so read seconds and memory come from two reads);
- diagnose: `ganviz diagnose RUN` as the command line runs it, seconds and the process's peak
  RSS (the interpreter and its imports included); then the detectors' pass alone, as the
  window's Diagnostics tab runs it on a thread of its own, seconds and the longest a thread
  beside it (sleeping 1 ms at a time, as the window's would wait for the GIL) went without
  running;
- window: File > Open of the folder in the window (offscreen), seconds until every record is
  drawn, and the longest the GUI thread went without running a 10 ms timer meanwhile;
- follow: the window following the folder while a writer appends 20 records a second, the
  window process's CPU time over 10 s as a share of one core.

    python benchmarks/bench_runs.py                       # 10^4, 10^5, 10^6 records
    python benchmarks/bench_runs.py --records 10000 --follow-seconds 2   # CI's smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_run(folder: Path, records: int) -> Path:
    """A run folder as `ganviz train` writes one: config, events, records of 13 fields every
    step and quality metrics every 100 (no checkpoints: curves and diagnostics only)."""
    from ganviz_gui.core.config import TrainingConfig

    folder.mkdir(parents=True, exist_ok=True)
    config = TrainingConfig(dataset="ring8", model="mlp", steps=records)
    (folder / "config.json").write_text(config.to_json() + "\n")
    (folder / "events.jsonl").write_text(json.dumps({"step": 0, "kind": "started"}) + "\n")
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(records, 4)).tolist()
    with open(folder / "metrics.jsonl", "wb") as handle:
        for step in range(records):
            record = {
                "step": step,
                "loss_d": 1.3 + 0.1 * noise[step][0],
                "loss_g": 0.7 + 0.1 * noise[step][1],
                "d_real": 0.5 + 0.05 * noise[step][2],
                "d_fake": 0.5 + 0.05 * noise[step][3],
                "grad_norm_d": 0.3,
                "grad_norm_g": 0.2,
                "lr_g": 0.0002,
                "lr_d": 0.0002,
                "d_steps": 1,
                "elapsed": step / 50,
                "time": 1.7e9 + step / 50,
                "steps_per_sec": 50.0,
            }
            if step % 100 == 0:
                record.update(js_divergence=0.3, modes_covered=6, modes_total=8, high_quality=0.8)
            handle.write(orjson.dumps(record) + b"\n")
    return folder


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------- cases (own processes)
def case_read(run: Path) -> dict:
    import tracemalloc

    from ganviz_gui.core.run_sources import RunFolderSource

    tracemalloc.start()  # numpy's arrays are traced too: the peak of what the read holds
    started = time.perf_counter()
    delta = RunFolderSource(run).poll_all()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    return {"seconds": seconds, "peak_mb": peak, "n": len(delta.records)}


def wait_until(done, limit_s: float, every_ms: int = 5) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop, started = QEventLoop(), time.perf_counter()

    def check() -> None:
        if done():
            loop.quit()
        elif time.perf_counter() - started > limit_s:
            raise SystemExit(f"not done within {limit_s} s")

    checker = QTimer(interval=every_ms)
    checker.timeout.connect(check)
    checker.start()
    loop.exec()
    checker.stop()


def case_read_timed(run: Path) -> dict:
    from ganviz_gui.core.run_sources import RunFolderSource

    started = time.perf_counter()
    RunFolderSource(run).poll_all()
    return {"seconds": time.perf_counter() - started}


def case_window(run: Path) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from ganviz_gui.gui import MainWindow

    app = QApplication.instance() or QApplication([])  # noqa: F841 (kept alive)
    window = MainWindow()
    window.resize(1400, 860)
    window.show()
    wait_until(lambda: window.engine_ready, 60)
    expected = count_lines(run / "metrics.jsonl")
    gaps, clock = [], QElapsedTimer()
    clock.start()

    def tick() -> None:
        gaps.append(clock.restart())

    ticker = QTimer(interval=10)
    ticker.timeout.connect(tick)
    ticker.start()
    started = time.perf_counter()
    window.open_path(str(run))
    plots = window.loss_plots
    # The event loop runs as in the app (it sleeps when idle: a busy loop here would take
    # the GIL from the background reader); a timer looks whether every record is drawn.
    wait_until(lambda: plots.points_drawn("loss_d") >= expected, 120)
    seconds = time.perf_counter() - started
    ticker.stop()
    window.close()
    return {"seconds": seconds, "longest_gui_stall_ms": max(gaps, default=0)}


def case_follow(run: Path, seconds: float) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from ganviz_gui.gui import MainWindow

    app = QApplication.instance() or QApplication([])  # noqa: F841 (kept alive)
    window = MainWindow()
    window.show()
    wait_until(lambda: window.engine_ready, 60)
    window.open_path(str(run), follow=True)
    expected = count_lines(run / "metrics.jsonl")
    wait_until(lambda: len(window.workspace.records) >= expected, 120)
    settled = time.perf_counter()
    wait_until(lambda: time.perf_counter() - settled > 3, 10)  # the first diagnosis and drawing
    writer = subprocess.Popen([sys.executable, __file__, "--append", str(run), str(expected)])
    cpu, wall = time.process_time(), time.perf_counter()
    # Checked twice a second: the benchmark's own timer should not be what is measured.
    wait_until(lambda: time.perf_counter() - wall >= seconds, seconds + 10, every_ms=500)
    share = (time.process_time() - cpu) / (time.perf_counter() - wall)
    writer.kill()
    writer.wait()
    arrived = len(window.workspace.records) - expected
    window.close()
    return {"core_share": share, "records_arrived": arrived}


def append_forever(run: Path, step: int) -> None:
    """The writer of the follow case: 20 records a second, flushed line by line."""
    with open(run / "metrics.jsonl", "ab") as handle:
        while True:
            handle.write(orjson.dumps({"step": step, "loss_d": 1.0, "loss_g": 0.7}) + b"\n")
            handle.flush()
            step += 1
            time.sleep(0.05)


def in_own_process(case: str, run: Path, *extra: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--case", case, str(run), *extra],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def case_diagnose(run: Path) -> dict:
    """`ganviz diagnose RUN` as the command line runs it, imports included."""
    import contextlib
    import io

    started = time.perf_counter()
    from ganviz_gui import cli

    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["diagnose", str(run)])
    if code != 0:
        raise SystemExit(f"ganviz diagnose exited {code}")
    seconds, rss = time.perf_counter() - started, peak_rss_mb()
    pass_seconds, longest_wait = diagnosis_beside_a_thread(run)
    return {
        "seconds": seconds,
        "peak_rss_mb": rss,
        "pass_seconds": pass_seconds,
        "longest_wait_ms": 1000 * longest_wait,
    }


def diagnosis_beside_a_thread(run: Path) -> tuple[float, float]:
    """Seconds of one detectors' pass on a thread, and the longest this thread, sleeping 1 ms
    at a time, waited to run again meanwhile: what the pass's longest hold of the GIL does to
    the window's thread."""
    import threading

    from ganviz_gui.core.diagnostics import diagnose
    from ganviz_gui.core.run_sources import RunFolderSource

    recorded = RunFolderSource(run).poll_all()
    timing: list[float] = []
    failed: list[BaseException] = []

    def diagnosis() -> None:
        started = time.perf_counter()
        try:
            diagnose(recorded.records, recorded.events, "nonsaturating")
        except BaseException as exc:  # raised on the measuring thread below
            failed.append(exc)
        timing.append(time.perf_counter() - started)

    thread = threading.Thread(target=diagnosis)
    longest, last = 0.0, time.perf_counter()
    thread.start()
    while thread.is_alive():
        time.sleep(0.001)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    thread.join()
    if failed:
        raise failed[0]
    return timing[0], longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--follow-seconds", type=float, default=10.0)
    parser.add_argument("--case", nargs=2, metavar=("CASE", "RUN"), help=argparse.SUPPRESS)
    parser.add_argument("--append", nargs=2, metavar=("RUN", "STEP"), help=argparse.SUPPRESS)
    args, extra = parser.parse_known_args()
    if args.append:
        append_forever(Path(args.append[0]), int(args.append[1]))
        return
    if args.case:
        case, run = args.case[0], Path(args.case[1])
        if case == "read":
            result = case_read(run)
        elif case == "read-timed":
            result = case_read_timed(run)
        elif case == "diagnose":
            result = case_diagnose(run)
        elif case == "window":
            result = case_window(run)
        else:
            result = case_follow(run, float(extra[0]))
        print(json.dumps(result), flush=True)
        # Leave without tearing Qt down object by object: the figures are out, and PySide can
        # crash destroying a closed window's widgets in interpreter shutdown order.
        os._exit(0)

    print(f"{'records':>9} | {'read s':>7} {'peak MB':>8} | {'diagnose s':>10} {'MB':>6} "
          f"{'pass s':>6} {'wait ms':>7} | {'window s':>8} {'stall ms':>8} | "
          f"{'follow % core':>13}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.records:
            run = write_run(Path(tmp) / f"run-{n}", n)
            timed = in_own_process("read-timed", run)
            read = in_own_process("read", run)
            diagnosed = in_own_process("diagnose", run)
            shown = in_own_process("window", run)
            followed = in_own_process("follow", run, str(args.follow_seconds))
            print(
                f"{n:>9,} | {timed['seconds']:>7.2f} {read['peak_mb']:>8.0f} | "
                f"{diagnosed['seconds']:>10.2f} {diagnosed['peak_rss_mb']:>6.0f} "
                f"{diagnosed['pass_seconds']:>6.2f} {diagnosed['longest_wait_ms']:>7.1f} | "
                f"{shown['seconds']:>8.2f} {shown['longest_gui_stall_ms']:>8.0f} | "
                f"{100 * followed['core_share']:>12.1f}% "
                f"({followed['records_arrived']} records arrived)",
                flush=True,
            )


if __name__ == "__main__":
    main()
