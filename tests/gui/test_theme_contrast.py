"""Captions and links stay readable in both themes: WCAG contrast of at least 4.5 : 1."""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("pyqtgraph")

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from ganviz_gui.gui.theme import PLOT_COLORS

READABLE = 4.5  # WCAG AA for normal text


def luminance(color: QColor) -> float:
    """WCAG 2 relative luminance."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(color.red())
        + 0.7152 * linear(color.green())
        + 0.0722 * linear(color.blue())
    )


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_matches_wcag():
    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast(QColor("#767676"), QColor("#ffffff")) == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_captions_over_pictures_are_readable(window, scheme):
    window.set_theme("dark" if scheme == "light" else "light")  # made in the other theme first
    window.set_theme(scheme)
    plot = QColor(PLOT_COLORS[scheme][0])
    panel = QApplication.palette().color(QPalette.ColorRole.Window)
    captions = {
        "samples' generated": window.sample_grid.fake_label,
        "samples' real": window.sample_grid.real_label,
        "compare's A": window.compare.left_label,
        "compare's B": window.compare.right_label,
    }
    for name, item in captions.items():
        assert contrast(item.color, plot) >= READABLE, f"{name} caption in {scheme}"
    note = window.setup_panel.preset_note
    note.setText("a preset's note")
    note_color = QColor(note.styleSheet().removeprefix("color: ").rstrip(";"))
    assert contrast(note_color, panel) >= READABLE, f"the preset note in {scheme}"


def drawn_colors(label) -> Counter:
    image = label.grab().toImage()
    return Counter(
        image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())
    )


def test_the_run_folder_link_is_readable_after_switching_to_dark(window, qtbot):
    window.set_theme("light")
    label = window.status.run_folder_label
    label.setText("<a href='file:///tmp/run'>a-run-folder-name</a>")  # as a run shown in light
    label.show()
    label.resize(label.sizeHint())
    window.set_theme("dark")
    QApplication.processEvents()
    background = QApplication.palette().color(QPalette.ColorRole.Window)
    colors = drawn_colors(label)
    colors.pop(background.name(), None)
    # The glyphs' most common colour (their solid middle, not the anti-aliased edges).
    link = QColor(colors.most_common(1)[0][0])
    assert contrast(link, background) >= READABLE, f"link {link.name()} on {background.name()}"
