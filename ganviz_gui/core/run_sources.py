"""Sources of runs: each says once what its run is, and, polled, what is new in it.

The window feeds every source into the `Workspace` the same way (`show_run(source.describe())`,
then `extend(source.poll())` as often as the source grows), so a new kind of source (a folder
another process writes, a TensorBoard log) is a class here and touches no panel.

- `TrainerSource`: the run the built-in trainer trains; its updates are pushed in as they
  arrive from the training thread.
- `RunFolderSource`: a GANViz run folder on disk. Its JSONL files are read incrementally (only
  the bytes appended since the last poll), and its checkpoint list is read anew at each poll,
  so checkpoints that appear are offered and ones rotated away disappear.

Whoever wrote a folder, what reaches the workspace is well-typed: a file that is not a regular
one (a FIFO would block, /dev/zero never end) is left out, a line longer than a read is
skipped, and each record is checked (`record_columns`, `clean_event`,
`stats_records.clean_stats_record`); what was left out is counted and named by `notes()`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ganviz_gui.core.config import TrainingConfig, read_json_file
from ganviz_gui.core.errors import ConfigError, DataError
from ganviz_gui.core.record_columns import (
    MAX_STEP,
    RecordColumns,
    is_small_json,
    parse_jsonl,
    record_step,
)
from ganviz_gui.core.regular_files import open_regular
from ganviz_gui.core.run_folder import (
    list_checkpoints,
    list_sample_pictures,
    logged_by_run,
)
from ganviz_gui.core.stats_records import clean_stats_record
from ganviz_gui.core.workspace import RunDelta, RunInfo

if TYPE_CHECKING:
    from ganviz_gui.core.generator_files import GeneratorFile
    from ganviz_gui.core.live_loop import RunStarted, TrainingUpdate

CHECKPOINT_LIST_SECONDS = 1.0  # a live run's checkpoint folder is listed at most this often
DELTA_FIELDS = {"metrics": "records", "events": "events", "network_stats": "stats"}  # file: field
READ_BYTES = 4 << 20  # a poll reads at most this much of each file (about 1.5 x 10^4 records)


class RunSource(Protocol):
    run_dir: Path  # where the run lives (its folder, or the log's)

    def describe(self) -> RunInfo:
        """What the run is: its name, folder, settings, sample shape, fixed noise."""
        ...

    def poll(self) -> RunDelta:
        """What is new since the last poll (the first poll returns everything so far)."""
        ...

    def poll_all(self) -> RunDelta:
        """What is new, however much: a source that reads in pieces reads them all."""
        ...


class JsonlTail:
    """The complete lines appended to a JSONL file since the last read.

    A partial last line (a writer mid-append) waits for the next read; a damaged line is
    skipped and counted, and so is a line longer than a read (passed over a read at a time,
    never parsed). A file that got shorter was rewritten (a resumed run moves later records
    aside): the next read starts again from its beginning and says so. A read takes at most
    `max_bytes`, so a long file is read in pieces a view can show as they come. A path that
    is not a regular file (a pipe, a device) is never read: `problem` says why.
    """

    def __init__(self, path: Path, max_bytes: int | None = None):
        self.path = path
        self.offset = 0
        self.max_bytes = max_bytes or READ_BYTES
        self.damaged = 0  # lines skipped so far
        self.more = False  # the last read stopped before the end of the file
        self.size = 0  # of the file at the last read
        self.read_bytes = 0  # of the last read
        self.problem: str | None = None  # why the file cannot be read, if it cannot
        self._in_long_line = False  # the last read ended inside a line longer than a read

    def read_new(self) -> tuple[list[dict[str, Any]], bool]:
        """(new records, restarted)."""
        self.more = False
        try:
            handle = open_regular(self.path)
        except DataError as exc:
            # Not there (yet) is no problem; a pipe, a device or an unreadable file is.
            self.problem = str(exc) if os.path.lexists(self.path) else None
            return [], False
        self.problem = None
        with handle:
            size = os.fstat(handle.fileno()).st_size
            restarted = size < self.offset
            if restarted:
                self.offset, self._in_long_line = 0, False
            if size == self.offset:
                return [], restarted
            handle.seek(self.offset)
            data = handle.read(min(size - self.offset, self.max_bytes))
        read_to_end = self.offset + len(data) >= size
        if self._in_long_line:  # its rest, up to its end, is passed over unparsed
            cut = data.find(b"\n")
            if cut < 0:
                return self._passed_over(len(data), size), restarted
            self._in_long_line = False
            self.damaged += 1
            self.offset += cut + 1
            data = data[cut + 1 :]
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) == self.max_bytes:  # one line longer than a read: damaged, skipped
                self._in_long_line = True
                return self._passed_over(len(data), size), restarted
            self.more = not read_to_end  # a line begun: whole at the next read
            return [], restarted
        self.offset += end + 1
        self.more = self.offset < size
        self.size, self.read_bytes = size, end + 1
        records, damaged = parse_jsonl(data[:end])
        self.damaged += damaged
        return records, restarted

    def rewind(self) -> None:
        """Read the file again from its beginning at the next read."""
        self.offset, self.damaged, self._in_long_line = 0, 0, False

    def _passed_over(self, length: int, size: int) -> list[dict[str, Any]]:
        self.offset += length
        self.more = self.offset < size
        self.size, self.read_bytes = size, length
        return []


class RunFolderSource:
    """A run folder: its curves, events, layer statistics, sample pictures and checkpoints,
    whoever writes it (GANViz's trainer, `ganviz_gui.Run` in someone's own loop, another
    process or machine). Nothing but the files is needed: a run without checkpoints shows its
    curves and pictures."""

    def __init__(self, run_dir: str | Path, generator: GeneratorFile | None = None):
        self.run_dir = Path(run_dir)
        self.generator = generator  # a checkpoint of the run already read, if any
        self._tails = {name: JsonlTail(self.run_dir / f"{name}.jsonl") for name in DELTA_FIELDS}
        self._checkpoints: list[tuple[int, Path]] | None = None
        self._pictures: list[tuple[int, Path]] | None = None
        self._data: dict[str, Any] = {}  # the `started` event's description of the data
        self.writing: bool | None = None  # started and not closed yet (None: no events)
        self.ended: dict[str, Any] | None = None  # the newest `closed` event
        self._skipped = dict.fromkeys(DELTA_FIELDS, 0)  # records of the wrong shape, by file
        self._dropped = dict.fromkeys(DELTA_FIELDS, 0)  # values of the wrong type or size
        self._config_read = False
        self._config_found: TrainingConfig | None = None
        self._config_problem: str | None = None  # why config.json's settings are not used

    @property
    def more(self) -> bool:
        """The last poll stopped before the end of a file: poll again at once."""
        return any(tail.more for tail in self._tails.values())

    @property
    def damaged_lines(self) -> int:
        return sum(tail.damaged for tail in self._tails.values())

    @property
    def skipped(self) -> int:
        """Lines, records and values left out so far, in all (`notes()` says which)."""
        lines = self.damaged_lines
        return lines + sum(self._skipped.values()) + sum(self._dropped.values())

    def problem_of(self, name: str) -> str | None:
        """Why a file of the run ("metrics", "events", "network_stats") cannot be read at all
        (not a regular file, unreadable), if it cannot."""
        return self._tails[name].problem

    def notes(self) -> list[str]:
        """One line per file of the run that was left out, or whose damaged lines, records or
        values were skipped: for the window's status bar and `ganviz diagnose`."""
        notes = []
        if self._config_problem is not None:
            notes.append(f"{self._config_problem}; its settings are not used")
        for name, tail in self._tails.items():
            if tail.problem is not None:
                notes.append(f"{tail.problem}; left out")
                continue
            parts = []
            if tail.damaged:
                parts.append(_count(tail.damaged, "damaged line"))
            if self._skipped[name]:
                parts.append(
                    _count(self._skipped[name], "record")
                    + f" without a step from 0 to {MAX_STEP:,} or of the wrong shape"
                )
            if self._dropped[name]:
                parts.append(_count(self._dropped[name], "value") + " of the wrong type or size")
            if parts:
                notes.append(f"{tail.path}: skipped {', '.join(parts)}")
        return notes

    def skip_to_end(self) -> None:
        """Poll only what is written from now on (the window already holds the rest)."""
        for tail in self._tails.values():
            try:
                size = tail.path.stat().st_size
            except OSError:
                size = 0
            tail.offset = size
        self._checkpoints = list_checkpoints(self.run_dir)
        self._pictures = list_sample_pictures(self.run_dir)

    def describe(self) -> RunInfo:
        config = self._config()
        noise = self.generator.fixed_noise if self.generator is not None else None
        if self.generator is not None:
            sample_shape = tuple(self.generator.sample_shape)
        elif config is not None and config.is_2d:
            sample_shape = (2,)
        else:
            sample_shape = _shape_of(self._data)
        return RunInfo(
            source="folder",
            name=self.run_dir.name,
            run_dir=self.run_dir,
            config=config,
            is_image=len(sample_shape) != 1,
            sample_shape=sample_shape,
            fixed_noise=noise.numpy() if noise is not None else None,
        )

    def _config(self) -> TrainingConfig | None:
        """GANViz's settings, where the run has them (a folder `Run` writes holds the user's
        own config instead). config.json is read once, even where a checkpoint holds the
        settings: one that cannot be read is noted."""
        if not self._config_read:
            self._config_found, self._config_problem = self._read_config()
            # Read again while there is none: a writer may start with its records.
            self._config_read = (self.run_dir / "config.json").exists()
        if self.generator is not None and self.generator.config is not None:
            return self.generator.config
        return self._config_found

    def _read_config(self) -> tuple[TrainingConfig | None, str | None]:
        path = self.run_dir / "config.json"
        if not os.path.lexists(path) or logged_by_run(self.run_dir):
            return None, None  # whatever its keys, the user's config is no TrainingConfig
        try:
            return TrainingConfig.from_dict(read_json_file(path), source=str(path)), None
        except ConfigError as exc:  # names the file: not JSON, too deep, not a regular file
            return None, str(exc)
        except (TypeError, ValueError, OverflowError) as exc:
            return None, f"{path}: unreadable settings ({exc})"

    def poll(self) -> RunDelta:
        self._config()  # read off the window's thread, where polls run; noted if it is bad
        records = RecordColumns()
        delta = RunDelta(records=records)
        restarted = False
        for name, tail in self._tails.items():
            found, again = tail.read_new()
            restarted = restarted or again
            if name == "metrics":
                if tail.more and tail.offset == tail.read_bytes:  # the first piece of a long file
                    records.reserve(round(len(found) * tail.size / tail.read_bytes * 1.02))
                records.append(found)
            else:
                self._take(name, found, getattr(delta, DELTA_FIELDS[name]))
        self._skipped["metrics"] += records.skipped
        self._dropped["metrics"] += records.dropped
        if restarted:
            # One of the files was rewritten: read all three from the start, together.
            for tail in self._tails.values():
                tail.rewind()
            self._skipped = dict.fromkeys(DELTA_FIELDS, 0)
            self._dropped = dict.fromkeys(DELTA_FIELDS, 0)
            self.writing, self.ended = None, None
            delta = self.poll()
            delta.restarted = True
            return delta
        self._note_events(delta.events)
        checkpoints = list_checkpoints(self.run_dir)
        if checkpoints != self._checkpoints:
            self._checkpoints = checkpoints
            delta.checkpoints = checkpoints
        pictures = list_sample_pictures(self.run_dir)
        if pictures != self._pictures:
            self._pictures = pictures
            delta.pictures = list(pictures)
        return delta

    def poll_all(self) -> RunDelta:
        """Everything new, however long the files (a poll reads each in pieces)."""
        delta = self.poll()
        while self.more:
            more = self.poll()
            assert isinstance(delta.records, RecordColumns)
            delta.records.append(more.records)
            delta.events.extend(more.events)
            delta.stats.extend(more.stats)
            delta.checkpoints = more.checkpoints or delta.checkpoints
            delta.pictures = more.pictures or delta.pictures
            delta.restarted = delta.restarted or more.restarted
        return delta

    def _take(self, name: str, found: list[Any], into: list[dict[str, Any]]) -> None:
        """Events or layer statistics as the views read them; the rest counted."""
        clean = clean_event if name == "events" else clean_stats_record
        for record in found:
            cleaned, dropped = clean(record)
            self._dropped[name] += dropped
            if cleaned is None:
                self._skipped[name] += 1
            else:
                into.append(cleaned)

    def _note_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("kind")
            if kind in ("started", "resumed"):
                self.writing, self.ended = True, None
                if isinstance(event.get("data"), dict):
                    self._data = event["data"]
            elif kind == "closed":
                self.writing, self.ended = False, event


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


# Documented fields of events (docs/run-folder.md) and the kind of value each holds: a value of
# another kind is dropped. Any other field is kept if it is small plain JSON.
_EVENT_FIELDS: dict[str, Callable[[Any], bool]] = {
    **dict.fromkeys(
        ("time", "lr_g", "lr_d", "accuracy", "seconds"),
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    ),
    **dict.fromkeys(
        (
            "kind",
            "reason",
            "network",
            "loss",
            "device",
            "writer",
            "backend",
            "app_version",
            "torch_version",
        ),
        lambda v: isinstance(v, str) and len(v) <= 1000,
    ),
    **dict.fromkeys(
        ("recovery", "refused_updates", "world_size", "d_steps"),
        lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_STEP,
    ),
    "restored_step": lambda v: record_step(v) is not None,
    "data": lambda v: isinstance(v, dict) and is_small_json(v, items=100_000),
}


def clean_event(event: Any) -> tuple[dict[str, Any] | None, int]:
    """An events.jsonl record as the views read it: (the event, or None when it has no step
    from 0 to MAX_STEP or a kind that is not a short text; how many of its fields were
    dropped as of the wrong type). A kept event has an int `step`; its documented fields
    (`kind` among them, where it has one) have their types."""
    if not isinstance(event, dict):
        return None, 0
    step, kind = record_step(event.get("step")), event.get("kind", "")
    if step is None or not isinstance(kind, str) or len(kind) > 100:
        return None, 0
    cleaned: dict[str, Any] = {}
    dropped = 0
    for key, value in event.items():
        check = _EVENT_FIELDS.get(key)
        if key == "step":
            cleaned[key] = step
        elif check(value) if check is not None else is_small_json(value):
            cleaned[key] = value
        else:
            dropped += 1
    return cleaned, dropped


def _shape_of(data: dict[str, Any]) -> tuple[int, ...]:
    shape = data.get("sample_shape")
    if isinstance(shape, list) and all(isinstance(n, int) and n > 0 for n in shape):
        return tuple(shape)
    return ()


class TrainerSource:
    """The run the built-in trainer is training: updates are pushed in from its thread's
    signals, and its checkpoint folder is listed as it rotates (at most once a second)."""

    def __init__(self, started: RunStarted, clock: Callable[[], float] = time.monotonic):
        self.started = started
        self.run_dir = Path(started.run_dir)
        self._pending = RunDelta()
        self._checkpoints: list[tuple[int, Path]] | None = None
        self._listed_at = -float("inf")
        self._clock = clock

    def describe(self) -> RunInfo:
        started = self.started
        return RunInfo(
            source="trainer",
            name=self.run_dir.name,
            run_dir=self.run_dir,
            config=TrainingConfig.from_dict(started.config),
            is_image=started.is_image,
            sample_shape=tuple(started.sample_shape),
            fixed_noise=started.fixed_noise,
            device=started.device,
            threads=started.threads,
        )

    def push(self, update: TrainingUpdate) -> None:
        assert isinstance(self._pending.records, list)  # pushed records are dicts
        self._pending.records.extend(update.records)
        self._pending.events.extend(update.events)
        self._pending.stats.extend(update.stats)

    def poll_all(self) -> RunDelta:
        return self.poll()

    def checkpoint_written(self) -> None:
        """A checkpoint was saved: list the folder at the next poll."""
        self._listed_at = -float("inf")

    def poll(self) -> RunDelta:
        delta, self._pending = self._pending, RunDelta()
        now = self._clock()
        if now - self._listed_at >= CHECKPOINT_LIST_SECONDS:
            self._listed_at = now
            checkpoints = list_checkpoints(self.run_dir)
            if checkpoints != self._checkpoints:
                self._checkpoints = checkpoints
                delta.checkpoints = checkpoints
        return delta
