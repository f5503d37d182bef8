"""A researcher's own GAN training loop, logged with `ganviz_gui.Run` (run by the GUI tests
as a subprocess, so the window follows a folder another process writes).

    python tests/gui/own_loop.py RUN STEPS [--sleep SECONDS]

The generator class exists only here: GANViz opens its checkpoints through the TorchScript
program `Run` saves beside them, once the user trusts it.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from ganviz_gui import Run


class TinyGenerator(nn.Module):
    """Not a layout GANViz knows: a linear layer, then a transposed convolution."""

    def __init__(self, nz: int = 8):
        super().__init__()
        self.nz = nz
        self.project = nn.Linear(nz, 16 * 4 * 4)
        self.up = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(16, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.project(z.flatten(1)).view(-1, 16, 4, 4))


class TinyDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(8 * 4 * 4, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("steps", type=int)
    parser.add_argument("--sleep", type=float, default=0.0)
    args = parser.parse_args()
    torch.manual_seed(0)
    G, D = TinyGenerator(), TinyDiscriminator()
    opt_g = torch.optim.Adam(G.parameters(), 2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-3, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    real_pictures = torch.rand(256, 1, 8, 8) * 2 - 1
    with Run(args.run, G=G, D=D, config=vars(args), sample_every=20, stats_every=20,
             checkpoint_every=20) as run:  # fmt: skip
        for step in range(args.steps):
            real = real_pictures[torch.randint(0, 256, (32,))]
            fake = G(torch.randn(32, 8))
            opt_d.zero_grad()
            out_real, out_fake = D(real), D(fake.detach())
            loss_d = bce(out_real, torch.ones(32)) + bce(out_fake, torch.zeros(32))
            loss_d.backward()
            opt_d.step()
            opt_g.zero_grad()
            loss_g = bce(D(fake), torch.ones(32))
            loss_g.backward()
            opt_g.step()
            run.log(
                step,
                loss_d=loss_d,
                loss_g=loss_g,
                d_real=torch.sigmoid(out_real).mean(),
                d_fake=torch.sigmoid(out_fake).mean(),
                sharpness=fake.abs().mean(),  # a scalar of the user's own
            )
            if args.sleep:
                time.sleep(args.sleep)


if __name__ == "__main__":
    main()
