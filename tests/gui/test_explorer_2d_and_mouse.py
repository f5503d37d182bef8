"""The explorer on 2D generators (the plane's image as a deformed mesh), and the interactions
a user does with the mouse: dragging the cursor, dropping a file onto the window."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from ganviz_gui.gui.latent_mesh import CROSS_POINTS, dense_size
from tests.gui.conftest import WAIT_MS, start_following, wait_for_pictures


def wait_for_mesh(qtbot, explorer):
    qtbot.waitUntil(
        lambda: explorer.mesh_points is not None and explorer.cursor_point is not None,
        timeout=WAIT_MS,
    )


def generator_of(window):
    return window.latent_explorer.opened.build_generator("ema")


def drag(qtbot, explorer, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press on the plane at `start` (u, v), move in steps with the button held, release at
    `end`: a real drag. (QTest's mouseMove carries no buttons, which a drag needs.)"""
    viewport = explorer.graphics.viewport()

    def at(u: float, v: float) -> QPointF:
        scene = explorer.mosaic_view.mapViewToScene(QPointF(u, v))
        return QPointF(explorer.graphics.mapFromScene(scene))

    def send(kind, point: QPointF, buttons) -> None:
        global_point = QPointF(viewport.mapToGlobal(point.toPoint()))
        event = QMouseEvent(kind, point, global_point, Qt.LeftButton, buttons, Qt.NoModifier)
        QApplication.sendEvent(viewport, event)
        QApplication.processEvents()

    send(QEvent.MouseButtonPress, at(*start), Qt.LeftButton)
    for t in np.linspace(0, 1, 8)[1:]:
        u, v = (1 - t) * np.array(start) + t * np.array(end)
        send(QEvent.MouseMove, at(u, v), Qt.LeftButton)
    send(QEvent.MouseButtonRelease, at(*end), Qt.NoButton)


def test_a_2d_generator_shows_its_plane_as_a_mesh_over_the_real_data(qtbot, window, ring_run):
    window.open_path(str(ring_run / "checkpoints" / "step_00000040.pt"))
    explorer = window.latent_explorer
    wait_for_mesh(qtbot, explorer)
    assert explorer.shows_points
    # The mesh is G over the plane's grid, row 0 at v = +range, as the mosaic of images is.
    m, e = dense_size(explorer.mosaic_size()), explorer.extent()
    assert explorer.mesh_points.shape == (m, m, 2)
    latents = explorer.plane.grid(m, e).reshape(m, m, -1).flip(0).reshape(m * m, -1)
    with torch.no_grad():
        expected = generator_of(window)(latents).reshape(m, m, 2).numpy()
    np.testing.assert_allclose(explorer.mesh_points, expected, atol=1e-5)
    # Drawn: 9 rows and 9 columns of the lattice in both views, the cursor's cross, real data.
    layers = explorer.mesh_layers
    assert len(layers.mesh_rows.getData()[0]) == 9 * (m + 1)  # each line then a NaN break
    assert len(layers.plane_columns.getData()[0]) == 9 * (9 + 1)
    assert len(layers.cross.getData()[0]) == 2 * (CROSS_POINTS + 1)
    assert len(layers.real.data) == 1000  # the run's ring8 data (toy_samples=1000)
    assert layers.mesh_rows.isVisible() and not explorer.mosaic_item.isVisible()
    # D(G(z)) over the plane, from the checkpoint's own D, at every decoded point.
    assert explorer.mosaic_scores.shape == (m, m)
    discriminator = explorer.opened.checkpoint.build_discriminator()
    with torch.no_grad():
        d = torch.sigmoid(discriminator(torch.from_numpy(expected.reshape(-1, 2)))).reshape(m, m)
    np.testing.assert_allclose(explorer.mosaic_scores, d.numpy(), atol=1e-5)
    # The cursor's point is decoded on its own request, which may land after the mesh.
    qtbot.waitUntil(lambda: "G(z) = (" in explorer.readout.text(), timeout=WAIT_MS)


def test_dragging_the_cursor_moves_g_of_it_in_data_space(qtbot, window, ring_run):
    window.open_path(str(ring_run / "checkpoints" / "step_00000040.pt"))
    explorer = window.latent_explorer
    wait_for_mesh(qtbot, explorer)
    window.explorer_dock.raise_()  # a checkpoint of a run opens on the field view
    explorer.move_cursor(0.0, 0.0)
    qtbot.waitUntil(lambda: "v = +0.00 std ->" in explorer.readout.text(), timeout=WAIT_MS)
    drag(qtbot, explorer, (0.0, 0.0), (1.5, -1.0))
    u, v = explorer.cursor_uv()
    assert u == pytest.approx(1.5, abs=0.1) and v == pytest.approx(-1.0, abs=0.1)
    with torch.no_grad():
        expected = generator_of(window)(explorer.plane.latents([u], [v]))[0].numpy()
    qtbot.waitUntil(
        lambda: np.allclose(explorer.cursor_point, expected, atol=1e-5), timeout=WAIT_MS
    )
    # The cross in the plane view passes through the cursor.
    x, y = explorer.mesh_layers.plane_cross.getData()
    assert np.nanmin(np.abs(y - v)) < 1e-6 and np.nanmin(np.abs(x - u)) < 1e-6


def test_dragging_the_cursor_over_an_image_mosaic_decodes_each_position(
    qtbot,
    window,
    digits_run,
):
    window.open_path(str(digits_run))
    explorer = window.latent_explorer
    wait_for_pictures(qtbot, explorer)
    explorer.move_cursor(-1.0, 1.0)
    first = explorer.cursor_picture.copy()
    drag(qtbot, explorer, (-1.0, 1.0), (1.0, -1.5))
    u, v = explorer.cursor_uv()
    assert u == pytest.approx(1.0, abs=0.1) and v == pytest.approx(-1.5, abs=0.1)
    with torch.no_grad():
        expected = generator_of(window)(explorer.plane.latents([u], [v]))[0, 0].numpy()
    pixels = np.clip(np.rint((expected + 1) * 127.5), 0, 255)
    qtbot.waitUntil(
        lambda: np.abs(explorer.cursor_picture[..., 0].astype(int) - pixels).max() <= 1,
        timeout=WAIT_MS,
    )
    assert not np.array_equal(explorer.cursor_picture, first)


def test_interpolating_a_2d_generator_draws_the_path_and_exports_the_mesh(
    qtbot, window, ring_run, tmp_path, monkeypatch
):
    from PIL import Image
    from PySide6.QtWidgets import QFileDialog

    window.open_path(str(ring_run / "checkpoints" / "step_00000040.pt"))
    explorer = window.latent_explorer
    wait_for_mesh(qtbot, explorer)
    explorer.move_cursor(-2.0, 0.0)
    explorer.strip_start_button.click()
    explorer.move_cursor(2.0, 1.0)
    explorer.strip_end_button.click()
    qtbot.waitUntil(lambda: explorer.strip_points is not None, timeout=WAIT_MS)
    with torch.no_grad():
        expected = generator_of(window)(explorer.strip_latents()).numpy()
    np.testing.assert_allclose(explorer.strip_points, expected, atol=1e-5)
    assert len(explorer.mesh_layers.path.getData()[0]) == explorer.strip_steps_spin.value()
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        lambda *a, **k: (str(tmp_path / "mesh.png"), ""),
    )
    window.findChild(object, "exportMosaicAction").trigger()
    assert window.error_box is None
    with Image.open(tmp_path / "mesh.png") as picture:
        assert picture.size[0] > 200 and picture.size[1] > 200
    window.findChild(object, "exportStripAction").trigger()  # no strip picture for points
    assert "green path" in window.error_box.text()


def test_scrubbing_a_2d_run_redraws_the_explorers_mesh(qtbot, window, ring_run):
    window.open_path(str(ring_run))
    explorer = window.latent_explorer
    qtbot.waitUntil(
        lambda: explorer.mesh_points is not None and explorer.opened.step == 40, timeout=WAIT_MS
    )
    assert window.field_dock.isVisible()  # a 2D run opens on its field view
    at_40 = explorer.mesh_points.copy()
    window.scrubber.slider.setValue(0)
    qtbot.waitUntil(
        lambda: (
            explorer.opened.step == 20
            and explorer.mesh_points is not None
            and not np.array_equal(explorer.mesh_points, at_40)
        ),
        timeout=WAIT_MS,
    )


def test_the_explorer_follows_a_2d_run_being_trained(qtbot, window):
    explorer = start_following(qtbot, window, "8 Gaussians")
    wait_for_mesh(qtbot, explorer)
    first = explorer.mesh_points.copy()
    qtbot.waitUntil(
        lambda: (
            explorer.mesh_points is not None and not np.array_equal(explorer.mesh_points, first)
        ),
        timeout=WAIT_MS,
    )
    window.stop_training()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)


def dropped(window, paths: list[str]) -> tuple[bool, bool]:
    """Drag files over the window and drop them, as a file manager does: (entered, dropped)."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(p) if "://" not in p else QUrl(p) for p in paths])
    point = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(point.toPoint(), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    drop = QDropEvent(point, Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_dropping_a_run_folder_onto_the_window_opens_it(qtbot, window, ring_run):
    assert window.acceptDrops()
    entered, accepted = dropped(window, [str(ring_run)])
    assert entered and accepted
    qtbot.waitUntil(lambda: window.workspace.shown is not None, timeout=WAIT_MS)
    assert window.workspace.run_dir == ring_run
    assert window.recent_files.items == [str(ring_run)]


def test_dropping_a_broken_file_gives_a_dialog_naming_it(qtbot, window, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint at all")
    dropped(window, [str(broken)])
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=WAIT_MS)
    assert "broken.pt" in window.error_box.text()
    assert window.workspace.shown is None


def test_dropping_a_web_link_is_ignored(qtbot, window):
    _, accepted = dropped(window, ["https://example.com/netG.pth"])
    assert not accepted and window.workspace.shown is None and window.error_box is None
