"""Plain `state_dict`s in torch files (`torch.save(netG.state_dict(), ...)`), with any of the
usual prefixes, and the discriminator file beside a generator's.

What the weights are is recognised from their key names and shapes alone
(`known_architectures.py`): pytorch/examples' DCGAN, PyTorch-GAN's DCGAN, Lightning's GAN
example, huggan's DCGAN. Code bases save G and D to two files (`netG_epoch_N.pth` and
`netD_epoch_N.pth`, `generator_N.pth` and `discriminator_N.pth`): the D beside a G is paired
with it, so D(G(z)) and saliency work; opening the D file opens the pair.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganviz_gui.core.checkpoint import read_torch_file
from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.finite import all_finite
from ganviz_gui.core.formats import FileFormat
from ganviz_gui.core.formats.file_head import FileHead
from ganviz_gui.core.formats.known_architectures import (
    KnownDiscriminator,
    KnownGenerator,
    describe_weights,
    recognise_discriminator,
    recognise_generator,
    split_networks,
)
from ganviz_gui.core.generator_files import KIND_DCGAN, GeneratorFile

NAME = "PyTorch state_dict"
# Names a generator file and its discriminator's differ by (G side, D side).
PAIRED_NAMES = (
    ("netG", "netD"),
    ("generator", "discriminator"),
    ("Generator", "Discriminator"),
    ("gen", "disc"),
    ("G", "D"),
    ("g", "d"),
)
MAX_PAIRED_BYTES = 2 * 1024**3


def _sniff(head: FileHead) -> bool:
    # A damaged zip or a bare pickle is taken too: torch's weights-only reader says what is
    # wrong with it (and refuses whatever the pickle asks to import).
    return head.is_torch_zip or head.is_legacy_torch or head.is_damaged_zip or head.is_pickle


def weights_of(state: Any) -> dict[str, torch.Tensor] | None:
    """The tensors of a saved state_dict, or of the dict a script wrapped it in."""
    if not isinstance(state, dict):
        return None
    tensors = {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if tensors and len(tensors) == len(state):
        return tensors
    for key in ("state_dict", "model", "generator", "netG", "G", "model_state_dict"):
        found = weights_of(state.get(key))
        if found is not None:
            return found
    return tensors or None


def recognise(
    path: Path, weights: Mapping[str, torch.Tensor], hints: Mapping[str, Any] | None = None
) -> tuple[KnownGenerator | None, KnownDiscriminator | None]:
    """The generator and discriminator among the weights (a file may hold either or both)."""
    parts = split_networks(weights)
    g_part = parts.get("generator", parts.get(""))
    d_part = parts.get("discriminator", parts.get(""))
    generator = recognise_generator(g_part, hints) if g_part else None
    # Unprefixed weights are one network: D only if they are not a generator.
    discriminator = None
    if d_part and (generator is None or "discriminator" in parts):
        discriminator = recognise_discriminator(d_part, hints)
    for found in (generator, discriminator):
        if found is not None and not all_finite(dict(found.module.state_dict())):
            raise CheckpointError(f"{path}: the weights hold NaN or infinite values")
    return generator, discriminator


def open_known(
    path: Path,
    format_name: str,
    generator: KnownGenerator,
    discriminator: KnownDiscriminator | None,
    description: dict[str, Any] | None = None,
    step: int | None = None,
    paired_file: Path | None = None,
    kind: str = "state_dict",
) -> GeneratorFile:
    """The common GeneratorFile of a recognised generator (and D, if any)."""
    if discriminator is not None and tuple(discriminator.sample_shape) != tuple(
        generator.sample_shape
    ):
        discriminator = None  # not the D of this G: its images have another shape
    for found in (generator, discriminator):  # the partner file's weights are checked too
        if found is not None and not all_finite(dict(found.module.state_dict())):
            raise CheckpointError(f"{path}: the weights hold NaN or infinite values")
    described: dict[str, Any] = {
        "file": str(path),
        "kind": kind,
        "architecture": generator.architecture,
        "latent_dim": generator.latent_dim,
        "image": " x ".join(map(str, generator.sample_shape)),
        "generator_parameters": generator.parameters,
        **generator.details,
    }
    if discriminator is not None:
        described["discriminator"] = discriminator.architecture
        described["discriminator_parameters"] = discriminator.parameters
        if paired_file is not None:
            described["discriminator_file"] = str(paired_file)
    described.update(description or {})
    critic: Callable[[], tuple[nn.Module, str]] | None = None
    if discriminator is not None:
        d_module = discriminator.module
        critic = lambda: (d_module, "nonsaturating")  # noqa: E731 - logits, as BCE trains them
    g_module = generator.module
    return GeneratorFile(
        path=path,
        kind=kind,
        latent_dim=generator.latent_dim,
        sample_shape=tuple(generator.sample_shape),
        step=step,
        description=described,
        _build=lambda which: g_module,  # the file holds one generator: no EMA copy
        _build_critic=critic,
        format=format_name,
    )


def paired_path(path: Path, to_discriminator: bool) -> Path | None:
    """The file beside `path` that holds the other network (netG_epoch_3 -> netD_epoch_3,
    generator_5 -> discriminator_5): each place the name says G, tried in turn."""
    for g_name, d_name in PAIRED_NAMES:
        old, new = (g_name, d_name) if to_discriminator else (d_name, g_name)
        # Whole name parts only ('G' in 'GAN_G_5', not in 'GAN'), or right after 'net'.
        pattern = re.compile(
            rf"(?<![A-Za-z]){re.escape(old)}(?![A-Za-z])|(?<=net){re.escape(old)}(?![a-z])"
        )
        for match in pattern.finditer(path.stem):
            stem = path.stem[: match.start()] + new + path.stem[match.end() :]
            candidate = path.with_name(stem + path.suffix)
            if candidate.is_file() and candidate.stat().st_size <= MAX_PAIRED_BYTES:
                return candidate
    return None


def _read_other(path: Path | None) -> dict[str, torch.Tensor] | None:
    if path is None:
        return None
    try:
        return weights_of(read_torch_file(path))
    except CheckpointError:
        return None  # a broken partner file: the generator opens without it


def _open(path: Path, trust: bool, latent_dim: int | None) -> GeneratorFile:
    weights = weights_of(read_torch_file(path))
    if weights is None:
        raise CheckpointError(
            f"{path}: a PyTorch file, but it holds neither a GANViz checkpoint nor the weights "
            "of a network (no tensors found)"
        )
    return open_weights(path, weights, NAME)


def open_weights(
    path: Path,
    weights: Mapping[str, torch.Tensor],
    format_name: str,
    hints: Mapping[str, Any] | None = None,
    read_partner: Callable[[Path], Mapping[str, torch.Tensor] | None] = _read_other,
) -> GeneratorFile:
    """A generator from loose weights, paired with the D file beside it; a D file alone opens
    the G beside it."""
    generator, discriminator = recognise(path, weights, hints)
    if generator is not None:
        partner = None
        if discriminator is None:
            partner = paired_path(path, to_discriminator=True)
            other = read_partner(partner) if partner is not None else None
            if other is not None:
                discriminator = recognise_discriminator(other, hints)
        kind = KIND_DCGAN if "pytorch/examples" in generator.architecture else "state_dict"
        return open_known(
            path,
            format_name,
            generator,
            discriminator,
            description=_epoch(path),
            paired_file=partner if discriminator is not None else None,
            kind=kind,
        )
    if discriminator is not None:
        partner = paired_path(path, to_discriminator=False)
        other = read_partner(partner) if partner is not None else None
        found = recognise_generator(other, hints) if other is not None else None
        if found is None:
            raise CheckpointError(
                f"{path}: a {format_name} of a discriminator ({discriminator.architecture}); "
                "GANViz explores generators: open the generator's file (none was found beside "
                "this one)"
            )
        assert partner is not None
        return open_known(
            partner,
            format_name,
            found,
            discriminator,
            description=_epoch(partner),
            paired_file=path,
            kind=KIND_DCGAN if "pytorch/examples" in found.architecture else "state_dict",
        )
    raise CheckpointError(
        f"{path}: {describe_weights(weights)} ({format_name}) that GANViz does not recognise "
        "as a generator: it knows pytorch/examples' and PyTorch-GAN's DCGANs, Lightning's GAN "
        "example and huggan's DCGAN, with any prefix; for another architecture, save the "
        "model with torch.export (or torch.jit.save) and open that file"
    )


def _epoch(path: Path) -> dict[str, Any]:
    """The epoch a file's name gives (netG_epoch_3.pth, generator_5.pth): shown, never used
    to recognise the file."""
    found = re.search(r"(?:epoch|_)(\d+)$", path.stem)
    return {"epoch": int(found.group(1))} if found else {}


FORMAT = FileFormat(name=NAME, sniff=_sniff, open=_open)
