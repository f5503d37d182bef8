"""Opening things to inspect and walking their latent space, driven as a user would."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QPointF, Qt

from ganviz_gui.gui.latent_decoder import LatentDecoder
from tests.core.test_generator_files import trained_example
from tests.gui.conftest import WAIT_MS, start_following, wait_for_pictures

# torch 2.13 marks torch.jit as deprecated; the tests save TorchScript on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


def test_open_a_run_folder_shows_its_curves_and_explores_its_newest_generator(
    qtbot, window, digits_run
):
    window.open_path(str(digits_run))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    assert window.workspace.generator.step == 30
    assert [s for s, _ in window.workspace.checkpoints] == [10, 20, 30]
    assert explorer.mosaic_picture.shape == (9 * 8, 9 * 8, 3)  # 9 x 9 tiles of 8 px
    assert explorer.cursor_picture.shape == (8, 8, 3)
    assert window.loss_plots.series["loss_d"].count == 6  # the run's records (every 5 steps)
    assert window.recent_files.items == [str(digits_run)]
    assert window.explorer_dock.isVisible()


def test_clicking_and_dragging_in_the_plane_decodes_the_sample_there(qtbot, window, digits_run):
    window.open_path(str(digits_run))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    first = explorer.cursor_picture.copy()
    # A real mouse click on the mosaic at plane coordinates (1.5, -1.0).
    scene_point = explorer.mosaic_view.mapViewToScene(QPointF(1.5, -1.0))
    widget_point = explorer.graphics.mapFromScene(scene_point)
    qtbot.mouseClick(explorer.graphics.viewport(), Qt.LeftButton, pos=widget_point)
    u, v = explorer.cursor_uv()
    assert u == pytest.approx(1.5, abs=0.1) and v == pytest.approx(-1.0, abs=0.1)
    qtbot.waitUntil(lambda: not np.array_equal(explorer.cursor_picture, first), timeout=WAIT_MS)
    # The decoded sample is G at the latent under the cursor.
    generator = window.workspace.generator.build_generator()
    z = explorer.plane.latents([u], [v])
    with torch.no_grad():
        expected = generator(z)[0, 0]
    pixels = np.clip(np.rint((expected.numpy() + 1) * 127.5), 0, 255)
    qtbot.waitUntil(
        lambda: np.abs(explorer.cursor_picture[..., 0].astype(int) - pixels).max() <= 1,
        timeout=WAIT_MS,
    )
    assert "u = +1.5" in explorer.readout.text()


def test_changing_the_plane_and_the_mosaic(qtbot, window, digits_run):
    window.open_path(str(digits_run))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    random_mosaic = explorer.mosaic_picture.copy()
    for key, name_part in (("sefa", "SeFa"), ("pca", "GANSpace")):
        with qtbot.waitSignal(explorer.plane_changed, timeout=WAIT_MS) as changed:
            explorer.plane_combo.setCurrentIndex(explorer.plane_combo.findData(key))
            explorer.plane_combo.activated.emit(explorer.plane_combo.currentIndex())
        assert name_part in changed.args[0]
    qtbot.waitUntil(
        lambda: not np.array_equal(explorer.mosaic_picture, random_mosaic), timeout=WAIT_MS
    )
    explorer.size_combo.setCurrentIndex(explorer.size_combo.findData(5))
    explorer.size_combo.activated.emit(explorer.size_combo.currentIndex())
    qtbot.waitUntil(lambda: explorer.mosaic_picture.shape == (40, 40, 3), timeout=WAIT_MS)


def test_a_pytorch_examples_dcgan_opens_with_nothing_asked(qtbot, window, tmp_path):
    path = tmp_path / "netG_epoch_5.pth"
    torch.save(trained_example(nz=10, ngf=8, nc=3).state_dict(), path)
    window.open_path(str(path))
    wait_for_pictures(qtbot, window.latent_explorer)
    assert window.latent_explorer.mosaic_picture.shape == (9 * 64, 9 * 64, 3)
    assert window.workspace.run_dir is None


def test_torchscript_opens_only_after_the_user_trusts_it(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    scripted = torch.jit.script(trained_example(nz=6, ngf=8, nc=1))
    path = tmp_path / "g.pt"
    torch.jit.save(scripted, path)
    answers = []

    def answer(no_or_yes):
        def ask(*args, **kwargs):
            answers.append(args[2])
            return no_or_yes

        return ask

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.No))
    window.open_path(str(path))
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=WAIT_MS)
    assert "carries code" in answers[0] and window.workspace.shown is None
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.Yes))
    window.open_path(str(path))
    wait_for_pictures(qtbot, window.latent_explorer)
    assert window.workspace.generator.kind == "torchscript"


def test_broken_and_hostile_files_give_a_dialog_and_nothing_else(qtbot, window, tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    hostile = tmp_path / "hostile.pt"
    hostile.write_bytes(pickle.dumps(Payload()))
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"PK\x03\x04 truncated")
    for path, message in ((hostile, "not a PyTorch checkpoint"), (broken, "truncated")):
        window.error_box = None
        window.open_path(str(path))
        qtbot.waitUntil(lambda: window.error_box is not None, timeout=WAIT_MS)
        assert str(path) in window.error_box.text() and message in window.error_box.text()
    assert window.workspace.shown is None and window.latent_explorer.decoder is None


def test_the_decoder_keeps_only_the_newest_request_of_each_kind():
    decoder = LatentDecoder(torch.nn.Identity())
    for i in range(50):
        decoder.request("cursor", torch.full((1, 3), float(i)))
    decoder.request("mosaic", torch.zeros((4, 3)), columns=2)
    first = decoder._take()
    assert first.kind == "cursor" and first.ticket == 50 and float(first.latents[0, 0]) == 49
    assert decoder._take().kind == "mosaic"
    assert decoder._take() is None


def test_the_step_slider_drives_the_grid_the_explorer_and_the_plot_cursor(
    qtbot, window, digits_run
):
    window.open_path(str(digits_run))
    explorer, grid, scrubber = window.latent_explorer, window.sample_grid, window.scrubber
    qtbot.waitUntil(lambda: grid.sheet is not None and grid.sheet.step == 30, timeout=WAIT_MS)
    assert scrubber.isVisible() and scrubber.steps == [10, 20, 30]
    assert scrubber.slider.value() == 2 and "step 30" in scrubber.label.text()
    scrubber.slider.setValue(0)
    qtbot.waitUntil(lambda: grid.sheet.step == 10, timeout=WAIT_MS)
    assert explorer.opened.step == 10
    assert window.loss_plots.step_cursor() == 10
    # A click in a loss plot near step 19 jumps to the nearest checkpoint, 20.
    plot = window.loss_plots.plots["losses"]
    qtbot.waitUntil(lambda: plot.getViewBox().viewRange()[0][1] == 30, timeout=WAIT_MS)
    (_, _), (y_low, y_high) = plot.getViewBox().viewRange()
    scene_point = plot.getViewBox().mapViewToScene(QPointF(19, (y_low + y_high) / 2))
    widget_point = window.loss_plots.graphics.mapFromScene(scene_point)
    qtbot.mouseClick(window.loss_plots.graphics.viewport(), Qt.LeftButton, pos=widget_point)
    assert scrubber.slider.value() == 1
    qtbot.waitUntil(lambda: grid.sheet.step == 20, timeout=WAIT_MS)
    # Play walks to the end, then stops.
    scrubber.slider.setValue(0)
    scrubber.toggle_play()
    qtbot.waitUntil(lambda: scrubber.play_button.text() == "Play", timeout=WAIT_MS)
    assert scrubber.slider.value() == 2
    qtbot.waitUntil(lambda: grid.sheet.step == 30, timeout=WAIT_MS)
    # The run's data set (the bundled digits) is here: its real samples go beside too.
    qtbot.waitUntil(grid.real_check.isEnabled, timeout=WAIT_MS)


def test_starting_a_run_takes_the_plots_back_from_an_inspected_run(qtbot, window, digits_run):
    window.open_path(str(digits_run))
    qtbot.waitUntil(lambda: window.scrubber.isVisible(), timeout=WAIT_MS)
    window.setup_panel.apply_preset("8 Gaussians")
    window.setup_panel.steps_spin.setValue(20)
    assert window.start_training()
    assert not window.scrubber.isVisible()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
    assert window.loss_plots.series["loss_d"].count == 2  # the new run's records only


def test_d_overlay_scores_every_mosaic_sample_with_the_checkpoints_d(qtbot, window, digits_run):
    from ganviz_gui.core.live_views import d_scores

    window.open_path(str(digits_run))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    qtbot.waitUntil(lambda: explorer.mosaic_scores is not None, timeout=WAIT_MS)
    assert explorer.overlay_check.isEnabled() and not explorer.overlay_item.isVisible()
    explorer.overlay_check.setChecked(True)
    assert explorer.overlay_item.isVisible()
    assert explorer.mosaic_scores.shape == (9, 9)
    # The top-left cell is the sample at (u, v) = (-extent, +extent).
    e = explorer.extent()
    checkpoint = window.workspace.generator.checkpoint
    z = explorer.plane.latents([-e], [e])
    with torch.no_grad():
        sample = checkpoint.build_generator()(z)
    expected = d_scores(checkpoint.build_discriminator(), checkpoint.config.loss, sample)[0]
    assert explorer.score_at(-e, e) == pytest.approx(expected, abs=1e-5)
    explorer.move_cursor(0.5, 0.5)
    assert "D(G(z)) of the nearest mosaic sample" in explorer.readout.text()


def test_a_generator_without_d_has_no_overlay(qtbot, window, tmp_path):
    path = tmp_path / "netG_epoch_1.pth"
    torch.save(trained_example(nz=10, ngf=8, nc=1).state_dict(), path)
    window.open_path(str(path))
    wait_for_pictures(qtbot, window.latent_explorer)
    assert not window.latent_explorer.overlay_check.isEnabled()
    assert window.latent_explorer.mosaic_scores is None


def test_each_export_writes_its_file(qtbot, window, digits_run, tmp_path, monkeypatch):
    import csv

    from PIL import Image
    from PySide6.QtWidgets import QFileDialog

    window.open_path(str(digits_run))
    wait_for_pictures(qtbot, window.latent_explorer)
    qtbot.waitUntil(lambda: window.sample_grid.sheet is not None, timeout=WAIT_MS)
    targets = iter(
        [tmp_path / "grid.png", tmp_path / "mosaic.png", tmp_path / "m.csv", tmp_path / "t.gif"]
    )
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(next(targets)), ""))
    for name in (
        "exportGridAction",
        "exportMosaicAction",
        "exportMetricsAction",
        "exportGifAction",
    ):
        window.findChild(object, name).trigger()
        assert window.error_box is None, window.error_box and window.error_box.text()
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.size == (37, 37)  # 4 x 4 tiles of 8 px, 1 px apart: true resolution
    with Image.open(tmp_path / "mosaic.png") as mosaic:
        assert mosaic.size == (72, 72)
    assert len(list(csv.DictReader((tmp_path / "m.csv").open()))) == 6
    with Image.open(tmp_path / "t.gif") as gif:
        assert gif.n_frames >= 2
    assert "Exported" in window.statusBar().currentMessage()


def test_exporting_with_nothing_to_export_says_so(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: pytest.fail("no dialog"))
    window.findChild(object, "exportMosaicAction").trigger()
    assert "no mosaic" in window.error_box.text()


def test_interpolation_strip_between_two_cursor_positions_and_its_exports(
    qtbot, window, digits_run, tmp_path, monkeypatch
):
    from PIL import Image
    from PySide6.QtWidgets import QFileDialog

    from ganviz_gui.core.latent_plane import interpolate

    window.open_path(str(digits_run))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    explorer.move_cursor(-2.0, 1.0)
    qtbot.mouseClick(explorer.strip_start_button, Qt.LeftButton)
    explorer.move_cursor(2.0, -1.0)
    qtbot.mouseClick(explorer.strip_end_button, Qt.LeftButton)
    explorer.strip_steps_spin.setValue(6)
    qtbot.waitUntil(
        lambda: explorer.strip_picture is not None and explorer.strip_picture.shape == (8, 48, 3),
        timeout=WAIT_MS,
    )
    a, b = explorer.strip_ends
    torch.testing.assert_close(explorer.strip_latents(), interpolate(a, b, 6, "slerp"))
    assert len(explorer.strip_frames()) == 6
    targets = iter([tmp_path / "strip.png", tmp_path / "strip.gif"])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(next(targets)), ""))
    window.findChild(object, "exportStripAction").trigger()
    window.findChild(object, "exportStripGifAction").trigger()
    with Image.open(tmp_path / "strip.png") as strip:
        assert strip.size == (48, 8)
    with Image.open(tmp_path / "strip.gif") as gif:
        assert gif.n_frames == 10 and gif.size == (32, 32)  # there and back; 8 px shown at 32


def test_bookmarks_round_trip_through_the_file_menu(
    qtbot, window, digits_run, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    window.open_path(str(digits_run))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    explorer.move_cursor(1.0, 1.0)
    remembered = explorer.cursor_latent()
    assert explorer.bookmark_cursor() == "z1"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "m"), ""))
    window.findChild(object, "saveBookmarksAction").trigger()
    assert (tmp_path / "m.json").is_file() and (tmp_path / "m.npy").is_file()
    explorer.bookmarks = None
    explorer.move_cursor(-1.0, 0.0)
    monkeypatch.setattr(
        QFileDialog,
        "getOpenFileName",
        lambda *a, **k: (str(tmp_path / "m.json"), ""),
    )
    window.findChild(object, "loadBookmarksAction").trigger()
    assert explorer.bookmark_combo.itemText(0) == "z1" and explorer.bookmark_combo.count() == 2
    explorer.bookmark_combo.setCurrentIndex(0)
    explorer.bookmark_combo.activated.emit(0)
    assert explorer.cursor_uv() == (0.0, 0.0)
    torch.testing.assert_close(explorer.cursor_latent(), remembered)


def test_bookmarks_of_another_latent_size_are_refused(
    qtbot, window, digits_run, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    from ganviz_gui.core.latent_bookmarks import LatentBookmarks, save_bookmarks

    save_bookmarks(LatentBookmarks(3, latents={"x": torch.zeros(3)}), tmp_path / "other")
    window.open_path(str(digits_run))
    wait_for_pictures(qtbot, window.latent_explorer)
    monkeypatch.setattr(
        QFileDialog,
        "getOpenFileName",
        lambda *a, **k: (str(tmp_path / "other.json"), ""),
    )
    window.findChild(object, "loadBookmarksAction").trigger()
    assert "size 3 do not fit" in window.error_box.text()


def test_clicking_grid_samples_sends_their_latents_and_three_make_a_plane(
    qtbot, window, digits_run
):
    window.open_path(str(digits_run))
    explorer, grid = window.latent_explorer, window.sample_grid
    wait_for_pictures(qtbot, explorer)
    qtbot.waitUntil(lambda: grid.sheet is not None and grid.sheet.step == 30, timeout=WAIT_MS)
    noise = window.latent_explorer.opened.checkpoint.state["fixed_noise"]
    for index in (0, 5, 9):
        grid.select_sample("fake", index)
    assert len(explorer.picked) == 3
    torch.testing.assert_close(explorer.cursor_latent(), noise[9])  # the origin moved there
    with qtbot.waitSignal(explorer.plane_changed, timeout=WAIT_MS):
        explorer.plane_combo.setCurrentIndex(explorer.plane_combo.findData("picked"))
        explorer.plane_combo.activated.emit(explorer.plane_combo.currentIndex())
    assert explorer.plane.name == "through three latents"
    for index in (0, 5, 9):  # all three lie in the plane
        u, v = explorer.plane.coordinates(noise[index])[0]
        torch.testing.assert_close(
            explorer.plane.latents([u], [v])[0], noise[index], atol=1e-4, rtol=1e-4
        )


def click_sample(qtbot, grid, index: int, double: bool = False) -> None:
    """A real mouse click (or double click) on fake sample `index` of the grid."""
    sheet = grid.sheet
    tile = sheet.fake_grid.shape[0] // 4  # the digits run's grid: 4 x 4 tiles
    row, column = divmod(index, 4)
    centre = QPointF((column + 0.5) * tile, (row + 0.5) * tile)
    assert grid.sample_at(centre) == ("fake", index)
    widget_point = grid.graphics.mapFromScene(grid.view.mapViewToScene(centre))
    viewport = grid.graphics.viewport()
    qtbot.mouseClick(viewport, Qt.LeftButton, pos=widget_point)
    if double:  # what a widget gets of a double click: press, release, double click, release
        qtbot.mouseDClick(viewport, Qt.LeftButton, pos=widget_point)
        qtbot.mouseRelease(viewport, Qt.LeftButton, pos=widget_point)


def test_clicks_pick_samples_and_their_plane_frames_and_marks_all_three(qtbot, window, digits_run):
    window.open_path(str(digits_run))
    explorer, grid = window.latent_explorer, window.sample_grid
    wait_for_pictures(qtbot, explorer)
    qtbot.waitUntil(lambda: grid.sheet is not None and grid.sheet.step == 30, timeout=WAIT_MS)
    noise = explorer.opened.checkpoint.state["fixed_noise"]
    window.sample_dock.raise_()
    qtbot.waitUntil(lambda: grid.graphics.isVisible(), timeout=WAIT_MS)
    for index in (0, 5, 9):  # one click each: picked, and no dialog
        click_sample(qtbot, grid, index)
    assert grid.dialogs == [] and len(explorer.picked) == 3
    click_sample(qtbot, grid, 5, double=True)  # a double click opens it, and picks it once
    assert len(grid.dialogs) == 1 and "fake sample 5" in grid.dialogs[0].windowTitle()
    grid.dialogs[0].close()
    torch.testing.assert_close(window.workspace.picked[-2], noise[9])  # 5 was picked once
    for index in (0, 9):
        click_sample(qtbot, grid, index)
    window.explorer_dock.raise_()
    with qtbot.waitSignal(explorer.plane_changed, timeout=WAIT_MS):
        explorer.plane_combo.setCurrentIndex(explorer.plane_combo.findData("picked"))
        explorer.plane_combo.activated.emit(explorer.plane_combo.currentIndex())
    # The range is fitted to the three, with 15% of it to spare (the example run's lie
    # ~10-12 std apart, far outside the default 2.5).
    e, anchors = explorer.extent(), explorer.plane.anchors
    assert anchors.shape == (3, 2)
    assert float(anchors.abs().max()) <= 0.85 * e + 1e-6
    assert float(anchors.abs().max()) >= 0.8 * e  # fitted, not merely large
    for index, (u, v) in zip((5, 0, 9), anchors, strict=True):  # in the order clicked
        torch.testing.assert_close(
            explorer.plane.latents([u], [v])[0], noise[index], atol=1e-4, rtol=1e-4
        )
    # Each is marked on the mosaic, numbered, and the cursor shows sample 1.
    np.testing.assert_allclose(explorer.anchor_markers.getData()[0], anchors[:, 0].numpy())
    np.testing.assert_allclose(explorer.anchor_markers.getData()[1], anchors[:, 1].numpy())
    assert [label.textItem.toPlainText() for label in explorer.anchor_labels] == ["1", "2", "3"]
    for label, (u, v) in zip(explorer.anchor_labels, anchors, strict=True):
        assert (label.pos().x(), label.pos().y()) == pytest.approx((float(u), float(v)))
    torch.testing.assert_close(explorer.cursor_latent(), noise[5], atol=1e-4, rtol=1e-4)
    qtbot.waitUntil(lambda: explorer.mosaic_item.width() is not None, timeout=WAIT_MS)
    rect = explorer.mosaic_item.mapRectToView(explorer.mosaic_item.boundingRect())
    for u, v in anchors.tolist():  # inside the mosaic drawn
        assert rect.left() < u < rect.right() and rect.top() < v < rect.bottom()
    # Another plane: the markers go, and the user's range comes back.
    with qtbot.waitSignal(explorer.plane_changed, timeout=WAIT_MS):
        explorer.plane_combo.setCurrentIndex(explorer.plane_combo.findData("random"))
        explorer.plane_combo.activated.emit(explorer.plane_combo.currentIndex())
    assert explorer.extent() == 2.5 and explorer.anchor_labels == []
    assert len(explorer.anchor_markers.getData()[0]) == 0


def test_the_planes_pass_through_a_typical_latent_not_zero(qtbot, window, digits_run, tmp_path):
    from ganviz_gui.core.latent_plane import typical_latent

    window.open_path(str(digits_run))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    noise = explorer.opened.checkpoint.state["fixed_noise"]
    torch.testing.assert_close(explorer.cursor_latent(), noise[0])  # sample 0 of the grid
    with qtbot.waitSignal(explorer.plane_changed, timeout=WAIT_MS):
        explorer.plane_combo.setCurrentIndex(explorer.plane_combo.findData("sefa"))
        explorer.plane_combo.activated.emit(explorer.plane_combo.currentIndex())
    torch.testing.assert_close(explorer.plane.origin, noise[0])
    # A file without fixed noise: a seeded normal draw, the same each time it is opened.
    path = tmp_path / "netG_epoch_1.pth"
    torch.save(trained_example(nz=10, ngf=8, nc=1).state_dict(), path)
    window.open_path(str(path))
    qtbot.waitUntil(lambda: explorer.plane.latent_dim == 10, timeout=WAIT_MS)
    assert explorer.opened.fixed_noise is None
    torch.testing.assert_close(explorer.plane.origin, typical_latent(10))
    assert float(explorer.plane.origin.norm()) > 1.0


def test_the_readout_gives_d_of_the_nearest_mosaic_sample_on_every_plane(qtbot, window, digits_run):
    window.open_path(str(digits_run))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    assert not explorer.overlay_check.isChecked()
    for key in ("random", "sefa"):
        with qtbot.waitSignal(explorer.plane_changed, timeout=WAIT_MS):
            explorer.plane_combo.setCurrentIndex(explorer.plane_combo.findData(key))
            explorer.plane_combo.activated.emit(explorer.plane_combo.currentIndex())
        # Until this plane's mosaic is scored, no verdict (none of the last plane's).
        assert explorer.mosaic_scores is None and "D(G(z))" not in explorer.readout.text()
        qtbot.waitUntil(lambda: explorer.mosaic_scores is not None, timeout=WAIT_MS)
        score = explorer.score_at(*explorer.cursor_uv())
        expected = f"D(G(z)) of the nearest mosaic sample = {score:.3f}"
        qtbot.waitUntil(lambda text=expected: text in explorer.readout.text(), timeout=WAIT_MS)


def test_the_explorers_controls_wrap_in_a_narrow_dock(qtbot, window, digits_run):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QWidget

    from ganviz_gui.gui.latent_explorer import LatentExplorer

    window.open_path(str(digits_run))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    assert explorer.minimumSizeHint().width() <= 500
    explorer.style_bar.show()  # a StyleGAN's row too
    assert explorer.minimumSizeHint().width() <= 500
    # At 420 px every control is shown, whole, inside the panel and above its view.
    explorer = LatentExplorer()
    qtbot.addWidget(explorer)
    explorer.resize(420, 600)
    explorer.show()
    qtbot.waitUntil(lambda: explorer.width() == 420, timeout=WAIT_MS)
    view = explorer.frame.message  # shown until a generator is opened
    top_of_view = view.mapTo(explorer, view.rect().topLeft()).y()
    controls = [
        w
        for w in explorer.findChildren(QWidget)
        if isinstance(w, (QAbstractButton, QAbstractSpinBox, QComboBox))
        and not explorer.style_bar.isAncestorOf(w)
    ]
    assert len(controls) >= 11
    for control in controls:
        assert control.isVisible(), control.objectName()
        corner = control.mapTo(explorer, control.rect().topLeft())
        assert corner.x() >= 0 and corner.x() + control.width() <= 420, control.objectName()
        assert corner.y() + control.height() <= top_of_view, control.objectName()
        assert control.width() >= control.minimumSizeHint().width(), control.objectName()


def test_the_explorer_follows_the_run_being_trained(qtbot, window):
    explorer = start_following(qtbot, window, "Digits - DCGAN")
    wait_for_pictures(qtbot, explorer)
    first_step = explorer.opened.step
    qtbot.waitUntil(lambda: explorer.opened.step > first_step, timeout=WAIT_MS)
    assert explorer.overlay_check.isEnabled()  # the live D scores the mosaic
    qtbot.waitUntil(lambda: explorer.mosaic_scores is not None, timeout=WAIT_MS)
    # A sample of the live grid sends its latent (the run's fixed noise) to the explorer.
    qtbot.waitUntil(lambda: window.sample_grid.sheet is not None, timeout=WAIT_MS)
    window.sample_grid.select_sample("fake", 3)
    expected = torch.from_numpy(window.trainer.started.fixed_noise[3])
    torch.testing.assert_close(explorer.cursor_latent(), expected)
    explorer.follow_check.setChecked(False)
    assert window.trainer.training.worker.wanted["weights"] is False
    window.stop_training()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)


def test_two_checkpoints_compare_side_by_side_as_a_difference_and_blinking(
    qtbot, window, digits_run
):
    window.open_path(str(digits_run))
    compare = window.compare
    qtbot.waitUntil(
        lambda: compare.sheet_a is not None and compare.sheet_b is not None, timeout=WAIT_MS
    )
    assert (compare.sheet_a.step, compare.sheet_b.step) == (30, 10)
    assert compare.right_label.toPlainText() == "B: step 10"
    compare.b_combo.setCurrentIndex(1)
    compare.b_combo.activated.emit(1)
    qtbot.waitUntil(lambda: compare.sheet_b.step == 20, timeout=WAIT_MS)
    compare.mode_combo.setCurrentIndex(compare.mode_combo.findData("difference"))
    compare.mode_combo.activated.emit(compare.mode_combo.currentIndex())
    change = compare.difference()
    expected = np.abs(compare.sheet_a.fake_grid.astype(int) - compare.sheet_b.fake_grid.astype(int))
    assert change.max() == 255 and np.array_equal(change > 0, expected > 0)
    assert "mean change per pixel" in compare.readout.text()
    compare.mode_combo.setCurrentIndex(compare.mode_combo.findData("blink"))
    compare.mode_combo.activated.emit(compare.mode_combo.currentIndex())
    assert not compare.right_item.isVisible()
    qtbot.waitUntil(lambda: compare.shown_left == "B", timeout=5000)
    assert compare.left_label.toPlainText() == "B: step 20"
    # The slider moves A; B stays.
    window.scrubber.slider.setValue(0)
    qtbot.waitUntil(lambda: compare.sheet_a.step == 10, timeout=WAIT_MS)
    assert compare.sheet_b.step == 20


def test_scrubbing_a_2d_run_redraws_the_field_view_of_each_checkpoint(qtbot, window, ring_run):
    window.open_path(str(ring_run))
    field = window.field_view
    qtbot.waitUntil(
        lambda: field.snapshot is not None and field.snapshot.step == 40, timeout=WAIT_MS
    )
    assert window.field_dock.isVisible() and window.scrubber.steps == [20, 40]
    at_40 = field.snapshot.fake.copy()
    window.scrubber.slider.setValue(0)
    qtbot.waitUntil(lambda: field.snapshot.step == 20, timeout=WAIT_MS)
    assert not np.array_equal(field.snapshot.fake, at_40)  # another generator, same latents
