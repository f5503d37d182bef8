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
from ganviz_gui.core.run_folder import list_checkpoints
from ganviz_gui.core.workspace import RunDelta, RunInfo

if TYPE_CHECKING:
    from ganviz_gui.core.generator_files import GeneratorFile
    from ganviz_gui.core.live_loop import RunStarted, TrainingUpdate

CHECKPOINT_LIST_SECONDS = 1.0  # a live run's checkpoint folder is listed at most this often
DELTA_FIELDS = {"metrics": "records", "events": "events", "network_stats": "stats"}  # file: field


class RunSource(Protocol):
    def describe(self) -> RunInfo:
        """What the run is: its name, folder, settings, sample shape, fixed noise."""
        ...

    def poll(self) -> RunDelta:
        """What is new since the last poll (the first poll returns everything so far)."""
        ...


class JsonlTail:
    """The complete lines appended to a JSONL file since the last read.

    A partial last line (a writer mid-append) waits for the next read; a damaged line is
    skipped. A file that got shorter was rewritten (a resumed run moves later records
    aside): the next read starts again from its beginning and says so.
    """

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def read_new(self) -> tuple[list[dict[str, Any]], bool]:
        """(new records, restarted)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return [], False
        restarted = size < self.offset
        if restarted:
            self.offset = 0
        if size == self.offset:
            return [], restarted
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(size - self.offset)
        end = data.rfind(b"\n")
        if end < 0:
            return [], restarted  # not one whole line yet
        self.offset += end + 1
        records = []
        for line in data[:end].split(b"\n"):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8", errors="replace"))
            except json.JSONDecodeError:
                continue  # a damaged line: skip it, keep the rest
            if isinstance(record, dict):
                records.append(record)
        return records, restarted


class RunFolderSource:
    """A GANViz run folder: its curves, events, layer statistics and checkpoints."""

    def __init__(self, run_dir: str | Path, generator: GeneratorFile | None = None):
        self.run_dir = Path(run_dir)
        self.generator = generator  # a checkpoint of the run already read, if any
        self._tails = {name: JsonlTail(self.run_dir / f"{name}.jsonl") for name in DELTA_FIELDS}
        self._checkpoints: list[tuple[int, Path]] | None = None

    def skip_to_end(self) -> None:
        """Poll only what is written from now on (the window already holds the rest)."""
        for tail in self._tails.values():
            try:
                size = tail.path.stat().st_size
            except OSError:
                size = 0
            tail.offset = size
        self._checkpoints = list_checkpoints(self.run_dir)

    def describe(self) -> RunInfo:
        config = self._config()
        checkpoint = self.generator.checkpoint if self.generator is not None else None
        noise = checkpoint.state.get("fixed_noise") if checkpoint is not None else None
        if self.generator is not None:
            sample_shape = tuple(self.generator.sample_shape)
        elif config is not None and config.is_2d:
            sample_shape = (2,)
        else:
            sample_shape = ()
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
        if self.generator is not None and self.generator.config is not None:
            return self.generator.config
        try:
            data = json.loads((self.run_dir / "config.json").read_text(encoding="utf-8"))
            return TrainingConfig.from_dict(data, source=str(self.run_dir / "config.json"))
        except (OSError, json.JSONDecodeError, ConfigError, TypeError):
            return None

    def poll(self) -> RunDelta:
        delta = RunDelta()
        restarted = False
        for name, tail in self._tails.items():
            records, again = tail.read_new()
            restarted = restarted or again
            getattr(delta, DELTA_FIELDS[name]).extend(records)
        if restarted:
            # One of the files was rewritten: read all three from the start, together.
            for tail in self._tails.values():
                tail.offset = 0
            delta = self.poll()
            delta.restarted = True
            return delta
        checkpoints = list_checkpoints(self.run_dir)
        if checkpoints != self._checkpoints:
            self._checkpoints = checkpoints
            delta.checkpoints = checkpoints
        return delta


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
        self._pending.records.extend(update.records)
        self._pending.events.extend(update.events)
        self._pending.stats.extend(update.stats)

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
