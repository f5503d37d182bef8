"""Light and dark themes, following the desktop's scheme unless the user picks one.

"Follow the system" leaves Qt's native style to follow the desktop (Qt 6.5+ reports its
scheme) and only matches the plots to it; "Light" and "Dark" use the Fusion style with a fixed
palette, the same on every platform. pyqtgraph does not follow Qt's palette, so every plot's
background and axes are set here, and again when the desktop's scheme changes.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))
PLOT_COLORS = {  # (background, axes and labels)
    "dark": ("#000000", "#c8c8c8"),
    "light": ("#ffffff", "#3c3c3c"),
}
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
    style_plots(window, scheme)
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
        (QPalette.Link, QColor(100, 160, 255)),
        (QPalette.Highlight, QColor(42, 130, 218)),
        (QPalette.HighlightedText, QColor(255, 255, 255)),
        (QPalette.PlaceholderText, QColor(140, 140, 140)),
    ):
        palette.setColor(role, color)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        palette.setColor(QPalette.Disabled, role, QColor(120, 120, 120))
    return palette
