"""Render the GANViz window mid-training to a PNG, offscreen (the README's screenshots).

    python scripts/screenshot.py [--preset "8 Gaussians"] [--steps 1500] [--out docs/images/window.png]
    python scripts/screenshot.py --open RUN_FOLDER --plane sefa --out docs/images/explorer.png
    python scripts/screenshot.py --follow RUN_FOLDER --seconds 20 --out docs/images/following.png
    python scripts/screenshot.py --follow RUN_A --overlay-run RUN_B --out docs/images/overlay.png
    python scripts/screenshot.py --theme dark --out docs/images/window-dark.png

It trains for real: the picture shows the window after `--steps` steps of the preset, taken
while the run is still going (it is then stopped and its run folder left in a temporary
GANVIZ_HOME).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GANVIZ_HOME", tempfile.mkdtemp(prefix="ganviz-screenshot-"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="8 Gaussians")
    parser.add_argument("--steps", type=int, default=1500, help="steps trained before the shot")
    parser.add_argument("--out", type=Path, default=Path("docs/images/window.png"))
    parser.add_argument("--width", type=int, default=1500)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--open", help="instead of training, open this run folder or generator")
    parser.add_argument(
        "--plane",
        default="random",
        help="the explorer's plane: random/sefa/pca, or picked (through samples 0, 9 and 27)",
    )
    parser.add_argument(
        "--tab",
        choices=("explorer", "samples", "networks", "diagnostics", "compare", "field"),
        help="raise this panel before the shot (default: the explorer, or the run's own)",
    )
    parser.add_argument("--advanced", action="store_true", help="unfold Setup's Advanced group")
    parser.add_argument("--overlay", action="store_true", help="show D(G(z)) over the mosaic")
    parser.add_argument("--truncation", type=float, help="StyleGAN: truncation psi")
    parser.add_argument("--cutoff", type=int, default=0, help="StyleGAN: truncate N layers")
    parser.add_argument(
        "--mix", action="store_true", help="StyleGAN: mix the fine layers of another latent"
    )
    parser.add_argument("--follow", help="follow this run folder (another process writes it)")
    parser.add_argument("--overlay-run", help="with --follow: draw this run's curves over it")
    parser.add_argument("--seconds", type=float, default=10, help="with --follow: shoot after")
    parser.add_argument(
        "--theme", choices=("light", "dark", "system"), default="light", help="View > Theme"
    )
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)  # kept alive for the whole run
    from ganviz_gui.gui import MainWindow

    window = MainWindow()
    window.resize(args.width, args.height)
    window.set_theme(args.theme)
    window.show()
    if args.open:
        return shoot_explorer(app, window, args)
    if args.follow:
        return shoot_following(app, window, args)
    window.setup_panel.apply_preset(args.preset)
    if window.setup_panel.steps_spin.value() < args.steps * 2:  # still running at the shot
        window.setup_panel.steps_spin.setValue(args.steps * 4)
    window.sample_grid.real_check.setChecked(True)
    window.setup_panel.advanced_button.setChecked(args.advanced)

    if not window.start_training():
        print("could not start: " + window.setup_panel.error_text(), file=sys.stderr)
        return 1
    while window.trainer.last_update is None or window.trainer.last_update.step < args.steps:
        if window.trainer.training is None:
            print("the run ended early: see the window's message", file=sys.stderr)
            return 1
        wait(50)
    raise_tab(window, args.tab)
    wait(400)  # let the last pictures and curves arrive and paint
    args.out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out))
    window.close()
    print(f"wrote {args.out} at step {window.trainer.last_update.step}")
    app.processEvents()
    return 0


def save_and_close(app, window, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    window.close()
    app.processEvents()
    print(f"wrote {out}")
    return 0


def raise_tab(window, tab: str | None) -> None:
    if tab is not None:
        dock = {
            "explorer": window.explorer_dock,
            "samples": window.sample_dock,
            "networks": window.network_dock,
            "diagnostics": window.diagnostics_dock,
            "compare": window.compare_dock,
            "field": window.field_dock,
        }[tab]
        dock.raise_()


def wait(ms: int) -> None:
    """Let the window run for `ms` milliseconds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def shoot_explorer(app, window, args) -> int:
    explorer = window.latent_explorer
    window.open_path(args.open)
    while explorer.mosaic_picture is None and explorer.mesh_points is None:
        if window.error_box is not None:
            print(window.error_box.text(), file=sys.stderr)
            return 1
        wait(50)
    if args.plane == "picked":  # three clicks in the sample grid, as a user makes them
        while window.sample_grid.sheet is None:
            wait(50)
        for index in (0, 9, 27):
            window.sample_grid.select_sample("fake", index)
    explorer.plane_combo.setCurrentIndex(explorer.plane_combo.findData(args.plane))
    explorer.plane_combo.activated.emit(explorer.plane_combo.currentIndex())
    if args.mix:  # the latent at (-2, -2) gives the fine layers' styles
        explorer.move_cursor(-2.0, -2.0)
        wait(300)
        explorer.style_bar.mix_button.click()
    if args.truncation is not None:
        explorer.style_bar.cutoff_spin.setValue(args.cutoff)
        explorer.style_bar.psi_spin.setValue(args.truncation)
    if args.plane != "picked":  # that plane puts the cursor on its first sample
        explorer.move_cursor(1.0, 0.5)
    explorer.overlay_check.setChecked(args.overlay)
    wanted = {"random": "random", "sefa": "SeFa", "pca": "PCA", "picked": "through"}[args.plane]
    while explorer.plane is None or wanted not in explorer.plane.name:
        wait(50)
    wait(1000)  # the mosaic and the cursor's sample of that plane
    while explorer.mosaic_filled is not None or explorer.preview_resolution is not None:
        wait(100)  # a big generator's mosaic fills in, its cursor shows a preview first
    window.explorer_dock.raise_()  # a 2D run opens on the field view
    raise_tab(window, args.tab)
    wait(300)
    return save_and_close(app, window, args.out)


def shoot_following(app, window, args) -> int:
    """The window following a run another process writes, shot after `--seconds`."""
    window.open_path(args.follow, trust=True, follow=True)  # a run you logged yourself
    if args.overlay_run:
        window.inspector.overlay_path(args.overlay_run)
    wait(round(args.seconds * 1000))
    window.sample_dock.raise_()
    wait(500)
    if window.error_box is not None:
        print(window.error_box.text(), file=sys.stderr)
        return 1
    return save_and_close(app, window, args.out)


if __name__ == "__main__":
    sys.exit(main())
