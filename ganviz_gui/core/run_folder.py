"""The run folder every training run writes, from the command line and the GUI alike.

    config.json            the settings the run started with
    metrics.jsonl          one JSON object per logged step, appended and flushed
    network_stats.jsonl    per-layer norms and histograms of G and D, and D's verdict
                           histograms, every stats_every steps
    events.jsonl           settings changes, recoveries, starts, stops, resumes
    samples/step_XXXXXXXX.png       fixed-noise grids (images) or scatter plots (2D data)
    checkpoints/step_XXXXXXXX.pt    every checkpoint_every steps and at stop; the last K kept
    metrics.before-resume-<time>.jsonl (and network_stats's): records a resume set aside,
                                    the newest KEEP_BACKUPS kept

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
from typing import Any, BinaryIO

from ganviz_gui.core.app_dirs import runs_dir
from ganviz_gui.core.atomic_files import (
    atomic_write,
    atomic_write_text,
    remove_stale_temp_files,
    reporting_disk_full,
)
from ganviz_gui.core.config import TrainingConfig

_STEP_FILE = re.compile(r"^step_(\d{8,})\.(pt|png)$")
JSONL_NAMES = ("metrics", "events", "network_stats")
MAX_RECORDS_FILE_BYTES = 4 * 1024**3  # read whole (CSV export, resume): 10^6 records are 264 MB
RESUMED_NAMES = ("metrics", "network_stats")  # records past a resume step are set aside
KEEP_BACKUPS = 3  # newest <name>.before-resume-<time>.jsonl files kept per name
_BACKUP_FILE = re.compile(r"^(?P<name>\w+)\.before-resume-(?P<time>\d+)(?:-(?P<n>\d+))?\.jsonl$")


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
    """Appends to one run folder. Not thread-safe: one trainer thread owns it.

    Opening it (a run starts or resumes in the folder) first tidies what a killed process left:
    its temporary files go, and a JSONL file cut mid-line is ended, so the next record starts
    on a line of its own. A full disk raises DiskFullError naming the file.
    """

    def __init__(self, root: Path, config: TrainingConfig, resume_step: int | None = None):
        self.root = Path(root)
        self.samples_dir = self.root / "samples"
        self.checkpoints_dir = self.root / "checkpoints"
        with reporting_disk_full(self.root):
            self.samples_dir.mkdir(parents=True, exist_ok=True)
            self.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(self.root, _is_run_file)
        remove_stale_temp_files(self.checkpoints_dir, lambda name: _step_file(name, "pt"))
        remove_stale_temp_files(self.samples_dir, lambda name: _step_file(name, "png"))
        if resume_step is None or not (self.root / "config.json").exists():
            with reporting_disk_full(self.root / "config.json"):
                atomic_write_text(self.root / "config.json", config.to_json() + "\n")
        for name in JSONL_NAMES:
            _end_last_line(self.root / f"{name}.jsonl")
        if resume_step is not None:
            for name in RESUMED_NAMES:
                self._set_aside_records_after(resume_step, name)
                prune_backups(self.root, name, KEEP_BACKUPS)  # older versions kept them all
        self._files = {}
        for name in JSONL_NAMES:
            path = self.root / f"{name}.jsonl"
            with reporting_disk_full(path):
                self._files[name] = path.open("a", encoding="utf-8")

    def append_metrics(self, record: dict[str, Any]) -> None:
        self._append("metrics", record)

    def append_stats(self, record: dict[str, Any]) -> None:
        self._append("network_stats", record)

    def append_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self._append("events", {"time": round(time.time(), 3), **event})

    def _append(self, name: str, record: dict[str, Any]) -> None:
        with reporting_disk_full(self.root / f"{name}.jsonl"):
            _append_line(self._files[name], record)

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
        for name, handle in self._files.items():
            with reporting_disk_full(self.root / f"{name}.jsonl"):
                handle.flush()
            _fsync(handle)

    def close(self) -> None:
        """Flush and close every file; the first failure is raised once all are closed (a full
        disk must not leave the other files open)."""
        failure: Exception | None = None
        for name, handle in self._files.items():
            if handle.closed:
                continue
            try:
                with reporting_disk_full(self.root / f"{name}.jsonl"):
                    try:
                        handle.flush()
                        _fsync(handle)
                    finally:
                        _close_dropping_buffer(handle)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def _set_aside_records_after(self, step: int, name: str) -> None:
        """On resume from step N, records past N belong to a continuation we are replacing.

        They are set aside, never lost: first written to <name>.before-resume-<time>.jsonl
        (atomically), then the file is replaced by its records up to N (atomically). A kill at
        any moment leaves the file whole or trimmed, and the set-aside records in the backup;
        a line that does not parse (cut by a crash) goes to the backup too.
        """
        path = self.root / f"{name}.jsonl"
        last = _last_record_step(path)
        if last is None or last <= step:
            return  # nothing past N (records are appended in step order)
        backup = _new_backup_path(self.root, name)

        def write_kept(kept: BinaryIO) -> None:
            def write_set_aside(set_aside: BinaryIO) -> None:
                with path.open("rb") as source:
                    for line in source:
                        if not line.strip():
                            continue
                        line_step = _record_step(line)
                        keep = line_step is not None and line_step <= step
                        (kept if keep else set_aside).write(line.rstrip(b"\r\n") + b"\n")

            # The backup is in place before the file losing those records is replaced.
            atomic_write(backup, write_set_aside)

        with reporting_disk_full(path):
            atomic_write(path, write_kept)


def _is_run_file(name: str) -> bool:
    """The files a trainer writes at the top of a run folder (whose temporary files are ours)."""
    return (
        name == "config.json"
        or name in {f"{n}.jsonl" for n in JSONL_NAMES}
        or _BACKUP_FILE.match(name) is not None
    )


def _step_file(name: str, suffix: str) -> bool:
    match = _STEP_FILE.match(name)
    return match is not None and match.group(2) == suffix


def _end_last_line(path: Path) -> None:
    """End a file a crash cut mid-line, so what is appended next is a line of its own (the cut
    line stays, and readers skip it as damaged)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() == 0:
                return
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) == b"\n":
                return
    except FileNotFoundError:
        return
    with reporting_disk_full(path), path.open("ab") as handle:
        handle.write(b"\n")


def _record_step(line: bytes) -> float | None:
    """The step of one JSONL line: None if it is not a complete JSON object; 0 without one."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    step = record.get("step", 0)
    return float(step) if isinstance(step, int | float) and not isinstance(step, bool) else 0.0


def _last_record_step(path: Path) -> float | None:
    """The step of the last complete record of a JSONL file (None: no file, no record), read
    from its end: a resume need not parse 10^6 lines to learn that nothing is past its step."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    with handle:
        size = handle.seek(0, os.SEEK_END)
        chunk = 1 << 16
        while True:
            start = max(0, size - chunk)
            handle.seek(start)
            lines = handle.read(size - start).split(b"\n")
            if start > 0:
                lines = lines[1:]  # the first may begin before the chunk
            for line in reversed(lines):
                step = _record_step(line) if line.strip() else None
                if step is not None:
                    return step
            if start == 0:
                return None
            chunk *= 4


def _new_backup_path(root: Path, name: str) -> Path:
    """<name>.before-resume-<unix time>.jsonl, numbered -2, -3... within the same second: the
    newest of the folder's backups by list_backups' order (pruning may have left gaps)."""
    stamp = int(time.time())
    taken = [
        int(match.group("n") or 1)
        for path in list_backups(root, name)
        if (match := _BACKUP_FILE.match(path.name)) and int(match.group("time")) == stamp
    ]
    if not taken:
        return root / f"{name}.before-resume-{stamp}.jsonl"
    return root / f"{name}.before-resume-{stamp}-{max(taken) + 1}.jsonl"


def list_backups(run_dir: str | Path, name: str = "metrics") -> list[Path]:
    """The <name>.before-resume-*.jsonl files of a run folder (records a resume set aside),
    oldest first."""
    found = []
    for path in Path(run_dir).glob(f"{name}.before-resume-*.jsonl"):
        match = _BACKUP_FILE.match(path.name)
        if match and match.group("name") == name:
            found.append(((int(match.group("time")), int(match.group("n") or 1)), path))
    return [path for _, path in sorted(found)]


def prune_backups(run_dir: str | Path, name: str, keep: int) -> None:
    """Delete all but the newest `keep` backups of `name` (repeated resumes add one each)."""
    for path in list_backups(run_dir, name)[:-keep] if keep > 0 else []:
        path.unlink(missing_ok=True)


def _close_dropping_buffer(handle) -> None:
    # After a failed flush (a full disk) close() flushes again and fails again; the file is
    # closed all the same, and the failure was raised already.
    with contextlib.suppress(OSError):
        handle.close()


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
    from ganviz_gui.core.regular_files import read_regular

    records: list[dict[str, Any]] = []
    if not Path(path).exists():
        return records
    # A regular file within a bound: a FIFO or /dev/zero in a run folder is refused, named.
    text = read_regular(path, MAX_RECORDS_FILE_BYTES, what="record file").decode(
        "utf-8", errors="replace"
    )
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
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
    """Whether ganviz_gui.Run (a user's own loop) wrote the folder: its first event says so.
    Only the first line is read, within a bound, and only from a regular file."""
    from ganviz_gui.core.errors import DataError
    from ganviz_gui.core.regular_files import open_regular

    try:
        with open_regular(Path(run_dir) / "events.jsonl") as handle:
            first = json.loads(handle.readline(1 << 20) or b"{}")
    except (DataError, ValueError, RecursionError):
        return False
    return isinstance(first, dict) and first.get("writer") == RUN_LOGGER
