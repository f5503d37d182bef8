"""TensorBoard logs as runs: their scalars become curves, their images the sample history.

A log is a folder of event files (`events.out.tfevents.<time>.<host>.<pid>.<n>`), each a
sequence of TFRecords (a little-endian u64 length, its masked CRC-32C, the serialized `Event`,
that one's masked CRC-32C) as `torch.utils.tensorboard.SummaryWriter`, Lightning's
`TensorBoardLogger` and TensorFlow write them. They are read with the `tensorboard` package's
own reader (an optional dependency: `pip install "ganviz[tensorboard]"`), which keeps its
place in each file: a poll reads only what was appended since the last one, and a record cut
off by a writer mid-append is read whole at the next poll.

Which folder is the run:
- A folder with event files in it is one run. Its subfolders' event files belong to it:
  `SummaryWriter.add_scalars("Loss", {"D": ..., "G": ...})` writes each curve into a subfolder
  (`Loss_D/`, tag `Loss`), read back as the tag `Loss/D`; other subfolders' tags are prefixed
  with the subfolder (`extra/acc`).
- A folder without event files of its own is searched (up to `SEARCH_DEPTH` folders down, as
  in `project/lightning_logs/version_0/`) for such folders; opening it opens the newest of the
  runs found (by its event files' modification time), and `describe()` names it "version_1
  (newest of 2 runs in lightning_logs)". `find_runs` lists them all, to offer a choice.
- An event file opens the folder it lies in.

The event files of a run are read in the order of the time in their names (a writer restarted
in the same folder starts a new file), and files that appear while it is followed are read too.

Whoever wrote the log, reading it has a bounded cost: an event file that is not a regular file
(a FIFO would block the reader, /dev/zero never end) is never opened, a record that declares
more bytes than memory holds stops the reading of its file, and points and pictures at a step
that is not a whole number from 0 to MAX_STEP are left out; `notes()` names all of them.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import time
from array import array
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

from ganviz_gui.core.errors import DataError, MissingPackageError
from ganviz_gui.core.record_columns import MAX_STEP
from ganviz_gui.core.regular_files import NOT_REGULAR, is_regular_file, open_regular
from ganviz_gui.core.tag_mapping import TagMapping, TagRow, mapping_rows
from ganviz_gui.core.workspace import RunDelta, RunInfo

EVENT_FILE_PREFIX = "events.out.tfevents."
SEARCH_DEPTH = 3  # folders below the opened one searched for runs: project/lightning_logs/version_0
CHILD_DEPTH = 2  # folders below a run whose event files are its own (add_scalars writes one)
MAX_FOLDERS = 2000  # a search stops after this many folders (a home folder opened by mistake)
MAX_FIRST_RECORD = 1 << 20  # a log's first record is its small file_version event
INSTALL_HINT = 'pip install "ganviz[tensorboard]"'

# ---------------------------------------------------------------------- the record framing
_CRC32C_POLYNOMIAL = 0x82F63B78  # Castagnoli, bit-reversed
_MASK_DELTA = 0xA282EAD8  # TFRecord's mask, so a CRC of CRCs does not look like one


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (_CRC32C_POLYNOMIAL if crc & 1 else 0)
        table.append(crc)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def has_record_framing(path: str | Path) -> bool:
    """The file starts with one whole TFRecord whose two checksums hold (a file that is not a
    regular one is never opened: it does not)."""
    try:
        with open_regular(path) as handle:
            header = handle.read(12)
            if len(header) < 12:
                return False
            length, header_crc = struct.unpack("<QI", header)
            if masked_crc32c(header[:8]) != header_crc or length > MAX_FIRST_RECORD:
                return False
            body = handle.read(length + 4)
    except (OSError, DataError):
        return False
    if len(body) < length + 4:
        return False
    return masked_crc32c(body[:length]) == struct.unpack("<I", body[length:])[0]


# ---------------------------------------------------------------------- finding logs
def is_event_file(path: str | Path) -> bool:
    """Named as TensorBoard names event files, and framed as they are."""
    path = Path(path)
    return path.name.startswith(EVENT_FILE_PREFIX) and path.is_file() and has_record_framing(path)


def is_tensorboard_log(path: str | Path) -> bool:
    """An event file, or a folder with event files in it or in its subfolders."""
    return next(_runs_under(Path(path)), None) is not None


def find_runs(path: str | Path) -> list[Path]:
    """The runs of a log: the outermost folders at or under `path` holding event files."""
    return list(_runs_under(Path(path)))


def _runs_under(path: Path) -> Iterator[Path]:
    if path.is_file():
        if is_event_file(path):
            yield path.parent
        return
    budget = [MAX_FOLDERS]

    def visit(folder: Path, depth: int) -> Iterator[Path]:
        budget[0] -= 1
        if budget[0] < 0:
            return
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            return
        if any(_is_event_entry(entry) for entry in entries):
            yield folder
            return  # its subfolders are part of it (add_scalars), not runs of their own
        if depth >= SEARCH_DEPTH:
            return
        for entry in entries:
            if not entry.name.startswith(".") and _is_folder(entry):
                yield from visit(Path(entry.path), depth + 1)

    yield from visit(path, 0)


def _is_event_entry(entry: os.DirEntry) -> bool:
    try:
        is_file = entry.is_file()
    except OSError:
        return False
    return is_file and entry.name.startswith(EVENT_FILE_PREFIX) and has_record_framing(entry.path)


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def event_files(run_dir: str | Path, left_out: list[Path] | None = None) -> list[Path]:
    """The event files of a run, its subfolders' included, in reading order: by folder, then
    by the time and count in their names (a restarted writer's new file after the old one).
    Only regular files (symlinks followed): the others, named as event files, are added to
    `left_out` when it is given."""
    run_dir = Path(run_dir)
    found: list[Path] = []

    def visit(folder: Path, depth: int) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(EVENT_FILE_PREFIX) and not _is_folder(entry):
                if is_regular_file(entry.path):
                    found.append(Path(entry.path))
                elif left_out is not None:
                    left_out.append(Path(entry.path))
            elif depth < CHILD_DEPTH and not entry.name.startswith(".") and _is_folder(entry):
                visit(Path(entry.path), depth + 1)

    visit(run_dir, 0)
    return sorted(found, key=lambda path: _reading_order(run_dir, path))


def _reading_order(run_dir: Path, path: Path) -> tuple[tuple[str, ...], list[int | str]]:
    # Numbers compared as numbers: the time first, and a writer's count after it (".9" < ".10").
    name = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]
    return path.parent.relative_to(run_dir).parts, name


def newest_run(runs: list[Path]) -> Path:
    """The run whose event files were written to last."""

    def last_written(run: Path) -> float:
        times = []
        for path in event_files(run):
            with contextlib.suppress(OSError):  # gone since listed
                times.append(path.stat().st_mtime)
        return max(times, default=0.0)

    return max(runs, key=last_written)


def _tag_name(child: str, tag: str) -> str:
    """A tag of a file in subfolder `child` of the run, named as the run's own tags are."""
    if not child:
        return tag
    flat = tag.replace("/", "_") + "_"
    if "/" not in child and child.startswith(flat) and len(child) > len(flat):
        return (
            f"{tag}/{child[len(flat) :]}"  # add_scalars("Loss", {"D": x}) wrote Loss_D/, tag Loss
        )
    return f"{child}/{tag}"


# ---------------------------------------------------------------------- reading
def _event_reader(path: Path) -> tuple[Any, Any, tuple[type[BaseException], ...]]:
    """tensorboard's event-file loader class, its tensor decoder and the errors its reader
    raises, or a MissingPackageError that says how to install it.

    The legacy loader yields the events as written; `EventFileLoader` passes each through
    compatibility layers that rewrite old-style summaries into tensors, which took 3.5 times
    as long on 400,000 scalars (14.6 s against 4.1 s): old and new styles are read here.
    """
    try:
        from tensorboard.backend.event_processing.event_file_loader import (  # type: ignore[import-untyped]
            LegacyEventFileLoader,
        )
        from tensorboard.compat import tf  # type: ignore[import-untyped]
        from tensorboard.util.tensor_util import make_ndarray  # type: ignore[import-untyped]
    except ImportError:
        raise MissingPackageError(
            f"{path}: reading TensorBoard logs needs the tensorboard package: {INSTALL_HINT}"
        ) from None
    return LegacyEventFileLoader, make_ndarray, (OSError, tf.errors.OpError)


class _Scalars:
    """One tag's points as read, kept so a new mapping re-maps them without reading again."""

    def __init__(self) -> None:
        self.steps = array("q")
        self.times = array("d")
        self.values = array("d")


class _EventFile:
    """A file being read: tensorboard's loader keeps its place in it."""

    def __init__(self, child: str, loader: Any):
        self.child = child  # its folder relative to the run ("" for the run's own files)
        self.loader = loader


WRITING_SECONDS = 300  # a log appended to this recently is taken as being written


class TensorBoardSource:
    """A TensorBoard log followed as a run: each poll reads what its writers appended.

    Records are one per step, holding each tag's value under its mapped key and the event's
    `time`; values read for a step in a later poll come in a record of their own. Pictures are
    every image logged under the chosen tag (TensorBoard's own view keeps ten), encoded as
    they were logged.
    """

    def __init__(self, path: str | Path, tag_map: TagMapping | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"{self.path}: no such file or folder")
        self.runs = find_runs(self.path)
        if not self.runs:
            raise DataError(
                f"{self.path}: not a TensorBoard log (no {EVENT_FILE_PREFIX}* files in it)"
            )
        self.run_dir = self.runs[0] if len(self.runs) == 1 else newest_run(self.runs)
        self._loader_class, self._make_ndarray, self._read_errors = _event_reader(self.path)
        self.mapping = tag_map if tag_map is not None else TagMapping()
        self._files: dict[Path, _EventFile] = {}
        self._scalars: dict[str, _Scalars] = {}  # by tag, in the order tags first appeared
        self._images: dict[str, list[tuple[int, bytes]]] = {}
        self._image_sizes: dict[str, tuple[int, int]] = {}  # (height, width) of the first one
        self._plugins: dict[tuple[str, str], str] = {}  # (child, raw tag): its summary plugin
        self._tag_names: dict[tuple[str, str], str] = {}
        self._sent: dict[str, int] = {}  # points of each tag already returned by poll
        self._pictures_sent: tuple[str | None, int] | None = None
        self._restart = False
        self._read_any = False
        self._left_out: dict[Path, str] = {}  # event files not read, and why
        self._skipped_points = 0  # points and pictures at a step that cannot be placed

    # ------------------------------------------------------------------ RunSource
    def describe(self) -> RunInfo:
        if not self._read_any:
            self._read_new()  # the first picture's size; the next poll returns what was read
        name = self.run_dir.name or str(self.run_dir)
        if len(self.runs) > 1:
            name = f"{name} (newest of {len(self.runs)} runs in {self.path.name})"
        return RunInfo(
            source="tensorboard",
            name=name,
            run_dir=self.run_dir,
            config=None,
            is_image=True,
            sample_shape=self._picture_shape(),
        )

    def poll(self) -> RunDelta:
        self._read_new()
        delta = RunDelta(records=self._new_records(), restarted=self._restart)
        tag = self.picture_tag
        pictures = (tag, len(self._images.get(tag, ())) if tag is not None else 0)
        if pictures != self._pictures_sent and (tag is not None or self._restart):
            delta.pictures = list(self._images.get(tag, ())) if tag is not None else []
        self._pictures_sent = pictures
        self._restart = False
        return delta

    def poll_all(self) -> RunDelta:
        """A poll reads all that was appended (the loader keeps its place in each file)."""
        return self.poll()

    def set_mapping(self, mapping: TagMapping) -> None:
        """Map the tags anew: the next poll restarts the run with every point re-mapped."""
        self.mapping = mapping
        self._sent = {}
        self._pictures_sent = None
        self._restart = True

    @property
    def writing(self) -> bool:
        """A writer appended within the last WRITING_SECONDS (a log has no end marker, and
        SummaryWriter flushes only every 120 s): shown as followed, at its newest."""
        newest = max((path.stat().st_mtime for path in self._files if path.exists()), default=0)
        return time.time() - newest < WRITING_SECONDS

    @property
    def skipped(self) -> int:
        """Files, points and pictures left out so far (`notes()` says which)."""
        return len(self._left_out) + self._skipped_points

    def notes(self) -> list[str]:
        """One line per event file left out, and one for the points and pictures skipped:
        for the window's status bar and `ganviz info`."""
        notes = [f"{path}: {why}; left out" for path, why in self._left_out.items()]
        if self._skipped_points:
            notes.append(
                f"{self.run_dir}: skipped {self._skipped_points:,} points or pictures at a step "
                f"that is not a whole number from 0 to {MAX_STEP:,}"
            )
        return notes

    # ------------------------------------------------------------------ what the log holds
    def scalar_tags(self) -> list[str]:
        """The scalar tags read so far, in the order they first appeared."""
        return list(self._scalars)

    def image_counts(self) -> dict[str, int]:
        """Pictures read so far, per image tag."""
        return {tag: len(pictures) for tag, pictures in self._images.items()}

    @property
    def picture_tag(self) -> str | None:
        """The image tag shown as the sample history (the mapping chooses it)."""
        return self.mapping.choose_picture_tag(self.image_counts())

    def tag_rows(self) -> list[TagRow]:
        """The mapping of this log's scalar tags, for the user to read and correct."""
        return mapping_rows(self.mapping, self._scalars)

    def summary(self) -> dict[str, Any]:
        """What the log holds, read to its end (for `ganviz info`)."""
        self._read_new()
        steps: set[int] = set()
        for scalars in self._scalars.values():
            steps.update(scalars.steps)
        keys = self.mapping.record_keys(self._scalars)
        return {
            "log": str(self.run_dir),
            "notes": self.notes(),
            "runs": [str(run) for run in self.runs],
            "event_files": [str(path.relative_to(self.run_dir)) for path in self._files],
            "steps": len(steps),
            "first_step": min(steps, default=None),
            "last_step": max(steps, default=None),
            "scalar_tags": {tag: keys[tag] for tag in self._scalars},
            "image_tags": self.image_counts(),
            "picture_tag": self.picture_tag,
        }

    # ------------------------------------------------------------------ reading
    def _read_new(self) -> None:
        self._read_any = True
        left_out: list[Path] = []
        for path in event_files(self.run_dir, left_out):
            if path not in self._files and path not in self._left_out:
                try:
                    loader = self._loader_class(str(path))
                except self._read_errors:
                    continue  # gone again, or not readable yet: tried at the next poll
                child = path.parent.relative_to(self.run_dir).as_posix()
                self._files[path] = _EventFile("" if child == "." else child, loader)
        for path in left_out:
            self._left_out.setdefault(path, NOT_REGULAR)
        for path, event_file in list(self._files.items()):
            if path in self._left_out:
                continue
            if path.exists() and not is_regular_file(path):  # swapped for a pipe since
                self._left_out[path] = NOT_REGULAR
                continue
            try:
                for event in event_file.loader.Load():
                    self._take(event, event_file.child)
            except self._read_errors:
                continue  # the file went away: what was read of it stays
            except MemoryError:  # the reader allocates what a record's length says, first
                self._left_out[path] = "a record declares more bytes than memory holds"

    def _take(self, event: Any, child: str) -> None:
        if not event.HasField("summary"):
            return  # file_version, graph, session log, ...
        for value in event.summary.value:
            kind = value.WhichOneof("value")
            if kind == "simple_value":
                self._add_scalar(child, value.tag, event, value.simple_value)
            elif kind == "image":
                image = value.image
                self._add_image(
                    child,
                    value.tag,
                    event.step,
                    image.encoded_image_string,
                    image.height,
                    image.width,
                )
            elif kind == "tensor":
                self._take_tensor(child, value, event)

    def _take_tensor(self, child: str, value: Any, event: Any) -> None:
        # TF2 writers name a tag's plugin in its first summary only: remember it.
        plugin = value.metadata.plugin_data.plugin_name
        if plugin:
            self._plugins[(child, value.tag)] = plugin
        else:
            plugin = self._plugins.get((child, value.tag), "")
        tensor = value.tensor
        if plugin == "scalars":
            number = self._tensor_scalar(tensor)
            if number is not None:
                self._add_scalar(child, value.tag, event, number)
        elif plugin == "images" and len(tensor.string_val) >= 3:
            # [width, height, picture, ...]: the first picture of the batch
            width, height = tensor.string_val[0], tensor.string_val[1]
            size = (int(height), int(width)) if height.isdigit() and width.isdigit() else (0, 0)
            self._add_image(child, value.tag, event.step, tensor.string_val[2], *size)

    def _tensor_scalar(self, tensor: Any) -> float | None:
        if len(tensor.float_val) == 1:
            return float(tensor.float_val[0])
        if len(tensor.double_val) == 1:
            return float(tensor.double_val[0])
        try:
            number = self._make_ndarray(tensor)
        except (TypeError, ValueError):
            return None
        return float(number.reshape(-1)[0]) if number.size == 1 else None

    def _name(self, child: str, tag: str) -> str:
        name = self._tag_names.get((child, tag))
        if name is None:
            name = self._tag_names[(child, tag)] = _tag_name(child, tag)
        return name

    def _add_scalar(self, child: str, tag: str, event: Any, number: float) -> None:
        if not 0 <= event.step <= MAX_STEP:
            self._skipped_points += 1
            return
        name = self._name(child, tag)
        scalars = self._scalars.get(name)
        if scalars is None:
            scalars = self._scalars[name] = _Scalars()
        scalars.steps.append(event.step)
        scalars.times.append(event.wall_time)
        scalars.values.append(number)

    def _add_image(
        self, child: str, tag: str, step: int, encoded: bytes, height: int, width: int
    ) -> None:
        if not 0 <= step <= MAX_STEP:
            self._skipped_points += 1
            return
        name = self._name(child, tag)
        if name not in self._images:
            self._images[name] = []
            if height > 0 and width > 0:
                self._image_sizes[name] = (height, width)
        self._images[name].append((step, encoded))

    # ------------------------------------------------------------------ deltas
    def _new_records(self) -> list[dict[str, Any]]:
        """The points not returned yet, one record per step, oldest step first."""
        keys = self.mapping.record_keys(self._scalars)
        by_step: dict[int, dict[str, Any]] = {}
        for tag, scalars in self._scalars.items():
            start, key = self._sent.get(tag, 0), keys[tag]
            points = zip(
                scalars.steps[start:], scalars.times[start:], scalars.values[start:], strict=True
            )
            for step, wall_time, number in points:
                record = by_step.get(step)
                if record is None:
                    record = by_step[step] = {"step": step, "time": wall_time}
                record[key] = number
            self._sent[tag] = len(scalars.steps)
        return [by_step[step] for step in sorted(by_step)]

    def _picture_shape(self) -> tuple[int, ...]:
        """(3, height, width) of the sample history's first picture, if there is one."""
        tag = self.picture_tag
        if tag is None:
            return ()
        if tag not in self._image_sizes:
            from PIL import Image, UnidentifiedImageError

            try:
                with Image.open(BytesIO(self._images[tag][0][1])) as picture:
                    width, height = picture.size  # the header only: nothing is decoded
            except (OSError, UnidentifiedImageError):
                return ()
            self._image_sizes[tag] = (height, width)
        return (3, *self._image_sizes[tag])
