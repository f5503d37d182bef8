"""Files someone else wrote, opened only when they are regular files and read within a bound.

A FIFO blocks its reader until someone writes to it, a device (/dev/zero, /dev/urandom) never
ends, and a symlink can point at either: every reader of a run's files, checkpoints, pictures
and data sets opens them here. The file is opened without blocking and checked on the open
descriptor (`fstat`), so it cannot be swapped for a pipe between a check and the open. Every
refusal is one line that names the file, raised as the caller's kind of error.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from ganviz_gui.core.errors import DataError, GanvizError

NOT_REGULAR = "not a regular file (a pipe, socket or device)"
# Opening never waits on a FIFO; Windows has neither the flag nor FIFOs on its file systems.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0)


def open_regular(path: str | Path, error: type[GanvizError] = DataError) -> BinaryIO:
    """`path` opened for reading in binary, if it is a regular file (symlinks followed);
    otherwise `error` naming it: a folder, a pipe or device, or a file that cannot be read."""
    path = Path(path)
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise error(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{path}: is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise error(f"{path}: {NOT_REGULAR}")
        if _NONBLOCK:
            os.set_blocking(descriptor, True)  # a regular file: plain reads from here on
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_regular(
    path: str | Path, limit: int, error: type[GanvizError] = DataError, what: str = "file"
) -> bytes:
    """The whole of a regular file of at most `limit` bytes (`what` names it in a refusal)."""
    path = Path(path)
    with open_regular(path, error) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise error(f"{path}: {size:,} bytes, more than a {what} may hold ({limit:,})")
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew while it was read
        raise error(f"{path}: more than a {what} may hold ({limit:,} bytes)")
    return data


def regular_file_problem(path: str | Path) -> str | None:
    """Why `path` cannot be read as a regular file ("not a regular file ...", "cannot read
    ..."), or None when it can; a missing file is None too (nothing to read yet)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return f"cannot read ({getattr(exc, 'strerror', None) or exc})"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    return None if stat.S_ISREG(mode) else NOT_REGULAR


def is_regular_file(path: str | Path) -> bool:
    """A regular file (symlinks followed): what `Path.is_file` says, without raising."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
