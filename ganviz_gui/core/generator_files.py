"""Generators from any file GANViz opens: its own checkpoints, plain DCGAN `state_dict`s, and
TorchScript models.

- A GANViz checkpoint carries its settings; the generator is rebuilt from them.
- A `state_dict` saved by the PyTorch examples' DCGAN (`netG_epoch_N.pth`) is recognised from
  its key names and weight shapes alone: a `main` Sequential of 4x4 transposed convolutions with
  batch norms between them and a tanh at the end. Nothing more is asked of the user.
- A TorchScript file (`torch.jit.save`) can hold any architecture, but it carries code, so it
  opens only when the caller says the user trusts it (`trust=True`; `--trust` on the command
  line, a confirmation in the window).
- A checkpoint logged with `ganviz_gui.Run` from a user's own loop carries its weights and
  fixed noise; its architecture is a DCGAN GANViz recognises or a TorchScript program beside
  it, which needs trust as above (core/logged_checkpoint.py).

Every file is read with the engine's safe loader first (tensors and plain values only, CRCs
checked), and every problem is a `CheckpointError` naming the file.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ganviz_gui.core.checkpoint import (
    FORMAT,
    Checkpoint,
    check_format,
    describe_state,
    load_checkpoint,
    read_torch_file,
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
# Where training scripts commonly nest the generator's weights inside a saved dict.
NESTED_KEYS = ("generator", "netG", "G", "state_dict", "model")
LATENT_ATTRIBUTES = ("latent_dim", "nz", "z_dim", "latent_size")


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

    @property
    def is_image(self) -> bool:
        return len(self.sample_shape) == 3

    @property
    def config(self) -> TrainingConfig | None:
        """The training settings, where the file carries them (GANViz checkpoints)."""
        return self.checkpoint.config if self.checkpoint is not None else None

    def build_generator(self, which: str = "ema") -> nn.Module:
        """G in eval mode on the CPU, taking (N, latent_dim) latents; images come out in [-1, 1]."""
        return self._build(which)

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
    """Recognise what `path` holds and prepare its generator (built on demand)."""
    path = Path(path)
    if _is_torchscript(path):
        if not trust:
            raise CheckpointError(
                f"{path}: a TorchScript model: it carries code, so GANViz opens it only if you "
                "trust where it came from (--trust on the command line)"
            )
        return _open_torchscript(path, latent_dim)
    return _open_contents(path, read_torch_file(path), trust)


def describe_generator_file(
    path: str | Path, trust: bool = False, latent_dim: int | None = None
) -> dict[str, Any]:
    """What a file holds, for `ganviz info`; a GANViz checkpoint is described without models."""
    path = Path(path)
    if _is_torchscript(path):
        return open_generator_file(path, trust, latent_dim).description
    state = read_torch_file(path)
    if isinstance(state, dict) and state.get("format") == FORMAT:
        check_format(state, path)
        return describe_state(state, path)
    if _is_logged(state):
        from ganviz_gui.core.logged_checkpoint import describe_logged_checkpoint

        return describe_logged_checkpoint(state, path)
    return _open_contents(path, state, trust).description


def _is_logged(state: Any) -> bool:
    from ganviz_gui.core.logged_checkpoint import LOGGED_FORMAT

    return isinstance(state, dict) and state.get("format") == LOGGED_FORMAT


def _open_contents(path: Path, state: Any, trust: bool = False) -> GeneratorFile:
    """A generator from a file's contents, already read safely."""
    if isinstance(state, dict) and state.get("format") == FORMAT:
        return _open_ganviz(path, state)
    if _is_logged(state):  # from ganviz_gui.Run: its programs need trust, see there
        from ganviz_gui.core.logged_checkpoint import open_logged_checkpoint

        return open_logged_checkpoint(path, state, trust)
    weights = _find_state_dict(state)
    if weights is None:
        raise CheckpointError(
            f"{path}: a PyTorch file, but it holds neither a GANViz checkpoint nor a generator's "
            "state_dict"
        )
    recognised = _dcgan_plan(weights)
    if recognised is None:
        raise CheckpointError(
            f"{path}: a state_dict of {len(weights)} tensors (keys like {_few_keys(weights)}) "
            "that GANViz does not recognise as a generator; for another architecture, save the "
            "model with torch.jit.save and open that file"
        )
    return _open_dcgan(path, weights, recognised)


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


# ---------------------------------------------------------------------- DCGAN state_dicts
@dataclass
class _DcganPlan:
    convs: list[int]  # Sequential indices of the transposed convolutions
    norms: list[int]  # indices of the batch norms
    channels: list[int]  # nz, then each conv's output channels
    biases: list[bool]


def _find_state_dict(state: Any) -> dict[str, torch.Tensor] | None:
    """The tensors of a state_dict, looking one level into common wrappers; 'module.' removed."""
    if not isinstance(state, dict):
        return None
    if state and all(isinstance(v, torch.Tensor) for v in state.values()):
        return {re.sub(r"^module\.", "", k): v for k, v in state.items()}
    for key in NESTED_KEYS:
        if isinstance(state.get(key), dict):
            found = _find_state_dict(state[key])
            if found is not None:
                return found
    return None


def _dcgan_plan(weights: dict[str, torch.Tensor]) -> _DcganPlan | None:
    """The layer plan, if these are the weights of pytorch/examples' DCGAN generator."""
    pattern = re.compile(
        r"^main\.(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)$"
    )
    layers: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in weights.items():
        match = pattern.match(key)
        if match is None:
            return None
        layers.setdefault(int(match.group(1)), {})[match.group(2)] = tensor
    convs = sorted(
        i for i, p in layers.items() if p.get("weight") is not None and p["weight"].dim() == 4
    )
    if len(convs) < 2:
        return None
    norms = sorted(i for i in layers if i not in convs)
    channels = [int(layers[convs[0]]["weight"].shape[0])]
    for i in convs:
        weight = layers[i]["weight"]  # (in, out, 4, 4) for a transposed convolution
        if weight.shape[0] != channels[-1] or tuple(weight.shape[2:]) != (4, 4):
            return None
        channels.append(int(weight.shape[1]))
    for i in norms:  # each batch norm follows a conv and matches its channels
        if i - 1 not in convs or layers[i].get("weight") is None:
            return None
        if layers[i]["weight"].shape != (channels[convs.index(i - 1) + 1],):
            return None
    if channels[-1] not in (1, 3):
        return None
    biases = [layers[i].get("bias") is not None for i in convs]
    return _DcganPlan(convs=convs, norms=norms, channels=channels, biases=biases)


class _LatentToImage(nn.Module):
    """Feeds (N, nz) latents to a generator that takes (N, nz, 1, 1), as the DCGAN example's."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


def _build_dcgan(plan: _DcganPlan) -> nn.Module:
    """The example's Sequential, index for index: conv, batch norm, ReLU, ..., conv, tanh."""
    modules: list[nn.Module] = []
    for index in range(plan.convs[-1] + 2):
        if index in plan.convs:
            k = plan.convs.index(index)
            first = k == 0
            modules.append(
                nn.ConvTranspose2d(
                    plan.channels[k],
                    plan.channels[k + 1],
                    4,
                    1 if first else 2,
                    0 if first else 1,
                    bias=plan.biases[k],
                )
            )
        elif index in plan.norms:
            modules.append(nn.BatchNorm2d(plan.channels[plan.convs.index(index - 1) + 1]))
        elif index == plan.convs[-1] + 1:
            modules.append(nn.Tanh())
        else:
            modules.append(nn.ReLU(True))
    return nn.Sequential(*modules)


def _open_dcgan(path: Path, weights: dict[str, torch.Tensor], plan: _DcganPlan) -> GeneratorFile:
    size = 4 * 2 ** (len(plan.convs) - 1)
    net = _build_dcgan(plan)
    try:
        net.load_state_dict({k.removeprefix("main."): v for k, v in weights.items()})
    except RuntimeError:
        raise CheckpointError(f"{path}: its DCGAN weights do not load (damaged file)") from None
    if not all(torch.isfinite(t).all() for t in weights.values() if t.is_floating_point()):
        raise CheckpointError(f"{path}: the weights hold NaN or infinite values")
    generator = _LatentToImage(net).eval()
    epoch = re.search(r"epoch_(\d+)", path.name)
    parameters = sum(t.numel() for k, t in weights.items() if not k.endswith("num_batches_tracked"))
    return GeneratorFile(
        path=path,
        kind=KIND_DCGAN,
        latent_dim=plan.channels[0],
        sample_shape=(plan.channels[-1], size, size),
        step=None,
        description={
            "file": str(path),
            "kind": KIND_DCGAN,
            "latent_dim": plan.channels[0],
            "image": f"{plan.channels[-1]} x {size} x {size}",
            "feature_maps": plan.channels[1:-1],
            "generator_parameters": parameters,
            "epoch": int(epoch.group(1)) if epoch else None,
        },
        _build=lambda which: generator,  # the file holds one generator: no EMA copy
    )


# ---------------------------------------------------------------------- TorchScript
def _is_torchscript(path: Path) -> bool:
    """A TorchScript archive is a zip with a code/ folder (plain torch.save zips have none)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _open_torchscript(path: Path, latent_dim: int | None) -> GeneratorFile:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch 2.13 marks TorchScript as deprecated
            module = torch.jit.load(io.BytesIO(path.read_bytes()), map_location="cpu").eval()
    except (RuntimeError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: the TorchScript model does not load ({_first_line(exc)})"
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
    generator: nn.Module = _LatentToImage(module) if takes_4d else module
    return GeneratorFile(
        path=path,
        kind=KIND_TORCHSCRIPT,
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


def _few_keys(weights: dict[str, torch.Tensor]) -> str:
    keys = list(weights)
    return ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
