"""How fast the latent explorer's sample follows the cursor, while a run trains in the window.

A 64x64 DCGAN generator (the PyTorch examples' architecture, nz=100, ngf=64, random weights)
and a small MLP generator are opened in the explorer while 8 Gaussians trains; the cursor is
moved every 30 ms (a drag), and each move is timed from the move to the decoded picture
reaching the GUI. Prints p50/p90; targets p90 <= 33 ms (DCGAN), <= 5 ms (MLP). Also times
whole mosaics (9x9 and 21x21, and a 2D generator's mesh), request to picture, and scrubbing an
opened run: the first open of a checkpoint and a return to a cached one.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_explorer.py [--moves 150] [--run-steps 600]
        [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GANVIZ_HOME", tempfile.mkdtemp(prefix="ganviz-bench-"))

import numpy as np
import torch
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from torch import nn


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def examples_dcgan(nz: int = 100, ngf: int = 64, nc: int = 3) -> nn.Module:
    layers: list[nn.Module] = []
    widths = [nz, ngf * 8, ngf * 4, ngf * 2, ngf]
    for i in range(4):
        stride, pad = (1, 0) if i == 0 else (2, 1)
        layers += [
            nn.ConvTranspose2d(widths[i], widths[i + 1], 4, stride, pad, bias=False),
            nn.BatchNorm2d(widths[i + 1]),
            nn.ReLU(True),
        ]
    layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def drag_latencies(window, path: Path, moves: int) -> np.ndarray:
    explorer = window.latent_explorer
    window.error_box = None
    explorer.cursor_picture = None
    window.open_path(str(path))
    while explorer.cursor_picture is None:
        if window.error_box is not None:
            raise SystemExit(window.error_box.text())
        wait(20)
    decoder = explorer.decoder.decoder
    asked: dict[int, float] = {}
    arrived: dict[int, float] = {}

    def on_decoded(result) -> None:
        if result.kind == "cursor":
            arrived[result.ticket] = time.perf_counter()

    decoder.decoded.connect(on_decoded)
    rng = np.random.default_rng(0)
    for _ in range(moves):
        u, v = rng.uniform(-2, 2, size=2)
        explorer.move_cursor(float(u), float(v))
        asked[decoder.latest_ticket("cursor")] = time.perf_counter()
        wait(30)
    # The last move is always drawn: wait for it (a loaded machine may take seconds), then a
    # little for any decode still under way.
    last, give_up = list(asked)[-1], time.perf_counter() + 60
    while last not in arrived and time.perf_counter() < give_up:
        wait(20)
    wait(300)
    # Moves that a newer move replaced before decoding are never drawn (by design); time the rest.
    return np.array([(arrived[t] - asked[t]) * 1000 for t in asked if t in arrived])


def mosaic_times(window, sizes=(9, 21), repeats: int = 5) -> dict[int, float]:
    """Median request-to-picture time of the whole mosaic (or 2D mesh), per mosaic size."""
    explorer = window.latent_explorer
    decoder = explorer.decoder.decoder
    arrived: dict[int, float] = {}

    def on_decoded(result) -> None:
        if result.kind == "mosaic":
            arrived[result.ticket] = time.perf_counter()

    decoder.decoded.connect(on_decoded)
    medians = {}
    for size in sizes:
        index = explorer.size_combo.findData(size)
        explorer.size_combo.setCurrentIndex(index)
        times = []
        for _ in range(repeats):
            explorer.size_combo.activated.emit(index)  # as the user picking it again
            ticket, asked = decoder.latest_ticket("mosaic"), time.perf_counter()
            while ticket not in arrived:
                wait(1)
            times.append((arrived[ticket] - asked) * 1000)
        medians[size] = float(np.median(times))
    decoder.decoded.disconnect(on_decoded)
    return medians


def scrub_times(window, run_dir: Path) -> tuple[float, float]:
    window.open_path(str(run_dir))
    grid, scrubber = window.sample_grid, window.scrubber
    while grid.sheet is None:
        wait(20)
    # A middle checkpoint: never shown yet (Compare loads the oldest, the open the newest).
    middle = len(scrubber.steps) // 2
    started = time.perf_counter()
    scrubber.slider.setValue(middle)
    while grid.sheet.step != scrubber.steps[middle]:
        wait(1)
    first = time.perf_counter() - started
    started = time.perf_counter()
    scrubber.slider.setValue(len(scrubber.steps) - 1)
    while grid.sheet.step != scrubber.steps[-1]:
        wait(1)
    return first, time.perf_counter() - started


def ring_checkpoint(folder: Path) -> Path:
    """A 2D generator as the 8 Gaussians preset trains it (a few steps: only its size matters)."""
    from ganviz_gui.core.presets import preset_named
    from ganviz_gui.core.training_session import TrainingSession

    run = TrainingSession.start(
        preset_named("8 Gaussians").config(steps=50, checkpoint_every=50), run_dir=folder / "ring"
    )
    run.run(50)
    run.close()
    return folder / "ring" / "checkpoints" / "step_00000050.pt"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=150)
    parser.add_argument(
        "--run-steps", type=int, default=600, help="steps of the digits run that is scrubbed"
    )
    parser.add_argument("--repeats", type=int, default=5, help="whole mosaics timed per size")
    parser.add_argument(
        "--stylegan",
        type=int,
        nargs="*",
        default=[256],
        help="StyleGAN2 resolutions whose cursor is timed (default 256; none: skip)",
    )
    parser.add_argument("--stylegan-moves", type=int, default=20)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    from ganviz_gui.core.presets import preset_named
    from ganviz_gui.core.training_session import TrainingSession
    from ganviz_gui.gui import MainWindow

    folder = Path(tempfile.mkdtemp(prefix="bench-explorer-"))
    torch.manual_seed(0)
    weights = {f"main.{k}": v for k, v in examples_dcgan().state_dict().items()}  # as saved there
    torch.save(weights, folder / "netG_epoch_0.pth")
    mlp = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU())
    mlp.append(nn.Linear(128, 3 * 8 * 8))
    mlp.append(nn.Unflatten(1, (3, 8, 8)))
    mlp.append(nn.Tanh())
    torch.jit.save(torch.jit.script(mlp), folder / "mlp.pt")
    run = TrainingSession.start(
        preset_named("Digits - DCGAN").config(
            steps=args.run_steps, checkpoint_every=max(1, args.run_steps // 6), image_size=32
        ),
        run_dir=folder / "run",
    )
    run.run(args.run_steps)
    run.close()

    window = MainWindow()
    window.resize(1400, 860)
    window.show()
    window.setup_panel.set_config(preset_named("8 Gaussians").config(steps=10**8))
    window.start_training()
    while window.trainer.last_update is None:
        wait(50)
    for name, path, target in (
        ("DCGAN 64x64 (nz 100, ngf 64)", folder / "netG_epoch_0.pth", 33),
        ("MLP 8x8", folder / "mlp.pt", 5),
    ):
        if path.suffix == ".pt":
            window.inspector.confirm_trust = lambda *_: True  # our own file
        times = drag_latencies(window, path, args.moves)
        print(
            f"{name}, while training: move-to-picture p50 {np.percentile(times, 50):.1f} ms, "
            f"p90 {np.percentile(times, 90):.1f} ms (target <= {target}), "
            f"{times.size} of {args.moves} moves drawn"
        )
        mosaics = ", ".join(
            f"{n}x{n} {ms:.0f} ms" for n, ms in mosaic_times(window, repeats=args.repeats).items()
        )
        print(f"{name}, while training: whole mosaic, median of {args.repeats}: {mosaics}")
    ring = ring_checkpoint(folder)
    window.error_box = None
    window.open_path(str(ring))
    while window.latent_explorer.mesh_points is None:
        wait(20)
    meshes = ", ".join(
        f"{n}x{n} lines ({(8 * (n - 1) + 1) ** 2:,} points) {ms:.0f} ms"
        for n, ms in mosaic_times(window, repeats=args.repeats).items()
    )
    print(f"8 Gaussians MLP generator, while training: 2D mesh with D(G(z)): {meshes}")
    window.stop_training()
    while window.trainer.training is not None:
        wait(50)
    first, cached = scrub_times(window, folder / "run")
    print(
        f"scrubbing a 32 px DCGAN run: first open of a checkpoint {first * 1000:.0f} ms "
        f"(<= 1000), a cached one {cached * 1000:.0f} ms (<= 100)"
    )
    for resolution in args.stylegan:
        first_ms, full_ms, drawn = stylegan_cursor_times(window, resolution, args.stylegan_moves)
        print(
            f"StyleGAN2 {resolution} px at the paper's widths (config F, random weights), "
            f"CPU: move to first picture p50 {np.percentile(first_ms, 50):.0f} ms, p90 "
            f"{np.percentile(first_ms, 90):.0f} ms (target <= 150); to the full image p50 "
            f"{np.percentile(full_ms, 50):.0f} ms, p90 {np.percentile(full_ms, 90):.0f} ms "
            f"(target <= 1500); {drawn} of {args.stylegan_moves} moves"
        )
    if torch.cuda.is_available():
        print(stylegan_cuda_rate(1024))
    else:
        print("StyleGAN2 1024 px on CUDA: no CUDA device here (target >= 20 frames/s)")
    window.close()
    del app
    return 0


def paper_stylegan2(resolution: int):
    """StyleGAN2 config F's widths (512 channels up to 64 px, then halving), 8 mapping layers,
    z and w of 512: random weights at the real size."""
    from ganviz_gui.core.stylegan.stylegan2 import (
        MappingNetwork,
        StyleGAN2Generator,
        SynthesisNetwork,
    )

    torch.manual_seed(0)
    channels = {2**i: min(32768 // 2**i, 512) for i in range(2, int(np.log2(resolution)) + 1)}
    synthesis = SynthesisNetwork(512, resolution, 3, channels, conv_clamp=256)
    mapping = MappingNetwork(512, 0, 512, synthesis.num_ws, [512] * 8)
    return StyleGAN2Generator(mapping, synthesis).eval().requires_grad_(False)


def stylegan_cursor_times(window, resolution: int, moves: int):
    """Moves of the cursor over a StyleGAN2's plane, each waited for: the time to its first
    picture (the coarse preview) and to the full image."""
    from ganviz_gui.core.generator_files import GeneratorFile

    generator = paper_stylegan2(resolution)
    opened = GeneratorFile(
        path=Path(f"stylegan2-{resolution}.pkl"),
        kind="benchmark",
        latent_dim=512,
        sample_shape=(3, resolution, resolution),
        step=None,
        _build=lambda which: generator,
        description={"num_ws": generator.num_ws, "w_dim": 512},
        bounded=False,
        style_based=True,
    )
    explorer = window.latent_explorer
    explorer.size_combo.setCurrentIndex(explorer.size_combo.findData(5))
    explorer.set_generator(opened)
    while explorer.mosaic_picture is None or explorer.mosaic_filled is not None:
        wait(50)
    decoder = explorer.decoder.decoder
    first: dict[int, float] = {}
    full: dict[int, float] = {}

    def on_decoded(result) -> None:
        if result.kind == "cursor":
            first.setdefault(result.ticket, time.perf_counter())
            if result.preview_resolution is None:
                full[result.ticket] = time.perf_counter()

    decoder.decoded.connect(on_decoded)
    rng = np.random.default_rng(0)
    asked: dict[int, float] = {}
    for _ in range(moves):
        u, v = rng.uniform(-2, 2, size=2)
        explorer.move_cursor(float(u), float(v))
        ticket = decoder.latest_ticket("cursor")
        asked[ticket] = time.perf_counter()
        deadline = time.perf_counter() + 20
        while ticket not in full and time.perf_counter() < deadline:
            wait(5)
        wait(100)
    decoder.decoded.disconnect(on_decoded)
    done = [t for t in asked if t in full]
    first_ms = np.array([(first[t] - asked[t]) * 1000 for t in done])
    full_ms = np.array([(full[t] - asked[t]) * 1000 for t in done])
    return first_ms, full_ms, len(done)


def stylegan_cuda_rate(resolution: int, frames: int = 50) -> str:
    generator = paper_stylegan2(resolution).cuda()
    z = torch.randn(1, 512, device="cuda")
    with torch.no_grad():
        for _ in range(5):
            generator(z)
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(frames):
            generator(torch.randn(1, 512, device="cuda"))
        torch.cuda.synchronize()
    rate = frames / (time.perf_counter() - started)
    return f"StyleGAN2 {resolution} px on CUDA: {rate:.1f} frames/s, batch 1 (target >= 20)"


if __name__ == "__main__":
    sys.exit(main())
