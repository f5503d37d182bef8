"""`.safetensors` weights (Hugging Face's format): a JSON header of tensor names, dtypes,
shapes and offsets, then raw data, no pickle at all. Read with the `safetensors` library,
which checks the header against the file. Any architecture GANViz recognises from weights
opens: the plain ones of `known_architectures.py` and rosinality's StyleGAN2 generator. The
header's free-form metadata (e.g. nz, ngf) is used as hints, never trusted over the shapes."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import torch

from ganviz_gui.core.errors import CheckpointError, MissingPackageError
from ganviz_gui.core.formats import FileFormat
from ganviz_gui.core.formats.file_head import FileHead
from ganviz_gui.core.formats.state_dict_file import open_weights
from ganviz_gui.core.generator_files import GeneratorFile

NAME = "safetensors weights"
MAX_HEADER_BYTES = 100 * 1024**2  # the library's own bound


def _sniff(head: FileHead) -> bool:
    if head.is_zip or len(head.head) < 10:
        return False
    (length,) = struct.unpack("<Q", head.head[:8])
    return 2 <= length <= min(MAX_HEADER_BYTES, head.size - 8) and head.head[8:9] == b"{"


def read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        from safetensors import SafetensorError, safe_open
    except ImportError:
        raise MissingPackageError(
            f"{path}: reading safetensors files needs the safetensors package: "
            "pip install safetensors"
        ) from None
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            weights = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: a damaged safetensors file ({exc})") from None
    return weights, dict(metadata)


def open_safetensors(
    path: Path, format_name: str = NAME, hints: dict[str, Any] | None = None
) -> GeneratorFile:
    weights, metadata = read_safetensors(path)
    merged = {**metadata, **(hints or {})}
    if _is_rosinality(weights):
        from ganviz_gui.core.formats.rosinality_checkpoint import open_rosinality_weights

        return open_rosinality_weights(path, weights, format_name)
    opened = open_weights(path, weights, format_name, merged, read_partner=_read_partner)
    if metadata:
        opened.description["metadata"] = metadata
    return opened


def _read_partner(path: Path) -> dict[str, torch.Tensor] | None:
    try:
        return read_safetensors(path)[0]
    except CheckpointError:
        return None


def _is_rosinality(weights: dict[str, torch.Tensor]) -> bool:
    return "conv1.conv.modulation.weight" in weights and "input.input" in weights


def _open(path: Path, trust: bool, latent_dim: int | None) -> GeneratorFile:
    return open_safetensors(path)


FORMAT = FileFormat(name=NAME, sniff=_sniff, open=_open)
