"""`Run`: a few lines that log anyone's own GAN training loop to a GANViz run folder.

    run = Run("runs/my-gan", G=netG, D=netD, config=vars(args))
    for step, batch in enumerate(loader):
        ...  # the user's own D and G updates
        run.log(step, loss_d=errD, loss_g=errG, d_real=D_x, d_fake=D_G_z)
    run.close()

On the training thread `Run` only captures: the values (tensors stacked and copied to the host
in one non-blocking transfer), layer statistics every `stats_every` steps, G's samples of the
fixed noise every `sample_every` steps, CPU copies of the weights at checkpoints. Every file is
written by the writer thread (core/run_log_writer.py). docs/logging-api.md describes the
behaviour, docs/run-folder.md the files.
"""

from __future__ import annotations

import argparse
import atexit
import copy
import dataclasses
import math
import operator
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from ganviz_gui import __version__
from ganviz_gui.core.config import LOSSES
from ganviz_gui.core.generator_files import LATENT_ATTRIBUTES
from ganviz_gui.core.host_copies import HostCopy, cuda_events
from ganviz_gui.core.network_stats import LayerStats, layer_parameters
from ganviz_gui.core.run_folder import RUN_LOGGER
from ganviz_gui.core.run_log_writer import (
    CapturedScalars,
    RunDetails,
    RunLogWriter,
    event,
    one_number,
    program_failed,
)


class Run:
    """Logs one training run to the folder `path` (created; it must not hold a run already).

    G: the generator; D: the discriminator, if there is one (DataParallel, DDP and
    torch.compile wrappers are looked through). `config`: the user's settings (a dict, an
    argparse.Namespace or a dataclass), written to config.json and into every checkpoint, with
    values JSON cannot hold written as their repr. `loss`: the objective D is trained with, one
    of core.config.LOSSES; it says what D's output means (see docs/logging-api.md).
    """

    def __init__(
        self,
        path: str | Path,
        G: nn.Module,
        D: nn.Module | None = None,
        config: Any = None,
        *,
        loss: str = "nonsaturating",
        latent_shape: int | Sequence[int] | None = None,
        stats_every: int = 100,
        sample_every: int = 500,
        checkpoint_every: int = 0,
        keep_checkpoints: int = 5,
        n_samples: int = 64,
        seed: int = 0,
        queue_size: int = 10_000,
    ):
        if loss not in LOSSES:
            raise ValueError(f"loss={loss!r}: choose one of {', '.join(LOSSES)}")
        for name, value in (
            ("stats_every", stats_every),
            ("sample_every", sample_every),
            ("checkpoint_every", checkpoint_every),
            ("keep_checkpoints", keep_checkpoints),
        ):
            if operator.index(value) < 0:
                raise ValueError(f"{name}={value}: must be 0 (off) or more")
        if not 1 <= n_samples <= 1024:
            raise ValueError(f"n_samples={n_samples}: choose between 1 and 1024")
        self.path = Path(path)
        self.generator = _unwrapped(G)
        self.discriminator = _unwrapped(D) if D is not None else None
        self.loss = loss
        self.stats_every = stats_every
        self.sample_every = sample_every
        self.checkpoint_every = checkpoint_every
        self.keep_checkpoints = keep_checkpoints
        self.rank, self.world_size = _process_group()
        self.latent_shape = _latent_shape(self.generator, latent_shape)
        self.latent_dim = math.prod(self.latent_shape)
        # Drawn from a generator of its own: the user's random stream is left alone.
        self.fixed_noise = torch.randn(
            n_samples, self.latent_dim, generator=torch.Generator().manual_seed(seed)
        )
        self.sample_shape = _sample_shape(self.generator, self.latent_shape)
        self.data = {
            "kind": "images" if len(self.sample_shape) == 3 else "points",
            "sample_shape": list(self.sample_shape),
        }
        self._closed = False
        self._last_step: int | None = None
        self._last_sample_step: int | None = None
        self._last_checkpoint_step: int | None = None
        self._next_stats = 0
        self._next_sample = 0
        self._next_checkpoint = checkpoint_every
        self._programs_started = False
        self._noise_by_device: dict[torch.device, torch.Tensor] = {}
        self._writer: RunLogWriter | None = None
        self._updates: LayerStatsAtUpdates | None = None
        if self.rank != 0:
            return  # another rank writes; this one only takes part in reduce=True
        _refuse_used_folder(self.path)
        settings = json_safe_config(config)
        self._clock_start = time.perf_counter()  # for `elapsed`
        details = RunDetails(
            fixed_noise=self.fixed_noise,
            latent_shape=list(self.latent_shape),
            data=self.data,
            config=settings,
            loss=loss,
            has_discriminator=self.discriminator is not None,
        )
        self._writer = RunLogWriter(self.path, details, queue_size)
        self._writer.submit(self._writer.write_config, settings)
        if stats_every:
            self._updates = LayerStatsAtUpdates(self._networks())
        atexit.register(self._close_at_exit)

    # ------------------------------------------------------------------ the loop
    @property
    def is_writer(self) -> bool:
        """This process writes the folder (rank 0, or no process group)."""
        return self._writer is not None

    def log(self, step: int, /, reduce: bool = False, **scalars: Any) -> None:
        """Record the scalars of iteration `step`: numbers or one-element tensors (detached
        here, copied without waiting for the device). `reduce=True` first averages them over
        the ranks of the process group: an all_reduce every rank must take part in. (A
        scalar cannot be named `reduce`; `step`, `time` and `elapsed` are refused by name.)"""
        if self._closed:
            raise RuntimeError(f"{self.path}: log() after close()")
        step = operator.index(step)
        if reduce and self.world_size > 1:
            scalars = _mean_over_ranks(scalars)
        writer = self._writer
        if writer is None:
            return
        captured = CapturedScalars.of(scalars)
        first = self._last_step is None
        if first:
            self._write_started(step)
        writer.submit(writer.write_metrics, step, time.time(), self._elapsed(), captured)
        if self.stats_every and step >= self._next_stats:
            self._record_stats(step)
        if first or (self.sample_every and step >= self._next_sample):
            self._record_samples(step)
        if self.checkpoint_every and step >= self._next_checkpoint:
            self.checkpoint(step)
        if self._updates is not None:
            # Measure the updates of the iteration that will be logged next if its step is
            # due for statistics (the stride between logged steps is taken to stay the same).
            stride = step - self._last_step if self._last_step is not None else 1
            self._updates.armed = step + max(stride, 1) >= self._next_stats
        self._last_step = step

    def checkpoint(self, step: int | None = None) -> None:
        """Save the weights of G and D now (at the newest logged step unless given). The copies
        are taken here in one go; the writer saves them atomically and keeps the newest
        `keep_checkpoints` (0 keeps all)."""
        if self._writer is None:
            return
        if self._closed:
            raise RuntimeError(f"{self.path}: checkpoint() after close()")
        step = operator.index(step) if step is not None else (self._last_step or 0)
        self._save_checkpoint(step)

    def _save_checkpoint(self, step: int) -> None:
        assert self._writer is not None
        self._start_programs(step)
        states = {
            "generator": self.generator.state_dict(),
            "discriminator": (
                self.discriminator.state_dict() if self.discriminator is not None else None
            ),
        }
        writer = self._writer
        writer.checkpoint_slots.acquire()  # no more than two copies wait for the disk
        copied = HostCopy.of(states)
        writer.submit(writer.write_checkpoint, step, copied, self._elapsed(), self.keep_checkpoints)
        self._last_checkpoint_step = step
        if self.checkpoint_every:
            self._next_checkpoint = _next_multiple(step, self.checkpoint_every)

    def close(self, reason: str = "finished") -> None:
        """Write the last samples and checkpoint (unless just written), record why the run
        ended (`closed` event), and wait until every file is written."""
        if self._closed:
            return
        self._closed = True
        writer = self._writer
        if writer is None:
            return
        atexit.unregister(self._close_at_exit)
        step = self._last_step if self._last_step is not None else 0
        try:
            if self._last_step is None:
                self._write_started(step)
            if self._last_sample_step != step:
                self._record_samples(step)
            if self._last_checkpoint_step != step:
                self._save_checkpoint(step)
        except Exception as exc:  # e.g. a device error: the earlier files stay good
            writer.submit(writer.write_event, event(step, "error", message=_reason(exc)))
        finally:
            writer.submit(writer.write_event, event(step, "closed", reason=reason))
            if self._updates is not None:
                self._updates.remove()
            writer.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.close("finished")
        elif isinstance(error, KeyboardInterrupt):
            self.close("interrupted")
        else:
            self.close(f"error: {_reason(error)}")

    # ------------------------------------------------------------------ captures
    def _networks(self) -> dict[str, nn.Module]:
        networks = {"generator": self.generator}
        if self.discriminator is not None:
            networks["discriminator"] = self.discriminator
        return networks

    def _elapsed(self) -> float:
        return time.perf_counter() - self._clock_start

    def _write_started(self, step: int) -> None:
        assert self._writer is not None
        started = event(
            step,
            "started",
            device=str(_device_of(self.generator)),
            app_version=__version__,
            torch_version=torch.__version__,
            writer=RUN_LOGGER,
            data=self.data,
            latent_shape=list(self.latent_shape),
            loss=self.loss,
        )
        if self.world_size > 1:
            started["world_size"] = self.world_size
        self._writer.submit(self._writer.write_event, started)

    def _record_stats(self, step: int) -> None:
        """Layer health of G and D: taken before their optimizers' last steps where those were
        seen (the gradients each update used), else now (the gradients .grad holds)."""
        assert self._writer is not None and self._updates is not None
        taken = self._updates.take()
        stats = {}
        for network, module in self._networks().items():
            at_update = taken.get(network)
            stats[network] = at_update if at_update is not None else _layer_stats(module)
        devices = {_device_of(module) for module in self._networks().values()}
        computed = HostCopy(None, cuda_events(devices))
        self._writer.submit(self._writer.write_stats, step, stats, computed)
        self._next_stats = _next_multiple(step, self.stats_every)

    def _record_samples(self, step: int) -> None:
        """G's samples of the fixed noise, in eval mode without gradients (batch-norm running
        statistics untouched), G's mode restored."""
        assert self._writer is not None
        self._start_programs(step)
        generator = self.generator
        device = _device_of(generator)
        noise = self._noise_by_device.get(device)
        if noise is None:
            noise = self.fixed_noise.reshape(-1, *self.latent_shape).to(device)
            self._noise_by_device = {device: noise}
        was_training = generator.training
        generator.eval()
        try:
            with torch.no_grad():
                samples = generator(noise)
        finally:
            generator.train(was_training)
        self._writer.submit(self._writer.write_sample, step, HostCopy.of(samples))
        self._last_sample_step = step
        if self.sample_every:
            self._next_sample = _next_multiple(step, self.sample_every)

    def _start_programs(self, step: int) -> None:
        """Once, at the first sample or checkpoint: CPU copies of G and D, from which the writer
        makes their TorchScript programs."""
        if self._programs_started:
            return
        self._programs_started = True
        assert self._writer is not None
        try:
            generator, g_weights = cpu_copy(self.generator)
            discriminator, d_weights = (
                cpu_copy(self.discriminator) if self.discriminator is not None else (None, None)
            )
        except Exception as exc:  # a module that cannot be copied: the run goes on without
            why = f"cannot copy the network ({_reason(exc)})"
            self._writer.submit(self._writer.write_event, program_failed(step, "generator", why))
            return
        latents = self.fixed_noise.reshape(-1, *self.latent_shape)
        weights = [copied for copied in (g_weights, d_weights) if copied is not None]
        self._writer.submit(
            self._writer.write_programs, generator, discriminator, weights, latents, step
        )

    def _close_at_exit(self) -> None:
        """The program ends without close(): an uncaught exception has set sys.last_value."""
        error = getattr(sys, "last_value", None)
        self.close("finished" if error is None else f"error: {_reason(error)}")


class LayerStatsAtUpdates:
    """Layer statistics of G and D taken just before their optimizers step, while armed.

    A torch.optim step pre-hook (every optimizer of the process; those of other networks are
    ignored) sees the gradients each update uses. Read at log time instead, D's gradients
    would in the usual loop also hold what G's backward pass left in them.
    """

    def __init__(self, networks: dict[str, nn.Module]):
        self.networks = networks
        self.armed = False
        self._taken: dict[str, LayerStats] = {}
        self._owner = {
            id(parameter): name
            for name, module in networks.items()
            for parameter in module.parameters()
        }
        self._hook = register_optimizer_step_pre_hook(self._before_step)

    def take(self) -> dict[str, LayerStats]:
        """What was taken since armed, and disarm."""
        taken, self._taken = self._taken, {}
        self.armed = False
        return taken

    def remove(self) -> None:
        self._hook.remove()

    def _before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if not self.armed:
            return
        first = next((p for group in optimizer.param_groups for p in group["params"]), None)
        network = self._owner.get(id(first))
        if network is not None:  # the newest update wins (several D steps per G step)
            self._taken[network] = _layer_stats(self.networks[network])


def _layer_stats(module: nn.Module) -> LayerStats:
    """Norms and histograms of the module's layers now, computed on its device (no sync)."""
    return LayerStats(layer_parameters(module))


# ---------------------------------------------------------------------- networks
def _unwrapped(module: nn.Module) -> nn.Module:
    """The user's module inside DataParallel / DistributedDataParallel / torch.compile."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
    while True:
        if isinstance(module, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            module = module.module
        elif hasattr(module, "_orig_mod") and isinstance(module._orig_mod, nn.Module):
            module = module._orig_mod  # torch.compile's OptimizedModule
        else:
            return module


def _device_of(module: nn.Module) -> torch.device:
    parameter = next(module.parameters(), None)
    if parameter is None:
        raise ValueError(f"{type(module).__name__} has no parameters to train")
    return parameter.device


def _latent_shape(generator: nn.Module, given: int | Sequence[int] | None) -> tuple[int, ...]:
    """The shape of one latent G takes: given, else from G's attributes and first layer."""
    if given is not None:
        shape = (given,) if isinstance(given, int) else tuple(given)
        if not shape or not all(isinstance(s, int) and s > 0 for s in shape):
            raise ValueError(f"latent_shape={given!r}: positive whole numbers, e.g. (100, 1, 1)")
        return shape
    first = next((m for m in generator.modules() if any(True for _ in m.parameters(False))), None)
    takes_maps = isinstance(first, nn.ConvTranspose2d)
    for name in LATENT_ATTRIBUTES:
        value = getattr(generator, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return (value, 1, 1) if takes_maps else (value,)
    if isinstance(first, nn.Linear) and first.in_features > 0:
        return (first.in_features,)
    if takes_maps:  # a DCGAN-style start: (N, nz, 1, 1) latents
        assert isinstance(first, nn.ConvTranspose2d)
        return (first.in_channels, 1, 1)
    raise ValueError(
        f"cannot tell the latent shape {type(generator).__name__} takes (no latent_dim/nz/z_dim "
        "attribute, and its first layer is neither Linear nor ConvTranspose2d): give "
        "latent_shape=, e.g. Run(..., latent_shape=(100, 1, 1))"
    )


def _sample_shape(generator: nn.Module, latent_shape: tuple[int, ...]) -> tuple[int, ...]:
    """What one sample of G looks like: G run once on two latents, in eval mode."""
    device = _device_of(generator)
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            out = generator(torch.zeros(2, *latent_shape, device=device))
    except Exception as exc:
        raise ValueError(
            f"{type(generator).__name__} does not run on latents of shape (N, "
            f"{', '.join(map(str, latent_shape))}) ({_reason(exc)}): give latent_shape="
        ) from exc
    finally:
        generator.train(was_training)
    shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else None
    if shape is None or not ((len(shape) == 3 and shape[0] in (1, 3)) or shape == (2,)):
        raise ValueError(
            f"{type(generator).__name__} makes {shape or type(out).__name__}: GANViz shows "
            "images, (N, 1 or 3, H, W) in [-1, 1], and 2D points, (N, 2)"
        )
    return shape


def cpu_copy(module: nn.Module) -> tuple[nn.Module, HostCopy]:
    """A copy of `module` whose parameters and buffers are host copies of the originals
    (copied without waiting: read them after the device has finished, see HostCopy), with no
    copy made on the device."""
    originals: dict[int, torch.Tensor] = {}
    for tensor in [*module.parameters(), *module.buffers()]:
        originals.setdefault(id(tensor), tensor)
    copies = HostCopy.of(list(originals.values()))
    memo: dict[int, Any] = {}
    for original, copied in zip(originals.values(), copies.pending, strict=True):
        if isinstance(original, nn.Parameter):
            copied = nn.Parameter(copied, requires_grad=original.requires_grad)
        memo[id(original)] = copied
    return copy.deepcopy(module, memo), copies


# ---------------------------------------------------------------------- the process group
def _process_group() -> tuple[int, int]:
    """(rank, world size): (0, 1) without an initialised torch.distributed process group."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _mean_over_ranks(scalars: dict[str, Any]) -> dict[str, Any]:
    """Each scalar averaged over the ranks: one all_reduce of them all, in name order (every
    rank must log the same names)."""
    import torch.distributed as dist

    names = sorted(name for name, value in scalars.items() if value is not None)
    nccl = dist.get_backend() == "nccl"
    device = torch.device("cuda", torch.cuda.current_device()) if nccl else torch.device("cpu")
    values = torch.stack(
        [
            one_number(name, torch.as_tensor(scalars[name])).to(device, torch.float64)
            for name in names
        ]
    )
    dist.all_reduce(values)
    values /= dist.get_world_size()
    return {**scalars, **dict(zip(names, values.unbind(), strict=True))}


# ---------------------------------------------------------------------- plain values
def json_safe_config(config: Any) -> dict[str, Any]:
    """The user's settings as a JSON object: values JSON cannot hold become their repr."""
    if config is None:
        return {}
    if isinstance(config, argparse.Namespace):
        config = vars(config)
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    if not isinstance(config, Mapping):
        raise TypeError(
            f"config: a dict, an argparse.Namespace or a dataclass, not {type(config).__name__}"
        )
    safe = json_safe(config)
    assert isinstance(safe, dict)
    return safe


def json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -(2**63) <= value < 2**63 else repr(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return repr(value)


def _refuse_used_folder(path: Path) -> None:
    if any((path / name).exists() for name in ("config.json", "metrics.jsonl", "events.jsonl")):
        raise FileExistsError(f"{path}: holds a run already; log each run to a folder of its own")


def _next_multiple(step: int, every: int) -> int:
    return (step // every + 1) * every


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
