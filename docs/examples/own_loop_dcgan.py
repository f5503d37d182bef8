"""Your own GAN training loop, watched in GANViz: a DCGAN written the way pytorch/examples
writes one, on the 1,797 8x8 digits bundled with GANViz (upscaled to 16x16), logged with
`ganviz_gui.Run`. The three lines that concern GANViz are marked.

    python docs/examples/own_loop_dcgan.py runs/own-dcgan --steps 3000
    ganviz open --follow runs/own-dcgan          # in another terminal, while it trains

The generator and discriminator classes live in this file only: GANViz opens the run's
checkpoints through the TorchScript programs `Run` saves beside them, after asking you once
whether you trust this run folder.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch import nn

from ganviz_gui import Run  # (1) the logger
from ganviz_gui.core.data.digits import load_digits

NZ = 32


class Generator(nn.Module):
    def __init__(self, nz: int = NZ, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),  # 4x4
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # 8x8
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False),  # 16x16
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(-1, self.nz, 1, 1))


class Discriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False),  # 8x8
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # 4x4
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)  # a logit: the non-saturating loss below takes logits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="the run folder to write (must not exist yet)")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4)
    args = parser.parse_args()
    torch.manual_seed(0)
    digits = load_digits().data.float().div(127.5).sub(1)  # (1797, 1, 8, 8) in [-1, 1]
    images = F.interpolate(digits, scale_factor=2, mode="bilinear", align_corners=False)
    netG, netD = Generator(), Discriminator()
    optG = torch.optim.Adam(netG.parameters(), args.lr, betas=(0.5, 0.999))
    optD = torch.optim.Adam(netD.parameters(), args.lr, betas=(0.5, 0.999))
    criterion = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(args.batch_size), torch.zeros(args.batch_size)

    run = Run(args.run, G=netG, D=netD, config=vars(args), sample_every=100)  # (2)
    with run:
        for step in range(args.steps):
            real = images[torch.randint(0, len(images), (args.batch_size,))]
            fake = netG(torch.randn(args.batch_size, NZ))
            netD.zero_grad()
            out_real, out_fake = netD(real), netD(fake.detach())
            errD = criterion(out_real, ones) + criterion(out_fake, zeros)
            errD.backward()
            optD.step()
            netG.zero_grad()
            errG = criterion(netD(fake), ones)
            errG.backward()
            optG.step()
            D_x, D_G_z = torch.sigmoid(out_real).mean(), torch.sigmoid(out_fake).mean()
            run.log(step, loss_d=errD, loss_g=errG, d_real=D_x, d_fake=D_G_z)  # (3)
            if step % 500 == 0:
                run.checkpoint(step)
    print(f"done: open it with `ganviz open {args.run}`")


if __name__ == "__main__":
    main()
