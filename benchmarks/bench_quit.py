"""How long Ctrl+Q takes to end the process while a run is training (README: well under 1 s).

Each quit is a fresh process: it opens the window offscreen, starts the default preset, lets
it train for `--seconds`, then triggers File > Quit (Ctrl+Q's action) and says so on stdout.
The time measured is from that moment to the process being gone, the user's wait. After each
quit the run's newest checkpoint must be the one written at the quit (the run is not lost).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_quit.py [--quits 5] [--seconds 3]
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_quit.py --smoke   # CI: one short quit

Prints each quit's seconds, then the median; target <= 1.0 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUIT_MARK = "quitting"


def child(seconds: float) -> int:
    """The measured process: the window as `ganviz` starts it (`run_app`), driven by timers
    set before its event loop runs; it trains, is quit, and Python ends as it would."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QApplication

    from ganviz_gui.gui.app import run_app

    app = QApplication(sys.argv)  # run_app uses this one

    def the_window():
        from ganviz_gui.gui import MainWindow

        return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))

    def start_when_ready() -> None:
        window = the_window()
        if not window.engine_ready:
            QTimer.singleShot(50, start_when_ready)
        elif not window.start_training():
            print("could not start", file=sys.stderr)
            app.exit(1)
        else:
            QTimer.singleShot(round(seconds * 1000), quit_when_training)

    def quit_when_training() -> None:
        window = the_window()
        update = window.trainer.last_update
        if update is None or update.step < 1:  # still loading data: quit mid-run, not before
            QTimer.singleShot(50, quit_when_training)
            return
        print(f"{QUIT_MARK} at step {update.step}", flush=True)
        window.findChild(QAction, "quitAction").trigger()

    QTimer.singleShot(0, start_when_ready)
    return run_app([sys.argv[0]])


def one_quit(seconds: float) -> tuple[float, int, list[int]]:
    """(seconds from the quit to the process gone, the step quit at, the run's checkpoints)."""
    home = tempfile.mkdtemp(prefix="ganviz-bench-quit-")
    env = dict(os.environ, GANVIZ_HOME=home, QT_QPA_PLATFORM="offscreen")
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", "--seconds", str(seconds)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    step = -1
    for line in process.stdout:
        if line.startswith(QUIT_MARK):
            quit_at = time.perf_counter()
            step = int(line.split()[-1])
            break
    else:
        process.wait()
        raise SystemExit(f"the window exited ({process.returncode}) before it was quit")
    process.stdout.close()
    code = process.wait()
    took = time.perf_counter() - quit_at
    if code != 0:
        raise SystemExit(f"the window exited with {code}")
    from ganviz_gui.core.run_folder import list_checkpoints

    runs = [p for p in (Path(home) / "runs").iterdir() if p.is_dir()]
    steps = [s for s, _ in list_checkpoints(runs[0])] if runs else []
    return took, step, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quits", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="trained before each quit")
    parser.add_argument("--smoke", action="store_true", help="one quit after 1 s (CI)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.seconds)
    if args.smoke:
        args.quits, args.seconds = 1, 1.0
    times = []
    for _ in range(args.quits):
        took, step, steps = one_quit(args.seconds)
        if not steps or steps[-1] < step:
            print(f"quit at step {step}, but the newest checkpoint is {steps[-1:]}")
            return 1
        print(f"quit at step {step}: {took:.2f} s, last checkpoint at step {steps[-1]}")
        times.append(took)
    print(f"median quit time: {statistics.median(times):.2f} s (target <= 1.0 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
