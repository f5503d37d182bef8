"""Errors a user can act on. Each carries a message that names the file or field at fault.

The command line prints them on one line and exits 2; the GUI shows them in a dialog.
Anything else escaping the engine is an internal error (exit 1).
"""

from __future__ import annotations


class GanvizError(Exception):
    """Base class: bad input from the user, a file or the machine, never a bug of ours."""


class ConfigError(GanvizError):
    """A setting is out of range or unknown. The message names the field."""


class DataError(GanvizError):
    """A data source cannot be read or has the wrong shape."""


class CheckpointError(GanvizError):
    """A checkpoint file is broken, hostile, too new or of another architecture."""


# The last words of every refusal that the user's trust would lift (a program's code, an edited
# StyleGAN pickle): the window asks for trust on these, and on nothing a file could write.
TRUST_ADVICE = "(--trust on the command line)"


class MissingPackageError(GanvizError):
    """An optional package a feature needs is not installed; the message says how to add it."""


class DeviceError(GanvizError):
    """The requested compute device does not exist on this machine."""


class TrainingStopped(GanvizError):
    """Training cannot go on (e.g. repeated non-finite losses); the reason is the message."""
