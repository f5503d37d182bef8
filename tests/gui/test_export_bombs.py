"""A decompression bomb among a run's sample pictures: File > Export > Training as an
animated GIF says which file it refused, in a dialog, and the window keeps running.

The bomb is a PNG of a few hundred bytes whose header declares 60,000 x 60,000 pixels (3.6
gigapixels): Pillow knows its size from the header alone, so nothing that large is allocated.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

pytest.importorskip("pyqtgraph")

from PIL import Image
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from tests.gui.conftest import WAIT_MS

BOMB_SIDE = 60_000


def write_bomb_png(path: Path, width: int = BOMB_SIDE, height: int = BOMB_SIDE) -> Path:
    """A grey PNG declaring width x height pixels that holds one row of zeros."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey, no interlace
    one_row = zlib.compress(bytes(width + 1))  # a filter byte and the row's pixels
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", one_row)
        + chunk(b"IEND", b"")
    )
    return path


def export_gif(qtbot, window, target: Path, monkeypatch) -> list:
    """Trigger File > Export > Training as an animated GIF, saving to `target`; returns the
    exceptions that escaped the menu action."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    with qtbot.captureExceptions() as escaped:
        window.findChild(QAction, "exportGifAction").trigger()
    return list(escaped)


@pytest.mark.parametrize("bomb_step", [40, 15], ids=["newest picture", "an older picture"])
def test_a_bomb_in_samples_is_a_dialog_naming_it_and_the_window_keeps_running(
    qtbot, window, digits_run, tmp_path, monkeypatch, bomb_step
):
    run = tmp_path / "bombed"
    shutil.copytree(digits_run, run)
    bomb = write_bomb_png(run / "samples" / f"step_{bomb_step:08d}.png")
    assert bomb.stat().st_size < 1000
    window.open_path(str(run))
    qtbot.waitUntil(lambda: window.workspace.run_dir == run, timeout=WAIT_MS)

    target = tmp_path / "training.gif"
    assert export_gif(qtbot, window, target, monkeypatch) == []
    box = window.error_box
    assert box is not None and box.isVisible()
    assert str(bomb) in box.text() and "decompression bomb" in box.text()
    assert not target.exists()

    # The window keeps running: without the bomb, the same export writes the GIF.
    box.close()
    bomb.unlink()
    assert export_gif(qtbot, window, target, monkeypatch) == []
    with Image.open(target) as gif:
        assert gif.n_frames == len(list((run / "samples").glob("step_*.png")))
    assert window.error_box is box  # no new dialog
