"""The generator of any file GANViz opens, as the rest of GANViz sees it: `GeneratorFile`.

Each file format has its reader in core/formats/ (chosen by the file's content) and every
reader returns a GeneratorFile: the latent size, the sample shape, the class count, whether
images are bounded to [-1, 1], a builder of G (and of D, where the file has one) and a
description for `ganviz info`. This module also opens GANViz's own checkpoints (their settings
rebuild the models) and gives the live run's weights the same shape. Every problem is a
`CheckpointError` naming the file.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ganviz_gui.core.checkpoint import (
    FORMAT,
    Checkpoint,
    describe_state,
    load_checkpoint,
)
from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.errors import CheckpointError

if TYPE_CHECKING:
    from ganviz_gui.core.network_stats import LayerInfo

KIND_GANVIZ = "ganviz checkpoint"
KIND_DCGAN = "pytorch-examples dcgan state_dict"
KIND_TORCHSCRIPT = "torchscript"
KIND_LIVE = "live run"
KIND_LOGGED = "ganviz logged checkpoint"  # written by ganviz_gui.Run from a user's own loop
LATENT_ATTRIBUTES = ("latent_dim", "nz", "z_dim", "latent_size")
# How a generator's batch-norm layers normalise when GANViz samples it: by their running
# statistics ("eval", GANViz's default), or by a batch's own statistics ("train":
# pytorch/examples' dcgan draws its fixed-noise pictures so, never calling G.eval()).
BATCHNORM_MODES = ("eval", "train")
# In "train" mode the batch whose statistics are taken is the file's fixed noise (the sample
# grid's latents, so the grid is exactly G.train()(fixed_noise)), else this many seeded latents
# (seed 0: pytorch/examples' fixed_noise is 64 normal latents too). The statistics are then
# kept, so that every latent's picture depends on that latent alone: a mosaic tile and the
# explorer's cursor on the same latent agree, and a lone latent can be drawn at all.
BATCH_STATISTICS_SIZE = 64


@dataclass
class GeneratorFile:
    path: Path
    kind: str
    latent_dim: int
    sample_shape: tuple[int, ...]  # (2,) for points, (C, H, W) for images
    step: int | None  # the training step, where the file says
    _build: Callable[[str], nn.Module]  # every kind of file builds a generator
    description: dict[str, Any] = field(default_factory=dict)
    checkpoint: Checkpoint | None = None  # the whole checkpoint (GANViz files only)
    _build_critic: Callable[[], tuple[nn.Module, str]] | None = None  # (D, loss) if known
    fixed_noise: torch.Tensor | None = None  # (n_samples, latent_dim): the sample grid's latents
    # Layer tables recorded when the file was written ({network: [LayerInfo]}): a TorchScript
    # program's layers cannot be hooked to measure them after loading.
    layers: dict[str, list[LayerInfo]] | None = None
    format: str = ""  # the file format, as core/formats names it
    class_count: int = 0  # classes of a conditional generator (0: unconditional)
    # Images within [-1, 1] by construction (a tanh); StyleGAN's are not, and views clamp them.
    bounded: bool = True
    style_based: bool = False  # build_generator gives a core.stylegan.StyleGenerator
    w_dim: int = 0  # a style-based generator's: the size of W
    style_layers: int = 0  # ... and how many style vectors its synthesis takes (num_ws)
    notes: list[str] = field(default_factory=list)  # what the user should know about the file
    batchnorm: str = "eval"  # one of BATCHNORM_MODES: how build_generator's G samples
    # Whether G has batch-norm layers: None until `has_batchnorm()` built it once (off the
    # GUI thread); copies made by `in_batchnorm_mode` keep what was found.
    batchnorm_found: bool | None = field(default=None, compare=False, repr=False)

    @property
    def is_image(self) -> bool:
        return len(self.sample_shape) == 3

    @property
    def config(self) -> TrainingConfig | None:
        """The training settings, where the file carries them (GANViz checkpoints)."""
        return self.checkpoint.config if self.checkpoint is not None else None

    def build_generator(self, which: str = "ema") -> nn.Module:
        """G in eval mode on the CPU, taking (N, latent_dim) latents; images come out in [-1, 1].
        In `batchnorm` "train", a copy whose batch-norm layers normalise by the statistics of
        the file's reference batch (see `with_batch_statistics`); the file's own G, which some
        readers build once and share, is never changed."""
        generator = self._build(which)
        if self.batchnorm == "train":
            return with_batch_statistics(generator, self.probe_latents(BATCH_STATISTICS_SIZE))
        return generator

    def has_batchnorm(self) -> bool:
        """G has batch-norm layers (builds G the first time: call it off the GUI thread)."""
        if self.batchnorm_found is None:
            self.batchnorm_found = bool(batchnorm_layers(self._build("ema")))
        return self.batchnorm_found

    def in_batchnorm_mode(self, mode: str) -> GeneratorFile:
        """This file, its generator sampled in batch-norm `mode` ("eval" or "train")."""
        if mode not in BATCHNORM_MODES:
            raise ValueError(f"batch-norm mode {mode!r}: one of {', '.join(BATCHNORM_MODES)}")
        return self if mode == self.batchnorm else replace(self, batchnorm=mode)

    @property
    def has_critic(self) -> bool:
        return self._build_critic is not None

    def probe_latents(self, count: int = 16) -> torch.Tensor:
        """Latents to take a forward pass apart with: the file's fixed noise (the sample
        grid's latents, so sample i of the grid is latent i here), else `count` seeded ones
        (seed 0: the same latents each time the file is opened)."""
        if self.fixed_noise is not None:
            return self.fixed_noise
        return torch.randn(count, self.latent_dim, generator=torch.Generator().manual_seed(0))

    def build_critic(self) -> tuple[nn.Module, str] | None:
        """(D in eval mode, the loss that gives its output a meaning), where the file has D."""
        return self._build_critic() if self._build_critic is not None else None


def open_generator_file(
    path: str | Path, trust: bool = False, latent_dim: int | None = None
) -> GeneratorFile:
    """Recognise what `path` holds, by content, and prepare its generator (built on demand).
    Each format has a reader of its own in core/formats/."""
    from ganviz_gui.core.formats import open_file

    return open_file(path, trust, latent_dim)


def describe_generator_file(
    path: str | Path, trust: bool = False, latent_dim: int | None = None
) -> dict[str, Any]:
    """What a file holds, for `ganviz info`: its format always, even when it is refused."""
    from ganviz_gui.core.formats import describe_file

    return describe_file(path, trust, latent_dim)


def is_logged(state: Any) -> bool:
    from ganviz_gui.core.logged_checkpoint import LOGGED_FORMAT

    return isinstance(state, dict) and state.get("format") == LOGGED_FORMAT


def open_contents(path: Path, state: Any, trust: bool = False) -> GeneratorFile:
    """A generator from the contents of a GANViz or logged checkpoint, already read safely."""
    if isinstance(state, dict) and state.get("format") == FORMAT:
        return _open_ganviz(path, state)
    if is_logged(state):  # from ganviz_gui.Run: its programs need trust, see there
        from ganviz_gui.core.logged_checkpoint import open_logged_checkpoint

        return open_logged_checkpoint(path, state, trust)
    raise CheckpointError(f"{path}: neither a GANViz checkpoint nor one logged by ganviz_gui.Run")


# ---------------------------------------------------------------------- GANViz checkpoints
def _open_ganviz(path: Path, state: dict[str, Any]) -> GeneratorFile:
    checkpoint = load_checkpoint(path, state)
    return GeneratorFile(
        path=path,
        kind=KIND_GANVIZ,
        latent_dim=checkpoint.config.latent_dim,
        sample_shape=checkpoint.sample_shape,
        step=checkpoint.step,
        description=describe_state(checkpoint.state, path),
        checkpoint=checkpoint,
        _build=checkpoint.build_generator,
        _build_critic=lambda: (checkpoint.build_discriminator(), checkpoint.config.loss),
        fixed_noise=checkpoint.state["fixed_noise"],
    )


def live_generator(
    config: TrainingConfig,
    sample_shape: tuple[int, ...],
    weights: dict[str, dict[str, torch.Tensor]],
    step: int,
    run_dir: str | Path,
) -> GeneratorFile:
    """The generator (EMA) and discriminator of a run that is training, from weight copies."""
    from ganviz_gui.core.models import build_models

    def build(which: str = "ema") -> nn.Module:
        generator, _ = build_models(config, sample_shape)
        generator.load_state_dict(weights["generator"])
        return generator.eval()

    def build_critic() -> tuple[nn.Module, str]:
        _, discriminator = build_models(config, sample_shape)
        discriminator.load_state_dict(weights["discriminator"])
        return discriminator.eval(), config.loss

    return GeneratorFile(
        path=Path(run_dir),
        kind=KIND_LIVE,
        latent_dim=config.latent_dim,
        sample_shape=tuple(sample_shape),
        step=step,
        description={"kind": KIND_LIVE, "run": str(run_dir), "step": step},
        _build=build,
        _build_critic=build_critic,
    )


# ---------------------------------------------------------------------- batch-norm modes
def batchnorm_layers(module: nn.Module) -> list[nn.Module]:
    """The batch-norm layers of a module (BatchNorm1d/2d/3d, SyncBatchNorm)."""
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def with_batch_statistics(generator: nn.Module, reference: torch.Tensor) -> nn.Module:
    """A copy of `generator`, in eval mode, whose batch-norm layers normalise by the statistics
    of the `reference` latents' batch, exactly as `G.train()(reference)` normalises it (the
    biased variance, as batch norm uses in training), and keep them for every later batch.
    The copy holds no per-call state, so threads may share it; `generator` is left as it is.
    A generator without batch-norm layers GANViz can see is returned itself."""
    if not batchnorm_layers(generator):
        return generator
    frozen = copy.deepcopy(generator).eval()

    def take_batch_statistics(layer: nn.Module, args: tuple[Any, ...]) -> None:
        # Before the layer normalises: the statistics it then uses are this batch's.
        x = args[0].detach()
        dims = [0, *range(2, x.ndim)]
        layer.running_mean = x.mean(dims)
        layer.running_var = x.var(dims, unbiased=False)

    hooks = [
        layer.register_forward_pre_hook(take_batch_statistics) for layer in batchnorm_layers(frozen)
    ]
    try:
        with torch.no_grad():
            frozen(reference)
    finally:
        for hook in hooks:
            hook.remove()
    return frozen


class LatentsAsMaps(nn.Module):
    """Feeds (N, nz) latents to a generator that takes (N, nz, 1, 1), as DCGAN generators do."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
