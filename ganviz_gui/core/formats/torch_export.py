"""`torch.export` archives (`*.pt2`, `torch.export.save`): a generator of any architecture as
a graph of torch operators with its weights. Loading one is not yet shown to run no Python
from the file (the archive can hold pickled constants), so it opens, like TorchScript, only
with the user's trust."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch
from torch import nn

from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.formats import FileFormat
from ganviz_gui.core.formats.file_head import FileHead
from ganviz_gui.core.generator_files import GeneratorFile, LatentsAsMaps, first_line

NAME = "torch.export program (.pt2)"


def _sniff(head: FileHead) -> bool:
    return head.has_member("/archive_format") and (
        head.has_member("/models/model.json") or head.has_member("serialized_exported_program.json")
    )


def _open(path: Path, trust: bool, latent_dim: int | None) -> GeneratorFile:
    if not trust:
        raise CheckpointError(
            f"{path}: a {NAME}: it may carry code, so GANViz opens it only if you trust where "
            "it came from (--trust on the command line)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.load(io.BytesIO(path.read_bytes()))
        module = program.module()
    except Exception as exc:  # deserialising a foreign graph fails in many ways
        raise CheckpointError(f"{path}: the {NAME} does not load ({first_line(exc)})") from None
    inputs = [
        node.meta.get("val")
        for node in program.graph.nodes
        if node.op == "placeholder"
        and node.name not in program.graph_signature.inputs_to_parameters
        and node.name not in program.graph_signature.inputs_to_buffers
    ]
    shapes = [tuple(v.shape) for v in inputs if isinstance(v, torch.Tensor)]
    if len(shapes) != 1 or len(shapes[0]) not in (2, 4):
        raise CheckpointError(
            f"{path}: the {NAME} takes {len(shapes)} inputs of shapes {shapes}; GANViz needs a "
            "generator taking one batch of latents, (N, z) or (N, z, 1, 1)"
        )
    size = int(shapes[0][1]) if latent_dim is None else latent_dim
    takes_4d = len(shapes[0]) == 4
    program_module = _Program(module)
    generator: nn.Module = LatentsAsMaps(program_module) if takes_4d else program_module
    try:
        with torch.no_grad():
            out = generator(torch.zeros(2, size))
    except Exception as exc:  # a program with fixed batch or other input needs
        raise CheckpointError(
            f"{path}: the {NAME} does not run on a batch of 2 latents ({first_line(exc)})"
        ) from None
    if not isinstance(out, torch.Tensor) or out.dim() not in (2, 4):
        raise CheckpointError(f"{path}: the {NAME} does not map latents to points or images")
    return GeneratorFile(
        path=path,
        kind="torch.export",
        latent_dim=size,
        sample_shape=tuple(int(s) for s in out.shape[1:]),
        step=None,
        description={
            "latent_dim": size,
            "input": [s if isinstance(s, int) else str(s) for s in shapes[0]],  # SymInt: dynamic
            "sample_shape": list(out.shape[1:]),
            "generator_parameters": sum(p.numel() for p in program.state_dict.values()),
            "note": "images are assumed to be in [-1, 1], as a tanh output",
        },
        _build=lambda which: generator,
        format=NAME,
    )


class _Program(nn.Module):
    """An exported program as a module: torch refuses train()/eval() on one (its graph is
    fixed in the mode it was exported in), so they stop here."""

    def __init__(self, program: nn.Module):
        super().__init__()
        self.program = program

    def train(self, mode: bool = True) -> _Program:
        self.training = mode
        return self

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.program(z)


FORMAT = FileFormat(name=NAME, sniff=_sniff, open=_open, needs_trust=True)
