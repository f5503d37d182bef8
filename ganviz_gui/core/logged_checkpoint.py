"""Checkpoints that `ganviz_gui.Run` writes from a user's own training loop, and the programs
beside them.

GANViz may never have seen the user's generator class, so the run folder carries the
architecture as TorchScript programs, made once from CPU copies of G and D in eval mode:

    RUN/generator.torchscript.pt       G's program (traced; scripted where tracing fails)
    RUN/discriminator.torchscript.pt   D's program, traced on G's output, when D was given
    RUN/checkpoints/step_XXXXXXXX.pt   the weights at one step: a dict of tensors and plain
                                       values, read with torch.load(weights_only=True)

A generator in the pytorch/examples DCGAN layout is rebuilt from its weights alone (no code
runs). Any other architecture is rebuilt from its program, which carries code, so it opens only
when the caller says the user trusts the run (`trust=True`), as a TorchScript file does.
"""

from __future__ import annotations

import dataclasses
import io
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganviz_gui import __version__
from ganviz_gui.core.checkpoint import check_version
from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.finite import all_finite
from ganviz_gui.core.formats.known_architectures import (
    DcganPlan,
    LatentToImage,
    build_dcgan_generator,
    dcgan_generator_plan,
    recognise_generator,
)
from ganviz_gui.core.generator_files import KIND_LOGGED, GeneratorFile, first_line
from ganviz_gui.core.losses import PROBABILISTIC_LOSSES
from ganviz_gui.core.network_stats import LayerInfo, describe_layers
from ganviz_gui.core.regular_files import read_regular

LOGGED_FORMAT = "ganviz-logged-checkpoint"
LOGGED_FORMAT_VERSION = 1
MAX_PROGRAM_BYTES = 4 * 1024**3  # a TorchScript program of a user's network, weights included
PROGRAM_FILES = {
    "generator": "generator.torchscript.pt",
    "discriminator": "discriminator.torchscript.pt",
}
# What D's output means (the checkpoint's `discriminator_output`).
OUTPUT_LOGIT = "logit"  # a log-odds: sigmoid(output) is D's probability that x is real
OUTPUT_PROBABILITY = "probability"  # D ends in a Sigmoid: its output is the probability
OUTPUT_SCORE = "score"  # a critic's raw score (lsgan, hinge, wgan-gp)
# How G is rebuilt (the checkpoint's `generator_architecture`).
ARCHITECTURE_DCGAN = "pytorch-examples dcgan"  # from its weights alone: no code runs
ARCHITECTURE_PROGRAM = "program"  # from its TorchScript program: needs trust
CHECK_BATCH = 3  # a batch size unlike the traced one: a program that fixed it is caught
_PROBABILITY_EPS = 1e-6
_REQUIRED = {
    "step": int,
    "generator": dict,
    "fixed_noise": torch.Tensor,
    "latent_shape": list,
    "data": dict,
    "programs": dict,
    "loss": str,
    "discriminator_output": str,
}


# ---------------------------------------------------------------------- writing
def discriminator_output(loss: str, ends_in_sigmoid: bool) -> str:
    """What D's output means, from the loss the user trains with and D's last layer."""
    if loss not in PROBABILISTIC_LOSSES:
        return OUTPUT_SCORE
    return OUTPUT_PROBABILITY if ends_in_sigmoid else OUTPUT_LOGIT


def logged_checkpoint(
    step: int,
    generator: dict[str, torch.Tensor],
    discriminator: dict[str, torch.Tensor] | None,
    details: dict[str, Any],
    programs: dict[str, str | None],
) -> dict[str, Any]:
    """The dict a checkpoint file holds. `details`: what stays the same for the whole run
    (fixed_noise, latent_shape, data, config, loss, discriminator_output, layers)."""
    return {
        "format": LOGGED_FORMAT,
        "format_version": LOGGED_FORMAT_VERSION,
        "app_version": __version__,
        "step": step,
        "generator": generator,
        "discriminator": discriminator,
        **details,
        "programs": programs,
    }


@dataclasses.dataclass
class NetworkPrograms:
    """What making the programs found, per network ("generator", "discriminator")."""

    archives: dict[str, bytes]  # the TorchScript archive of each network that has one
    failures: dict[str, str]  # why a network has none
    layers: dict[str, list[dict[str, Any]]]  # its layer table (LayerInfo as plain values)
    ends_in_sigmoid: bool  # the last layer D runs is a Sigmoid (D outputs probabilities)
    architecture: str  # ARCHITECTURE_DCGAN when that rebuilds G exactly, else _PROGRAM


def make_programs(
    generator: nn.Module, discriminator: nn.Module | None, latents: torch.Tensor
) -> NetworkPrograms:
    """Programs and layer tables of CPU copies of G and D (changed: put in eval mode).

    `latents`: a batch shaped as G takes it. A program is checked against its network on a
    batch of another size, so one that fixed the batch size or a branch is refused.
    """
    found = NetworkPrograms({}, {}, {}, ends_in_sigmoid=False, architecture=ARCHITECTURE_PROGRAM)
    generator.eval()
    try:
        with torch.no_grad():
            samples = generator(latents)
    except Exception as exc:  # e.g. a forward that makes its tensors on a GPU by name
        found.failures["generator"] = f"G does not run on the CPU ({first_line(exc)})"
        return found
    if _same_as_examples_dcgan(generator, latents, samples):
        found.architecture = ARCHITECTURE_DCGAN
    inputs: dict[str, tuple[nn.Module, torch.Tensor]] = {"generator": (generator, latents)}
    if discriminator is not None:
        discriminator.eval()
        inputs["discriminator"] = (discriminator, samples)
        try:
            found.ends_in_sigmoid = _last_layer_is_sigmoid(discriminator, samples[:CHECK_BATCH])
        except Exception:  # a D that takes more than G's samples: tracing it says why
            found.ends_in_sigmoid = False
    for network, (module, example) in inputs.items():
        try:
            found.layers[network] = [
                dataclasses.asdict(layer) for layer in describe_layers(module, example[:2])
            ]
        except Exception:  # a module hooks cannot see into: the table stays empty
            found.layers[network] = []
        archive, failure = _program(module, example)
        if archive is not None:
            found.archives[network] = archive
        else:
            found.failures[network] = failure
    return found


def _program(module: nn.Module, example: torch.Tensor) -> tuple[bytes | None, str]:
    """(TorchScript archive, "") of the module, traced or else scripted; (None, why) if neither
    gives a program that computes what the module does."""
    check = example[:CHECK_BATCH]
    reasons = []
    for how in ("trace", "script"):
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript, torch 2.13
                if how == "trace":
                    program = torch.jit.trace(module, example, check_trace=False)
                else:
                    program = torch.jit.script(module)
                expected, got = module(check), program(check)
            if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
                raise ValueError(f"it gives another shape on a batch of {CHECK_BATCH}")
            if not torch.allclose(got, expected, rtol=1e-4, atol=1e-5):
                raise ValueError(
                    f"it computes other values on a batch of {CHECK_BATCH} (the batch size or "
                    "a branch was fixed when it was made)"
                )
            buffer = io.BytesIO()
            torch.jit.save(program, buffer)
            return buffer.getvalue(), ""
        except Exception as exc:  # tracing and scripting fail in many ways on user code
            reasons.append(f"{how}: {first_line(exc)}")
    return None, "; ".join(reasons)


def _same_as_examples_dcgan(
    generator: nn.Module, latents: torch.Tensor, samples: torch.Tensor
) -> bool:
    """Whether the pytorch/examples DCGAN GANViz rebuilds from G's weights alone computes what G
    does (weights of that layout with another forward must not open as it)."""
    weights = generator.state_dict()
    plan = dcgan_generator_plan(weights)
    if plan is None:
        return False
    try:
        net = LatentToImage(plan.name, build_dcgan_generator(plan))
        net.load_state_dict(weights)
        with torch.no_grad():
            rebuilt = net.eval()(latents.reshape(len(latents), -1))
    except Exception:  # the layout matched, its details did not
        return False
    return rebuilt.shape == samples.shape and torch.allclose(rebuilt, samples, atol=1e-5)


def _last_layer_is_sigmoid(module: nn.Module, example: torch.Tensor) -> bool:
    """Whether the last leaf layer to run is an nn.Sigmoid (as in pytorch/examples' DCGAN D)."""
    ran: list[nn.Module] = []
    hooks = [
        layer.register_forward_hook(lambda layer, _inputs, _output: ran.append(layer))
        for layer in module.modules()
        if not list(layer.children())
    ]
    try:
        with torch.no_grad():
            module(example)
    finally:
        for hook in hooks:
            hook.remove()
    return bool(ran) and isinstance(ran[-1], nn.Sigmoid)


# ---------------------------------------------------------------------- reading
def open_logged_checkpoint(path: Path, state: dict[str, Any], trust: bool) -> GeneratorFile:
    """The generator (and, trusted, the critic) of a checkpoint `Run` wrote, already read."""
    _check(state, path)
    weights = state["generator"]
    latent_shape = tuple(state["latent_shape"])
    sample_shape = tuple(state["data"]["sample_shape"])
    if not all_finite({"g": weights, "d": state.get("discriminator")}):
        raise CheckpointError(f"{path}: the weights hold NaN or infinite values")
    description = describe_logged_checkpoint(state, path)
    layers = {
        network: [_layer_info(row) for row in rows]
        for network, rows in _dict(state.get("layers")).items()
        if isinstance(rows, list)
    }
    critic = _critic_builder(path, state) if trust else None
    plan = _examples_dcgan_plan(state)
    known = recognise_generator(weights) if plan is not None else None
    if plan is not None:  # the pytorch/examples layout: rebuilt from the weights, no code runs
        if known is None:
            raise CheckpointError(f"{path}: its DCGAN weights do not load (damaged file)")
        if tuple(known.sample_shape) != sample_shape:
            raise CheckpointError(
                f"{path}: damaged: its DCGAN weights make {known.sample_shape} samples, the "
                f"checkpoint says {sample_shape}"
            )
        dcgan_module = known.module
        build = lambda which="ema": dcgan_module  # noqa: E731 - one generator, no EMA copy
    else:
        program = _program_path(path, state, "generator")
        if program is None:
            raise CheckpointError(
                f"{path}: a checkpoint logged with ganviz_gui.Run of a generator architecture "
                "GANViz does not know, and its run saved no generator program "
                f"({PROGRAM_FILES['generator']}) to rebuild it from"
            )
        if not trust:
            raise CheckpointError(
                f"{path}: a checkpoint logged with ganviz_gui.Run whose generator is rebuilt "
                f"from the TorchScript program {program.name} beside it: a program carries "
                "code, so GANViz opens it only if you trust where the run came from (--trust "
                "on the command line)"
            )
        network = _program_builder(path, program, weights, "generator")
        latent_dim = math.prod(latent_shape)

        def build(which: str = "ema") -> nn.Module:  # the file holds one generator: no EMA
            module = network()
            return module if len(latent_shape) == 1 else _ShapedLatents(module, latent_shape)

        _check_generator(path, build(), latent_dim, sample_shape)
    return GeneratorFile(
        path=path,
        kind=KIND_LOGGED,
        latent_dim=math.prod(latent_shape),
        sample_shape=sample_shape,
        step=state["step"],
        _build=build,
        description=description,
        _build_critic=critic,
        fixed_noise=state["fixed_noise"],
        layers=layers or None,
    )


def describe_logged_checkpoint(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """What a logged checkpoint holds, for `ganviz info`: read safely, no programs run."""
    _check(state, path)

    def count(part: str) -> int | None:
        weights = state.get(part)
        if not isinstance(weights, dict):
            return None
        return sum(t.numel() for t in weights.values() if isinstance(t, torch.Tensor))

    known = _examples_dcgan_plan(state) is not None
    programs = {
        network: "present" if _program_path(path, state, network) else "missing"
        for network, name in state["programs"].items()
        if name
    }
    return {
        "file": str(path),
        "kind": KIND_LOGGED,
        "format": LOGGED_FORMAT,
        "format_version": state.get("format_version"),
        "app_version": state.get("app_version"),
        "step": state["step"],
        "data": state["data"],
        "latent_shape": state["latent_shape"],
        "loss": state["loss"],
        "discriminator_output": state["discriminator_output"],
        "generator_parameters": count("generator"),
        "discriminator_parameters": count("discriminator"),
        "generator_architecture": ARCHITECTURE_DCGAN if known else ARCHITECTURE_PROGRAM,
        "programs": programs,
        "needs_trust": not known,
        "training_seconds": state.get("elapsed"),
    }


def _examples_dcgan_plan(state: dict[str, Any]) -> DcganPlan | None:
    """The DCGAN plan G is rebuilt from without code, unless the run found G computes another
    thing (or G takes no (nz,) / (nz, 1, 1) latents)."""
    if state.get("generator_architecture") == ARCHITECTURE_PROGRAM:
        return None
    if tuple(state["latent_shape"][1:]) not in ((), (1, 1)):
        return None
    return dcgan_generator_plan(state["generator"])


def _check(state: dict[str, Any], path: Path) -> None:
    check_version(state, path, LOGGED_FORMAT_VERSION, "logged format")
    for key, kind in _REQUIRED.items():
        if not isinstance(state.get(key), kind):
            raise CheckpointError(f"{path}: damaged: '{key}' is missing or of the wrong type")
    if not isinstance(state.get("discriminator"), (dict, type(None))):
        raise CheckpointError(f"{path}: damaged: 'discriminator' is of the wrong type")
    shapes = {
        "latent_shape": state["latent_shape"],
        "sample shape": state["data"].get("sample_shape"),
    }
    for what, shape in shapes.items():
        if not (
            isinstance(shape, list) and shape and all(isinstance(s, int) and s > 0 for s in shape)
        ):
            raise CheckpointError(f"{path}: damaged: the {what} {shape!r} is not a shape")
    noise = state["fixed_noise"]
    if noise.dim() != 2 or noise.shape[1] != math.prod(state["latent_shape"]):
        raise CheckpointError(f"{path}: damaged: the fixed noise does not fit the latent shape")


def _program_path(path: Path, state: dict[str, Any], network: str) -> Path | None:
    """The network's program file in the checkpoint's run folder (or beside the checkpoint)."""
    name = _dict(state.get("programs")).get(network)
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
        return None  # no program, or a name reaching outside the run folder
    folder = path.parent
    for candidate in (
        (folder.parent / name, folder / name) if folder.name == "checkpoints" else (folder / name,)
    ):
        if candidate.is_file():
            return candidate
    return None


def _program_builder(
    path: Path, program: Path, weights: dict[str, torch.Tensor], network: str
) -> Callable[[], nn.Module]:
    """A function giving a fresh copy of the network: its program with the checkpoint's weights,
    in eval mode on the CPU. Called once here, so a broken program fails now, named."""
    archive = read_regular(program, MAX_PROGRAM_BYTES, CheckpointError, "network program")

    def build() -> nn.Module:
        with warnings.catch_warnings():
            # torch 2.13 marks TorchScript deprecated; it still loads (see docs/logging-api.md)
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(io.BytesIO(archive), map_location="cpu")
        module.load_state_dict(weights)
        return module.eval()

    try:
        build()
    except Exception as exc:  # TorchScript raises its own error types
        raise CheckpointError(
            f"{path}: the {network} weights do not load into its program {program.name} "
            f"({first_line(exc)})"
        ) from None
    return build


def _check_generator(
    path: Path, generator: nn.Module, latent_dim: int, sample_shape: tuple[int, ...]
) -> None:
    try:
        with torch.no_grad():
            out = generator(torch.zeros(2, latent_dim))
    except Exception as exc:
        raise CheckpointError(
            f"{path}: its generator program does not run on its latents ({first_line(exc)})"
        ) from None
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, *sample_shape):
        raise CheckpointError(
            f"{path}: its generator program does not make samples of shape {sample_shape}"
        )


def _critic_builder(
    path: Path, state: dict[str, Any]
) -> Callable[[], tuple[nn.Module, str]] | None:
    """(D, loss) from D's program and weights, where the run has both."""
    weights = state.get("discriminator")
    program = _program_path(path, state, "discriminator")
    if not isinstance(weights, dict) or program is None:
        return None
    network = _program_builder(path, program, weights, "discriminator")
    probabilities = state["discriminator_output"] == OUTPUT_PROBABILITY
    loss = state["loss"]

    def build() -> tuple[nn.Module, str]:
        module = network()
        return (_ProbabilityAsLogit(module) if probabilities else module), loss

    return build


class _ShapedLatents(nn.Module):
    """Feeds (N, latent_dim) latents to a generator that takes another shape, e.g. (N, nz, 1, 1)."""

    def __init__(self, net: nn.Module, latent_shape: tuple[int, ...]):
        super().__init__()
        self.net = net
        self.latent_shape = latent_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], *self.latent_shape))


class _ProbabilityAsLogit(nn.Module):
    """A D that ends in a Sigmoid, giving the log-odds instead: every view applies the sigmoid of
    the loss itself, which gives back D's own probability (not the sigmoid of a probability)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logit(self.net(x), eps=_PROBABILITY_EPS)


def _layer_info(row: Any) -> LayerInfo:
    row = _dict(row)
    return LayerInfo(
        name=str(row.get("name", "?")),
        kind=str(row.get("kind", "?")),
        output_shape=tuple(int(s) for s in row.get("output_shape", ()) if isinstance(s, int)),
        parameters=int(row.get("parameters", 0) or 0),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
