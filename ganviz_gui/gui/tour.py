"""Help > Tour (F1): a small box that walks through the window's parts one at a time.

Each step raises the part it is about (a dock behind another tab, or closed), outlines it
with a translucent frame drawn over the window, and says what it is for (the words are
`help_texts.TOUR_STEPS`). The box is not modal: the window keeps working, and a run keeps
training, while it is open.

The first start offers the tour once, in a bar under the tool bar that asks nothing and
blocks nothing; the settings remember it was offered. Nobody sees an offscreen window (tests,
scripts/screenshot.py), so none is offered there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ganviz_gui.gui.help_texts import TOUR_STEPS
from ganviz_gui.gui.panel_frame import named

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtCore import QSettings

    from ganviz_gui.gui.main_window import MainWindow

TOUR_OFFERED = "help/tourOffered"  # the setting: the first start's offer was made
UNSEEN_PLATFORMS = ("offscreen", "minimal")  # Qt platforms whose windows nobody sees
FRAME_WIDTH = 3  # px of the outline around a step's part


def tour_targets(window: MainWindow) -> dict[str, Callable[[], QWidget]]:
    """The widget each step of `TOUR_STEPS` is about. The step slider is hidden until a run
    is inspected; its step then outlines the bottom of the window, where it appears."""
    return {
        "setup": lambda: window.setup_dock,
        "controls": lambda: window.controls,
        "plots": lambda: window.loss_plots,
        "field": lambda: window.field_dock,
        "samples": lambda: window.sample_dock,
        "explorer": lambda: window.explorer_dock,
        "compare": lambda: window.compare_dock,
        "networks": lambda: window.network_dock,
        "diagnostics": lambda: window.diagnostics_dock,
        "scrubber": lambda: window.scrubber if window.scrubber.isVisible() else window.statusBar(),
        "status": window.statusBar,
        "menus": window.menuBar,
    }


class Highlight(QWidget):
    """A translucent frame over a widget, drawn on top of the window that holds it; it
    follows the widget when it moves or is resized, and lets every click through."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("tourHighlight")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.target: QWidget | None = None

    def point_at(self, target: QWidget) -> None:
        if self.target is not None:
            self.target.removeEventFilter(self)
        top = target.window()  # a floating dock is a window of its own
        if self.parentWidget() is not top:
            if self.parentWidget() is not None:
                self.parentWidget().removeEventFilter(self)
            self.setParent(top)
            top.installEventFilter(self)
        self.target = target
        target.installEventFilter(self)
        self._place()
        self.show()
        self.raise_()

    def release(self) -> None:
        if self.target is not None:
            self.target.removeEventFilter(self)
            self.target = None
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show):
            self._place()
        return False

    def _place(self) -> None:
        target, top = self.target, self.parentWidget()
        if target is None or top is None:
            return
        corner = target.mapTo(top, target.rect().topLeft())
        self.setGeometry(QRect(corner, target.size()))
        self.raise_()

    def paintEvent(self, _event) -> None:
        color = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        painter = QPainter(self)
        fill = QColor(color)
        fill.setAlpha(40)
        painter.fillRect(self.rect(), fill)
        color.setAlpha(220)
        painter.setPen(QPen(color, FRAME_WIDTH))
        inset = FRAME_WIDTH // 2
        painter.drawRect(self.rect().adjusted(inset, inset, -inset - 1, -inset - 1))


class Tour(QDialog):
    """The tour box: the step's title and text, "k of n", Back, Next and Close."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.setObjectName("tourDialog")
        self.setWindowTitle("Tour of GANViz")
        self.setModal(False)
        self.main_window = window
        targets = tour_targets(window)
        self.steps = [(title, text, targets[key]) for key, title, text in TOUR_STEPS]
        self.index = 0
        self.highlight = Highlight(window)

        self.title_label = named(QLabel(), "tourTitle")
        self.text_label = named(QLabel(wordWrap=True), "tourText")
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.text_label.setMinimumWidth(320)
        self.counter = named(QLabel(), "tourCounter")
        self.back_button = named(QPushButton("Back"), "tourBackButton")
        self.next_button = named(QPushButton("Next"), "tourNextButton")
        self.close_button = named(QPushButton("Close"), "tourCloseButton")
        self.next_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.counter)
        buttons.addStretch(1)
        for button in (self.back_button, self.next_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.text_label, 1)
        layout.addLayout(buttons)

        self.back_button.clicked.connect(lambda: self.go_to(self.index - 1))
        self.next_button.clicked.connect(self._next_or_done)
        self.close_button.clicked.connect(self.close)
        self.finished.connect(lambda _: self.highlight.release())

    @property
    def target(self) -> QWidget:
        """The widget the step shown is about."""
        return self.steps[self.index][2]()

    def start(self) -> None:
        self.show()
        self.go_to(0)

    def go_to(self, index: int) -> None:
        self.index = max(0, min(index, len(self.steps) - 1))
        title, text, _ = self.steps[self.index]
        self.title_label.setText(f"<b>{title}</b>")
        self.text_label.setText(text)
        self.counter.setText(f"{self.index + 1} of {len(self.steps)}")
        self.back_button.setEnabled(self.index > 0)
        last = self.index == len(self.steps) - 1
        self.next_button.setText("Done" if last else "Next")
        target = self.target
        if isinstance(target, QDockWidget):  # behind another tab, or closed by the user
            target.show()
            target.raise_()
        self.highlight.point_at(target)
        self.adjustSize()
        self._place_beside(target)

    def _next_or_done(self) -> None:
        if self.index == len(self.steps) - 1:
            self.close()
        else:
            self.go_to(self.index + 1)

    def _place_beside(self, target: QWidget) -> None:
        """Beside the part shown, on the window's side it leaves free, so it is not hidden."""
        window = self.main_window
        frame = window.frameGeometry()
        center = target.mapToGlobal(target.rect().center())
        left_half = center.x() < frame.center().x()
        x = frame.right() - self.width() - 40 if left_half else frame.left() + 40
        y = frame.top() + (frame.height() - self.height()) // 2
        self.move(x, y)

    def closeEvent(self, event) -> None:
        self.highlight.release()
        super().closeEvent(event)


def show_tour(window: MainWindow) -> Tour:
    """Help > Tour: the window's one tour box, from its first step."""
    tour = window.findChild(Tour, "tourDialog")
    if tour is None:
        tour = Tour(window)
    tour.start()
    tour.raise_()
    return tour


def windows_are_seen() -> bool:
    return QGuiApplication.platformName() not in UNSEEN_PLATFORMS


def offer_tour_once(window: MainWindow, settings: QSettings) -> QToolBar | None:
    """On the first start, a bar offering the tour (None once it has been offered, and where
    no one would see it). It is remembered as offered as soon as it is shown."""
    if not windows_are_seen() or settings.value(TOUR_OFFERED, False, type=bool):
        return None
    settings.setValue(TOUR_OFFERED, True)
    settings.sync()
    bar = named(QToolBar("Tour offer", window), "tourOfferBar")
    bar.setMovable(False)
    bar.addWidget(QLabel("  New to GANViz? A short tour shows what each panel is for.  "))
    take = named(QPushButton("Take the tour (F1)"), "takeTourButton")
    dismiss = named(QPushButton("No thanks"), "dismissTourButton")
    bar.addWidget(take)
    bar.addWidget(dismiss)

    def remove_bar() -> None:
        window.removeToolBar(bar)
        bar.deleteLater()

    take.clicked.connect(remove_bar)
    take.clicked.connect(window.show_tour)
    dismiss.clicked.connect(remove_bar)
    window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return bar
