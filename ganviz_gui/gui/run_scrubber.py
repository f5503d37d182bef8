"""One step slider for an inspected run: it moves the workspace's step over the run's
checkpoints, which every panel follows.

The slider has one notch per checkpoint; a play button steps through them to animate
training. It is shown while a run from disk is inspected, and its notches follow the run's
checkpoint list as it changes (a run still being written gains checkpoints and rotates old
ones away).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QPushButton, QSlider, QToolBar, QWidget

from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui.panel_frame import named

PLAY_INTERVAL_MS = 400


class RunScrubber(QToolBar):
    def __init__(self, workspace: Workspace | None = None, parent: QWidget | None = None):
        super().__init__("Run", parent)
        self.setObjectName("scrubToolbar")
        self.workspace = workspace or Workspace()
        self.steps: list[int] = []
        self.play_button = named(QPushButton("Play"), "playButton")
        self.play_button.setToolTip("Step through the run's checkpoints")
        self.slider = named(QSlider(Qt.Orientation.Horizontal), "stepSlider")
        self.slider.setMinimumWidth(300)
        self.slider.setPageStep(1)
        self.label = named(QLabel(), "scrubStepLabel")
        self.kind_label = named(QLabel(" Checkpoint "), "scrubKindLabel")
        self.addWidget(self.kind_label)
        self.addWidget(self.play_button)
        self.addWidget(self.slider)
        self.addWidget(self.label)
        self._timer = QTimer(self, interval=PLAY_INTERVAL_MS)
        self._timer.timeout.connect(self._advance)
        self.play_button.clicked.connect(self.toggle_play)
        self.slider.valueChanged.connect(self._on_moved)
        workspace = self.workspace
        workspace.run_changed.connect(self._on_shape_changed)
        workspace.mode_changed.connect(self._on_shape_changed)
        workspace.checkpoints_changed.connect(self._on_shape_changed)
        workspace.pictures_changed.connect(self._on_shape_changed)
        workspace.step_changed.connect(self._on_step_changed)
        # Hidden until a run is inspected; applied once the window has placed this tool bar
        # (adding a tool bar to a window shows it).
        QTimer.singleShot(0, self, lambda: self._on_shape_changed(None))

    # ------------------------------------------------------------------ the workspace
    def _on_shape_changed(self, _what: Any) -> None:
        """The run, its mode or its checkpoints changed: the notches and visibility follow."""
        workspace = self.workspace
        self.steps = workspace.scrub_steps if workspace.inspecting_run else []
        shown = bool(self.steps)
        self.kind_label.setText(" Checkpoint " if workspace.checkpoints else " Sample ")
        if not shown:
            self.stop()
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.steps) - 1))
        self._place(workspace.step)
        self.slider.blockSignals(False)
        self._show_label()
        self.setVisible(shown)

    def _on_step_changed(self, step: int | None) -> None:
        self.slider.blockSignals(True)
        self._place(step)
        self.slider.blockSignals(False)
        self._show_label()

    def _place(self, step: int | None) -> None:
        if step in self.steps:
            self.slider.setValue(self.steps.index(step))
        elif self.steps:
            self.slider.setValue(len(self.steps) - 1)

    # ------------------------------------------------------------------ the user
    def choose_step(self, step: float) -> None:
        """Move to the checkpoint nearest `step`."""
        self.workspace.scrub_to(step)

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
        if 0 <= index < len(self.steps):
            self.workspace.set_step(self.steps[index])
        self._show_label()

    def _show_label(self) -> None:
        if self.steps:
            index = self.slider.value()
            self.label.setText(f" step {self.steps[index]:,}  ({index + 1}/{len(self.steps)}) ")
        else:
            self.label.setText("")
