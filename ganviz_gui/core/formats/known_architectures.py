"""Generators and discriminators of well-known GAN code bases, rebuilt from a plain `state_dict`.

Most GAN training scripts save `model.state_dict()` and nothing else: the file holds tensors,
never the code that uses them. GANViz still opens such files when the key names and tensor
shapes are exactly those of an architecture it knows, rebuilding that architecture here (no
code from the file runs, the file name is never looked at):

- pytorch/examples' DCGAN (`dcgan/main.py`): G a `main` Sequential of 4x4 transposed
  convolutions, batch norms and ReLUs ending in a tanh (any number of layers); D a `main`
  Sequential of 4x4 stride-2 convolutions, batch norms and LeakyReLU(0.2) ending in a 4x4
  valid convolution to one channel and a sigmoid.
- Hugging Face huggan's DCGAN (community-events, `PyTorchModelHubMixin`): the same Sequentials
  under the name `model`.
- eriklindernoren/PyTorch-GAN's DCGAN (`implementations/dcgan/dcgan.py`): G a linear layer to
  128 maps of img_size/4 squared, then upsampling 3x3 convolutions; D four stride-2 3x3
  convolution blocks and a linear layer. Its batch norms are built as `BatchNorm2d(c, 0.8)`:
  the second positional argument is eps, so eps is 0.8 there (a fact of the code, not stored in
  the weights).
- Lightning's GAN example (`examples/pytorch/domain_templates/generative_adversarial_net.py`,
  the layout of PyTorch-GAN's `implementations/gan` as well): MLPs with LeakyReLU(0.2), G with
  `BatchNorm1d(c, 0.8)` and a tanh, its output viewed as the image shape. Lightning's D ends at
  its last linear layer (it trains with `binary_cross_entropy_with_logits`); PyTorch-GAN's adds
  a sigmoid, which holds no weights: either way the rebuilt D returns the logits.

Each recogniser checks the exact key set and every shape against the network it rebuilds, and
loads with strict=True, so a different network is never built as one of these. Odd input (no
tensors, integer weights, 0-d tensors, a missing or extra key) gives None, never an exception.
The recognisers do not check that the weights are finite: the caller does, naming its file.

Every rebuilt network is in eval mode on the CPU (batch norms use their running statistics,
dropout is off). A generator takes (N, latent_dim) latents and returns (N, C, H, W) images in
[-1, 1]; a discriminator returns (N,) logits: a final sigmoid of the original is left out, so
sigmoid(logits) is what the original returns (for a critic without one, the logits are its
output). Activations are never in place, so hooks that keep a layer's output see that layer's
output rather than the activation written over it.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

ARCH_EXAMPLES_G = "pytorch/examples DCGAN generator"
ARCH_EXAMPLES_D = "pytorch/examples DCGAN discriminator"
ARCH_HUGGAN_G = "Hugging Face huggan DCGAN generator"
ARCH_HUGGAN_D = "Hugging Face huggan DCGAN discriminator"
ARCH_PYTORCH_GAN_G = "PyTorch-GAN DCGAN generator"
ARCH_PYTORCH_GAN_D = "PyTorch-GAN DCGAN discriminator"
ARCH_LIGHTNING_G = "Lightning GAN example generator (MLP)"
ARCH_LIGHTNING_D = "Lightning GAN example discriminator (MLP)"

# Top-level names training scripts give their two networks, by role.
GENERATOR_PREFIXES = ("generator", "netG", "G", "gen", "g", "net_g", "net_G")
DISCRIMINATOR_PREFIXES = ("discriminator", "netD", "D", "disc", "critic", "d", "net_d", "net_D")
_ROLE_OF_PREFIX = {
    **dict.fromkeys(GENERATOR_PREFIXES, "generator"),
    **dict.fromkeys(DISCRIMINATOR_PREFIXES, "discriminator"),
}
# Wrappers that never name a layer of their own: DataParallel/DDP and torch.compile.
_ALWAYS_WRAPPERS = ("module.", "_orig_mod.")
# A wrapper that is also a common name for a network's own Sequential (huggan, Lightning's
# MLPs): removed only where the rest is recognisable.
_MAYBE_WRAPPERS = ("model.",)

_BATCH_NORM_EPS = 1e-5  # PyTorch's default
_PYTORCH_GAN_EPS = 0.8  # BatchNorm2d(c, 0.8) in PyTorch-GAN and BatchNorm1d(c, 0.8) in the MLP G
_LEAK = 0.2  # LeakyReLU slope of every architecture here
_DCGAN_KERNEL = 4
_PYTORCH_GAN_G_MAPS = (128, 128, 64)  # hard-coded in dcgan.py: l1 gives 128 maps, then 128, 64
_PYTORCH_GAN_D_MAPS = (16, 32, 64, 128)
_LIGHTNING_G_WIDTHS = (128, 256, 512, 1024)  # hard-coded in the example: its fingerprint
_LIGHTNING_D_WIDTHS = (512, 256)
_IMAGE_CHANNELS = (1, 3)  # what an image without hints may have: grayscale or RGB


@dataclass
class KnownGenerator:
    architecture: str
    module: nn.Module  # eval, CPU: (N, latent_dim) latents -> (N, C, H, W) images in [-1, 1]
    latent_dim: int
    sample_shape: tuple[int, ...]  # (C, H, W)
    parameters: int  # learnable parameters (batch-norm running statistics not counted)
    details: dict[str, Any] = field(default_factory=dict)  # for `ganviz info`; JSON-able


@dataclass
class KnownDiscriminator:
    architecture: str
    module: nn.Module  # eval, CPU: (N, *sample_shape) -> (N,) logits (final sigmoid left out)
    sample_shape: tuple[int, ...]
    parameters: int


# ---------------------------------------------------------------------- public API
def split_networks(weights: Mapping[str, Any]) -> dict[str, dict[str, torch.Tensor]]:
    """Group a flat state_dict by network: {"generator": ..., "discriminator": ...} for
    top-level prefixes such as generator./netG./G./gen./g. and discriminator./netD./D./disc./
    critic./d.; a leading 'module.' (DataParallel/DDP) or 'model.'/'_orig_mod.' wrapper removed
    where that leaves a recognisable network; a dict with no such prefix is returned as
    {"": weights}. Non-tensor values are ignored.

    Keys outside the two networks (where there are networks) are kept under "", so nothing is
    lost silently. Where two prefixes of one role occur (G. and g.), the first one seen names
    that network and the other's keys go under "" too."""
    tensors = _strip_wrappers(_tensors_of(weights), maybe_model=True)
    groups: dict[str, dict[str, torch.Tensor]] = {}
    prefix_of_role: dict[str, str] = {}
    others: dict[str, torch.Tensor] = {}
    for key, tensor in tensors.items():
        head, dot, rest = key.partition(".")
        role = _ROLE_OF_PREFIX.get(head) if dot and rest else None
        if role is None or prefix_of_role.setdefault(role, head) != head:
            others[key] = tensor
            continue
        groups.setdefault(role, {})[rest] = tensor
    if not groups:
        return {"": tensors}
    split = {role: _strip_wrappers(group, maybe_model=False) for role, group in groups.items()}
    if others:
        split[""] = others
    return split


def recognise_generator(
    weights: Mapping[str, torch.Tensor], hints: Mapping[str, Any] | None = None
) -> KnownGenerator | None:
    """The generator these weights belong to, rebuilt with them loaded, or None where they are
    not exactly one of the known architectures (or the hints contradict them). `hints` are facts
    from the file's metadata (latent_dim/nz, img_shape, nc/num_channels, ngf/hidden_size, ...):
    they resolve what the shapes leave open and must agree with what the shapes say."""
    tensors = _strip_wrappers(_tensors_of(weights), maybe_model=False)
    facts = _read_hints(hints)
    if tensors and facts is not None:
        for recognise in (_examples_generator, _pytorch_gan_generator, _lightning_generator):
            found = recognise(tensors, facts)
            if found is not None:
                return found
    return None


def recognise_discriminator(
    weights: Mapping[str, torch.Tensor], hints: Mapping[str, Any] | None = None
) -> KnownDiscriminator | None:
    """The discriminator these weights belong to, rebuilt to return logits, or None (as for
    `recognise_generator`)."""
    tensors = _strip_wrappers(_tensors_of(weights), maybe_model=False)
    facts = _read_hints(hints)
    if tensors and facts is not None:
        for recognise in (
            _examples_discriminator,
            _pytorch_gan_discriminator,
            _lightning_discriminator,
        ):
            found = recognise(tensors, facts)
            if found is not None:
                return found
    return None


def describe_weights(weights: Mapping[str, Any]) -> str:
    """One line on what a dict holds, for a refusal: 'a state_dict of 14 tensors (keys like
    main.0.weight, main.1.weight, main.1.bias, ...)'."""
    if not isinstance(weights, Mapping):
        return f"a {type(weights).__name__}, not a state_dict"
    if not weights:
        return "an empty state_dict"
    tensors = _tensors_of(weights)
    if not tensors:
        return f"a dict of {len(weights)} entries, none of them tensors (keys like {_few(weights)})"
    count = f"{len(tensors)} tensor" + ("s" if len(tensors) != 1 else "")
    extra = len(weights) - len(tensors)
    besides = f" and {extra} other value" + ("s" if extra != 1 else "") if extra else ""
    return f"a state_dict of {count}{besides} (keys like {_few(tensors)})"


# ---------------------------------------------------------------------- rebuilt networks
class LatentToImage(nn.Module):
    """Feeds (N, nz) latents to a Sequential that takes (N, nz, 1, 1), as DCGAN generators do;
    the Sequential keeps the original's attribute name, so the state_dict keys are the file's."""

    def __init__(self, name: str, net: nn.Sequential):
        super().__init__()
        self.net_name = name
        self.add_module(name, net)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.get_submodule(self.net_name)(z.reshape(z.shape[0], -1, 1, 1))


class ConvLogits(nn.Module):
    """A DCGAN discriminator's Sequential (sigmoid left out) with its (N, 1, 1, 1) output
    viewed as (N,) logits, as the examples' `.view(-1)` does."""

    def __init__(self, name: str, net: nn.Sequential):
        super().__init__()
        self.net_name = name
        self.add_module(name, net)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.get_submodule(self.net_name)(images).reshape(images.shape[0])


class PytorchGanGenerator(nn.Module):
    """PyTorch-GAN's DCGAN G: `l1` (linear), view as 128 maps of init_size squared,
    `conv_blocks`."""

    def __init__(self, latent_dim: int, init_size: int, channels: int):
        super().__init__()
        first, middle, last = _PYTORCH_GAN_G_MAPS
        self.init_size = init_size
        self.l1 = nn.Sequential(nn.Linear(latent_dim, first * init_size**2))
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(first),  # the one batch norm built without the 0.8
            nn.Upsample(scale_factor=2),
            nn.Conv2d(first, middle, 3, stride=1, padding=1),
            nn.BatchNorm2d(middle, _PYTORCH_GAN_EPS),
            nn.LeakyReLU(_LEAK),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(middle, last, 3, stride=1, padding=1),
            nn.BatchNorm2d(last, _PYTORCH_GAN_EPS),
            nn.LeakyReLU(_LEAK),
            nn.Conv2d(last, channels, 3, stride=1, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.l1(z.reshape(z.shape[0], -1))
        out = out.view(out.shape[0], _PYTORCH_GAN_G_MAPS[0], self.init_size, self.init_size)
        return self.conv_blocks(out)


class PytorchGanDiscriminator(nn.Module):
    """PyTorch-GAN's DCGAN D: four (conv 3x3 stride 2, LeakyReLU, Dropout2d, [batch norm])
    blocks in `model`, flattened into `adv_layer` (its sigmoid left out)."""

    def __init__(self, channels: int, final_size: int):
        super().__init__()
        layers: list[nn.Module] = []
        previous = channels
        for k, maps in enumerate(_PYTORCH_GAN_D_MAPS):
            layers += [nn.Conv2d(previous, maps, 3, 2, 1), nn.LeakyReLU(_LEAK), nn.Dropout2d(0.25)]
            if k > 0:  # the first block is built with bn=False
                layers.append(nn.BatchNorm2d(maps, _PYTORCH_GAN_EPS))
            previous = maps
        self.model = nn.Sequential(*layers)
        self.adv_layer = nn.Sequential(nn.Linear(previous * final_size**2, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.model(images)
        return self.adv_layer(out.view(out.shape[0], -1)).reshape(images.shape[0])


class MlpGenerator(nn.Module):
    """Lightning's example G: `model` (an MLP ending in a tanh), its output viewed as
    img_shape."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape = tuple(image_shape)
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, _LIGHTNING_G_WIDTHS[0]),
            nn.LeakyReLU(_LEAK),
        ]
        for previous, width in itertools.pairwise(_LIGHTNING_G_WIDTHS):
            layers += [
                nn.Linear(previous, width),
                nn.BatchNorm1d(width, _PYTORCH_GAN_EPS),
                nn.LeakyReLU(_LEAK),
            ]
        layers += [nn.Linear(_LIGHTNING_G_WIDTHS[-1], math.prod(self.image_shape)), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.model(z.reshape(z.shape[0], -1))
        return out.view(out.shape[0], *self.image_shape)


class MlpDiscriminator(nn.Module):
    """Lightning's example D: `model`, an MLP on the flattened image, returning logits as
    Lightning's does (PyTorch-GAN's `gan` D has a sigmoid after it, left out here)."""

    def __init__(self, features: int):
        super().__init__()
        layers: list[nn.Module] = []
        previous = features
        for width in _LIGHTNING_D_WIDTHS:
            layers += [nn.Linear(previous, width), nn.LeakyReLU(_LEAK)]
            previous = width
        layers.append(nn.Linear(previous, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images.reshape(images.shape[0], -1)).reshape(images.shape[0])


# ---------------------------------------------------------------------- DCGAN (examples, huggan)
@dataclass
class DcganPlan:
    """The layout of a DCGAN Sequential read from its weights (G or D)."""

    name: str  # the Sequential's attribute: "main" (pytorch/examples) or "model" (huggan)
    convs: list[int]  # Sequential indices of the convolutions
    norms: list[int]  # indices of the batch norms
    channels: list[int]  # G: nz, then each conv's output; D: image channels, then each output
    biases: list[bool]

    @property
    def image_size(self) -> int:
        return _DCGAN_KERNEL * 2 ** (len(self.convs) - 1)


def dcgan_generator_plan(weights: Mapping[str, torch.Tensor]) -> DcganPlan | None:
    """The layer plan, if these are exactly the weights of pytorch/examples' DCGAN generator
    (`main.N.*`) or huggan's (`model.N.*`): transposed 4x4 convolutions at 0, 3, 6, ... with a
    batch norm after each but the last (the ReLUs and the tanh hold no weights)."""
    layers = _sequential_layers(weights, ("main", "model"))
    if layers is None:
        return None
    name, by_index = layers
    convs = [i for i, p in by_index.items() if _dims(p.get("weight")) == 4]
    count = len(convs)
    if count < 2 or sorted(convs) != [3 * k for k in range(count)]:
        return None
    norms = [3 * k + 1 for k in range(count - 1)]
    if set(by_index) != set(convs) | set(norms):
        return None
    channels = [int(by_index[0]["weight"].shape[0])]
    for i in range(0, 3 * count, 3):
        shape = tuple(by_index[i]["weight"].shape)  # (in, out, 4, 4) for a transposed conv
        if shape[0] != channels[-1] or shape[2:] != (_DCGAN_KERNEL, _DCGAN_KERNEL):
            return None
        channels.append(int(shape[1]))
    if channels[-1] not in _IMAGE_CHANNELS:
        return None
    biases = [("bias" in by_index[i]) for i in range(0, 3 * count, 3)]
    return DcganPlan(name, list(range(0, 3 * count, 3)), norms, channels, biases)


def build_dcgan_generator(plan: DcganPlan) -> nn.Sequential:
    """The examples' Sequential, index for index: conv, batch norm, ReLU, ..., conv, tanh."""
    modules: list[nn.Module] = []
    last = len(plan.convs) - 1
    for k in range(len(plan.convs)):
        first = k == 0
        modules.append(
            nn.ConvTranspose2d(
                plan.channels[k],
                plan.channels[k + 1],
                _DCGAN_KERNEL,
                1 if first else 2,
                0 if first else 1,
                bias=plan.biases[k],
            )
        )
        if k < last:
            modules += [nn.BatchNorm2d(plan.channels[k + 1]), nn.ReLU()]
    modules.append(nn.Tanh())
    return nn.Sequential(*modules)


def dcgan_discriminator_plan(weights: Mapping[str, torch.Tensor]) -> DcganPlan | None:
    """The layer plan, if these are exactly the weights of pytorch/examples' DCGAN discriminator
    (or huggan's): a conv at 0, (conv, batch norm) at 2+3k, 3+3k, and the last conv, 4x4 valid
    to one channel (the LeakyReLUs and the sigmoid hold no weights)."""
    layers = _sequential_layers(weights, ("main", "model"))
    if layers is None:
        return None
    name, by_index = layers
    convs = sorted(i for i, p in by_index.items() if _dims(p.get("weight")) == 4)
    count = len(convs)
    if count < 2 or convs != [0] + [2 + 3 * k for k in range(count - 1)]:
        return None
    norms = [3 + 3 * k for k in range(count - 2)]
    if set(by_index) != set(convs) | set(norms):
        return None
    channels = [int(by_index[0]["weight"].shape[1])]
    for i in convs:
        shape = tuple(by_index[i]["weight"].shape)  # (out, in, 4, 4)
        if shape[1] != channels[-1] or shape[2:] != (_DCGAN_KERNEL, _DCGAN_KERNEL):
            return None
        channels.append(int(shape[0]))
    if channels[0] not in _IMAGE_CHANNELS or channels[-1] != 1:
        return None
    biases = [("bias" in by_index[i]) for i in convs]
    return DcganPlan(name, convs, norms, channels, biases)


def build_dcgan_discriminator(plan: DcganPlan) -> nn.Sequential:
    """The examples' D Sequential without its sigmoid: conv, LeakyReLU, (conv, batch norm,
    LeakyReLU)..., a 4x4 valid conv."""
    modules: list[nn.Module] = []
    last = len(plan.convs) - 1
    for k in range(len(plan.convs)):
        stride, padding = (1, 0) if k == last else (2, 1)
        modules.append(
            nn.Conv2d(
                plan.channels[k],
                plan.channels[k + 1],
                _DCGAN_KERNEL,
                stride,
                padding,
                bias=plan.biases[k],
            )
        )
        if 0 < k < last:
            modules.append(nn.BatchNorm2d(plan.channels[k + 1]))
        if k < last:
            modules.append(nn.LeakyReLU(_LEAK))
    return nn.Sequential(*modules)


def _examples_generator(weights: dict[str, torch.Tensor], hints: _Hints) -> KnownGenerator | None:
    plan = dcgan_generator_plan(weights)
    if plan is None:
        return None
    latent_dim, channels, size = plan.channels[0], plan.channels[-1], plan.image_size
    if not hints.agree(
        (channels, size, size), latent_dim, width=plan.channels[-2], width_keys=_G_WIDTH_KEYS
    ):
        return None
    module = _loaded(LatentToImage(plan.name, build_dcgan_generator(plan)), weights)
    if module is None:
        return None
    return KnownGenerator(
        architecture=ARCH_EXAMPLES_G if plan.name == "main" else ARCH_HUGGAN_G,
        module=module,
        latent_dim=latent_dim,
        sample_shape=(channels, size, size),
        parameters=_parameters(module),
        details={
            "image": _image_text((channels, size, size)),
            "feature_maps": plan.channels[1:-1],
            "layers": f"{len(plan.convs)} transposed 4x4 convolutions, batch norm, ReLU, tanh",
        },
    )


def _examples_discriminator(
    weights: dict[str, torch.Tensor], hints: _Hints
) -> KnownDiscriminator | None:
    plan = dcgan_discriminator_plan(weights)
    if plan is None:
        return None
    channels, size = plan.channels[0], plan.image_size
    if not hints.agree((channels, size, size), width=plan.channels[1], width_keys=_D_WIDTH_KEYS):
        return None
    module = _loaded(ConvLogits(plan.name, build_dcgan_discriminator(plan)), weights)
    if module is None:
        return None
    return KnownDiscriminator(
        architecture=ARCH_EXAMPLES_D if plan.name == "main" else ARCH_HUGGAN_D,
        module=module,
        sample_shape=(channels, size, size),
        parameters=_parameters(module),
    )


# ---------------------------------------------------------------------- PyTorch-GAN DCGAN
def _pytorch_gan_generator(
    weights: dict[str, torch.Tensor], hints: _Hints
) -> KnownGenerator | None:
    linear = _shape(weights, "l1.0.weight", 2)
    last = _shape(weights, "conv_blocks.9.weight", 4)
    if linear is None or last is None:
        return None
    features, latent_dim = linear
    init_size = _square_root(features // _PYTORCH_GAN_G_MAPS[0])
    if features % _PYTORCH_GAN_G_MAPS[0] or init_size is None:
        return None
    channels, size = last[0], 4 * init_size  # two 2x upsamplings
    if channels not in _IMAGE_CHANNELS and hints.channels != channels:
        return None
    # dcgan.py sets init_size = img_size // 4, so an img_size hint need not be a multiple of 4.
    if hints.image_size is not None and hints.image_size // 4 != init_size:
        return None
    if not hints.agree((channels, size, size), latent_dim, check_size=False):
        return None
    module = _loaded(PytorchGanGenerator(latent_dim, init_size, channels), weights)
    if module is None:
        return None
    return KnownGenerator(
        architecture=ARCH_PYTORCH_GAN_G,
        module=module,
        latent_dim=latent_dim,
        sample_shape=(channels, size, size),
        parameters=_parameters(module),
        details={
            "image": _image_text((channels, size, size)),
            "init_size": init_size,
            "feature_maps": list(_PYTORCH_GAN_G_MAPS),
            "batch_norm_eps": [_BATCH_NORM_EPS, _PYTORCH_GAN_EPS, _PYTORCH_GAN_EPS],
        },
    )


def _pytorch_gan_discriminator(
    weights: dict[str, torch.Tensor], hints: _Hints
) -> KnownDiscriminator | None:
    first = _shape(weights, "model.0.weight", 4)
    adversarial = _shape(weights, "adv_layer.0.weight", 2)
    if first is None or adversarial is None or adversarial[0] != 1:
        return None
    channels = first[1]
    features = adversarial[1]
    final_size = _square_root(features // _PYTORCH_GAN_D_MAPS[-1])
    if features % _PYTORCH_GAN_D_MAPS[-1] or final_size is None:
        return None
    if channels not in _IMAGE_CHANNELS and hints.channels != channels:
        return None
    # dcgan.py sizes adv_layer by img_size // 16; four stride-2 convolutions take any img_size
    # from 16 * s - 15 to 16 * s down to s, so a hint picks the size and 16 * s is the default.
    size = 16 * final_size
    if hints.image_size is not None:
        if hints.image_size // 16 != final_size:
            return None
        size = hints.image_size
    if not hints.agree((channels, size, size), check_size=False):
        return None
    module = _loaded(PytorchGanDiscriminator(channels, final_size), weights)
    if module is None:
        return None
    return KnownDiscriminator(
        architecture=ARCH_PYTORCH_GAN_D,
        module=module,
        sample_shape=(channels, size, size),
        parameters=_parameters(module),
    )


# ---------------------------------------------------------------------- Lightning's MLP GAN
def _lightning_generator(weights: dict[str, torch.Tensor], hints: _Hints) -> KnownGenerator | None:
    first = _shape(weights, "model.0.weight", 2)
    last = _shape(weights, "model.11.weight", 2)
    if first is None or last is None or last[1] != _LIGHTNING_G_WIDTHS[-1]:
        return None
    latent_dim = first[1]
    image_shape = _image_shape_of(last[0], hints)
    if image_shape is None or not hints.agree(image_shape, latent_dim):
        return None
    module = _loaded(MlpGenerator(latent_dim, image_shape), weights)
    if module is None:
        return None
    return KnownGenerator(
        architecture=ARCH_LIGHTNING_G,
        module=module,
        latent_dim=latent_dim,
        sample_shape=image_shape,
        parameters=_parameters(module),
        details={
            "image": _image_text(image_shape),
            "hidden_sizes": list(_LIGHTNING_G_WIDTHS),
            "batch_norm_eps": _PYTORCH_GAN_EPS,
            "same_layout_as": "PyTorch-GAN implementations/gan generator",
        },
    )


def _lightning_discriminator(
    weights: dict[str, torch.Tensor], hints: _Hints
) -> KnownDiscriminator | None:
    first = _shape(weights, "model.0.weight", 2)
    if first is None or first[0] != _LIGHTNING_D_WIDTHS[0]:
        return None
    image_shape = _image_shape_of(first[1], hints)
    if image_shape is None or not hints.agree(image_shape):
        return None
    module = _loaded(MlpDiscriminator(first[1]), weights)
    if module is None:
        return None
    return KnownDiscriminator(
        architecture=ARCH_LIGHTNING_D,
        module=module,
        sample_shape=image_shape,
        parameters=_parameters(module),
    )


def _image_shape_of(features: int, hints: _Hints) -> tuple[int, int, int] | None:
    """The (C, H, W) an MLP's flat image of `features` values is viewed as: the hints' where
    they give it, else the one square grayscale or RGB image of that size (a square and three
    times a square are never the same number)."""
    if hints.image_shape is not None:
        return hints.image_shape if math.prod(hints.image_shape) == features else None
    if hints.channels is not None and hints.image_size is not None:
        shape = (hints.channels, hints.image_size, hints.image_size)
        return shape if math.prod(shape) == features else None
    if hints.image_size is not None:
        channels, left = divmod(features, hints.image_size**2)
        return (channels, hints.image_size, hints.image_size) if channels and not left else None
    for channels in (hints.channels,) if hints.channels is not None else _IMAGE_CHANNELS:
        side = _square_root(features // channels) if features % channels == 0 else None
        if side is not None:
            return (channels, side, side)
    return None


# ---------------------------------------------------------------------- hints
_LATENT_KEYS = ("latent_dim", "nz", "z_dim", "latent_size", "dim_z")
_CHANNEL_KEYS = ("nc", "num_channels", "channels", "img_channels", "n_channels")
_SIZE_KEYS = ("img_size", "image_size", "img_resolution", "resolution")
_SHAPE_KEYS = ("img_shape", "image_shape", "sample_shape")
_G_WIDTH_KEYS = ("ngf", "hidden_size")
_D_WIDTH_KEYS = ("ndf", "hidden_size")


@dataclass
class _Hints:
    """What a file's metadata says, as numbers; None where it says nothing readable."""

    latent_dim: int | None = None
    channels: int | None = None
    image_size: int | None = None
    image_shape: tuple[int, int, int] | None = None
    widths: dict[str, int] = field(default_factory=dict)  # ngf / ndf / hidden_size

    def agree(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int | None = None,
        width: int | None = None,
        width_keys: tuple[str, ...] = (),
        check_size: bool = True,
    ) -> bool:
        """Whether nothing the hints say contradicts what the weights say (`check_size` False
        where the caller has checked an image-size hint its own way)."""
        channels, height, width_of_image = image_shape
        if self.image_shape is not None and self.image_shape != image_shape:
            return False
        if self.channels is not None and self.channels != channels:
            return False
        sized = self.image_size is None or self.image_size == height == width_of_image
        if check_size and not sized:
            return False
        if None not in (self.latent_dim, latent_dim) and self.latent_dim != latent_dim:
            return False
        return width is None or all(self.widths.get(key, width) == width for key in width_keys)


def _read_hints(hints: Mapping[str, Any] | None) -> _Hints | None:
    """The hints as numbers (strings such as safetensors metadata's "100" read too); None where
    the hints contradict themselves. Unreadable values are left out: hints only confirm."""
    facts = _Hints()
    if not isinstance(hints, Mapping):
        return facts
    for keys, slot in (
        (_LATENT_KEYS, "latent_dim"),
        (_CHANNEL_KEYS, "channels"),
        (_SIZE_KEYS, "image_size"),
    ):
        values = {_positive_int(hints.get(key)) for key in keys} - {None}
        if len(values) > 1:
            return None
        if values:
            setattr(facts, slot, values.pop())
    shapes = {_image_shape_hint(hints.get(key)) for key in _SHAPE_KEYS} - {None}
    if len(shapes) > 1:
        return None
    if shapes:
        facts.image_shape = shapes.pop()
    for key in {*_G_WIDTH_KEYS, *_D_WIDTH_KEYS}:
        value = _positive_int(hints.get(key))
        if value is not None:
            facts.widths[key] = value
    return facts


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):  # numpy integers too
        return int(value) if int(value) > 0 else None
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,12}\s*", value):
        return _positive_int(int(value))
    return None


def _image_shape_hint(value: Any) -> tuple[int, int, int] | None:
    """(C, H, W) from a tuple/list of three ints, or a string like "(1, 8, 8)" or "[1,8,8]"."""
    if isinstance(value, str):
        if not re.fullmatch(
            r"\s*[\[(]?\s*\d{1,12}\s*,\s*\d{1,12}\s*,\s*\d{1,12}\s*,?\s*[\])]?\s*", value
        ):
            return None
        value = re.findall(r"\d+", value)
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return None
    sides = [_positive_int(side) for side in value]
    if any(side is None for side in sides):
        return None
    return (int(sides[0] or 0), int(sides[1] or 0), int(sides[2] or 0))


# ---------------------------------------------------------------------- shared checks
_BATCH_NORM_BUFFER = "num_batches_tracked"
_LAYER_KEY = re.compile(
    r"^(\w+)\.(\d{1,9})\.(weight|bias|running_mean|running_var|num_batches_tracked)$"
)


def _tensors_of(weights: Any) -> dict[str, torch.Tensor]:
    """The tensor entries of a dict under string keys; anything else is left out."""
    if not isinstance(weights, Mapping):
        return {}
    return {k: v for k, v in weights.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}


def _strip_wrappers(tensors: dict[str, torch.Tensor], maybe_model: bool) -> dict[str, torch.Tensor]:
    """`tensors` without a prefix every key shares that only wraps a network: 'module.' and
    '_orig_mod.' always, 'model.' (with `maybe_model`) where the rest is then split into
    networks or recognised as one, which it is not with the prefix."""
    while tensors:
        for wrapper in _ALWAYS_WRAPPERS + (_MAYBE_WRAPPERS if maybe_model else ()):
            if all(key.startswith(wrapper) and len(key) > len(wrapper) for key in tensors):
                inner = {key[len(wrapper) :]: value for key, value in tensors.items()}
                if wrapper in _ALWAYS_WRAPPERS or _recognisable(inner, tensors):
                    tensors = inner
                    break
        else:
            return tensors
    return tensors


def _recognisable(inner: dict[str, torch.Tensor], outer: dict[str, torch.Tensor]) -> bool:
    """Whether removing a 'model.' wrapper leaves networks where there were none."""
    if any(key.partition(".")[0] in _ROLE_OF_PREFIX for key in inner):
        return True

    def known(weights: dict[str, torch.Tensor]) -> bool:
        return recognise_generator(weights) is not None or (
            recognise_discriminator(weights) is not None
        )

    return known(inner) and not known(outer)


def _sequential_layers(
    weights: Mapping[str, torch.Tensor], names: tuple[str, ...]
) -> tuple[str, dict[int, dict[str, torch.Tensor]]] | None:
    """(name, {index: {parameter: tensor}}) where every key is `name.N.parameter` of one
    Sequential called one of `names`; None otherwise."""
    by_index: dict[int, dict[str, torch.Tensor]] = {}
    found: str | None = None
    for key, tensor in weights.items():
        match = _LAYER_KEY.match(key)
        if match is None or match.group(1) not in names or found not in (None, match.group(1)):
            return None
        found = match.group(1)
        by_index.setdefault(int(match.group(2)), {})[match.group(3)] = tensor
    return (found, by_index) if found is not None else None


def _dims(tensor: torch.Tensor | None) -> int:
    return tensor.dim() if isinstance(tensor, torch.Tensor) else -1


def _shape(weights: Mapping[str, torch.Tensor], key: str, dims: int) -> tuple[int, ...] | None:
    """The shape of weights[key] where it is a floating-point tensor of `dims` dimensions, none
    of them empty."""
    tensor = weights.get(key)
    if not isinstance(tensor, torch.Tensor) or tensor.dim() != dims:
        return None
    if not tensor.is_floating_point() or 0 in tensor.shape:
        return None
    return tuple(int(side) for side in tensor.shape)


def _square_root(value: int) -> int | None:
    root = math.isqrt(value) if value > 0 else 0
    return root if root > 0 and root * root == value else None


def _loaded(module: nn.Module, weights: Mapping[str, torch.Tensor]) -> nn.Module | None:
    """`module` in eval mode with `weights` loaded (strict), or None unless the weights have
    exactly its keys and shapes: floating-point values, a batch norm's step count optional
    (older PyTorch did not save it)."""
    expected = module.state_dict()
    given = dict(weights)
    for key, target in expected.items():
        if key.endswith(_BATCH_NORM_BUFFER) and key not in given:
            given[key] = torch.zeros_like(target)
    if set(given) != set(expected):
        return None
    for key, target in expected.items():
        tensor = given[key]
        if tensor.shape != target.shape or tensor.layout != torch.strided:
            return None
        if key.endswith(_BATCH_NORM_BUFFER):
            if tensor.is_complex():
                return None
        elif not tensor.is_floating_point():
            return None
    try:  # on the CPU in the module's dtypes (float16 or float64 files too), as a copy
        converted = {key: given[key].detach().to("cpu", t.dtype) for key, t in expected.items()}
        module.load_state_dict(converted, strict=True)
    except (RuntimeError, ValueError, TypeError, NotImplementedError):  # e.g. meta tensors
        return None
    return module.eval()


def _parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _image_text(shape: tuple[int, ...]) -> str:
    return " x ".join(str(side) for side in shape)


def _few(weights: Mapping[Any, Any]) -> str:
    keys = [str(key) for key in list(weights)[:4]]
    return ", ".join(keys[:3]) + (", ..." if len(weights) > 3 else "")
