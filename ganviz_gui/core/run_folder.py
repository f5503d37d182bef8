"""The run folder every training run writes, from the command line and the GUI alike.

    config.json            the settings the run started with
    metrics.jsonl          one JSON object per logged step, appended and flushed
    network_stats.jsonl    per-layer norms and histograms of G and D, and D's verdict
                           histograms, every stats_every steps
    events.jsonl           settings changes, recoveries, starts, stops, resumes
    samples/step_XXXXXXXX.png       fixed-noise grids (images) or scatter plots (2D data)
    checkpoints/step_XXXXXXXX.pt    every checkpoint_every steps and at stop; the last K kept

docs/run-folder.md documents the fields; users script against them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from ganviz_gui.core.app_dirs import runs_dir
from ganviz_gui.core.atomic_files import atomic_write_text
from ganviz_gui.core.config import TrainingConfig

_STEP_FILE = re.compile(r"^step_(\d{8,})\.(pt|png)$")


def step_name(step: int, suffix: str) -> str:
    return f"step_{step:08d}.{suffix}"


def new_run_dir(config: TrainingConfig, parent: Path | None = None) -> Path:
    """A fresh folder named by time, data set and model, under the app's runs folder."""
    parent = parent or runs_dir()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = parent / f"{stamp}-{config.dataset}-{config.model}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


class RunWriter:
    """Appends to one run folder. Not thread-safe: one trainer thread owns it."""

    def __init__(self, root: Path, config: TrainingConfig, resume_step: int | None = None):
        self.root = Path(root)
        self.samples_dir = self.root / "samples"
        self.checkpoints_dir = self.root / "checkpoints"
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        self.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        if resume_step is None or not (self.root / "config.json").exists():
            atomic_write_text(self.root / "config.json", config.to_json() + "\n")
        if resume_step is not None:
            for name in ("metrics", "network_stats"):
                self._drop_records_after(resume_step, name)
        self._metrics = (self.root / "metrics.jsonl").open("a", encoding="utf-8")
        self._events = (self.root / "events.jsonl").open("a", encoding="utf-8")
        self._stats = (self.root / "network_stats.jsonl").open("a", encoding="utf-8")

    def append_metrics(self, record: dict[str, Any]) -> None:
        _append_line(self._metrics, record)

    def append_stats(self, record: dict[str, Any]) -> None:
        _append_line(self._stats, record)

    def append_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            _append_line(self._events, {"time": round(time.time(), 3), **event})

    def sample_path(self, step: int) -> Path:
        return self.samples_dir / step_name(step, "png")

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / step_name(step, "pt")

    def prune_checkpoints(self, keep: int) -> None:
        """Delete all but the newest `keep` checkpoints (0 keeps all)."""
        if keep <= 0:
            return
        for _, path in list_checkpoints(self.root)[:-keep]:
            path.unlink(missing_ok=True)

    def sync(self) -> None:
        """Flush the logs to disk (called at checkpoints: they and the logs agree after a crash)."""
        for handle in (self._metrics, self._events, self._stats):
            handle.flush()
            _fsync(handle)

    def close(self) -> None:
        for handle in (self._metrics, self._events, self._stats):
            if not handle.closed:
                handle.flush()
                _fsync(handle)
                handle.close()

    def _drop_records_after(self, step: int, name: str) -> None:
        """On resume from step N, records past N belong to a continuation we are replacing.

        They are moved, not lost: the old file is kept as <name>.before-resume-<time>.jsonl.
        """
        path = self.root / f"{name}.jsonl"
        if not path.exists():
            return
        records = read_jsonl(path)
        kept = [r for r in records if r.get("step", 0) <= step]
        if len(kept) == len(records):
            return
        backup = self.root / f"{name}.before-resume-{int(time.time())}.jsonl"
        path.replace(backup)
        atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in kept))


def _append_line(handle, record: dict[str, Any]) -> None:
    handle.write(json.dumps(_json_safe(record)) + "\n")
    handle.flush()


def _json_safe(record: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN or Infinity; strict readers (JavaScript, jq) reject Python's extension.
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()
    }


def _fsync(handle) -> None:
    # Some file systems (network shares) refuse fsync; the data was flushed all the same.
    with contextlib.suppress(OSError):
        os.fsync(handle.fileno())


# ---------------------------------------------------------------------- reading
def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every complete record; a partial last line (a writer mid-append, a crash) is ignored."""
    records: list[dict[str, Any]] = []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return records
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break  # the unfinished last line
            continue  # a damaged line mid-file: skip it, keep the rest
        if isinstance(record, dict):
            records.append(record)
    return records


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of the run's checkpoints, oldest first."""
    return _step_files(Path(run_dir) / "checkpoints", "pt")


def list_sample_pictures(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of the run's sample pictures, oldest first."""
    return _step_files(Path(run_dir) / "samples", "png")


def _step_files(folder: Path, suffix: str) -> list[tuple[int, Path]]:
    found = []
    for path in folder.glob(f"step_*.{suffix}"):
        match = _STEP_FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def run_dir_of_checkpoint(path: str | Path) -> Path | None:
    """The run folder a checkpoint sits in (…/run/checkpoints/step_X.pt), if it sits in one."""
    path = Path(path).resolve()
    if path.parent.name == "checkpoints" and (path.parent.parent / "config.json").exists():
        return path.parent.parent
    return None


def run_dir_of(path: str | Path) -> Path | None:
    """The run folder `path` is (a folder with config.json) or lies in (one of its files)."""
    path = Path(path).resolve()
    if path.is_dir() and (path / "config.json").is_file():
        return path
    return run_dir_of_checkpoint(path)


# The `writer` a folder's `started` event names when ganviz_gui.Run wrote it: its config.json
# holds the user's own settings, not GANViz's.
RUN_LOGGER = "ganviz_gui.Run"


def logged_by_run(run_dir: str | Path) -> bool:
    """Whether ganviz_gui.Run (a user's own loop) wrote the folder: its first event says so."""
    try:
        with (Path(run_dir) / "events.jsonl").open("rb") as handle:
            first = json.loads(handle.readline() or b"{}")
    except (OSError, ValueError):
        return False
    return isinstance(first, dict) and first.get("writer") == RUN_LOGGER
