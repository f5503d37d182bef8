"""Process set-up shared by every way GANViz starts (the `ganviz` command, `python main.py`,
the double-click build): standard streams that exist, a fault handler, and crash logs.

A windowed PyInstaller build has no console: `sys.stdout` and `sys.stderr` are None, and the
first `print` (or a library's warning) would raise. A crash must leave something behind: a
Python exception is written to a crash log in the app's folder (and the window shows its
path), and a hard fault (a segfault in a native library) is written by `faulthandler` to
`logs/faults.log`.
"""

from __future__ import annotations

import datetime
import faulthandler
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

_prepared = False
_fault_file = None  # kept open: faulthandler writes to it from a signal handler
_reporter: Callable[[Path, str], None] | None = None


def logs_dir() -> Path:
    from ganviz_gui.core.app_dirs import app_home

    return app_home() / "logs"


def prepare_process() -> None:
    """Idempotent: streams, fault handler and exception hook, as early as possible."""
    global _prepared, _fault_file
    if _prepared:
        return
    _prepared = True
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # a windowed build has no console
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    try:
        logs_dir().mkdir(parents=True, exist_ok=True)
        _fault_file = open(logs_dir() / "faults.log", "a", encoding="utf-8")  # noqa: SIM115
        faulthandler.enable(_fault_file)
    except OSError:  # an unwritable home: the fault handler then writes to stderr
        faulthandler.enable(sys.stderr)
    sys.excepthook = _on_uncaught


def set_crash_reporter(reporter: Callable[[Path, str], None] | None) -> None:
    """Called with (log path, one-line summary) after an uncaught exception is logged: the
    window shows it in a dialog."""
    global _reporter
    _reporter = reporter


def write_crash_log(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> Path:
    """The traceback and the versions in force, in logs/crash-<time>.log; returns the path."""
    from ganviz_gui import __version__

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = logs_dir() / f"crash-{stamp}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"GANViz {__version__}, Python {sys.version.split()[0]}, {sys.platform}",
        f"frozen: {bool(getattr(sys, 'frozen', False))}",
        f"torch: {_version_of('torch')}, PySide6: {_version_of('PySide6')}",
        "",
        *traceback.format_exception(kind, error, trace),
    ]
    path.write_text("\n".join(line.rstrip("\n") for line in lines) + "\n", encoding="utf-8")
    return path


def _on_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    try:
        path = write_crash_log(kind, error, trace)
    except OSError:
        path = None
    traceback.print_exception(kind, error, trace)
    if path is not None:
        print(f"GANViz: the error above is logged in {path}", file=sys.stderr)
        if _reporter is not None:
            try:
                _reporter(path, f"{kind.__name__}: {error}")
            except Exception:  # the reporter must never turn one crash into two
                traceback.print_exc()


def seconds_since_process_start() -> float | None:
    """How long this process has existed (from the OS, so interpreter start-up and a frozen
    build's unpacking count too); None where the OS does not say (only Linux is read)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22 of stat: start time, in clock ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _version_of(module: str) -> str:
    loaded = sys.modules.get(module)
    return getattr(loaded, "__version__", "not loaded") if loaded else "not loaded"


def without_huge_page_stalls() -> None:
    """Ask numpy not to back its large arrays with transparent huge pages, in the window's
    process. numpy madvises them for arrays of 4 MB or more; where the kernel then compacts
    memory on the first touch (defrag=madvise, Ubuntu's default) a page fault can stall for
    tens of milliseconds: appends to a long run's columns took 32-50 ms on the GUI thread with
    them, at most 10 ms without. A window wants steady frames more than fewer TLB misses."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy 1.x keeps it under numpy.core; absent elsewhere: nothing to do
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            return
    _set_madvise_hugepage(False)
