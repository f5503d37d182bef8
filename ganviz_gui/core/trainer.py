"""`Trainer`: one GAN, its optimisers and data, advanced one iteration at a time.

The step follows the reference DCGAN step (pytorch/examples dcgan/main.py): D on real, D on
`fake.detach()`, then G on the same fake. A caller (the command line, the GUI's worker, a test)
owns the loop, so it can pause, stop, take a D-only or G-only step, or change the learning
rates, D steps per G step and the loss between any two steps; each change becomes an event.

Scalars stay on the device and are fetched once per logging interval: there is no per-step
sync. Losses are averaged over the interval; gradient norms and D's outputs are measured on the
step that closes it. A non-finite loss or gradient still never reaches the weights: Adam and SGD run as fused
kernels that take a `found_inf` flag (the mechanism torch's GradScaler uses) and skip the
update on the device; the interval's one fetch then reveals the refusal, and the trainer restores
the last good state and halves the learning rates. RMSprop has no fused kernel, so with it the
check is made (and synced) before each update.

Under torchrun (`distributed`, see core/distributed.py) each rank trains on its own slice of
every batch, G and D average their gradients through DistributedDataParallel, each decision
that steers the ranks (a refusal, a snapshot) is taken by all of them together, and the
interval's scalars are averaged over ranks; rank 0 alone measures quality and layer statistics.
"""

from __future__ import annotations

import copy
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ganviz_gui.core import losses
from ganviz_gui.core.config import LOSSES, TrainingConfig
from ganviz_gui.core.data import BatchSampler, Dataset, load_dataset
from ganviz_gui.core.devices import resolve_device
from ganviz_gui.core.distributed import SINGLE_PROCESS, DistributedContext
from ganviz_gui.core.errors import ConfigError, TrainingStopped
from ganviz_gui.core.evaluation import (
    TRAINING_IMAGE_SAMPLES,
    ImageReference,
    decode,
    evaluate_images,
    evaluate_points,
    sample,
)
from ganviz_gui.core.metrics import PointHistogram
from ganviz_gui.core.models import build_models, dcgan_plan
from ganviz_gui.core.network_stats import LayerStats, layer_parameters, verdict_histograms

STEP_KINDS = ("both", "d", "g")
SNAPSHOT_EVERY = 100  # steps between copies of the last good state kept for recovery


@dataclass
class StepResult:
    step: int  # the iteration just finished (1-based)
    record: dict[str, Any] | None  # a metrics record when this step closed a logging interval
    skipped: bool  # an update was refused as non-finite and the last good state restored
    stats: dict[str, Any] | None = None  # layer health and D's verdicts, every stats_every steps


class Trainer:
    def __init__(
        self,
        config: TrainingConfig,
        dataset: Dataset | None = None,
        device: torch.device | None = None,
        distributed: DistributedContext | None = None,
    ):
        config.validate()
        self.config = copy.deepcopy(config)
        self.distributed = distributed if distributed is not None else SINGLE_PROCESS
        self.device = device if device is not None else resolve_device(config.device)
        self.dataset = dataset if dataset is not None else load_dataset(config)
        _check_data_fits_model(self.config, self.dataset)

        # Seed model initialisation without disturbing the caller's global RNG (the GUI's).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            generator, discriminator = build_models(self.config, self.dataset.sample_shape)
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self.generator_ema = _make_ema(self.generator) if config.ema_decay > 0 else None
        # The training passes go through these: under torchrun, DistributedDataParallel
        # wrappers that average the gradients over ranks; otherwise the modules themselves.
        # Everything else (EMA, snapshots, checkpoints, sampling) uses the plain modules.
        self._train_generator = self.distributed.wrap(self.generator)
        self._train_discriminator = self.distributed.wrap(self.discriminator)
        self.optimizer_g = _make_optimizer(self.config, "g", self.generator)
        self.optimizer_d = _make_optimizer(self.config, "d", self.discriminator)
        # Walking a module tree for its parameters costs more than a small step's maths; the
        # parameter objects never change (load_state_dict copies into them), so list them once.
        self._g_params: list[torch.Tensor] = list(self.generator.parameters())
        self._d_params: list[torch.Tensor] = list(self.discriminator.parameters())
        self._ema_params: list[torch.Tensor] = (
            [] if self.generator_ema is None else list(self.generator_ema.parameters())
        )
        self._g_layers = layer_parameters(self.generator)
        self._d_layers = layer_parameters(self.discriminator)
        self._g_buffers = list(self.generator.buffers())
        self._ema_buffers = [] if self.generator_ema is None else list(self.generator_ema.buffers())

        self.data_rng = torch.Generator(self.device).manual_seed(config.seed + 1)
        self.latent_rng = torch.Generator(self.device).manual_seed(config.seed + 2)
        cpu_rng = torch.Generator().manual_seed(config.seed + 3)
        self.fixed_noise = torch.randn(config.n_samples, config.latent_dim, generator=cpu_rng)
        self.real_data = self.dataset.data.to(self.device)
        self._one = torch.ones((), device=self.device)  # the "unscale" factor of the check
        self._fused_grad_check = _has_fused_grad_check(self._one)
        self.sampler = BatchSampler(
            self.real_data,
            config.batch_size,
            self.data_rng,
            rank=self.distributed.rank,
            world_size=self.distributed.world_size,
        )

        self.step_count = 0
        self.ema_updates = 0
        self.elapsed = 0.0  # seconds spent inside step(), summed over the run (and resumes)
        self.events: list[dict[str, Any]] = []  # drained by the run folder writer
        self.recoveries = 0
        self._pending: dict[str, list[torch.Tensor]] = defaultdict(list)
        self._interval_start_step = 0
        self._interval_elapsed = 0.0
        self._point_reference: PointHistogram | None = None  # real histogram for JS, made once
        self._stats: dict[str, Any] | None = None  # captured during a stats step (_take_stats)
        self._image_reference: ImageReference | None = None  # made at the first image eval
        self._snapshot = StateSnapshot()
        self._snapshot_step = -1
        self._take_snapshot()

    # ------------------------------------------------------------------ stepping
    def step(self, kind: str = "both") -> StepResult:
        """One iteration: `both` runs d_steps D updates then one G update; `d` or `g` one update."""
        if kind not in STEP_KINDS:
            raise ValueError(f"step kind must be one of {STEP_KINDS}, got {kind!r}")
        started = time.perf_counter()
        skipped = False
        fake = None
        # Gradient norms and D's outputs are measured on the step that closes a logging
        # interval only: on a GPU each is a few kernel launches, and small GANs are launch-bound.
        measure = (self.step_count + 1) % self.config.log_every == 0
        every = self.config.stats_every
        stats_step = every and (self.step_count + 1) % every == 0
        self._stats = {} if stats_step and self.distributed.is_main else None  # rank 0 writes
        if kind in ("both", "d"):
            updates = self.config.d_steps if kind == "both" else 1
            for i in range(updates):
                last = i == updates - 1
                ok, fake = self._update_discriminator(
                    keep_fake_graph=kind == "both" and last, measure=measure and last
                )
                if not ok:
                    skipped, fake = True, None
                    break
        if kind in ("both", "g") and not skipped:
            skipped = not self._update_generator(fake, measure)
        stats = self._take_stats()
        self.step_count += 1
        step_seconds = time.perf_counter() - started
        self.elapsed += step_seconds
        self._interval_elapsed += step_seconds
        record = None
        if self.step_count % self.config.log_every == 0:
            record, refused = self._close_interval()
            skipped = skipped or refused
            # Only an interval known to be clean makes a good state worth keeping.
            if not skipped and self.step_count - self._snapshot_step >= SNAPSHOT_EVERY:
                self._take_snapshot()
        if stats is not None:
            stats["step"] = self.step_count
        return StepResult(self.step_count, record, skipped, stats)

    def _update_discriminator(
        self, keep_fake_graph: bool, measure: bool
    ) -> tuple[bool, torch.Tensor | None]:
        cfg = self.config
        real = self.sampler.next()
        z = self._latents(real.shape[0])
        generator, discriminator = self._train_generator, self._train_discriminator
        if keep_fake_graph:
            fake = generator(z)  # reused by the G update that follows (as the reference does)
        else:
            with torch.no_grad():
                fake = generator(z)
        real_logits = discriminator(real)
        fake_logits = discriminator(fake.detach())
        loss = losses.d_loss(cfg.loss, real_logits, fake_logits)
        if cfg.loss == "wgan-gp" and cfg.gp_weight > 0:
            loss = loss + cfg.gp_weight * losses.gradient_penalty(
                discriminator, real, fake.detach(), self.latent_rng
            )
        if cfg.r1_weight > 0:
            loss = loss + 0.5 * cfg.r1_weight * losses.r1_penalty(discriminator, real)
        self.optimizer_d.zero_grad(set_to_none=True)
        loss.backward()
        pending = self._pending
        if self._stats is not None:  # with several D updates a step, the last one stays
            self._stats["discriminator"] = LayerStats(self._d_layers)
            self._stats["verdicts"] = (real_logits.detach(), fake_logits.detach())
        if measure:
            pending["grad_norm_d"].append(_grad_norm(self._d_params))
            pending["d_real"].append(losses.d_output(cfg.loss, real_logits.detach()))
            pending["d_fake"].append(losses.d_output(cfg.loss, fake_logits.detach()))
        if not self._apply_update(self.optimizer_d, "discriminator", loss, self._d_params):
            return False, None
        pending["loss_d"].append(loss.detach())
        return True, fake if keep_fake_graph else None

    def _update_generator(self, fake: torch.Tensor | None, measure: bool) -> bool:
        if fake is None:
            fake = self._train_generator(self._latents(self.config.batch_size))
        # D's weights need no gradient here; skipping them saves a third of D's backward. (D is
        # called unwrapped: with no gradient of its own, it has nothing to average over ranks.)
        for p in self._d_params:
            p.requires_grad_(False)
        try:
            fake_logits = self.discriminator(fake)
        finally:
            for p in self._d_params:
                p.requires_grad_(True)
        loss = losses.g_loss(self.config.loss, fake_logits)
        self.optimizer_g.zero_grad(set_to_none=True)
        loss.backward()
        if self._stats is not None:
            self._stats["generator"] = LayerStats(self._g_layers)
        if measure:
            self._pending["grad_norm_g"].append(_grad_norm(self._g_params))
        if not self._apply_update(self.optimizer_g, "generator", loss, self._g_params):
            return False
        self._update_ema()
        self._pending["loss_g"].append(loss.detach())
        return True

    def _take_stats(self) -> dict[str, Any] | None:
        """The layer statistics captured during this step (after each backward, before the
        update), fetched from the device in one go per network."""
        captured, self._stats = self._stats, None
        if not captured:
            return None
        record: dict[str, Any] = {}
        for network in ("generator", "discriminator"):
            if network in captured:
                record[network] = captured[network].to_record()
        if "verdicts" in captured:
            real, fake = (losses.d_outputs(self.config.loss, x) for x in captured["verdicts"])
            probabilities = self.config.loss in losses.PROBABILISTIC_LOSSES
            record["verdicts"] = verdict_histograms(real, fake, probabilities)
        return record

    def _apply_update(
        self,
        optimizer: torch.optim.Optimizer,
        network: str,
        loss: torch.Tensor,
        params: list[torch.Tensor],
    ) -> bool:
        """Step the optimizer unless the loss or a gradient is non-finite.

        Returns False when the update was refused here and now (non-fused optimizers); a fused
        optimizer refuses on the device, and the interval's end finds out (see module doc).
        """
        grads = [p.grad for p in params if p.grad is not None]
        if self._fused_grad_check:
            refused = torch.isfinite(loss.detach()).logical_not_().float()  # () 1.0 when bad
            if grads:
                # One fused kernel sets `refused` to 1 if any gradient holds inf or NaN; it is
                # the check torch's GradScaler runs (scaling by 1 leaves the gradients as is).
                torch._amp_foreach_non_finite_check_and_unscale_(grads, refused, self._one)
        else:  # inf - inf is NaN: the sum is non-finite exactly when one of the two is
            total = loss.detach() + (_grad_norm(params) if grads else 0.0)
            refused = torch.isfinite(total).logical_not_().float()
        if _refuses_on_device(optimizer):
            # Fused Adam and SGD steps read these two (GradScaler sets them too), which torch's
            # stubs do not declare. found_inf 1: the fused kernel leaves every state as it was.
            # Under torchrun the gradients are averaged, so a bad one is refused everywhere, but
            # the losses are each rank's own: a rank refusing alone falls behind its peers until
            # the interval's end, where a refusal on any rank restores one snapshot on all.
            optimizer.grad_scale = None  # type: ignore[attr-defined]
            optimizer.found_inf = refused  # type: ignore[attr-defined]
            optimizer.step()
            self._pending[f"refused:{network}"].append(refused)
            return True
        # Refusing here skips the rest of the step, so under torchrun the ranks decide together,
        # or one would leave its peers waiting in a collective it skips.
        if bool(self.distributed.any_rank(refused)):
            # Under torchrun the refusing loss may be another rank's: this one's says nothing.
            local_loss = None if self.distributed.is_distributed else float(loss.detach())
            self._recover(network, refused=1, loss=local_loss)
            return False
        optimizer.step()
        return True

    def _latents(self, n: int) -> torch.Tensor:
        # Under torchrun every rank draws the latents of all ranks and keeps its own slice: the
        # ranks' latents differ, yet their generators stay in one state, which checkpoints save.
        world, rank = self.distributed.world_size, self.distributed.rank
        z = torch.randn(
            n * world, self.config.latent_dim, device=self.device, generator=self.latent_rng
        )
        return z[rank * n : (rank + 1) * n] if world > 1 else z

    def _update_ema(self) -> None:
        if self.generator_ema is None:
            return
        # Warm-up as in TF's ExponentialMovingAverage: early samples are not dominated by init.
        self.ema_updates += 1
        decay = min(self.config.ema_decay, (1 + self.ema_updates) / (10 + self.ema_updates))
        with torch.no_grad():
            torch._foreach_lerp_(self._ema_params, self._g_params, 1.0 - decay)
            if self._g_buffers:  # batch-norm statistics are copied, not averaged
                torch._foreach_copy_(self._ema_buffers, self._g_buffers)

    # ------------------------------------------------------------------ recovery
    def _recover(
        self,
        network: str,
        refused: int,
        loss: float | None = None,
    ) -> None:
        """After refused updates: restore the last good state and halve both learning rates."""
        self.optimizer_d.zero_grad(set_to_none=True)
        self.optimizer_g.zero_grad(set_to_none=True)
        self._pending.clear()
        self.recoveries += 1
        restored_step = self._snapshot_step
        self._restore_snapshot()
        new_lrs = {}
        for name, optimizer in (("lr_g", self.optimizer_g), ("lr_d", self.optimizer_d)):
            for group in optimizer.param_groups:
                group["lr"] *= 0.5
            new_lrs[name] = optimizer.param_groups[0]["lr"]
        self.config.lr_g, self.config.lr_d = new_lrs["lr_g"], new_lrs["lr_d"]
        details: dict[str, Any] = {"network": network, "refused_updates": refused}
        if loss is not None:
            details["loss"] = _finite_or_text(loss)
        self._event(
            "nonfinite_recovery",
            **details,
            restored_step=restored_step,
            recovery=self.recoveries,
            **new_lrs,
        )
        if self.recoveries > self.config.max_nonfinite_recoveries:
            reason = (
                f"stopped at step {self.step_count}: the {network} produced a non-finite "
                f"loss or gradient {self.recoveries} times despite halving the learning rates "
                f"(now lr_g={new_lrs['lr_g']:.3g}, lr_d={new_lrs['lr_d']:.3g})"
            )
            self._event("stopped", reason=reason)
            raise TrainingStopped(reason)

    def _take_snapshot(self) -> None:
        # Never keep a bad state as "good". Every rank decides alike: a restore must put the
        # same state back on all of them.
        if not self.distributed.every_rank(_states_finite(self._model_states())):
            return
        self._snapshot.take(self._snapshot_state())
        self._snapshot_step = self.step_count

    def _snapshot_state(self) -> dict[str, Any]:
        """What a recovery puts back: the live tensors themselves (state dicts alias them)."""
        return {
            "models": self._model_states(),
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
        }

    def _restore_snapshot(self) -> None:
        if not self._snapshot.taken:
            return
        # Copied back in place where the state still has the snapshot's layout (the usual
        # case: the optimizers' group settings besides lr never change while training, and lr
        # comes from the config below); otherwise (an optimizer that had no state yet) loaded
        # from fresh copies, so the live state never shares memory with the snapshot's buffers.
        if not self._snapshot.restore_into(self._snapshot_state()):
            saved = self._snapshot.copy()
            models = saved["models"]
            self.generator.load_state_dict(models["generator"])
            self.discriminator.load_state_dict(models["discriminator"])
            if self.generator_ema is not None and models.get("generator_ema") is not None:
                self.generator_ema.load_state_dict(models["generator_ema"])
            _load_optimizer_state(self.optimizer_g, saved["optimizer_g"])
            _load_optimizer_state(self.optimizer_d, saved["optimizer_d"])
        # The snapshot holds the learning rates of its time; live changes since then stay.
        self._apply_config_learning_rates()

    def _apply_config_learning_rates(self) -> None:
        for optimizer, lr in (
            (self.optimizer_g, self.config.lr_g),
            (self.optimizer_d, self.config.lr_d),
        ):
            for group in optimizer.param_groups:
                group["lr"] = lr

    def _model_states(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "generator_ema": None
            if self.generator_ema is None
            else self.generator_ema.state_dict(),
        }

    # ------------------------------------------------------------------ metrics
    def _close_interval(self) -> tuple[dict[str, Any], bool]:
        """The interval's record, from its one device sync; recovers if updates were refused."""
        pending, self._pending = self._pending, defaultdict(list)
        refused_keys = [k for k in pending if k.startswith("refused:")]
        names = [k for k in pending if not k.startswith("refused:")]
        stats = {n: _finite_mean(torch.stack(pending[n])) for n in names}
        stats.update({k: torch.stack(pending[k]).sum() for k in refused_keys})
        # The interval's one device sync; under torchrun, the mean over ranks too, which makes
        # the refusal counts sums over ranks: every rank then recovers, or none does.
        values = self.distributed.all_reduce_mean(stats)
        record: dict[str, Any] = {"step": self.step_count}
        record.update({n: values[n] for n in names})
        ranks = self.distributed.world_size
        refused = {k.partition(":")[2]: round(values[k] * ranks) for k in refused_keys}
        steps = self.step_count - self._interval_start_step
        record["lr_g"] = self.optimizer_g.param_groups[0]["lr"]
        record["lr_d"] = self.optimizer_d.param_groups[0]["lr"]
        record["d_steps"] = self.config.d_steps
        record["elapsed"] = round(self.elapsed, 4)
        record["time"] = round(time.time(), 3)
        record["steps_per_sec"] = steps / self._interval_elapsed if self._interval_elapsed else 0.0
        self._interval_start_step = self.step_count
        self._interval_elapsed = 0.0
        refused_total = sum(refused.values())
        if refused_total:
            record["refused_updates"] = refused_total
            network = "discriminator" if refused.get("discriminator") else "generator"
            self._recover(network, refused=refused_total)  # may raise TrainingStopped
        # Quality is measured by rank 0 alone: the weights are the same on every rank, and the
        # image classifier is cached in files, which only rank 0 writes.
        if self.step_count % self.config.eval_every == 0 and self.distributed.is_main:
            if self.dataset.is_image:
                record.update(self.evaluate_images(generator="raw"))
            else:
                record.update(self.evaluate_2d(generator="raw"))
        return record, bool(refused_total)

    def evaluate_2d(self, generator: str = "ema") -> dict[str, float]:
        """Mode coverage, quality and JS divergence of G's samples against the real points."""
        if self._point_reference is None:
            self._point_reference = PointHistogram(self.dataset.data.numpy())
        net = self.sampling_generator(generator)
        return evaluate_points(
            net, self.config.latent_dim, self.dataset, self.config.seed + 4, self._point_reference
        )

    def evaluate_images(self, generator: str = "ema") -> dict[str, Any]:
        """Diversity against the data's; with labels, the classifier's Fréchet distance and
        classes covered. The first call trains (or loads) the data set's classifier."""
        if self._image_reference is None:
            started = time.perf_counter()
            self._image_reference = ImageReference(self.dataset, seed=self.config.seed + 4)
            classifier = self._image_reference.classifier
            if classifier is not None:
                self._event(
                    "quality_classifier",
                    accuracy=round(classifier.accuracy, 4),
                    seconds=round(time.perf_counter() - started, 2),
                )
        return evaluate_images(
            self.sampling_generator(generator),
            self.config.latent_dim,
            self._image_reference,
            TRAINING_IMAGE_SAMPLES,
            self.config.seed + 4,
        )

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, generator: str = "ema", seed: int | None = None) -> np.ndarray:
        """n samples as numpy: (n, 2) points, or (n, C, H, W) images in [-1, 1]."""
        seed = self.config.seed if seed is None else seed
        return sample(self.sampling_generator(generator), n, self.config.latent_dim, seed)

    def decode(self, z: torch.Tensor, generator: str = "ema") -> np.ndarray:
        return decode(self.sampling_generator(generator), z)

    def fixed_samples(self) -> np.ndarray:
        return self.decode(self.fixed_noise)

    def sampling_generator(self, which: str = "ema") -> nn.Module:
        if which == "ema" and self.generator_ema is not None:
            return self.generator_ema
        return self.generator

    # ------------------------------------------------------------------ live changes
    def set_learning_rates(self, lr_g: float | None = None, lr_d: float | None = None) -> None:
        changes, previous = {}, {}
        for name, value, optimizer in (
            ("lr_g", lr_g, self.optimizer_g),
            ("lr_d", lr_d, self.optimizer_d),
        ):
            if value is None:
                continue
            previous[name] = getattr(self.config, name)
            self.config = self.config.replace(**{name: float(value)})  # validates the range
            for group in optimizer.param_groups:
                group["lr"] = float(value)
            changes[name] = float(value)
        if changes:
            self._event("settings_changed", **changes, previous=previous)

    # Each settings_changed event says what it changed from (`previous`), so a reader of the
    # run folder can label the change "lr_d 2e-4 -> 4e-3" without its records.
    def set_d_steps(self, d_steps: int) -> None:
        previous = self.config.d_steps
        self.config = self.config.replace(d_steps=int(d_steps))
        self._event("settings_changed", d_steps=int(d_steps), previous={"d_steps": previous})

    def set_loss(self, loss: str) -> None:
        if loss not in LOSSES:
            raise ConfigError(f"loss: {loss!r} is not one of {', '.join(LOSSES)}")
        previous = self.config.loss
        self.config = self.config.replace(loss=loss)
        self._event("settings_changed", loss=loss, previous={"loss": previous})

    def _event(self, kind: str, **details: Any) -> None:
        self.events.append(
            {"step": self.step_count, "time": round(time.time(), 3), "kind": kind, **details}
        )

    def drain_events(self) -> list[dict[str, Any]]:
        events, self.events = self.events, []
        return events

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self, copied: bool = True) -> dict[str, Any]:
        """Everything needed to resume: plain values and CPU tensors only (weights_only-safe).

        `copied=False`: the live tensors themselves, for a caller that copies them all in one
        go (the session's run writer, core/host_copies.py) before training goes on."""
        states = self._model_states()
        to_cpu = _to_cpu if copied else _as_is
        return {
            "config": self.config.to_dict(),
            "step": self.step_count,
            "elapsed": self.elapsed,
            "ema_updates": self.ema_updates,
            "recoveries": self.recoveries,
            "generator": to_cpu(states["generator"]),
            "discriminator": to_cpu(states["discriminator"]),
            "generator_ema": None
            if states["generator_ema"] is None
            else to_cpu(states["generator_ema"]),
            "optimizer_g": to_cpu(self.optimizer_g.state_dict()),
            "optimizer_d": to_cpu(self.optimizer_d.state_dict()),
            "fixed_noise": self.fixed_noise.clone() if copied else self.fixed_noise,
            "rng": {"data": self.data_rng.get_state(), "latent": self.latent_rng.get_state()},
            "sampler": self.sampler.state_dict(),
            "data": self.dataset.describe(),
        }

    def load_checkpoint_state(self, state: dict[str, Any]) -> None:
        """Continue a run from `checkpoint_state()` output (shapes were checked by the loader)."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        if self.generator_ema is not None:
            self.generator_ema.load_state_dict(state["generator_ema"] or state["generator"])
        _load_optimizer_state(self.optimizer_g, state["optimizer_g"])
        _load_optimizer_state(self.optimizer_d, state["optimizer_d"])
        self._apply_config_learning_rates()  # a resume may have changed them
        self.fixed_noise = state["fixed_noise"].clone()
        self.data_rng.set_state(state["rng"]["data"])
        self.latent_rng.set_state(state["rng"]["latent"])
        if isinstance(state.get("sampler"), dict):
            self.sampler.load_state_dict(state["sampler"])
        self.step_count = self._interval_start_step = int(state["step"])
        self.elapsed = float(state.get("elapsed", 0.0))
        self.ema_updates = int(state.get("ema_updates", self.step_count))
        self.recoveries = int(state.get("recoveries", 0))
        self._take_snapshot()


class StateSnapshot:
    """A copy of a state tree (dicts and lists of tensors and plain values) kept in buffers
    allocated once and overwritten in place at each `take`: a deepcopy every SNAPSHOT_EVERY
    steps allocated the models and optimizers anew and walked them in Python each time."""

    def __init__(self) -> None:
        self._buffers: list[torch.Tensor] = []
        self._layout: list[tuple[Any, ...]] = []  # (path, shape, dtype, device) per tensor
        self._skeleton: Any = None  # the tree, a _Slot in place of each tensor
        self.taken = False

    def take(self, tree: Any) -> None:
        live: list[tuple[tuple[Any, ...], torch.Tensor]] = []
        skeleton = _skeleton(tree, (), live)
        layout = [(path, t.shape, t.dtype, t.device) for path, t in live]
        with torch.no_grad():
            if layout != self._layout:
                self._buffers = [t.detach().clone() for _, t in live]
                self._layout = layout
            elif live:  # one fused copy of every tensor, into the buffers of last time
                torch._foreach_copy_(self._buffers, [t.detach() for _, t in live])
        self._skeleton = skeleton
        self.taken = True

    def restore_into(self, tree: Any) -> bool:
        """Copy the snapshot into the live tensors of `tree`, in place, when `tree` has the
        layout the snapshot was taken with; False (nothing changed) when it has not."""
        live: list[tuple[tuple[Any, ...], torch.Tensor]] = []
        _skeleton(tree, (), live)
        if [(path, t.shape, t.dtype, t.device) for path, t in live] != self._layout:
            return False
        if live:
            with torch.no_grad():
                torch._foreach_copy_([t for _, t in live], self._buffers)
        return True

    def copy(self) -> Any:
        """The snapshot as a tree of fresh tensors (clones of the buffers)."""
        return _filled(self._skeleton, [t.clone() for t in self._buffers])


@dataclass(frozen=True)
class _Slot:
    index: int  # of the tensor in StateSnapshot._buffers


def _skeleton(tree: Any, path: tuple[Any, ...], found: list[Any]) -> Any:
    """`tree` with each tensor replaced by a _Slot (the tensors appended to `found`, with
    their paths) and its plain values copied, so later changes to the live tree stay out."""
    if isinstance(tree, torch.Tensor):
        found.append((path, tree))
        return _Slot(len(found) - 1)
    if isinstance(tree, dict):
        return {key: _skeleton(value, (*path, key), found) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        items = [_skeleton(value, (*path, i), found) for i, value in enumerate(tree)]
        return items if isinstance(tree, list) else tuple(items)
    return copy.deepcopy(tree)


def _filled(skeleton: Any, tensors: list[torch.Tensor]) -> Any:
    if isinstance(skeleton, _Slot):
        return tensors[skeleton.index]
    if isinstance(skeleton, dict):
        return {key: _filled(value, tensors) for key, value in skeleton.items()}
    if isinstance(skeleton, (list, tuple)):
        return type(skeleton)(_filled(value, tensors) for value in skeleton)
    return copy.deepcopy(skeleton)


def _states_finite(tree: Any) -> bool:
    """Whether every floating tensor of `tree` is finite, fetched from the device once."""
    found: list[Any] = []
    _skeleton(tree, (), found)
    floats = [t.detach() for _, t in found if t.is_floating_point()]
    if not floats:
        return True
    return bool(torch.stack([torch.isfinite(t).all() for t in floats]).all())


def _check_data_fits_model(config: TrainingConfig, dataset: Dataset) -> None:
    if config.is_2d != (not dataset.is_image):
        raise ConfigError(f"dataset: {config.dataset} did not produce the expected kind of data")
    if config.model == "dcgan":
        size = dataset.data.shape[-1]
        try:
            dcgan_plan(size)
        except ConfigError:
            raise ConfigError(
                f"image_size: the {config.dataset} images are {size} px; the dcgan model "
                "produces 8, 16, 28, 32 or 64 px images, so set image_size to one of those"
            ) from None


def _make_ema(generator: nn.Module) -> nn.Module:
    ema = copy.deepcopy(generator)
    ema.requires_grad_(False)
    return ema


def _make_optimizer(config: TrainingConfig, net: str, module: nn.Module) -> torch.optim.Optimizer:
    kind = getattr(config, f"optimizer_{net}")
    lr = getattr(config, f"lr_{net}")
    beta1, beta2 = getattr(config, f"beta1_{net}"), getattr(config, f"beta2_{net}")
    params = list(module.parameters())
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    make = (
        (lambda fused: torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), fused=fused))
        if kind == "adam"
        else (lambda fused: torch.optim.SGD(params, lr=lr, momentum=beta1, fused=fused))
    )
    try:
        # Fused kernels can refuse a non-finite update on the device, without a sync.
        return make(True)
    except (RuntimeError, ValueError):  # no fused kernel for this device (some MPS builds)
        return make(None)


def _has_fused_grad_check(one: torch.Tensor) -> bool:
    """Whether this device has GradScaler's fused inf/NaN check (some MPS builds lack it)."""
    try:
        torch._amp_foreach_non_finite_check_and_unscale_([one.clone()], torch.zeros_like(one), one)
    except (RuntimeError, NotImplementedError):
        return False
    return True


def _refuses_on_device(optimizer: torch.optim.Optimizer) -> bool:
    return bool(optimizer.param_groups[0].get("fused"))


def _load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """load_state_dict, keeping this optimizer's own kernel choice (the file may come from
    another device) and the step counters where a fused kernel needs them: on the device."""
    fused = optimizer.param_groups[0].get("fused")
    optimizer.load_state_dict(state)
    for group in optimizer.param_groups:
        group["fused"] = fused
    if fused:
        for param, param_state in optimizer.state.items():
            step = param_state.get("step")
            if isinstance(step, torch.Tensor):
                param_state["step"] = step.to(param.device, torch.float32)


def _finite_mean(values: torch.Tensor) -> torch.Tensor:
    """Mean over the finite entries (a refused update's NaN loss must not hide the others)."""
    values = values.float()
    return torch.where(torch.isfinite(values), values, torch.nan).nanmean()


def _grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), device=params[0].device)
    return torch.nn.utils.get_total_norm(grads, foreach=True)


def _to_cpu(tree: Any) -> Any:
    if isinstance(tree, torch.Tensor):
        return tree.detach().cpu().clone()
    if isinstance(tree, dict):
        return {k: _to_cpu(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_to_cpu(v) for v in tree]
    if isinstance(tree, tuple):
        return tuple(_to_cpu(v) for v in tree)
    return tree


def _as_is(tree: Any) -> Any:
    return tree


def _finite_or_text(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)  # JSON has no NaN
