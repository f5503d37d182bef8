"""Opening something to inspect: a run folder, a checkpoint inside one, or a lone generator file.

Whatever the path, the result names the generator to explore and, where the path belongs to a
run, that run's folder and checkpoints (its records are read by `run_sources.RunFolderSource`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.generator_files import KIND_GANVIZ, GeneratorFile, open_generator_file
from ganviz_gui.core.run_folder import list_checkpoints, run_dir_of_checkpoint


@dataclass
class OpenedPath:
    generator: GeneratorFile
    run_dir: Path | None = None  # the run the generator belongs to, if any
    checkpoints: list[tuple[int, Path]] = field(default_factory=list)


def open_path(path: str | Path, trust: bool = False) -> OpenedPath:
    """Open a run folder (its newest checkpoint), a checkpoint, or any generator file."""
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
    return OpenedPath(generator, run_dir=run_dir, checkpoints=checkpoints)
