"""One step slider for an opened run: it picks the checkpoint every panel shows.

The slider moves over the run's checkpoints (one notch each); a play button steps through them
to animate training. What a checkpoint shows is loaded off the GUI thread and cached, so
returning to a step is a redraw, not a load.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QSlider, QToolBar, QWidget

PLAY_INTERVAL_MS = 400
CACHE_SIZE = 16  # checkpoints kept decoded: a DCGAN 64 px one is a few MB


class RunScrubber(QToolBar):
    checkpoint_chosen = Signal(int)  # index into the run's checkpoints

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Run", parent)
        self.setObjectName("scrubToolbar")
        self.steps: list[int] = []
        self.play_button = QPushButton("Play", objectName="playButton")
        self.play_button.setToolTip("Step through the run's checkpoints")
        self.slider = QSlider(Qt.Horizontal, objectName="stepSlider")
        self.slider.setMinimumWidth(300)
        self.slider.setPageStep(1)
        self.label = QLabel(objectName="scrubStepLabel")
        self.addWidget(QLabel(" Checkpoint "))
        self.addWidget(self.play_button)
        self.addWidget(self.slider)
        self.addWidget(self.label)
        self._timer = QTimer(self, interval=PLAY_INTERVAL_MS)
        self._timer.timeout.connect(self._advance)
        self.play_button.clicked.connect(self.toggle_play)
        self.slider.valueChanged.connect(self._on_moved)

    def set_steps(self, steps: list[int], index: int | None = None) -> None:
        """The run's checkpoint steps, oldest first; shows `index` (default: the newest)."""
        self.stop()
        self.steps = list(steps)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(steps) - 1))
        self.slider.setValue(len(steps) - 1 if index is None else index)
        self.slider.blockSignals(False)
        self._show_label()

    def index_nearest(self, step: float) -> int:
        return min(range(len(self.steps)), key=lambda i: abs(self.steps[i] - step))

    def choose_step(self, step: float) -> None:
        """Move to the checkpoint nearest `step` (a click on a loss plot)."""
        if self.steps:
            self.slider.setValue(self.index_nearest(step))

    def toggle_play(self) -> None:
        if self._timer.isActive():
            self.stop()
            return
        if self.slider.value() >= self.slider.maximum():
            self.slider.setValue(0)  # play from the start
        self._timer.start()
        self.play_button.setText("Pause")

    def stop(self) -> None:
        self._timer.stop()
        self.play_button.setText("Play")

    def _advance(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.stop()
            return
        self.slider.setValue(self.slider.value() + 1)

    def _on_moved(self, index: int) -> None:
        self._show_label()
        self.checkpoint_chosen.emit(index)

    def _show_label(self) -> None:
        if self.steps:
            index = self.slider.value()
            self.label.setText(f" step {self.steps[index]:,}  ({index + 1}/{len(self.steps)}) ")


class CheckpointCache:
    """The newest CACHE_SIZE loaded checkpoints' views, by step."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._items: OrderedDict[int, Any] = OrderedDict()

    def get(self, step: int) -> Any:
        if step in self._items:
            self._items.move_to_end(step)
            return self._items[step]
        return None

    def put(self, step: int, value: Any) -> None:
        self._items[step] = value
        self._items.move_to_end(step)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()
