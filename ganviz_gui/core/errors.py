"""Errors a user can act on. Each carries a message that names the file or field at fault.

The command line prints them on one line and exits 2; the GUI shows them in a dialog.
Anything else escaping the engine is an internal error (exit 1).
"""

from __future__ import annotations

from pathlib import Path


class GanvizError(Exception):
    """Base class: bad input from the user, a file or the machine, never a bug of ours."""


class ConfigError(GanvizError):
    """A setting is out of range or unknown. The message names the field."""


class DataError(GanvizError):
    """A data source cannot be read or has the wrong shape."""


class CheckpointError(GanvizError):
    """A checkpoint file is broken, hostile, too new or of another architecture."""


class NonFiniteWeightsError(CheckpointError):
    """A checkpoint was not written: the weights hold NaN or infinite values."""


# The last words of every refusal that the user's trust would lift (a program's code, an edited
# StyleGAN pickle): the window asks for trust on these, and on nothing a file could write.
TRUST_ADVICE = "(--trust on the command line)"


class MissingPackageError(GanvizError):
    """An optional package a feature needs is not installed; the message says how to add it."""


class DeviceError(GanvizError):
    """The requested compute device does not exist on this machine."""


class TrainingStopped(GanvizError):
    """Training cannot go on (e.g. repeated non-finite losses); the reason is the message."""


class DiskFullError(GanvizError):
    """A write of a run failed for want of space (ENOSPC) or of quota (EDQUOT).

    The message says "disk full", names the file, the space left where it goes and, once the
    training session has added it (`naming_checkpoint`), the last good checkpoint, which the
    failed write left intact (checkpoints are written to a temporary file and renamed).
    """

    def __init__(
        self,
        path: str | Path,
        free_bytes: int | None,
        last_checkpoint: str | Path | None = None,
        checkpoint_named: bool = False,
    ):
        self.path = Path(path)
        self.free_bytes = free_bytes
        self.last_checkpoint = Path(last_checkpoint) if last_checkpoint else None
        self.checkpoint_named = checkpoint_named or last_checkpoint is not None
        free = "unknown space" if free_bytes is None else self.size_text(free_bytes)
        message = f"disk full: could not write {self.path} ({free} free there)"
        if self.last_checkpoint is not None:
            message += f"; the last good checkpoint is {self.last_checkpoint}"
        elif self.checkpoint_named:
            message += "; no checkpoint of this run was saved before it"
        super().__init__(message)

    def naming_checkpoint(self, last_checkpoint: str | Path | None) -> DiskFullError:
        """The same error, its message naming the last good checkpoint (None: there is none)."""
        return DiskFullError(self.path, self.free_bytes, last_checkpoint, checkpoint_named=True)

    @staticmethod
    def size_text(size: int) -> str:
        """12 bytes, 4.0 KB, 1.5 GB."""
        if size < 1024:
            return f"{size} bytes"
        scaled = float(size)
        for unit in ("KB", "MB", "GB", "TB"):
            scaled /= 1024
            if scaled < 1024 or unit == "TB":
                break
        return f"{scaled:.1f} {unit}"
