"""Help > Tour: F1 opens it, Next walks every part of the window (raised and outlined), and
the first start offers it once."""

from __future__ import annotations

import pytest

pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication, QToolBar

from ganviz_gui.gui import tour as tour_module
from ganviz_gui.gui.app_settings import app_settings
from ganviz_gui.gui.help_texts import TOUR_STEPS
from ganviz_gui.gui.tour import Tour


def on_screen(widget) -> bool:
    """Shown and not behind another tab."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def test_f1_opens_the_tour_at_its_first_step(qtbot, window):
    window.activateWindow()
    window.loss_plots.setFocus()
    qtbot.keyClick(window, Qt.Key_F1)
    tour = window.findChild(Tour, "tourDialog")
    assert tour is not None and tour.isVisible() and not tour.isModal()
    assert tour.findChild(object, "tourCounter").text() == f"1 of {len(TOUR_STEPS)}"
    assert not tour.findChild(object, "tourBackButton").isEnabled()


def test_next_walks_every_step_raising_and_outlining_its_part(qtbot, window):
    window.network_dock.close()  # a part the user closed is shown again by its step
    tour = window.show_tour()
    next_button = tour.findChild(object, "tourNextButton")
    seen = []
    for k in range(1, len(TOUR_STEPS) + 1):
        QApplication.processEvents()
        target = tour.target
        seen.append(tour.findChild(object, "tourTitle").text())
        assert tour.findChild(object, "tourCounter").text() == f"{k} of {len(TOUR_STEPS)}"
        assert on_screen(target), f"step {k}: {target.objectName()} is not on screen"
        highlight = tour.highlight
        assert highlight.isVisible() and highlight.parentWidget() is target.window()
        corner = target.mapTo(target.window(), target.rect().topLeft())
        assert highlight.geometry() == QRect(corner, target.size())
        qtbot.mouseClick(next_button, Qt.LeftButton)
    assert not tour.isVisible() and not tour.highlight.isVisible()  # the last Next is "Done"
    assert seen == [f"<b>{title}</b>" for _, title, _ in TOUR_STEPS]
    assert window.network_dock.isVisible()


def test_back_returns_and_a_dock_behind_a_tab_is_raised(qtbot, window):
    tour = window.show_tour()
    samples = next(i for i, (key, _, _) in enumerate(TOUR_STEPS) if key == "samples")
    tour.go_to(samples + 1)
    qtbot.mouseClick(tour.findChild(object, "tourBackButton"), Qt.LeftButton)
    assert tour.target is window.sample_dock and on_screen(window.sample_dock)
    assert not on_screen(window.explorer_dock)  # its tab neighbour went behind


def offer_bar(window):
    return window.findChild(QToolBar, "tourOfferBar")


def test_the_first_start_offers_the_tour_once_and_never_again(qtbot, monkeypatch):
    from ganviz_gui.gui import MainWindow

    monkeypatch.setattr(tour_module, "windows_are_seen", lambda: True)  # as on a desktop
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    bar = offer_bar(first)
    assert bar is not None and bar.isVisible()
    assert not first.findChildren(Tour)  # offered, not forced on anyone
    qtbot.mouseClick(bar.findChild(object, "takeTourButton"), Qt.LeftButton)
    assert first.findChild(Tour, "tourDialog").isVisible()
    QApplication.processEvents()
    assert offer_bar(first) is None or not offer_bar(first).isVisible()
    first.close()

    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    assert offer_bar(again) is None
    again.close()


def test_no_offer_where_no_one_sees_the_window(qtbot):
    """Offscreen (tests, scripts/screenshot.py): a fresh home offers nothing, changes nothing."""
    from ganviz_gui.gui import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    assert offer_bar(window) is None
    assert not app_settings().contains(tour_module.TOUR_OFFERED)  # a desktop start still offers
    window.close()
