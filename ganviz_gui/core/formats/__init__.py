"""Every file format GANViz opens, one reader module each, chosen by content.

A reader is a `FileFormat`: a name users recognise, a sniffer that looks at the file's content
(its leading bytes, zip member names, the names and keys its pickle mentions, found from the
pickle's opcodes without running it; never the file name alone), whether opening it needs the
user's trust (the file carries code), and an opener that returns the engine's common
`GeneratorFile`. The first format whose sniffer accepts a file reads it; a file no sniffer
accepts is refused with the list of what GANViz reads. `describe` serves `ganviz info`, which
names the format even of a file it then refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganviz_gui.core.errors import TRUST_ADVICE, CheckpointError
from ganviz_gui.core.formats.file_head import FileHead, read_head

if TYPE_CHECKING:
    from ganviz_gui.core.generator_files import GeneratorFile


@dataclass(frozen=True)
class FileFormat:
    name: str  # as users know it: "StyleGAN2-ADA / StyleGAN3 network pickle"
    sniff: Callable[[FileHead], bool]
    open: Callable[[Path, bool, int | None], GeneratorFile]  # (path, trust, latent size)
    needs_trust: bool = False  # opening runs code from the file (TorchScript, torch.export)
    # For `ganviz info`: what the file holds, without building models where that is costly.
    describe: Callable[[Path, bool, int | None], dict[str, Any]] | None = None


def file_formats() -> list[FileFormat]:
    """The readers, most specific first (the plain torch file reader takes what is left)."""
    from ganviz_gui.core.formats import (
        ganviz_files,
        lightning_checkpoint,
        pretrained_folder,
        rosinality_checkpoint,
        safetensors_file,
        state_dict_file,
        stylegan_pickle,
        torch_export,
        torchscript,
    )

    return [
        pretrained_folder.FORMAT,
        torchscript.FORMAT,
        torch_export.FORMAT,
        safetensors_file.FORMAT,
        stylegan_pickle.FORMAT,
        ganviz_files.CHECKPOINT_FORMAT,
        ganviz_files.LOGGED_FORMAT,
        rosinality_checkpoint.FORMAT,
        lightning_checkpoint.FORMAT,
        state_dict_file.FORMAT,
    ]


def identify(path: str | Path) -> FileFormat:
    """The format of `path`, from its content; CheckpointError if GANViz reads no such file."""
    head = read_head(Path(path))
    for file_format in file_formats():
        if file_format.sniff(head):
            return file_format
    raise CheckpointError(f"{path}: {head.what()}, not a file GANViz reads ({_known_formats()})")


def open_file(
    path: str | Path, trust: bool = False, latent_dim: int | None = None
) -> GeneratorFile:
    """The generator `path` holds (`latent_dim`: for programs that do not say their own)."""
    path = Path(path)
    file_format = identify(path)
    if file_format.needs_trust and not trust:  # whatever the reader itself checks
        raise CheckpointError(
            f"{path}: a {file_format.name}: it carries code, so GANViz opens it only if you "
            f"trust where it came from {TRUST_ADVICE}"
        )
    opened = file_format.open(path, trust, latent_dim)
    opened.format = opened.format or file_format.name
    opened.description.setdefault("format", opened.format)
    return opened


def describe_file(
    path: str | Path, trust: bool = False, latent_dim: int | None = None
) -> dict[str, Any]:
    """What `path` holds, for `ganviz info`; the format is named even when the file is refused
    (then under "refused", with the reason)."""
    path = Path(path)
    file_format = identify(path)
    try:
        if file_format.describe is not None:
            described = file_format.describe(path, trust, latent_dim)
        else:
            described = file_format.open(path, trust, latent_dim).description
    except CheckpointError as exc:
        return {
            "file": str(path),
            "format": file_format.name,
            "needs_trust": file_format.needs_trust,
            "refused": str(exc),
        }
    return {"file": str(path), "format": file_format.name, **described}


def plain_value(value: Any) -> Any:
    """A JSON-able copy of values a file holds (init arguments, hyper-parameters): numbers,
    strings, lists and dicts; anything else as its repr, cut short."""
    if isinstance(value, dict):
        return {str(k)[:200]: plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return repr(value)[:200]


def _known_formats() -> str:
    return "it reads " + "; ".join(f.name for f in file_formats())
