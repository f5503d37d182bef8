"""Checkpoint files: written atomically, read safely, checked thoroughly.

A checkpoint is one dict of tensors and plain Python values (see docs/run-folder.md). It is read
with `torch.load(..., weights_only=True)` passed explicitly, because an environment variable
silently turns the default off, and never with unsafe loading as a fallback. `torch.load` does
not check the zip CRCs, so we do. Every failure becomes one `CheckpointError` that names the
file and the problem in our words: torch's own messages advise the unsafe fix.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import threading
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from ganviz_gui import __version__
from ganviz_gui.core.atomic_files import atomic_write, reporting_disk_full
from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.errors import CheckpointError, ConfigError, NonFiniteWeightsError
from ganviz_gui.core.finite import all_finite
from ganviz_gui.core.models import build_models
from ganviz_gui.core.regular_files import open_regular

MAX_NESTING = 100  # lists and dicts in a checkpoint nest a few deep; deeper is refused

# torch's safe_globals list is process-wide: one reader's admitted names at a time.
_SAFE_GLOBALS = threading.Lock()

FORMAT = "ganviz-checkpoint"
FORMAT_VERSION = 1
_REQUIRED = {
    "config": dict,
    "step": int,
    "generator": dict,
    "discriminator": dict,
    "optimizer_g": dict,
    "optimizer_d": dict,
    "fixed_noise": torch.Tensor,
    "rng": dict,
    "data": dict,
}


@dataclass
class Checkpoint:
    path: Path
    state: dict[str, Any]
    config: TrainingConfig

    @property
    def step(self) -> int:
        return int(self.state["step"])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.state["data"]["sample_shape"])

    @property
    def is_image(self) -> bool:
        return len(self.sample_shape) == 3

    def build_generator(self, which: str = "ema", device: str | torch.device = "cpu") -> nn.Module:
        """The generator in eval mode: `ema` (used for samples) when the file has one, else raw."""
        generator, _ = build_models(self.config, self.sample_shape)
        weights = self.state.get("generator_ema") if which == "ema" else None
        generator.load_state_dict(weights or self.state["generator"])
        return generator.to(device).eval()

    def build_discriminator(self, device: str | torch.device = "cpu") -> nn.Module:
        """The discriminator, in eval mode."""
        _, discriminator = build_models(self.config, self.sample_shape)
        discriminator.load_state_dict(self.state["discriminator"])
        return discriminator.to(device).eval()


# ---------------------------------------------------------------------- writing
def save_checkpoint(state: dict[str, Any], path: str | Path, finite: bool | None = None) -> Path:
    """Write `state` (from Trainer.checkpoint_state) atomically: temp file, fsync, rename.
    `finite`: whether the state is known to be finite (None: it is checked here)."""
    path = Path(path)
    if not (all_finite(state) if finite is None else finite):
        raise NonFiniteWeightsError(f"{path}: not saved, the weights hold NaN or infinite values")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        **state,
    }
    # A full disk is one DiskFullError (torch's own text is "unexpected pos ..."); the temp
    # file is gone and the previous checkpoint untouched.
    with reporting_disk_full(path):
        atomic_write(path, lambda handle: torch.save(payload, handle))
    return path


# ---------------------------------------------------------------------- reading
def read_torch_file(path: str | Path, admitted: Sequence[tuple[type, str]] = ()) -> Any:
    """Load any torch file safely (tensors and plain values only), CRCs checked first.

    `admitted`: (stand-in class, "module.Name") pairs a format needs beyond plain values, such
    as argparse.Namespace read as a bag of attributes; the stand-in is built instead.

    The file is read from one open handle, never whole into memory: what it costs is bounded
    by its size (a compressed zip member, which could inflate without bound, is refused before
    anything is inflated; a member that claims more bytes than the file holds is damage)."""
    path = Path(path)
    with open_regular(path, CheckpointError) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise CheckpointError(f"{path}: the file is empty")
        if handle.read(4) == b"PK\x03\x04":
            _check_zip(handle, size, path)
        handle.seek(0)
        state = _unpickle(handle, path, admitted)
    check_tensor_sizes(state, path)
    return state


def _check_zip(handle: BinaryIO, size: int, path: Path) -> None:
    """Refuse a torch zip with compressed members, members larger than the file, or a
    member whose bytes fail their CRC; each member is read in pieces, so memory stays small."""
    try:
        handle.seek(0)
        archive = zipfile.ZipFile(handle)
        members = archive.infolist()
        compressed = [i.filename for i in members if i.compress_type != zipfile.ZIP_STORED]
        if compressed:  # torch.save never compresses; inflating could take any memory
            raise CheckpointError(
                f"{path}: refused: {compressed[0][:100]} is a compressed member, which "
                "torch.save never writes (a zip bomb would inflate without bound)"
            )
        for info in members:
            if info.file_size != info.compress_size or info.header_offset + info.file_size > size:
                raise CheckpointError(
                    f"{path}: damaged: its member {info.filename[:100]} claims "
                    f"{info.file_size:,} bytes, more than the {size:,} of the file"
                )
        damaged = archive.testzip()
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, NotImplementedError):
        raise CheckpointError(
            f"{path}: the file is truncated or damaged (its zip directory is unreadable); "
            "it may be a partial copy or download"
        ) from None
    if damaged is not None:
        raise CheckpointError(
            f"{path}: the file is damaged: {damaged} fails its CRC check "
            "(bytes changed after it was written)"
        )


def _unpickle(handle: BinaryIO, path: Path, admitted: Sequence[tuple[type, str]]) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols of odd files
            with _admitting(admitted):
                return torch.load(handle, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        unsafe = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if unsafe:
            raise CheckpointError(
                f"{path}: refused: it holds Python objects, not just tensors and values "
                f"(it asks to import {unsafe.group(1)}); GANViz never runs code from a file"
            ) from None
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (unreadable contents)") from None
    except MemoryError:
        # A legacy (pre-zip) file says how large each storage is; a lie costs an allocation.
        raise CheckpointError(
            f"{path}: refused: it declares more data than this machine's memory holds"
        ) from None
    except Exception:
        # On garbage, torch's weights-only unpickler fails in many ways (RuntimeError,
        # EOFError, KeyError, even IndexError, seen on random bytes): all mean the same here.
        raise CheckpointError(f"{path}: not a PyTorch checkpoint, or a damaged one") from None


@contextlib.contextmanager
def _admitting(admitted: Sequence[tuple[type, str]]) -> Iterator[None]:
    if not admitted:
        yield
        return
    with _SAFE_GLOBALS, torch.serialization.safe_globals(list(admitted)):
        yield


def check_tensor_sizes(value: Any, path: Path) -> None:
    """Refuse a tensor that claims more elements than its stored data holds (a zero stride
    makes a 4-byte storage a 10^12-element tensor, which every later step would allocate),
    and values nested deeper than MAX_NESTING (every later walk of them would recurse)."""
    stack, seen = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > 10_000_000:
            raise CheckpointError(f"{path}: refused: more than 10^7 values")
        if depth > MAX_NESTING:
            raise CheckpointError(f"{path}: refused: values nested more than {MAX_NESTING} deep")
        if isinstance(item, torch.Tensor):
            if item.numel() * item.element_size() > item.untyped_storage().nbytes():
                raise CheckpointError(
                    f"{path}: refused: a tensor of shape {tuple(item.shape)} larger than the "
                    "data stored for it"
                )
        elif isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((child, depth + 1) for child in item)


def load_checkpoint(path: str | Path, state: Any = None) -> Checkpoint:
    """Read and check a GANViz checkpoint: format, version, settings and weight shapes.

    `state`: the file's contents when the caller has already read them safely.
    """
    path = Path(path)
    state = read_torch_file(path) if state is None else state
    check_format(state, path)
    for key, kind in _REQUIRED.items():
        if not isinstance(state.get(key), kind):
            raise CheckpointError(f"{path}: damaged: '{key}' is missing or of the wrong type")
    try:
        config = TrainingConfig.from_dict(state["config"], source="settings")
    except ConfigError as exc:
        raise CheckpointError(f"{path}: holds invalid {exc}") from None
    shape = state["data"].get("sample_shape")
    if not (
        isinstance(shape, list)
        and len(shape) in (1, 3)
        and all(isinstance(s, int) and s > 0 for s in shape)
    ):
        raise CheckpointError(f"{path}: damaged: the data shape {shape!r} is not a sample shape")
    checkpoint = Checkpoint(path=path, state=state, config=config)
    _check_architecture(checkpoint)
    if not all_finite({k: state[k] for k in ("generator", "discriminator", "generator_ema")}):
        raise CheckpointError(f"{path}: the weights hold NaN or infinite values")
    return checkpoint


def check_format(state: Any, path: Path) -> None:
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: a PyTorch file, but not a GANViz checkpoint")
    check_version(state, path, FORMAT_VERSION, "format")


def check_version(state: dict[str, Any], path: Path, newest: int, what: str) -> None:
    """Refuse a file of a format version newer than `newest` (`what`: the format's name)."""
    version = state.get("format_version")
    if not isinstance(version, int):
        raise CheckpointError(f"{path}: damaged: no format version")
    if version > newest:
        raise CheckpointError(
            f"{path}: written by a newer GANViz ({state.get('app_version', '?')}, {what} "
            f"{version}); this GANViz {__version__} reads {what}s up to {newest}: please update"
        )


def _check_architecture(checkpoint: Checkpoint) -> None:
    """Compare every weight's name and shape with the models the settings describe."""
    try:
        generator, discriminator = build_models(checkpoint.config, checkpoint.sample_shape)
    except ConfigError as exc:
        raise CheckpointError(
            f"{checkpoint.path}: its settings describe no model GANViz can build ({exc})"
        ) from None
    state = checkpoint.state
    expected = {
        "generator": generator.state_dict(),
        "discriminator": discriminator.state_dict(),
    }
    if state.get("generator_ema") is not None:
        expected["generator_ema"] = expected["generator"]
    for part, reference in expected.items():
        problem = _state_dict_mismatch(reference, state[part])
        if problem:
            raise CheckpointError(
                f"{checkpoint.path}: the {part.replace('_', ' ')} weights do not fit the "
                f"{checkpoint.config.model} architecture its settings describe ({problem})"
            )


def _state_dict_mismatch(reference: dict[str, torch.Tensor], given: dict[str, Any]) -> str:
    missing = [k for k in reference if k not in given]
    unexpected = [k for k in given if k not in reference]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {_few(missing)}")
        if unexpected:
            parts.append(f"unexpected {_few(unexpected)}")
        return "; ".join(parts)
    for key, tensor in reference.items():
        value = given[key]
        if not isinstance(value, torch.Tensor):
            return f"{key} is not a tensor"
        if value.shape != tensor.shape:
            return f"{key} has shape {tuple(value.shape)}, expected {tuple(tensor.shape)}"
    return ""


def _few(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def describe_checkpoint(path: str | Path) -> dict[str, Any]:
    """What a file holds, for `ganviz info`: read safely, no models built."""
    path = Path(path)
    state = read_torch_file(path)
    check_format(state, path)
    return describe_state(state, path)


def _dict_at(state: dict[str, Any], key: str) -> dict[str, Any]:
    value = state.get(key)
    return value if isinstance(value, dict) else {}


def describe_state(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """The summary `describe_checkpoint` gives, of a checkpoint already read."""
    config, data = _dict_at(state, "config"), _dict_at(state, "data")

    def count(part: str) -> int:
        weights = state.get(part)
        if not isinstance(weights, dict):
            return 0
        return sum(t.numel() for t in weights.values() if isinstance(t, torch.Tensor))

    return {
        "file": str(path),
        "format_version": state.get("format_version"),
        "app_version": state.get("app_version"),
        "step": state.get("step"),
        "dataset": config.get("dataset"),
        "data": {k: v for k, v in data.items() if k != "mode_centers"},
        "model": config.get("model"),
        "loss": config.get("loss"),
        "latent_dim": config.get("latent_dim"),
        "d_steps": config.get("d_steps"),
        "lr_g": config.get("lr_g"),
        "lr_d": config.get("lr_d"),
        "generator_parameters": count("generator"),
        "discriminator_parameters": count("discriminator"),
        "has_ema_generator": state.get("generator_ema") is not None,
        "training_seconds": state.get("elapsed"),
    }
