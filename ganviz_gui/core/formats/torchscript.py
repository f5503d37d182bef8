"""TorchScript programs (`torch.jit.save`): any architecture, but code from the file runs, so
they open only when the user trusts where the file came from."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch
from torch import nn

from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.formats import FileFormat
from ganviz_gui.core.formats.file_head import FileHead
from ganviz_gui.core.generator_files import (
    KIND_TORCHSCRIPT,
    LATENT_ATTRIBUTES,
    GeneratorFile,
    LatentsAsMaps,
    first_line,
)


def _is_torchscript(head: FileHead) -> bool:
    """A TorchScript archive is a zip with a code/ folder (plain torch.save zips have none)."""
    return head.zip_members is not None and any("/code/" in n for n in head.zip_members)


def _open(path: Path, trust: bool, latent_dim: int | None) -> GeneratorFile:
    if not trust:
        raise CheckpointError(
            f"{path}: a TorchScript model: it carries code, so GANViz opens it only if you "
            "trust where it came from (--trust on the command line)"
        )
    return open_torchscript(path, latent_dim)


def open_torchscript(path: Path, latent_dim: int | None) -> GeneratorFile:
    """A TorchScript generator, taking (N, latent) or (N, latent, 1, 1) latents."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch 2.13 marks TorchScript as deprecated
            module = torch.jit.load(io.BytesIO(path.read_bytes()), map_location="cpu").eval()
    except (RuntimeError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: the TorchScript model does not load ({first_line(exc)})"
        ) from None
    latent_dim = latent_dim or _guess_latent_dim(module)
    if latent_dim is None:
        raise CheckpointError(
            f"{path}: cannot tell the model's latent size; give it (--latent-dim N)"
        )
    with torch.no_grad():
        out = None
        for shape in ((2, latent_dim), (2, latent_dim, 1, 1)):
            try:
                out = module(torch.zeros(shape))
                break
            except Exception:  # TorchScript raises its own error types for bad input shapes
                continue
    if not isinstance(out, torch.Tensor) or out.dim() not in (2, 4) or out.shape[0] != 2:
        raise CheckpointError(
            f"{path}: the model does not map (N, {latent_dim}) latents to points or images"
        )
    takes_4d = shape != (2, latent_dim)
    generator: nn.Module = LatentsAsMaps(module) if takes_4d else module
    return GeneratorFile(
        path=path,
        kind=KIND_TORCHSCRIPT,
        format="TorchScript program",
        latent_dim=latent_dim,
        sample_shape=tuple(int(s) for s in out.shape[1:]),
        step=None,
        description={
            "file": str(path),
            "kind": KIND_TORCHSCRIPT,
            "latent_dim": latent_dim,
            "sample_shape": list(out.shape[1:]),
            "generator_parameters": sum(p.numel() for p in module.parameters()),
            "note": "images are assumed to be in [-1, 1], as a tanh output",
        },
        _build=lambda which: generator,
    )


def _guess_latent_dim(module: torch.jit.ScriptModule) -> int | None:
    for name in LATENT_ATTRIBUTES:
        value = getattr(module, name, None)
        if isinstance(value, int) and value > 0:
            return value
    first = next(iter(module.parameters()), None)
    if first is None:
        return None
    if first.dim() == 4:  # a transposed convolution: (in, out, k, k)
        return int(first.shape[0])
    if first.dim() == 2:  # a linear layer: (out, in)
        return int(first.shape[1])
    return None


FORMAT = FileFormat(
    name="TorchScript program",
    sniff=_is_torchscript,
    open=_open,
    needs_trust=True,
)
