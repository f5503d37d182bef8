"""Opening something to inspect: a run folder, a checkpoint inside one, or a lone generator file.

Whatever the path, the result names the generator to explore and, where the path belongs to a
run, that run's checkpoints, metrics and events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.generator_files import KIND_GANVIZ, GeneratorFile, open_generator_file
from ganviz_gui.core.run_folder import list_checkpoints, read_jsonl, run_dir_of_checkpoint


@dataclass
class OpenedPath:
    generator: GeneratorFile
    run_dir: Path | None = None  # the run the generator belongs to, if any
    checkpoints: list[tuple[int, Path]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    network_stats: list[dict[str, Any]] = field(default_factory=list)  # see core.network_stats


def open_path(path: str | Path, trust: bool = False, read_records: bool = True) -> OpenedPath:
    """Open a run folder (its newest checkpoint), a checkpoint, or any generator file.
    `read_records=False` leaves the run's metrics, events and statistics unread (the window's
    run source reads them itself, and then only what is new)."""
    path = Path(path)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise CheckpointError(f"{path}: a folder, but not a GANViz run folder (no config.json)")
        checkpoints = list_checkpoints(path)
        if not checkpoints:
            raise CheckpointError(f"{path}: the run has no checkpoint yet")
        generator = open_generator_file(checkpoints[-1][1])
        run_dir: Path | None = path
    else:
        generator = open_generator_file(path, trust=trust)
        run_dir = run_dir_of_checkpoint(path) if generator.kind == KIND_GANVIZ else None
        checkpoints = list_checkpoints(run_dir) if run_dir is not None else []
    if run_dir is None:
        return OpenedPath(generator)
    if not read_records:
        return OpenedPath(generator, run_dir=run_dir, checkpoints=checkpoints)
    return OpenedPath(
        generator,
        run_dir=run_dir,
        checkpoints=checkpoints,
        metrics=read_jsonl(run_dir / "metrics.jsonl"),
        events=read_jsonl(run_dir / "events.jsonl"),
        network_stats=read_jsonl(run_dir / "network_stats.jsonl"),
    )
