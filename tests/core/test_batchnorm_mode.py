"""Sampling a batch-norm generator with its running statistics (eval) or with a batch's own
(train, as pytorch/examples' dcgan draws its pictures): the two differ after a few steps, the
train-mode pictures of the reference batch are those of a plain `G.train()(z)`, every latent's
picture depends on that latent alone, and drawing changes no model, shared or not."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import torch

from ganviz_gui.core.evaluation import decode
from ganviz_gui.core.generator_files import (
    BATCH_STATISTICS_SIZE,
    batchnorm_layers,
    live_generator,
    with_batch_statistics,
)
from ganviz_gui.core.models import build_models
from ganviz_gui.core.trainer import Trainer
from ganviz_gui.core.workspace import ShownGenerator, Workspace
from tests.core.helpers import tiny_image_config, tiny_points_config


def trained_dcgan_file(tmp_path, steps: int = 8):
    """A digits DCGAN (batch norm in G) after `steps` optimisation steps, as a GeneratorFile,
    and its G's weights."""
    config = tiny_image_config(ema_decay=0.0)
    trainer = Trainer(config)
    for _ in range(steps):
        trainer.step()
    shape = tuple(trainer.dataset.data.shape[1:])
    weights = {
        "generator": copy.deepcopy(trainer.generator.state_dict()),
        "discriminator": copy.deepcopy(trainer.discriminator.state_dict()),
    }
    return live_generator(config, shape, weights, steps, tmp_path), config, shape, weights


def running_statistics(module: torch.nn.Module) -> list[torch.Tensor]:
    return [b.clone() for layer in batchnorm_layers(module) for b in layer.buffers()]


def test_train_mode_draws_as_pytorch_examples_and_leaves_the_statistics_alone(tmp_path):
    opened, config, shape, weights = trained_dcgan_file(tmp_path)
    assert opened.has_batchnorm()
    reference_batch = opened.probe_latents(BATCH_STATISTICS_SIZE)  # no fixed noise: seeded
    assert reference_batch.shape == (BATCH_STATISTICS_SIZE, config.latent_dim)
    in_eval = decode(opened.build_generator(), reference_batch)  # GANViz's default
    train_file = opened.in_batchnorm_mode("train")
    assert train_file.batchnorm == "train" and opened.batchnorm == "eval"
    in_train = decode(train_file.build_generator(), reference_batch)
    # The reference: pytorch/examples draws with G as it trains, never calling eval().
    reference, _ = build_models(config, shape)
    reference.load_state_dict(weights["generator"])
    with torch.no_grad():
        expected = reference.train()(reference_batch).numpy()
    torch.testing.assert_close(torch.from_numpy(in_train), torch.from_numpy(expected))
    assert abs(in_train - in_eval).max() > 0.05  # the two modes really differ


def test_each_latent_is_drawn_alike_in_any_batch_and_the_file_is_never_changed(tmp_path):
    opened, config, _shape, _weights = trained_dcgan_file(tmp_path, steps=3)
    generator = opened.in_batchnorm_mode("train").build_generator()
    z = torch.randn(20, config.latent_dim, generator=torch.Generator().manual_seed(2))
    together = decode(generator, z)
    # A lone latent (the explorer's cursor) and a mosaic tile of it agree.
    torch.testing.assert_close(
        torch.from_numpy(decode(generator, z[:1])), torch.from_numpy(together[:1])
    )
    torch.testing.assert_close(
        torch.from_numpy(decode(generator, z[5:9])), torch.from_numpy(together[5:9])
    )
    # Threads may share the copy: it keeps no state per call.
    with ThreadPoolExecutor(3) as pool:
        drawn = list(pool.map(lambda i: decode(generator, z[i % 4 : i % 4 + 1 + i % 3]), range(30)))
    for i, picture in enumerate(drawn):
        start = i % 4
        torch.testing.assert_close(
            torch.from_numpy(picture), torch.from_numpy(together[start : start + 1 + i % 3])
        )


def test_a_shared_module_goes_back_to_eval_untouched():
    """Some readers (a state dict, a logged run) build their G once and hand out the same
    module each time: train mode must draw from a copy, so eval after train is eval again."""
    from pathlib import Path

    from ganviz_gui.core.generator_files import GeneratorFile
    from tests.core.helpers import tiny_image_config as image_config

    config = image_config()
    shared, _ = build_models(config, (1, 8, 8))
    shared.eval()
    opened = GeneratorFile(
        Path("g.pth"), "test", config.latent_dim, (1, 8, 8), None, lambda which: shared
    )
    z = torch.randn(8, config.latent_dim, generator=torch.Generator().manual_seed(4))
    before = running_statistics(shared)
    first = decode(opened.build_generator(), z)
    decode(opened.in_batchnorm_mode("train").build_generator(), z)
    again = decode(replace(opened, batchnorm="eval").build_generator(), z)
    torch.testing.assert_close(torch.from_numpy(again), torch.from_numpy(first), rtol=0, atol=0)
    for old, new in zip(before, running_statistics(shared), strict=True):
        torch.testing.assert_close(old, new, rtol=0, atol=0)
    assert not any(layer.training for layer in batchnorm_layers(shared))


def test_a_generator_without_batch_norm_is_left_as_it_is():
    config = tiny_points_config()
    generator, _ = build_models(config, (2,))
    assert batchnorm_layers(generator) == []
    assert with_batch_statistics(generator, torch.zeros(4, config.latent_dim)) is generator


def test_the_workspace_shows_its_generator_in_the_chosen_mode(tmp_path):
    opened, *_ = trained_dcgan_file(tmp_path, steps=1)
    assert opened.has_batchnorm()  # found once, off the GUI thread in the window
    workspace = Workspace()
    modes = []
    workspace.batchnorm_mode_changed.connect(modes.append)
    workspace.show_generator(ShownGenerator(opened, "opened"))
    assert workspace.generator is opened  # eval: the file as it was opened
    workspace.set_batchnorm_mode("train")
    assert modes == ["train"]
    assert workspace.generator.batchnorm == "train" and workspace.shown.origin == "opened"
    assert workspace.generator.batchnorm_found is True  # what was found is kept
    workspace.show_generator(ShownGenerator(opened, "checkpoint"))  # a later one: train too
    assert workspace.generator.batchnorm == "train"
    workspace.show_generator(ShownGenerator(opened, "live"))  # a run training: as its grid
    assert workspace.generator.batchnorm == "eval"


def test_ganviz_sample_draws_in_either_mode_and_says_which(tmp_path, capsys):
    """pytorch/examples' own netG file: `--batchnorm train -n 64 --seed 0` (the reference
    batch of a file without fixed noise) gives the pictures of a plain `G.train()(z)` on the
    same latents, eval those of `G.eval()(z)`, and the line says which."""
    from pathlib import Path

    import numpy as np
    import pytest

    from ganviz_gui.cli import main
    from ganviz_gui.core.generator_files import open_generator_file

    netg = Path(__file__).resolve().parents[2].parent / "shared/fixtures/foreign/dcgan_examples"
    netg = netg / "netG_epoch_0.pth"
    if not netg.is_file():
        pytest.skip(f"no foreign fixtures at {netg.parent}")
    z = torch.randn(64, 100, generator=torch.Generator().manual_seed(0))
    plain = open_generator_file(netg).build_generator()
    with torch.no_grad():
        wanted = {"eval": plain.eval()(z), "train": copy.deepcopy(plain).train()(z)}
    for mode in ("eval", "train"):
        out = tmp_path / f"{mode}.npy"
        assert (
            main(
                [
                    "sample",
                    str(netg),
                    "-n",
                    "64",
                    "--seed",
                    "0",
                    "--batchnorm",
                    mode,
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        assert f"(batch norm: {mode} mode" in capsys.readouterr().out
        drawn = np.load(out) * 2.0 - 1.0  # the .npy holds [0, 1]
        assert np.abs(drawn - np.clip(wanted[mode].numpy(), -1, 1)).max() < 1e-5
    assert np.abs(np.load(tmp_path / "eval.npy") - np.load(tmp_path / "train.npy")).max() > 0.05
