"""Folders written by Hugging Face's `save_pretrained` (PyTorchModelHubMixin and the like):
`config.json` with the model's init arguments beside `model.safetensors` (or
`pytorch_model.bin`). A GANViz run folder also has a config.json, so a folder is taken for a
pretrained model only when it has the weights file and none of a run's records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganviz_gui.core.checkpoint import read_torch_file
from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.formats import FileFormat
from ganviz_gui.core.formats.file_head import FileHead
from ganviz_gui.core.formats.safetensors_file import open_safetensors
from ganviz_gui.core.formats.state_dict_file import open_weights, weights_of
from ganviz_gui.core.generator_files import GeneratorFile
from ganviz_gui.core.regular_files import read_regular

NAME = "Hugging Face save_pretrained folder"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
RUN_RECORDS = ("metrics.jsonl", "events.jsonl", "checkpoints")
MAX_CONFIG_BYTES = 1024**2


def is_pretrained_folder(head: FileHead) -> bool:
    names = head.folder_names
    return (
        head.is_folder
        and "config.json" in names
        and any(name in names for name in WEIGHT_FILES)
        and not any(name in names for name in RUN_RECORDS)
    )


def _config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    raw = read_regular(path, MAX_CONFIG_BYTES, CheckpointError, "model config")
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: not a readable JSON config ({exc})") from None
    return config if isinstance(config, dict) else {}


def _open(path: Path, trust: bool, latent_dim: int | None) -> GeneratorFile:
    config = _config(path)
    if (path / "model.safetensors").is_file():
        opened = open_safetensors(path / "model.safetensors", NAME, hints=config)
    else:
        weights = weights_of(read_torch_file(path / "pytorch_model.bin"))
        if weights is None:
            raise CheckpointError(f"{path / 'pytorch_model.bin'}: holds no weights")
        opened = open_weights(path / "pytorch_model.bin", weights, NAME, config)
    opened.description["config"] = {
        k: v for k, v in config.items() if isinstance(v, (int, float, str, bool))
    }
    return opened


FORMAT = FileFormat(name=NAME, sniff=is_pretrained_folder, open=_open)
