"""What a file's first bytes say, gathered once for every format's sniffer.

For a torch zip (torch.save since 1.6) the pickle inside (`*/data.pkl`) is small, its tensors
are separate members, so its opcodes are scanned whole: the short strings it holds (dict keys such as "g_ema" or "pytorch-lightning_version") tell the
formats apart without unpickling anything.
"""

from __future__ import annotations

import os
import pickletools
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ganviz_gui.core.errors import CheckpointError

HEAD_BYTES = 64 * 1024
SCANNED_PICKLE_BYTES = 16 * 1024**2  # a data.pkl larger than this is not scanned
SCANNED_STRINGS = 20_000
ZIP_MAGIC = b"PK\x03\x04"
# torch.save's legacy (pre-1.6) format starts with a pickled magic number.
LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."


@dataclass
class FileHead:
    path: Path
    is_folder: bool = False
    folder_names: frozenset[str] = frozenset()  # a folder's entries
    head: bytes = b""  # a file's first HEAD_BYTES
    size: int = 0
    zip_members: list[str] | None = None  # None: not a readable zip
    pickle_strings: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_zip(self) -> bool:
        return self.zip_members is not None

    @property
    def is_torch_zip(self) -> bool:
        return self.zip_members is not None and any(
            name.endswith("/data.pkl") for name in self.zip_members
        )

    @property
    def is_damaged_zip(self) -> bool:
        """Starts as a zip but its directory is unreadable (a cut download, a partial copy)."""
        return self.zip_members is None and self.head.startswith(ZIP_MAGIC)

    @property
    def is_pickle(self) -> bool:
        """A bare pickle (protocol 2 or later), as torch.save's legacy format also starts."""
        return not self.is_folder and self.head[:1] == b"\x80"

    @property
    def is_legacy_torch(self) -> bool:
        return self.head.startswith(LEGACY_TORCH_MAGIC)

    def has_member(self, suffix: str) -> bool:
        return self.zip_members is not None and any(n.endswith(suffix) for n in self.zip_members)

    def what(self) -> str:
        """How the content looks, for a refusal."""
        if self.is_folder:
            return "a folder"
        if self.is_torch_zip or self.is_legacy_torch:
            return "a PyTorch file"
        if self.is_zip:
            return "a zip archive"
        if self.is_damaged_zip:
            return "a damaged zip archive (a truncated PyTorch file?)"
        if self.head[:1] == b"\x80":
            return "a Python pickle"
        return "a file of unknown content" if self.head else "an empty file"


def read_head(path: Path) -> FileHead:
    try:
        info = path.stat()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        try:
            names = frozenset(entry.name for entry in os.scandir(path))
        except OSError as exc:
            raise CheckpointError(f"{path}: cannot list ({exc.strerror or exc})") from None
        return FileHead(path, is_folder=True, folder_names=names)
    if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
        raise CheckpointError(f"{path}: not a regular file (a pipe, socket or device)")
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    found = FileHead(path, head=head, size=info.st_size)
    if head.startswith(ZIP_MAGIC):
        _scan_zip(found)
    elif head[:1] == b"\x80":
        found.pickle_strings = _scan_pickle(head)
    return found


def _scan_zip(found: FileHead) -> None:
    try:
        with zipfile.ZipFile(found.path) as archive:
            found.zip_members = archive.namelist()
            pickles = [i for i in archive.infolist() if i.filename.endswith("/data.pkl")]
            # torch.save stores members uncompressed: a compressed one is not inflated here
            # (its declared size can lie; the torch reader refuses it).
            if (
                len(pickles) == 1
                and pickles[0].compress_type == zipfile.ZIP_STORED
                and pickles[0].compress_size <= SCANNED_PICKLE_BYTES
            ):
                data = archive.read(pickles[0])
                found.pickle_strings = _scan_pickle(data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return  # damaged: the reader that opens it says so


def _scan_pickle(data: bytes) -> frozenset[str]:
    """The short strings a pickle holds (its dict keys among them), from its opcodes: nothing
    is run. A truncated pickle (a file's head) gives what precedes the cut."""
    strings: list[str] = []
    try:
        for opcode, argument, _ in pickletools.genops(data):
            if isinstance(argument, str) and "UNICODE" in opcode.name and len(argument) <= 200:
                strings.append(argument)
                if len(strings) >= SCANNED_STRINGS:
                    break
    except Exception:  # pickletools raises many kinds of error where the bytes are cut
        pass
    return frozenset(strings)
