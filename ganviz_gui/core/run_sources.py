"""Sources of runs: each says once what its run is, and, polled, what is new in it.

The window feeds every source into the `Workspace` the same way (`show_run(source.describe())`,
then `extend(source.poll())` as often as the source grows), so a new kind of source (a folder
another process writes, a TensorBoard log) is a class here and touches no panel.

- `TrainerSource`: the run the built-in trainer trains; its updates are pushed in as they
  arrive from the training thread.
- `RunFolderSource`: a GANViz run folder on disk. Its JSONL files are read incrementally (only
  the bytes appended since the last poll), and its checkpoint list is read anew at each poll,
  so checkpoints that appear are offered and ones rotated away disappear.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.errors import ConfigError
from ganviz_gui.core.record_columns import RecordColumns, parse_jsonl
from ganviz_gui.core.run_folder import list_checkpoints, list_sample_pictures, logged_by_run
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
    skipped and counted. A file that got shorter was rewritten (a resumed run moves later
    records aside): the next read starts again from its beginning and says so. A read takes
    at most `max_bytes`, so a long file is read in pieces a view can show as they come.
    """

    def __init__(self, path: Path, max_bytes: int | None = None):
        self.path = path
        self.offset = 0
        self.max_bytes = max_bytes or READ_BYTES
        self.damaged = 0  # lines skipped so far
        self.more = False  # the last read stopped before the end of the file
        self.size = 0  # of the file at the last read
        self.read_bytes = 0  # of the last read

    def read_new(self) -> tuple[list[dict[str, Any]], bool]:
        """(new records, restarted)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return [], False
        restarted = size < self.offset
        if restarted:
            self.offset = 0
        self.more = False
        if size == self.offset:
            return [], restarted
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(min(size - self.offset, self.max_bytes))
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) < self.max_bytes:
                return [], restarted  # not one whole line yet
            end = len(data) - 1  # one line longer than a read: damaged, skipped
            data = data[:end] + b"\n"
        self.offset += end + 1
        self.more = self.offset < size
        self.size, self.read_bytes = size, end + 1
        records, damaged = parse_jsonl(data[:end])
        self.damaged += damaged
        return records, restarted


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

    @property
    def more(self) -> bool:
        """The last poll stopped before the end of a file: poll again at once."""
        return any(tail.more for tail in self._tails.values())

    @property
    def damaged_lines(self) -> int:
        return sum(tail.damaged for tail in self._tails.values())

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
        own config instead)."""
        if self.generator is not None and self.generator.config is not None:
            return self.generator.config
        if logged_by_run(self.run_dir):
            return None  # whatever its keys, the user's config is no TrainingConfig
        try:
            data = json.loads((self.run_dir / "config.json").read_text(encoding="utf-8"))
            return TrainingConfig.from_dict(data, source=str(self.run_dir / "config.json"))
        except (OSError, json.JSONDecodeError, ConfigError, TypeError, ValueError):
            return None

    def poll(self) -> RunDelta:
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
                getattr(delta, DELTA_FIELDS[name]).extend(found)
        if restarted:
            # One of the files was rewritten: read all three from the start, together.
            for tail in self._tails.values():
                tail.offset = 0
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

    def _note_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("kind")
            if kind in ("started", "resumed"):
                self.writing, self.ended = True, None
                if isinstance(event.get("data"), dict):
                    self._data = event["data"]
            elif kind == "closed":
                self.writing, self.ended = False, event


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
