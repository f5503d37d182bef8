"""Other code bases' GAN files in the window: File > Open of each, and StyleGAN's own controls
in the explorer (planes in z and W, truncation, style mixing, noise, the coarse preview)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")

from tests.gui.conftest import WAIT_MS, wait_for_pictures

FOREIGN = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "foreign"
if not FOREIGN.is_dir():
    pytest.skip("the foreign fixture set is not here", allow_module_level=True)

SG2 = FOREIGN / "sg2ada_32" / "network-snapshot-000004.pkl"
# (file, tile size in the mosaic, whether the file carries a D GANViz uses)
OPENED = [
    ("sg2ada_32/network-snapshot-000004.pkl", 32, True),
    ("sg3t_32/network-snapshot-000004.pkl", 32, True),
    ("sg3r_32/network-snapshot-000004.pkl", 32, True),
    ("sg3_stylegan2_32/network-snapshot-000004.pkl", 32, True),
    ("rosinality_32/000004.pt", 32, True),
    ("dcgan_examples/netG_epoch_0.pth", 64, True),
    ("dcgan_examples/netD_epoch_0.pth", 64, True),
    ("lightning_gan/lightning_logs/version_0/checkpoints/epoch=1-step=16.ckpt", 8, True),
    ("pytorch_gan/generator_5.pth", 16, True),
    ("export_formats/netG.safetensors", 64, False),
    ("export_formats/huggan_dcgan", 64, False),
    ("export_formats/netG.pt2", 64, False),
]


@pytest.mark.parametrize(("name", "tile", "has_d"), OPENED, ids=[n for n, _, _ in OPENED])
def test_file_open_explores_every_foreign_generator(qtbot, window, monkeypatch, name, tile, has_d):
    asked = []
    monkeypatch.setattr(window.inspector, "confirm_trust", lambda p, why: asked.append(why) or True)
    window.open_path(str(FOREIGN / name))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    assert window.error_box is None
    assert explorer.mosaic_picture.shape[:2] == (9 * tile, 9 * tile)
    assert explorer.overlay_check.isEnabled() == has_d
    if has_d:  # D(G(z)) over the plane, from the file's own D
        explorer.overlay_check.setChecked(True)
        qtbot.waitUntil(lambda: explorer.mosaic_scores is not None, timeout=WAIT_MS)
        assert explorer.mosaic_scores.shape == (9, 9) and explorer.overlay_item.isVisible()
        assert np.isfinite(explorer.mosaic_scores).all()
    opened = window.workspace.generator
    assert opened.format  # the reader named its format
    assert explorer.style_bar.isVisible() == opened.style_based
    # Only the torch.export program needs the user's word, and the question says why.
    assert (len(asked) == 1 and "torch.export" in asked[0]) == name.endswith(".pt2")


def test_stylegan_truncation_mixing_and_noise_change_what_is_decoded(qtbot, window):
    window.open_path(str(SG2))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    bar = explorer.style_bar
    assert bar.cutoff_spin.maximum() == 7  # 8 style layers: a cutoff of 1 to 7
    before = explorer.mosaic_picture.copy()
    bar.psi_spin.setValue(0.0)  # every sample is the average w's image
    qtbot.waitUntil(lambda: not np.array_equal(explorer.mosaic_picture, before), timeout=WAIT_MS)
    tiles = explorer.mosaic_picture.reshape(9, 32, 9, 32, 3).transpose(0, 2, 1, 3, 4)
    assert np.abs(tiles.astype(int) - tiles[0, 0].astype(int)).max() <= 1
    assert "psi 0.00 on all layers" in explorer.readout.text()
    # A cutoff keeps the fine layers untruncated: the tiles differ again, slightly.
    bar.cutoff_spin.setValue(4)
    qtbot.waitUntil(lambda: "first 4 layers" in explorer.readout.text(), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: (
            np.abs(
                explorer.mosaic_picture[:32, :32].astype(int)
                - explorer.mosaic_picture[-32:, -32:].astype(int)
            ).max()
            > 1
        ),
        timeout=WAIT_MS,
    )
    bar.psi_spin.setValue(1.0)
    bar.cutoff_spin.setValue(0)
    # Mixing: the cursor's latent gives layers 4-7 to every sample.
    explorer.move_cursor(2.0, -2.0)
    qtbot.waitUntil(lambda: "u = +2.00" in explorer.readout.text(), timeout=WAIT_MS)
    unmixed = explorer.mosaic_picture.copy()
    bar.mix_button.click()
    assert bar.mix_check.isChecked() and explorer.mix_latent is not None
    qtbot.waitUntil(lambda: not np.array_equal(explorer.mosaic_picture, unmixed), timeout=WAIT_MS)
    assert "layers 4-7 mixed" in explorer.readout.text()
    # Random noise: the same latent decodes differently from one request to the next.
    bar.noise_combo.setCurrentIndex(bar.noise_combo.findData("random"))
    bar.noise_combo.activated.emit(bar.noise_combo.currentIndex())
    qtbot.waitUntil(lambda: "noise random" in explorer.readout.text(), timeout=WAIT_MS)


def test_stylegan_planes_in_w_sefa_on_style_weights_and_the_coarse_preview(qtbot, window):
    window.open_path(str(SG2))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    # The cursor's first picture is a coarse image from the skip outputs, then the full one.
    previews = []
    explorer.decoder.decoder.decoded.connect(
        lambda r: previews.append(r.preview_resolution) if r.kind == "cursor" else None
    )
    explorer.move_cursor(1.0, 1.0)
    qtbot.waitUntil(lambda: None in previews, timeout=WAIT_MS)
    assert previews[: previews.index(None)] == [4, 8, 16]
    # The file's outputs go past [-1, 1]: the read-out says they are clamped.
    qtbot.waitUntil(lambda: "shown clamped to [-1, 1]" in explorer.readout.text(), timeout=WAIT_MS)
    # SeFa factorises the style modulations: a plane in W, of w's size (64).
    combo = explorer.plane_combo
    combo.setCurrentIndex(combo.findData("sefa"))
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(
        lambda: explorer.plane is not None and "style weights" in explorer.plane.name,
        timeout=WAIT_MS,
    )
    assert explorer.style_bar.space() == "w" and explorer.plane.latent_dim == 64
    combo.setCurrentIndex(combo.findData("pca"))
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(
        lambda: explorer.plane is not None and "principal directions of W" in explorer.plane.name,
        timeout=WAIT_MS,
    )
    # Back to z: the random plane, of z's size.
    bar = explorer.style_bar
    bar.set_space("z")
    bar.space_changed.emit()
    qtbot.waitUntil(
        lambda: explorer.plane is not None and explorer.plane.name.startswith("random"),
        timeout=WAIT_MS,
    )
    assert explorer.plane.latent_dim == 64 and not explorer.in_w_space()


def test_the_networks_tab_lists_stylegan_synthesis_layers_with_their_shapes(qtbot, window):
    window.open_path(str(FOREIGN / "sg3t_32" / "network-snapshot-000004.pkl"))
    wait_for_pictures(qtbot, window.latent_explorer)
    table = window.network_view.table
    qtbot.waitUntil(lambda: table.rowCount() > 10, timeout=WAIT_MS)
    rows = {table.item(r, 0).text(): table.item(r, 2).text() for r in range(table.rowCount() - 1)}
    assert rows["synthesis.input"] == "32 x 36 x 36"  # StyleGAN3-T's margin of 2 px a side
    assert rows["synthesis.L14_32_3"] == "3 x 32 x 32"
    assert "mapping.fc0" in rows
