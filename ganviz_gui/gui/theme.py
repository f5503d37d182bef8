"""Light and dark themes, following the desktop's scheme unless the user picks one.

"Follow the system" leaves Qt's native style to follow the desktop (Qt 6.5+ reports its
scheme) and only matches the plots to it; "Light" and "Dark" use the Fusion style with a fixed
palette, the same on every platform. pyqtgraph does not follow Qt's palette, so every plot's
background and axes are set here, and again when the desktop's scheme changes. So are the
two colours panels would otherwise fix for one scheme only: captions over plots and pictures
(`CaptionItem`, `secondary_text`) and links (a QLabel bakes a link's colour in when its text
is set, so labels with links are set again).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))
PLOT_COLORS = {  # (background, axes and labels)
    "dark": ("#000000", "#c8c8c8"),
    "light": ("#ffffff", "#3c3c3c"),
}
# (captions and secondary text, links): each with a WCAG contrast of at least 4.5 against the
# plots and the window of its scheme (tests/gui/test_theme_contrast.py).
TEXT_COLORS = {
    "dark": ("#b4b4b4", "#8ab4f8"),
    "light": ("#595959", "#0b57d0"),
}
SECONDARY_TEXT = "secondaryText"  # the property that marks a label as secondary text
_native_style: str | None = None  # the platform's style, restored for "system"


def scheme_of(key: str) -> str:
    """ "light" or "dark": the user's choice, or the desktop's scheme for "system"."""
    if key in ("light", "dark"):
        return key
    hints = QGuiApplication.styleHints()
    return "dark" if hints.colorScheme() == Qt.ColorScheme.Dark else "light"


def apply_theme(window: QWidget, key: str) -> str:
    """Apply theme `key` to the application and to `window`'s plots; returns the scheme."""
    global _native_style
    app = QApplication.instance()
    if _native_style is None:
        _native_style = app.style().name()
    scheme = scheme_of(key)
    if key == "system":
        app.setStyle(_native_style)
        app.setPalette(app.style().standardPalette())
    else:
        app.setStyle("Fusion")
        app.setPalette(dark_palette() if scheme == "dark" else app.style().standardPalette())
    _set_link_color(app)
    style_plots(window, scheme)
    style_labels(window)
    return scheme


def style_plots(window: QWidget, scheme: str) -> None:
    background, foreground = PLOT_COLORS[scheme]
    pg.setConfigOption("background", background)  # plots made later
    pg.setConfigOption("foreground", foreground)
    for view in window.findChildren(pg.GraphicsView):
        view.setBackground(background)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.setPen(foreground)
                item.setTextPen(foreground)
            elif isinstance(item, pg.LabelItem):
                item.setAttr("color", foreground)
                item.setText(item.text)
            elif isinstance(item, CaptionItem):
                item.setColor(caption_color(scheme))


def caption_color(scheme: str) -> str:
    """Captions and secondary text in `scheme` ("light" or "dark")."""
    return TEXT_COLORS[scheme][0]


def link_color(scheme: str) -> str:
    return TEXT_COLORS[scheme][1]


def plot_scheme() -> str:
    """The scheme plots are drawn in now (pyqtgraph's own default is a black background)."""
    return "dark" if pg.mkColor(pg.getConfigOption("background")).lightness() < 128 else "light"


def window_scheme() -> str:
    """The scheme of the application's palette now ("system" may be either)."""
    window = QApplication.palette().color(QPalette.ColorRole.Window)
    return "dark" if window.lightness() < 128 else "light"


class CaptionItem(pg.TextItem):
    """A caption drawn over a plot or picture ("generated (EMA)", "A: step 3,000") in the
    theme's secondary-text colour, restyled by `style_plots` when the theme changes."""

    def __init__(self, text: str = "", anchor: tuple[float, float] = (0, 1)):
        super().__init__(text, color=caption_color(plot_scheme()), anchor=anchor)


def secondary_text(label: QLabel) -> QLabel:
    """`label` in the theme's secondary-text colour (a note under a form), now and after
    every change of theme."""
    label.setProperty(SECONDARY_TEXT, True)
    label.setStyleSheet(f"color: {caption_color(window_scheme())};")
    return label


def style_labels(window: QWidget) -> None:
    """Secondary text and links of `window`'s labels in the colours of the palette now."""
    scheme = window_scheme()
    for label in window.findChildren(QLabel):
        if label.property(SECONDARY_TEXT):
            label.setStyleSheet(f"color: {caption_color(scheme)};")
        text = label.text()
        if "<a " in text:  # the link's colour was taken from the palette when the text was set
            label.setText("")
            label.setText(text)


def _set_link_color(app: QApplication) -> None:
    """Links readable on the palette's window colour: the standard palettes' pure blue is
    hard to read on a dark one."""
    palette = app.palette()
    palette.setColor(QPalette.ColorRole.Link, QColor(link_color(window_scheme())))
    app.setPalette(palette)


def dark_palette() -> QPalette:
    palette = QPalette()
    base, window, text = QColor(30, 30, 30), QColor(45, 45, 48), QColor(220, 220, 220)
    for role, color in (
        (QPalette.Window, window),
        (QPalette.WindowText, text),
        (QPalette.Base, base),
        (QPalette.AlternateBase, window),
        (QPalette.ToolTipBase, window),
        (QPalette.ToolTipText, text),
        (QPalette.Text, text),
        (QPalette.Button, window),
        (QPalette.ButtonText, text),
        (QPalette.BrightText, QColor(255, 80, 80)),
        (QPalette.Link, QColor(link_color("dark"))),
        (QPalette.Highlight, QColor(42, 130, 218)),
        (QPalette.HighlightedText, QColor(255, 255, 255)),
        (QPalette.PlaceholderText, QColor(140, 140, 140)),
    ):
        palette.setColor(role, color)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        palette.setColor(QPalette.Disabled, role, QColor(120, 120, 120))
    return palette
