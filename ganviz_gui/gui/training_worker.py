"""The training thread: a Qt adapter around `core.live_loop.LiveLoop`.

The loop does the work (pacing, coalescing, pictures, commands, saving; see its module); this
worker runs it on a QThread and turns what it reports into signals, which Qt queues to the GUI
thread. The GUI calls `send`, `request_stop`, `acknowledge`, ... from its own thread.

The worker quits its own thread when the run ends, so closing the window can wait for it
without needing the GUI thread's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ganviz_gui.core.live_loop import (
    Command,
    LiveLoop,
    RefreshRates,
    RunEnded,
    RunStarted,
    TrainingUpdate,
)

if TYPE_CHECKING:
    from ganviz_gui.core.config import TrainingConfig

# The messages live in the engine; existing imports from here keep working.
__all__ = [
    "RefreshRates",
    "RunEnded",
    "RunStarted",
    "TrainingThread",
    "TrainingUpdate",
    "TrainingWorker",
]


class TrainingWorker(QObject):
    run_started = Signal(object)  # RunStarted
    updated = Signal(object)  # TrainingUpdate
    setting_refused = Signal(str)  # a live change the engine refused, with its message
    checkpoint_saved = Signal(str)  # path of a checkpoint saved on request
    run_ended = Signal(object)  # RunEnded

    def __init__(
        self,
        config: TrainingConfig | None = None,  # a new run...
        start_paused: bool = False,
        rates: RefreshRates | None = None,
        run_dir: str | None = None,
        resume_from: str | None = None,  # ...or a checkpoint to continue (starts paused)
    ):
        super().__init__()
        self.loop = LiveLoop(
            _Signals(self),
            config,
            start_paused=start_paused,
            rates=rates,
            run_dir=run_dir,
            resume_from=resume_from,
        )

    # ------------------------------------------------------------------ called from the GUI
    def send(self, command: Command) -> None:
        self.loop.send(command)

    def request_stop(self, reason: str = "stopped") -> None:
        self.loop.stop(reason)

    def set_wanted(self, view: str, shown: bool) -> None:
        self.loop.set_wanted(view, shown)

    def note_drawn(self, view: str, seconds: float) -> None:
        self.loop.note_drawn(view, seconds)

    def set_weights_interval(self, seconds: float) -> None:
        self.loop.set_weights_interval(seconds)

    def set_picture_budget(self, share: float) -> None:
        self.loop.set_picture_budget(share)

    def acknowledge(self) -> None:
        self.loop.acknowledge()

    @property
    def wanted(self) -> dict[str, bool]:
        return self.loop.wanted

    @property
    def weights_interval(self) -> float:  # read-only: set_weights_interval changes it
        return self.loop.weights_interval

    # ------------------------------------------------------------------ the training thread
    @Slot()
    def run(self) -> None:
        try:
            self.loop.run()
        finally:
            # Quit from here: a queued finished->quit would need the GUI thread, which may
            # be blocked in closeEvent waiting for this thread.
            QThread.currentThread().quit()


class _Signals:
    """The loop's listener: each report becomes the worker's signal of the same name."""

    def __init__(self, worker: TrainingWorker):
        self.worker = worker

    def run_started(self, started: RunStarted) -> None:
        self.worker.run_started.emit(started)

    def updated(self, update: TrainingUpdate) -> None:
        self.worker.updated.emit(update)

    def setting_refused(self, message: str) -> None:
        self.worker.setting_refused.emit(message)

    def checkpoint_saved(self, path: str) -> None:
        self.worker.checkpoint_saved.emit(path)

    def run_ended(self, ended: RunEnded) -> None:
        self.worker.run_ended.emit(ended)


class TrainingThread(QObject):
    """One run's QThread and worker, wired before start (superqt's new_worker_qthread order)."""

    def __init__(self, worker: TrainingWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.qthread = QThread()
        self.qthread.setObjectName("trainingThread")
        worker.moveToThread(self.qthread)
        self.qthread.started.connect(worker.run)

    def start(self) -> None:
        self.qthread.start()

    def stop(self, reason: str = "stopped") -> None:
        self.worker.request_stop(reason)

    def wait(self, milliseconds: int) -> bool:
        """Block until the thread has ended (the worker saves its checkpoint first)."""
        return self.qthread.wait(milliseconds)

    def is_running(self) -> bool:
        return self.qthread.isRunning()
