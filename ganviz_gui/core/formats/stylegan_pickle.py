"""StyleGAN2-ADA and StyleGAN3 network pickles (`network-snapshot-*.pkl`), opened without
running a line of the code inside them.

The restricted unpickler (`network_pickle.py`) turns the snapshot into records; the embedded
code is recognised by digest (`stylegan_sources.py`); then GANViz's own networks
(`core/stylegan/`) are built from the records' init arguments and loaded with their weights.
A snapshot of edited code is refused, naming the edited definitions; with the user's trust it
opens all the same, rebuilt by GANViz's networks (which do not reproduce the edits), and the
file's code still never runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganviz_gui.core.errors import TRUST_ADVICE, CheckpointError
from ganviz_gui.core.finite import all_finite
from ganviz_gui.core.formats import FileFormat, plain_value
from ganviz_gui.core.formats.file_head import FileHead
from ganviz_gui.core.formats.network_pickle import (
    PersistentRecord,
    is_network_pickle,
    read_network_pickle,
)
from ganviz_gui.core.formats.stylegan_sources import SourceCheck, check_source
from ganviz_gui.core.generator_files import GeneratorFile
from ganviz_gui.core.stylegan import WholeGroups

NAME = "StyleGAN2-ADA / StyleGAN3 network pickle"
NETWORKS = ("G_ema", "G", "D")


@dataclass
class Snapshot:
    path: Path
    networks: dict[str, PersistentRecord]  # G_ema, G, D: those the file has
    family: str  # "stylegan2" or "stylegan3"
    code: str  # the release the embedded code is (or what it is an edit of)
    edited: list[str]  # definitions of the embedded code that differ from the release
    extras: dict[str, Any]  # other top-level entries (training_set_kwargs, ...)

    @property
    def generator(self) -> PersistentRecord:
        return self.networks.get("G_ema") or self.networks["G"]

    @property
    def architecture(self) -> str:
        if self.family == "stylegan2":
            return "StyleGAN2"
        kwargs = self.generator.init_kwargs
        radial = kwargs.get("conv_kernel") == 1 and kwargs.get("use_radial_filters")
        return "StyleGAN3-R" if radial else "StyleGAN3-T"


def read_snapshot(path: Path, trust: bool = False) -> Snapshot:
    top = read_network_pickle(path)
    networks = {k: top[k] for k in NETWORKS if isinstance(top.get(k), PersistentRecord)}
    if "G_ema" not in networks and "G" not in networks:
        raise CheckpointError(
            f"{path}: a {NAME} without a generator (it holds {', '.join(map(str, top)) or 'nothing'})"
        )
    for name, record in networks.items():
        expected = "Discriminator" if name == "D" else "Generator"
        if record.class_name != expected:
            raise CheckpointError(
                f"{path}: a {NAME} whose {name} is a {record.class_name}, not a {expected}"
            )
    checks = _check_sources(networks)
    generator = networks.get("G_ema") or networks["G"]
    family, code, edited = _judge(path, checks, trust, generator.source_sha256)
    extras = {k: v for k, v in top.items() if k not in NETWORKS and k != "augment_pipe"}
    return Snapshot(path, networks, family, code, edited, extras)


def _check_sources(networks: dict[str, PersistentRecord]) -> dict[str, SourceCheck]:
    """Each distinct embedded module text of the networks, checked once (by its digest)."""
    checks: dict[str, SourceCheck] = {}
    for record in networks.values():
        for part in record.records():
            if part.source_sha256 not in checks:
                checks[part.source_sha256] = check_source(part.module_source)
    return checks


def _judge(
    path: Path, checks: dict[str, SourceCheck], trust: bool, generator_source: str
) -> tuple[str, str, list[str]]:
    """(family of G's code, what the code is, edited definitions); refused unless known."""
    unknown = [c for c in checks.values() if not c.known]
    release = checks[generator_source].release or checks[generator_source].closest
    generator_family = release.family if release is not None else "stylegan2"
    if not unknown:
        names = sorted({c.release.name for c in checks.values() if c.release})
        return generator_family, " + ".join(names), []
    edited = sorted({name for c in unknown for name in c.differing})
    what = "; ".join(c.describe() for c in unknown)
    if any(c.closest is None for c in unknown) or not trust:
        advice = (
            "GANViz never runs it"
            if any(c.closest is None for c in unknown)
            else "GANViz never runs it; with your trust it rebuilds the networks with its own "
            f"StyleGAN code, which does not reproduce the edits {TRUST_ADVICE}"
        )
        raise CheckpointError(f"{path}: a {NAME} whose embedded code is {what}: {advice}")
    return generator_family, what, edited


# ---------------------------------------------------------------------- building
def build_network(snapshot: Snapshot, which: str) -> nn.Module:
    record = snapshot.networks[which]
    if which == "D":
        from ganviz_gui.core.stylegan.stylegan2 import discriminator_from_record

        return discriminator_from_record(record)
    if snapshot.family == "stylegan3":
        from ganviz_gui.core.stylegan.stylegan3 import generator_from_record as build3

        return build3(record)
    from ganviz_gui.core.stylegan.stylegan2 import generator_from_record as build2

    return build2(record)


def _count(snapshot: Snapshot, name: str, least: int = 1) -> int:
    """A size the generator's record states (its resolution, z_dim, ...), checked."""
    value = snapshot.generator.attribute(name, 0 if least == 0 else None)
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= 1 << 20:
        raise CheckpointError(f"{snapshot.path}: a {NAME} whose generator has no valid {name}")
    return value


def _built(snapshot: Snapshot, which: str) -> nn.Module:
    """A network rebuilt, a refusal naming the format and the architecture."""
    try:
        return build_network(snapshot, which)
    except CheckpointError as exc:
        raise CheckpointError(
            f"{snapshot.path}: a {NAME} ({snapshot.architecture}) whose {which} GANViz cannot "
            f"rebuild: {exc}"
        ) from None


def _sniff(head: FileHead) -> bool:
    return not head.is_zip and is_network_pickle(head.head)


def _open(path: Path, trust: bool, latent_dim: int | None) -> GeneratorFile:
    snapshot = read_snapshot(path, trust)
    for name, record in snapshot.networks.items():
        if not all_finite(record.tensors()):
            raise CheckpointError(f"{path}: the {name} weights hold NaN or infinite values")
    size, channels = _count(snapshot, "img_resolution"), _count(snapshot, "img_channels")
    z_dim, c_dim = _count(snapshot, "z_dim"), _count(snapshot, "c_dim", 0)
    notes = []
    if snapshot.edited:
        notes.append(
            f"the file's code is {snapshot.code}: rebuilt with GANViz's own StyleGAN networks, "
            "which do not reproduce the edits; the file's code was not run"
        )
    if "G_ema" not in snapshot.networks:
        notes.append("the file has no G_ema: the raw G is shown")

    built: dict[str, nn.Module] = {}

    def build(which: str = "ema") -> nn.Module:
        name = "G" if which == "raw" and "G" in snapshot.networks else "G_ema"
        name = name if name in snapshot.networks else "G"
        if name not in built:
            built[name] = _built(snapshot, name)
        return built[name]

    build("ema")  # at once: a configuration GANViz cannot rebuild is refused at the open

    critic = None
    if "D" in snapshot.networks:

        def critic() -> tuple[nn.Module, str]:
            discriminator = WholeGroups(_built(snapshot, "D"))
            return (ClassConditioned(discriminator, c_dim) if c_dim else discriminator), (
                "nonsaturating"  # StyleGAN's logistic loss: D gives logits
            )

    return GeneratorFile(
        path=path,
        kind="stylegan network pickle",
        latent_dim=z_dim,
        sample_shape=(channels, size, size),
        step=None,
        description=describe_snapshot(snapshot),
        _build=build,
        _build_critic=critic,
        format=NAME,
        class_count=c_dim,
        w_dim=_count(snapshot, "w_dim"),
        style_layers=_count(snapshot, "num_ws"),
        bounded=False,
        style_based=True,
        notes=notes,
    )


def describe_snapshot(snapshot: Snapshot) -> dict[str, Any]:
    g = snapshot.generator
    kimg = re.search(r"snapshot-(\d+)", snapshot.path.name)
    dataset = snapshot.extras.get("training_set_kwargs")
    described: dict[str, Any] = {
        "architecture": snapshot.architecture,
        "code": f"{snapshot.code} (recognised, never run: GANViz builds its own networks)",
        "z_dim": g.attribute("z_dim"),
        "w_dim": g.attribute("w_dim"),
        "num_ws": g.attribute("num_ws"),
        "classes": g.attribute("c_dim"),
        "image": f"{g.attribute('img_channels')} x {g.attribute('img_resolution')} x "
        f"{g.attribute('img_resolution')}",
        "networks": list(snapshot.networks),
        "generator_parameters": _parameters(g),
        "discriminator_parameters": _parameters(snapshot.networks["D"])
        if "D" in snapshot.networks
        else None,
        "kimg": int(kimg.group(1)) if kimg else None,
        "init_kwargs": plain_value(g.init_kwargs),
    }
    if isinstance(dataset, dict):
        described["training_set"] = plain_value(
            {k: dataset[k] for k in ("path", "resolution", "use_labels") if k in dataset}
        )
    if snapshot.edited:
        described["edited"] = snapshot.edited
    return described


def _describe(path: Path, trust: bool, latent_dim: int | None) -> dict[str, Any]:
    return describe_snapshot(read_snapshot(path, trust))


def _parameters(record: PersistentRecord) -> int:
    params = 0
    for part in record.records():
        values = part.state.get("_parameters")
        if isinstance(values, dict):
            params += sum(t.numel() for t in values.values() if isinstance(t, torch.Tensor))
    return params


class ClassConditioned(nn.Module):
    """A conditional D seen as D(images): the class given is `class_index` (one-hot)."""

    def __init__(self, discriminator: nn.Module, c_dim: int):
        super().__init__()
        self.discriminator, self.c_dim, self.class_index = discriminator, c_dim, 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        labels = torch.zeros(images.shape[0], self.c_dim, device=images.device)
        labels[:, self.class_index] = 1
        return self.discriminator(images, labels)


FORMAT = FileFormat(name=NAME, sniff=_sniff, open=_open, describe=_describe)
