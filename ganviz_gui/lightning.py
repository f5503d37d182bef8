"""GANViz for PyTorch Lightning: `GANVizCallback` logs a LightningModule's GAN to a run folder.

    import lightning as L
    from ganviz_gui.lightning import GANVizCallback

    trainer = L.Trainer(callbacks=[GANVizCallback()])
    trainer.fit(gan)

The callback is a thin layer over `ganviz_gui.Run` (core/run_logger.py): it finds G and D on the
module, creates the Run when training starts, hands it what the module logs with `self.log`
and the optimizers' learning rates after every training batch, and closes it with the reason
training ended. docs/logging-api.md ("Lightning") describes the behaviour.

Needs the optional extra: pip install "ganviz[lightning]".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganviz_gui.core.run_log_writer import RESERVED_NAMES
from ganviz_gui.core.run_logger import Run
from ganviz_gui.core.tag_mapping import QUANTITIES, guess_quantity

try:
    import lightning.pytorch as pl
    from lightning.pytorch.trainer.states import TrainerStatus
    from lightning.pytorch.utilities import rank_zero_info
except ImportError as missing:
    raise ImportError(
        'ganviz_gui.lightning needs PyTorch Lightning: pip install "ganviz[lightning]"'
    ) from missing

__all__ = ["DISCRIMINATOR_NAMES", "GENERATOR_NAMES", "GANVizCallback"]

# Attribute names tried, after the one given, to find the networks on a LightningModule.
GENERATOR_NAMES = ("generator", "G", "netG", "gen")
DISCRIMINATOR_NAMES = ("discriminator", "D", "netD", "disc", "critic")
# Optimizers that step neither network's parameters are taken in the order Lightning's GAN
# example returns them from configure_optimizers: [opt_g, opt_d].
LEARNING_RATES_BY_POSITION = ("lr_g", "lr_d")
# A logged name that would clash with a field of every record or with Run.log's own keyword.
TAKEN_NAMES = (*RESERVED_NAMES, "reduce")
# self.log(..., on_step=True, on_epoch=True) also fills "<name>_step" and "<name>_epoch".
FORKED_SUFFIXES = ("_step", "_epoch")
DEFAULT_FOLDER = "ganviz"


class GANVizCallback(pl.Callback):
    """Logs the GAN a LightningModule trains to a GANViz run folder.

    path: the run folder (it must not hold a run already); None: `ganviz` under the trainer's
    log dir (`trainer.log_dir`: the logger's version folder, else `default_root_dir`), or
    `ganviz_1`, `ganviz_2`, ... when that exists. generator, discriminator: the module's
    attributes holding G and D, tried before the common names (GENERATOR_NAMES,
    DISCRIMINATOR_NAMES); discriminator=None logs G alone. config: the settings written to
    config.json and every checkpoint; None: the module's hparams. reduce: average every value
    over the DDP ranks (an all_reduce after every batch, on every rank); off, rank 0's own
    values are written, which `self.log(..., sync_dist=True)` has already averaged. The other
    settings are Run's (docs/logging-api.md).

    The step of a record is the training batch, counted from 0 across epochs
    (`trainer.fit_loop.total_batch_idx`, the step Lightning's loggers give self.log's values),
    not `trainer.global_step`: under manual optimization that counts optimizer steps, two per
    batch for a GAN stepping D and G. Each fit logs a folder of its own; `callback.run.path`
    says where the latest went.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        generator: str = "generator",
        discriminator: str | None = "discriminator",
        *,
        sample_every: int = 500,
        stats_every: int = 100,
        checkpoint_every: int = 0,
        keep_checkpoints: int = 5,
        loss: str = "nonsaturating",
        latent_shape: int | Sequence[int] | None = None,
        n_samples: int = 64,
        seed: int = 0,
        config: Any = None,
        reduce: bool = False,
    ):
        super().__init__()
        self.path = Path(path) if path is not None else None
        self.generator_attribute = generator
        self.discriminator_attribute = discriminator
        self.run_settings: dict[str, Any] = {
            "loss": loss,
            "latent_shape": latent_shape,
            "stats_every": stats_every,
            "sample_every": sample_every,
            "checkpoint_every": checkpoint_every,
            "keep_checkpoints": keep_checkpoints,
            "n_samples": n_samples,
            "seed": seed,
        }
        self.config = config
        self.reduce = reduce
        self.run: Run | None = None  # the run of the latest fit, kept after it closes
        self._run_open = False
        self._record_keys: dict[str, str] = {}  # logged name -> its key in the records
        self._last_values: dict[str, torch.Tensor] = {}  # logged name -> the value last seen
        self._learning_rates: list[tuple[str, torch.optim.Optimizer]] = []

    # ------------------------------------------------------------------ Lightning's hooks
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Here, not in __init__: the process group exists and the networks are on their device.
        generator = find_network(pl_module, self.generator_attribute, GENERATOR_NAMES, "generator")
        discriminator = None
        if self.discriminator_attribute is not None:
            discriminator = find_network(
                pl_module, self.discriminator_attribute, DISCRIMINATOR_NAMES, "discriminator"
            )
        # trainer.log_dir is a broadcast from rank 0: every rank asks for it.
        path = self.path if self.path is not None else free_folder(Path(trainer.log_dir or "."))
        config = self.config if self.config is not None else dict(pl_module.hparams)
        self._record_keys = {}
        self._last_values = {}
        run: Run | None = None
        failed: Exception | None = None
        try:
            run = Run(path, G=generator, D=discriminator, config=config, **self.run_settings)
        except Exception as error:  # e.g. a used folder, which only rank 0 looks at
            failed = error
        # Every rank stops together, rather than the others waiting for rank 0 in DDP's next
        # collective (gloo notices a peer gone, NCCL may wait out its timeout).
        if not trainer.strategy.reduce_boolean_decision(failed is None, all=True):
            if failed is not None:
                raise failed
            message = "GANVizCallback: the run could not start on another rank"
            assert run is not None
            run.close(f"error: {message}")
            raise RuntimeError(message)
        self.run = run
        self._run_open = True
        self._learning_rates = learning_rate_names(trainer.optimizers, generator, discriminator)
        rank_zero_info(f"GANViz: logging the run to {path} (open it with: ganviz open {path})")

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        run = self.run
        if run is None or not self._run_open:
            return
        scalars = self._fresh_values(trainer.callback_metrics)
        for name, optimizer in self._learning_rates:
            if name not in self._record_keys.values():  # the module logs it itself
                scalars[name] = optimizer.param_groups[0]["lr"]
        # Called on every rank: with reduce=True, Run.log takes part in an all_reduce.
        run.log(trainer.fit_loop.total_batch_idx, reduce=self.reduce, **scalars)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close("finished")  # with the last samples and checkpoint

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, KeyboardInterrupt):
            self._close("interrupted")
        else:
            self._close(f"error: {error_text(exception)}")

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # A fit that ended without on_train_end or on_exception still leaves a closed run.
        interrupted = trainer.state.status == TrainerStatus.INTERRUPTED
        self._close("interrupted" if interrupted else "finished")

    # ------------------------------------------------------------------ the values
    def _fresh_values(self, metrics: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The values `self.log` gave in this batch, under their record keys.

        trainer.callback_metrics keeps a name's last value until it is logged again. Each
        self.log call stores a new tensor there, so a value still in the storage seen at the
        previous batch was not logged in this one: it is left out, as a record leaves out what
        nothing measured (a G loss logged once per five D steps is not repeated in between).
        """
        fresh = {}
        for name, value in metrics.items():
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                continue
            if is_forked_name(name, metrics):
                continue  # the same value as `name` (per step) or an epoch aggregate
            previous = self._last_values.get(name)
            self._last_values[name] = value  # holding it keeps its storage from being reused
            if previous is not None and same_storage(previous, value):
                continue
            fresh[self._record_key(name)] = value
        return fresh

    def _record_key(self, name: str) -> str:
        """The GANViz quantity the name is (guess_quantity), else the name itself; a key once
        given stays the name's, and no two names share one."""
        key = self._record_keys.get(name)
        if key is not None:
            return key
        taken = set(self._record_keys.values())
        quantity = guess_quantity(name)
        if quantity is not None and quantity not in taken:
            key = quantity
        else:
            key, count = name, 1
            while key in taken or key in QUANTITIES or key in TAKEN_NAMES:
                count += 1
                key = f"{name} ({count})"
        self._record_keys[name] = key
        return key

    def _close(self, reason: str) -> None:
        if self.run is not None and self._run_open:
            self._run_open = False
            self.run.close(reason)


def find_network(
    module: nn.Module, attribute: str, common_names: Sequence[str], role: str
) -> nn.Module:
    """The network held by `attribute` of the module, else by the first common name it has."""
    tried = list(dict.fromkeys([attribute, *common_names]))
    for name in tried:
        candidate = getattr(module, name, None)
        if isinstance(candidate, nn.Module):
            return candidate
    raise AttributeError(
        f"GANVizCallback: {type(module).__name__} has no {role}: none of the attributes "
        f"{', '.join(tried)} holds a torch.nn.Module; name the attribute that does, e.g. "
        f"GANVizCallback({role}='my_{role}')"
    )


def learning_rate_names(
    optimizers: Sequence[torch.optim.Optimizer],
    generator: nn.Module,
    discriminator: nn.Module | None,
) -> list[tuple[str, torch.optim.Optimizer]]:
    """(lr_g or lr_d, optimizer) for the optimizers of G and D: an optimizer is G's or D's by
    the parameters it steps, else by its position ([opt_g, opt_d], Lightning's GAN example)."""
    owner = {id(parameter): "lr_g" for parameter in generator.parameters()}
    if discriminator is not None:
        owner.update({id(parameter): "lr_d" for parameter in discriminator.parameters()})
    named: dict[str, torch.optim.Optimizer] = {}
    for position, optimizer in enumerate(optimizers):
        first = next((p for group in optimizer.param_groups for p in group["params"]), None)
        name = owner.get(id(first))
        if name is None and position < len(LEARNING_RATES_BY_POSITION):
            name = LEARNING_RATES_BY_POSITION[position]
        if name is not None and name not in named:  # a network's first optimizer only
            named[name] = optimizer
    if discriminator is None:
        named.pop("lr_d", None)
    return list(named.items())


def free_folder(log_dir: Path) -> Path:
    """`ganviz` under the log dir, or the first of `ganviz_1`, `ganviz_2`, ... that does not
    exist (a run folder holds one run; without a logger, log_dir is the same every fit)."""
    candidate, count = log_dir / DEFAULT_FOLDER, 0
    while candidate.exists():
        count += 1
        candidate = log_dir / f"{DEFAULT_FOLDER}_{count}"
    return candidate


def is_forked_name(name: str, metrics: Mapping[str, Any]) -> bool:
    """`d_loss_step` or `d_loss_epoch` where `d_loss` is logged too."""
    return any(
        name.endswith(suffix) and name[: -len(suffix)] in metrics for suffix in FORKED_SUFFIXES
    )


def same_storage(first: torch.Tensor, second: torch.Tensor) -> bool:
    return first.untyped_storage().data_ptr() == second.untyped_storage().data_ptr()


def error_text(error: BaseException) -> str:
    """`TypeName: first line of the message`, as the closed event's reason carries it."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
