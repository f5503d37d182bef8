"""GANViz's own checkpoints: those its trainer writes, and those `ganviz_gui.Run` logs from a
user's own loop (core/checkpoint.py and core/logged_checkpoint.py hold the formats)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganviz_gui.core.checkpoint import FORMAT as CHECKPOINT_TAG
from ganviz_gui.core.checkpoint import check_format, describe_state, read_torch_file
from ganviz_gui.core.formats import FileFormat
from ganviz_gui.core.formats.file_head import FileHead
from ganviz_gui.core.generator_files import GeneratorFile, open_contents
from ganviz_gui.core.logged_checkpoint import LOGGED_FORMAT as LOGGED_TAG
from ganviz_gui.core.logged_checkpoint import describe_logged_checkpoint


def _is_checkpoint(head: FileHead) -> bool:
    return head.is_torch_zip and CHECKPOINT_TAG in head.pickle_strings


def _is_logged(head: FileHead) -> bool:
    return head.is_torch_zip and LOGGED_TAG in head.pickle_strings


def _open(path: Path, trust: bool, latent_dim: int | None) -> GeneratorFile:
    opened = open_contents(path, read_torch_file(path), trust)
    return opened


def _describe_checkpoint(path: Path, trust: bool, latent_dim: int | None) -> dict[str, Any]:
    state = read_torch_file(path)
    check_format(state, path)
    return describe_state(state, path)


def _describe_logged(path: Path, trust: bool, latent_dim: int | None) -> dict[str, Any]:
    return describe_logged_checkpoint(read_torch_file(path), path)


CHECKPOINT_FORMAT = FileFormat(
    name="GANViz checkpoint",
    sniff=_is_checkpoint,
    open=_open,
    describe=_describe_checkpoint,
)
LOGGED_FORMAT = FileFormat(
    name="GANViz logged checkpoint (ganviz_gui.Run)",
    sniff=_is_logged,
    open=_open,
    describe=_describe_logged,
)
