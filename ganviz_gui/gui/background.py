"""Short jobs off the GUI thread (loading the engine, previewing data), newest request wins.

A result that arrives after a newer request was made is dropped, so a user flicking through
data sets sees the preview of the last one chosen, never an older one arriving late. Closing
the window closes every `LatestOnly` under it (`close_jobs`): no new job starts, running ones
are waited for, and their results are dropped, so nothing arrives at a closed window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Relay(QObject):
    done = Signal(int, object, str)  # ticket, result, error message ("" on success)


class _Job(QRunnable):
    def __init__(self, function: Callable[[], Any], ticket: int, relay: _Relay):
        super().__init__()
        self.function, self.ticket, self.relay = function, ticket, relay

    def run(self) -> None:
        from ganviz_gui.core.errors import GanvizError

        try:
            result, error = self.function(), ""
        except GanvizError as exc:
            result, error = None, str(exc)
        except Exception as exc:  # an unexpected failure is still a message, not a crash
            result, error = None, f"{type(exc).__name__}: {exc}"
        self.relay.done.emit(self.ticket, result, error)


class LatestOnly(QObject):
    finished = Signal(object, str)  # result, error message ("" on success)

    def __init__(self, parent: QObject | None = None, own_thread: bool = False):
        """`own_thread`: run on a pool of one thread of its own, so that this job never waits
        behind slow ones in the shared pool (importing torch, loading MNIST for a preview)."""
        super().__init__(parent)
        self._ticket = 0
        self._relay = _Relay()
        self._relay.done.connect(self._on_done)
        if own_thread:
            self.pool = QThreadPool(self)
            self.pool.setMaxThreadCount(1)
        else:
            self.pool = QThreadPool.globalInstance()

        self.closed = False

    def submit(self, function: Callable[[], Any]) -> None:
        if self.closed:
            return
        if self.pool is not QThreadPool.globalInstance():
            self.pool.clear()  # jobs still waiting are for older requests: never started
        self._ticket += 1
        self.pool.start(_Job(function, self._ticket, self._relay))

    def cancel(self) -> None:
        """Drop the result of whatever was asked so far (it is about something gone)."""
        self._ticket += 1

    def close(self, milliseconds: int = 30_000) -> bool:
        """Start nothing more, drop what is still to come, wait for the running job."""
        self.closed = True
        self._ticket += 1
        if self.pool is QThreadPool.globalInstance():
            return True  # the shared pool is waited for once, by close_jobs
        self.pool.clear()
        return self.pool.waitForDone(milliseconds)

    def _on_done(self, ticket: int, result: Any, error: str) -> None:
        if ticket == self._ticket and not self.closed:
            self.finished.emit(result, error)


def close_jobs(owner: QObject, milliseconds: int = 30_000) -> None:
    """Close every LatestOnly under `owner` and wait for the shared pool's jobs too (a job
    still inside torch.load when the interpreter exits can crash it)."""
    for jobs in owner.findChildren(LatestOnly):
        jobs.close(milliseconds)
    QThreadPool.globalInstance().waitForDone(milliseconds)


def torch_threads_for_this_job() -> None:
    """One torch thread for background work: a second core is left to the GUI (and training)."""
    import torch

    torch.set_num_threads(1)
