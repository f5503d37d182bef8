"""Opening generators GANViz did not train: the PyTorch examples' DCGAN and TorchScript."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.generator_files import (
    KIND_DCGAN,
    KIND_GANVIZ,
    KIND_TORCHSCRIPT,
    open_generator_file,
)
from ganviz_gui.core.trainer import Trainer
from ganviz_gui.core.training_session import TrainingSession
from tests.core.helpers import tiny_image_config

# torch 2.13 marks torch.jit.save as deprecated; the tests save TorchScript on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


class ExamplesDcganGenerator(nn.Module):
    """pytorch/examples dcgan/main.py's Generator, layer for layer (nz, ngf, nc as there)."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


def trained_example(nz=16, ngf=8, nc=3) -> nn.Module:
    torch.manual_seed(0)
    net = ExamplesDcganGenerator(nz, ngf, nc)
    net.train()
    with torch.no_grad():  # move the batch-norm statistics away from their defaults
        net(torch.randn(32, nz, 1, 1))
    return net.eval()


def test_examples_dcgan_state_dict_is_recognised_and_samples_identically(tmp_path):
    net = trained_example()
    path = tmp_path / "netG_epoch_24.pth"
    torch.save(net.state_dict(), path)
    opened = open_generator_file(path)
    assert opened.kind == KIND_DCGAN
    assert (opened.latent_dim, opened.sample_shape) == (16, (3, 64, 64))
    assert opened.description["epoch"] == 24 and opened.description["feature_maps"] == [
        64,
        32,
        16,
        8,
    ]
    z = torch.randn(5, 16)
    with torch.no_grad():
        expected = net(z.view(5, 16, 1, 1))
        got = opened.build_generator()(z)
    torch.testing.assert_close(got, expected)


def test_wrapped_and_data_parallel_state_dicts_open_too(tmp_path):
    net = trained_example(nz=8, nc=1)
    wrapped = {"netG": {f"module.{k}": v for k, v in net.state_dict().items()}, "epoch": 3}
    path = tmp_path / "gan.pt"
    torch.save(wrapped, path)
    opened = open_generator_file(path)
    assert opened.kind == KIND_DCGAN and opened.sample_shape == (1, 64, 64)


def test_a_smaller_dcgan_of_four_layers_is_32_px(tmp_path):
    net = nn.Sequential(
        nn.ConvTranspose2d(10, 32, 4, 1, 0, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(True),
        nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(True),
        nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(True),
        nn.ConvTranspose2d(8, 3, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    torch.save({f"main.{k}": v for k, v in net.state_dict().items()}, tmp_path / "g.pth")
    opened = open_generator_file(tmp_path / "g.pth")
    assert opened.sample_shape == (3, 32, 32)
    assert opened.build_generator()(torch.randn(2, 10)).shape == (2, 3, 32, 32)


def test_unknown_state_dicts_and_other_files_are_refused_with_the_reason(tmp_path):
    other = tmp_path / "resnet.pth"
    torch.save(nn.Linear(3, 4).state_dict(), other)
    with pytest.raises(
        CheckpointError, match=r"does not recognise as a generator.*torch\.jit\.save"
    ):
        open_generator_file(other)
    values = tmp_path / "values.pt"
    torch.save({"lr": 0.1}, values)
    with pytest.raises(CheckpointError, match="neither a GANViz checkpoint nor"):
        open_generator_file(values)
    broken = trained_example().state_dict()
    broken["main.3.weight"] = broken["main.3.weight"][:, :5]  # channels no longer chain
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match="does not recognise"):
        open_generator_file(tmp_path / "broken.pth")


def test_torchscript_needs_trust_then_opens(tmp_path):
    net = trained_example(nz=12, nc=1)
    scripted = torch.jit.script(net)
    path = tmp_path / "generator.pt"
    torch.jit.save(scripted, path)
    with pytest.raises(CheckpointError, match=r"carries code.*trust"):
        open_generator_file(path)
    opened = open_generator_file(path, trust=True)
    assert opened.kind == KIND_TORCHSCRIPT
    assert (opened.latent_dim, opened.sample_shape) == (12, (1, 64, 64))
    z = torch.randn(3, 12)
    with torch.no_grad():
        torch.testing.assert_close(opened.build_generator()(z), net(z.view(3, 12, 1, 1)))


def test_torchscript_of_an_mlp_takes_flat_latents(tmp_path):
    mlp = torch.jit.script(nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2)))
    torch.jit.save(mlp, tmp_path / "points.pt")
    opened = open_generator_file(tmp_path / "points.pt", trust=True)
    assert (opened.latent_dim, opened.sample_shape) == (5, (2,))
    assert not opened.is_image


def test_ganviz_checkpoints_open_through_the_same_door(tmp_path):
    session = TrainingSession.start(tiny_image_config(steps=2), run_dir=tmp_path / "run")
    session.run(2)
    path = session.close()
    opened = open_generator_file(path)
    assert opened.kind == KIND_GANVIZ and opened.step == 2 and opened.latent_dim == 8
    assert opened.description["model"] == "dcgan"
    trainer = Trainer(tiny_image_config())
    assert opened.build_generator().state_dict().keys() == trainer.generator.state_dict().keys()


def test_cli_info_and_sample_take_every_kind_of_file(tmp_path, capsys):
    import json

    import numpy as np

    from ganviz_gui.cli import main

    dcgan = tmp_path / "netG_epoch_2.pth"
    torch.save(trained_example(nz=6, nc=1).state_dict(), dcgan)
    assert main(["info", str(dcgan), "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["kind"] == KIND_DCGAN and described["latent_dim"] == 6
    assert main(["sample", str(dcgan), "-n", "9", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (9, 1, 64, 64)
    assert main(["sample", str(dcgan), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0

    script = tmp_path / "g.pt"
    torch.jit.save(torch.jit.script(nn.Sequential(nn.Linear(3, 2))), script)
    capsys.readouterr()
    assert main(["info", str(script)]) == 2
    assert "--trust" in capsys.readouterr().err
    assert main(["info", str(script), "--trust"]) == 0
    assert (
        main(["sample", str(script), "--trust", "-n", "5", "--out", str(tmp_path / "p.png")]) == 0
    )
    assert (tmp_path / "p.png").stat().st_size > 0
