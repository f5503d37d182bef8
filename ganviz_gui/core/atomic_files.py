"""Atomic file replacement: a crash at any moment leaves the old file or the new one, never half.

Also what a full disk looks like (`is_disk_full`, `reporting_disk_full`: one DiskFullError
instead of torch's "unexpected pos" traceback) and the removal of the temporary files a killed
process left behind (`remove_stale_temp_files`).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ganviz_gui.core.errors import DiskFullError

# A write that failed for want of space: no space left, or over the user's quota.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, *([errno.EDQUOT] if hasattr(errno, "EDQUOT") else [])})
# torch.save's zip writer turns a failed write into a RuntimeError of its own (its file
# position then disagrees with what it wrote): these are the texts it and the OS use.
DISK_FULL_TEXTS = ("unexpected pos", "No space left", "file write failed", "Disk quota exceeded")
# The temporary names atomic_write gives: "." + the target's name + mkstemp's 8 characters.
TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call write(binary file) on a temp file in the same folder, fsync it, rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    atomic_write(path, lambda handle: handle.write(data))


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX); Windows cannot open folders this way."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- disk full
def is_disk_full(error: BaseException) -> bool:
    """Whether `error` (or what it was raised from) is a write refused for want of space."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_FULL_ERRNOS:
            return True
        if isinstance(current, RuntimeError) and any(t in str(current) for t in DISK_FULL_TEXTS):
            return True
        # What it was raised from, or during; `raise ... from None` hides the latter.
        hidden = current.__suppress_context__
        current = current.__cause__ or (None if hidden else current.__context__)
    return False


def free_bytes(path: Path) -> int | None:
    """Space left on the disk that holds `path` (or the nearest folder above it that exists)."""
    for folder in (path, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


@contextmanager
def reporting_disk_full(path: Path) -> Iterator[None]:
    """Writes to `path` inside this: a full disk or quota becomes one DiskFullError naming it."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        raise DiskFullError(path, free_bytes(Path(path))) from exc


# ---------------------------------------------------------------------- left by a kill
def remove_stale_temp_files(folder: Path, is_ours: Callable[[str], bool]) -> list[Path]:
    """Delete the temporary files atomic_write left in `folder` when its process was killed,
    for the targets `is_ours(name)` accepts; anything else is left alone. Call it only where
    no other process is writing (when a run starts or resumes)."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = TEMP_NAME.match(entry.name)
        if match and is_ours(match.group("target")) and entry.is_file():
            try:
                entry.unlink()
            except OSError:
                continue  # not ours to fight over: it stays
            removed.append(entry)
    return removed
