"""Short jobs off the GUI thread (loading the engine, previewing data), newest request wins.

A result that arrives after a newer request was made is dropped, so a user flicking through
data sets sees the preview of the last one chosen, never an older one arriving late (it comes
as `superseded`, for an owner that caches what it loaded). Closing
the window closes every `LatestOnly` under it (`close_jobs`): no new job starts, running ones
are waited for, and their results are dropped, so nothing arrives at a closed window.

A job whose result nobody needs once the window is gone, and that may run long (loading a
whole data set for the real samples shown beside a run's), is made `joined_at_close=False`:
it runs on a daemon thread of its own, which closing neither waits for nor joins (Python does
not wait for a daemon thread at exit either). Such a job must only read (files, numpy): one
that writes, or sits inside torch.load, is joined. Its owner closes it (`close`, at once), and
keeps it out of the window's children (no parent), whose pools and threads `close_jobs` joins.
"""

from __future__ import annotations

import threading
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


class _DaemonWorker:
    """A thread of one LatestOnly's own that is never joined: one job at a time, and of those
    waiting only the newest (the others are for older requests). The thread is a daemon that
    ends when nothing is left to do; a job still running when the window closes runs on, and
    its result is dropped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: _Job | None = None
        self._thread: threading.Thread | None = None

    def start(self, job: _Job) -> None:
        with self._lock:
            self._waiting = job
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="ganviz-unjoined-job", daemon=True
                )
                self._thread.start()

    def clear(self) -> None:
        with self._lock:
            self._waiting = None

    def _work(self) -> None:
        while True:
            with self._lock:
                job, self._waiting = self._waiting, None
                if job is None:
                    self._thread = None
                    return
            job.run()


class LatestOnly(QObject):
    finished = Signal(object, str)  # result, error message ("" on success)
    # The result of a job that was already running when a newer request (or a cancel) came:
    # not what is wanted now, but an owner with a cache may keep it (a checkpoint passed over
    # in a drag), once it has checked that the result is still about what it shows.
    superseded = Signal(object)  # result

    def __init__(
        self,
        parent: QObject | None = None,
        own_thread: bool = False,
        joined_at_close: bool = True,
    ):
        """`own_thread`: run on a pool of one thread of its own, so that this job never waits
        behind slow ones in the shared pool (importing torch, loading MNIST for a preview).
        `joined_at_close=False`: on a daemon thread of its own (implies `own_thread`) that
        closing does not wait for; for jobs that only read, whose result a closed window drops
        (see the module's docstring)."""
        super().__init__(parent)
        self._ticket = 0
        self._relay = _Relay()
        self._relay.done.connect(self._on_done)
        self._unjoined = None if joined_at_close else _DaemonWorker()
        self.pool: QThreadPool | None
        if not joined_at_close:
            self.pool = None
        elif own_thread:
            self.pool = QThreadPool(self)
            self.pool.setMaxThreadCount(1)
        else:
            self.pool = QThreadPool.globalInstance()

        self.closed = False

    def submit(self, function: Callable[[], Any]) -> None:
        if self.closed:
            return
        self._ticket += 1
        job = _Job(function, self._ticket, self._relay)
        if self.pool is None:
            assert self._unjoined is not None
            self._unjoined.start(job)  # what waited before it is dropped
            return
        if self.pool is not QThreadPool.globalInstance():
            self.pool.clear()  # jobs still waiting are for older requests: never started
        self.pool.start(job)

    def cancel(self) -> None:
        """Drop the result of whatever was asked so far (it is about something gone)."""
        self._ticket += 1

    def close(self, milliseconds: int = 30_000) -> bool:
        """Start nothing more, drop what is still to come, wait for the running job (not one
        `joined_at_close=False`: it runs on, unwaited for, and its result is dropped)."""
        self.closed = True
        self._ticket += 1
        if self.pool is None:
            assert self._unjoined is not None
            self._unjoined.clear()
            return True
        if self.pool is QThreadPool.globalInstance():
            return True  # the shared pool is waited for once, by close_jobs
        self.pool.clear()
        return self.pool.waitForDone(milliseconds)

    def _on_done(self, ticket: int, result: Any, error: str) -> None:
        if self.closed:
            return
        if ticket == self._ticket:
            self.finished.emit(result, error)
        elif not error:
            self.superseded.emit(result)


def close_jobs(owner: QObject, milliseconds: int = 30_000) -> None:
    """Close every LatestOnly under `owner` and wait for the shared pool's jobs too (a job
    still inside torch.load when the interpreter exits can crash it). The jobs of a
    LatestOnly made `joined_at_close=False` are not waited for."""
    for jobs in owner.findChildren(LatestOnly):
        jobs.close(milliseconds)
    QThreadPool.globalInstance().waitForDone(milliseconds)


def torch_threads_for_this_job() -> None:
    """One torch thread for background work: a second core is left to the GUI (and training)."""
    import torch

    torch.set_num_threads(1)
