"""PyTorch Lightning checkpoints (`*.ckpt`): the LightningModule's `state_dict` with each
network under its attribute name (`generator.`, `discriminator.`), plus `hyper_parameters`
(the module's init arguments, which say the latent size and image shape) and the loop's
progress. They pass torch's weights-only loader as they are."""

from __future__ import annotations

from pathlib import Path

from ganviz_gui.core.checkpoint import read_torch_file
from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.formats import FileFormat, plain_value
from ganviz_gui.core.formats.file_head import FileHead
from ganviz_gui.core.formats.known_architectures import describe_weights
from ganviz_gui.core.formats.state_dict_file import open_known, recognise
from ganviz_gui.core.generator_files import GeneratorFile

NAME = "PyTorch Lightning checkpoint"


def _sniff(head: FileHead) -> bool:
    return (head.is_torch_zip or head.is_legacy_torch) and (
        "pytorch-lightning_version" in head.pickle_strings
        or {"state_dict", "hyper_parameters", "global_step"} <= head.pickle_strings
    )


def _open(path: Path, trust: bool, latent_dim: int | None) -> GeneratorFile:
    state = read_torch_file(path)
    weights = state.get("state_dict") if isinstance(state, dict) else None
    if not isinstance(weights, dict) or not weights:
        raise CheckpointError(f"{path}: a {NAME} without a state_dict")
    hints = state.get("hyper_parameters")
    hints = dict(hints) if isinstance(hints, dict) else {}
    generator, discriminator = recognise(path, weights, hints)
    if generator is None:
        raise CheckpointError(
            f"{path}: a {NAME} of {describe_weights(weights)}, whose generator GANViz does not "
            "recognise (it knows Lightning's GAN example and the DCGANs of pytorch/examples "
            "and PyTorch-GAN under any attribute name); for another architecture, save the "
            "generator with torch.export and open that file"
        )
    step = state.get("global_step")
    return open_known(
        path,
        NAME,
        generator,
        discriminator,
        description={
            "lightning_version": state.get("pytorch-lightning_version"),
            "epoch": state.get("epoch"),
            "global_step": step,
            "hyper_parameters": plain_value(hints),
        },
        step=step if isinstance(step, int) else None,
        kind="lightning checkpoint",
    )


FORMAT = FileFormat(name=NAME, sniff=_sniff, open=_open)
