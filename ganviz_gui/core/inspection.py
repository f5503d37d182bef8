"""Opening something to inspect: a run folder, a checkpoint inside one, or a lone generator file.

Whatever the path, the result names the generator to explore (none for a run that has no
checkpoint yet) and, where the path belongs to a run, that run's folder and checkpoints (its
records are read by `run_sources.RunFolderSource`). A run opens at its newest checkpoint that
opens: a newer one that is broken or hostile is named in `skipped`, never a lock on the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ganviz_gui.core.errors import TRUST_ADVICE, CheckpointError, GanvizError
from ganviz_gui.core.generator_files import (
    KIND_GANVIZ,
    KIND_LOGGED,
    GeneratorFile,
    open_generator_file,
)
from ganviz_gui.core.run_folder import list_checkpoints, run_dir_of_checkpoint

if TYPE_CHECKING:
    import numpy as np

    from ganviz_gui.core.config import TrainingConfig
    from ganviz_gui.core.live_views import SampleSheet
    from ganviz_gui.core.run_sources import RunSource


# Files that are checkpoints of a run folder (GANViz's trainer's, or ganviz_gui.Run's).
RUN_KINDS = (KIND_GANVIZ, KIND_LOGGED)


RUN_FILES = ("config.json", "metrics.jsonl", "events.jsonl")  # any of them makes a run folder
CHECKPOINT_TRIES = 10  # a run's newest checkpoints tried in turn before it opens without one


@dataclass
class OpenedPath:
    generator: GeneratorFile | None  # None: a run without a checkpoint (yet), a log
    run_dir: Path | None = None  # the run the generator belongs to, if any
    checkpoints: list[tuple[int, Path]] = field(default_factory=list)
    tensorboard: bool = False  # the run is a TensorBoard log
    # The run's newer checkpoints that did not open, newest first, and why (the message
    # names the file): the run opened at an older one, or without one.
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def notes(self) -> list[str]:
        """One line per checkpoint skipped, for the window's status bar and the CLI."""
        return [f"checkpoint skipped: {reason}" for _, reason in self.skipped]

    def run_source(self) -> RunSource | None:
        """What the run's records are read from (none for a lone generator file)."""
        if self.run_dir is None:
            return None
        if self.tensorboard:
            from ganviz_gui.core.tensorboard_log import TensorBoardSource

            return TensorBoardSource(self.run_dir)
        from ganviz_gui.core.run_sources import RunFolderSource

        return RunFolderSource(self.run_dir, self.generator)


def open_path(path: str | Path, trust: bool = False) -> OpenedPath:
    """Open a run folder (its newest checkpoint), a checkpoint, or any generator file."""
    path = Path(path)
    if is_log(path):
        return OpenedPath(None, run_dir=path, tensorboard=True)
    if is_pretrained_folder(path):  # config.json + weights: a model, not a run
        return OpenedPath(open_generator_file(path, trust=trust))
    if path.is_dir():
        if not is_run_folder(path):
            raise CheckpointError(
                f"{path}: a folder, but neither a GANViz run folder (no config.json, "
                "metrics.jsonl or events.jsonl) nor a TensorBoard log (no "
                "events.out.tfevents.* files)"
            )
        checkpoints = list_checkpoints(path)
        # No checkpoint yet: the curves, pictures and diagnostics open all the same.
        generator, skipped = newest_that_opens(checkpoints, trust)
        return OpenedPath(generator, run_dir=path, checkpoints=checkpoints, skipped=skipped)
    generator = open_generator_file(path, trust=trust)
    run_dir = run_dir_of_checkpoint(path) if generator.kind in RUN_KINDS else None
    if run_dir is None:
        return OpenedPath(generator)
    return OpenedPath(generator, run_dir=run_dir, checkpoints=list_checkpoints(run_dir))


def newest_that_opens(
    checkpoints: list[tuple[int, Path]], trust: bool = False
) -> tuple[GeneratorFile | None, list[tuple[Path, str]]]:
    """(the newest of a run's checkpoints that opens, or None; the newer ones that did not,
    newest first, with why). At most CHECKPOINT_TRIES are tried. A refusal that trust would
    lift (a logged run's programs) is raised, not skipped: the window asks for trust."""
    skipped: list[tuple[Path, str]] = []
    for _, candidate in reversed(checkpoints[-CHECKPOINT_TRIES:]):
        try:
            return open_generator_file(candidate, trust=trust), skipped
        except GanvizError as exc:
            if str(exc).rstrip().endswith(TRUST_ADVICE):
                raise
            skipped.append((candidate, str(exc)))
    return None, skipped


def is_log(path: Path) -> bool:
    """A TensorBoard log (a GANViz run folder is never taken for one)."""
    from ganviz_gui.core.tensorboard_log import is_tensorboard_log

    return not is_run_folder(path) and is_tensorboard_log(path)


def is_run_folder(path: Path) -> bool:
    """A folder a run is written to: its config, or its records before the config (a writer
    that has just started, or someone's own that writes no config). A Hugging Face-style model
    folder (config.json beside the weights) is not one."""
    return (
        path.is_dir()
        and any((path / name).is_file() for name in RUN_FILES)
        and not is_pretrained_folder(path)
    )


def is_pretrained_folder(path: Path) -> bool:
    from ganviz_gui.core.formats.file_head import read_head
    from ganviz_gui.core.formats.pretrained_folder import is_pretrained_folder as looks_like

    return path.is_dir() and looks_like(read_head(path))


def open_run_source(path: str | Path) -> RunSource:
    """The records of a run folder or TensorBoard log, for curves only (a run overlaid on
    another's plots)."""
    from ganviz_gui.core.run_sources import RunFolderSource

    path = Path(path)
    if is_log(path):
        from ganviz_gui.core.tensorboard_log import TensorBoardSource

        return TensorBoardSource(path)
    if is_run_folder(path):
        return RunFolderSource(path)
    run_dir = run_dir_of_checkpoint(path)
    if run_dir is not None:
        return RunFolderSource(run_dir)
    raise CheckpointError(
        f"{path}: not a run folder (no config.json, metrics.jsonl or events.jsonl), a file "
        "of one, or a TensorBoard log"
    )


# ---------------------------------------------------------------------- real samples
def real_samples_of_run(config: TrainingConfig, count: int) -> np.ndarray:
    """The real samples an opened image run shows beside its generated ones: the same `count`
    images its training showed (`live_views.run_real_samples`), in model space ([-1, 1],
    (N, C, H, W) float32 numpy). The data set is loaded as the run's settings name it, but
    never downloaded: a ConfigError or OSError says why it cannot be (a folder that is gone)."""
    from ganviz_gui.core.data import load_dataset, to_model_space
    from ganviz_gui.core.live_views import run_real_samples

    dataset = load_dataset(config.replace(download=False))
    if not dataset.is_image:
        raise CheckpointError(f"{config.dataset} is not image data")
    real = run_real_samples(dataset.data, config, count)
    return to_model_space(real).float().numpy()


def with_real_samples(
    sheet: SampleSheet, real: np.ndarray, generator: GeneratorFile
) -> SampleSheet:
    """`sheet`, drawn already from `generator`, with `real` (model space) tiled beside its
    samples and the file's D's verdict on each (NaN where the file has no D). D is built only
    where they fit (`live_views.real_samples_fit`): else the sheet as it is."""
    from functools import partial

    from ganviz_gui.core.live_views import add_real_samples, d_scores, real_samples_fit

    if not real_samples_fit(sheet, real):
        return sheet
    critic = generator.build_critic()
    score = None if critic is None else partial(d_scores, critic[0], critic[1])
    return add_real_samples(sheet, real, score)


def generator_has_batchnorm(config: TrainingConfig) -> bool:
    """Whether the G that GANViz builds for these settings has batch-norm layers, known without
    building it: the DCGAN generator normalises after each transposed convolution, the MLP
    one never (core/models.py)."""
    return config.model == "dcgan"
