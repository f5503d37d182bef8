"""Two checkpoints of a run on the same latents: side by side, as a difference map, or blinking.

Both grids come from the run's fixed noise, so tile i of A and tile i of B are the same latent
seen by two generators: what changed between the steps is what differs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui.panel_frame import PanelFrame
from ganviz_gui.gui.theme import CaptionItem

if TYPE_CHECKING:
    from ganviz_gui.core.live_views import SampleSheet
    from ganviz_gui.core.workspace import RunInfo

MODES = (("side", "Side by side"), ("difference", "Difference |A - B|"), ("blink", "Blink"))
BLINK_MS = 500
GAP = 4


class CheckpointCompare(QWidget):
    compare_wanted = Signal(int)  # the step chosen as B

    def __init__(self, workspace: Workspace | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("compareView")
        self.workspace = workspace or Workspace()
        self.sheet_a: SampleSheet | None = None  # of the slider's checkpoint
        self.sheet_b: SampleSheet | None = None  # ... of the checkpoint chosen here
        self.shown_left = "A"  # blink state

        self.b_combo = QComboBox(objectName="compareCombo")
        self.b_combo.setToolTip("The checkpoint to compare with the slider's (A)")
        self.mode_combo = QComboBox(objectName="compareModeCombo")
        for key, text in MODES:
            self.mode_combo.addItem(text, key)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("B: step"))
        bar.addWidget(self.b_combo)
        bar.addWidget(self.mode_combo)
        bar.addStretch(1)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("compareGraphics")
        self.view = self.graphics.addViewBox(enableMenu=False, lockAspect=True, invertY=True)
        self.left_item = pg.ImageItem(axisOrder="row-major")
        self.right_item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.left_item)
        self.view.addItem(self.right_item)
        self.left_label = CaptionItem()
        self.right_label = CaptionItem()
        self.view.addItem(self.left_label)
        self.view.addItem(self.right_label)
        self.frame = PanelFrame(
            self,
            bar,
            self.graphics,
            "compare",
            "Open a run folder (File > Open run folder) to compare two of its checkpoints.",
        )
        self.readout = self.frame.readout

        self._blink_timer = QTimer(self, interval=BLINK_MS)
        self._blink_timer.timeout.connect(self._blink)
        self.b_combo.activated.connect(
            lambda _: self.compare_wanted.emit(self.b_combo.currentData())
        )
        self.mode_combo.activated.connect(lambda _: self._draw())
        self.compare_wanted.connect(self.workspace.want_comparison)
        self._steps: list[int] | None = None  # the steps B is chosen from (None: not yet)
        workspace = self.workspace
        workspace.run_changed.connect(self._on_run_changed)
        workspace.mode_changed.connect(self._on_checkpoints_changed)
        workspace.checkpoints_changed.connect(self._on_checkpoints_changed)
        workspace.sheet_changed.connect(self._on_sheet_changed)
        workspace.comparison_changed.connect(self._on_comparison_changed)

    # ------------------------------------------------------------------ the workspace
    def _on_run_changed(self, _run: RunInfo | None) -> None:
        """Another run: nothing of the last one stays drawn; B starts at its oldest checkpoint."""
        self._steps = None
        self.sheet_a = self.sheet_b = None
        self._blink_timer.stop()
        for item in (self.left_item, self.right_item):
            item.clear()
        for label in (self.left_label, self.right_label):
            label.setText("")
        self._on_checkpoints_changed(None)

    def _on_checkpoints_changed(self, _what: object) -> None:
        """The run's checkpoints (of an inspected image run) to choose B from; B stays where it
        still exists, else it moves to the oldest."""
        workspace = self.workspace
        run = workspace.run
        shown = run is not None and run.is_image and workspace.inspecting_run
        steps = [step for step, _ in workspace.checkpoints] if shown else []
        if steps == self._steps:
            return
        current = workspace.comparison_step
        self._steps = steps
        self.b_combo.blockSignals(True)
        self.b_combo.clear()
        for step in steps:
            self.b_combo.addItem(f"{step:,}", step)
        self.b_combo.blockSignals(False)
        if not steps:
            self.sheet_a = self.sheet_b = None
            self.frame.show_message(self.frame.placeholder)
            return
        if current in steps:
            self.b_combo.setCurrentIndex(steps.index(current))
        else:
            self.sheet_b = None
            self.b_combo.setCurrentIndex(0)
            self.compare_wanted.emit(steps[0])
        if workspace.sheet is not None:
            self.set_sheets(sheet_a=workspace.sheet)

    def _on_sheet_changed(self, sheet: SampleSheet | None) -> None:
        if sheet is not None and self.workspace.inspecting_run:
            self.set_sheets(sheet_a=sheet)  # A is the slider's checkpoint

    def _on_comparison_changed(self, sheet: SampleSheet | None) -> None:
        if sheet is not None:
            self.set_sheets(sheet_b=sheet)

    # ------------------------------------------------------------------ data in
    def set_sheets(
        self, sheet_a: SampleSheet | None = None, sheet_b: SampleSheet | None = None
    ) -> None:
        """New A and/or B (None keeps the one shown)."""
        self.sheet_a = sheet_a or self.sheet_a
        self.sheet_b = sheet_b or self.sheet_b
        self._draw()

    def mode(self) -> str:
        return self.mode_combo.currentData()

    def difference(self) -> np.ndarray | None:
        """|A - B| per pixel, stretched so the largest change is white: (H, W, 3) uint8."""
        if self.sheet_a is None or self.sheet_b is None:
            return None
        a = self.sheet_a.fake_grid.astype(np.int16)
        b = self.sheet_b.fake_grid.astype(np.int16)
        if a.shape != b.shape:
            return None
        change = np.abs(a - b)
        peak = int(change.max())
        return (change * (255.0 / peak)).astype(np.uint8) if peak else change.astype(np.uint8)

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        a, b = self.sheet_a, self.sheet_b
        if a is None or b is None:
            return
        self.frame.show_view()
        mode = self.mode()
        levels = (0, 255)
        self._blink_timer.stop()
        width = a.fake_grid.shape[1]
        self.left_item.setImage(a.fake_grid, autoLevels=False, levels=levels)
        self.left_label.setText(f"A: step {a.step:,}")
        self.right_item.setPos(width + GAP, 0)
        self.right_label.setPos(width + GAP, 0)
        self.right_item.setVisible(mode != "blink")
        self.right_label.setVisible(mode != "blink")
        if mode == "side":
            self.right_item.setImage(b.fake_grid, autoLevels=False, levels=levels)
            self.right_label.setText(f"B: step {b.step:,}")
        elif mode == "difference":
            change = self.difference()
            if change is None:
                self.readout.setText("the two grids differ in size: no difference map")
                return
            self.right_item.setImage(change, autoLevels=False, levels=levels)
            self.right_label.setText(f"|A - B| (steps {a.step:,} and {b.step:,})")
            moved = np.abs(a.fake_grid.astype(np.int16) - b.fake_grid.astype(np.int16)).mean() / 255
            self.readout.setText(f"mean change per pixel: {moved:.3f} of the full range")
        else:
            self.shown_left = "A"
            self._blink_timer.start()
        columns = 1 if mode == "blink" else 2
        self.view.setRange(
            xRange=(0, columns * width + (columns - 1) * GAP),
            yRange=(0, a.fake_grid.shape[0]),
            padding=0.02,
        )

    def _blink(self) -> None:
        if self.sheet_a is None or self.sheet_b is None:
            return
        self.shown_left = "B" if self.shown_left == "A" else "A"
        sheet = self.sheet_b if self.shown_left == "B" else self.sheet_a
        self.left_item.setImage(sheet.fake_grid, autoLevels=False, levels=(0, 255))
        self.left_label.setText(f"{self.shown_left}: step {sheet.step:,}")

    def hideEvent(self, event) -> None:
        self._blink_timer.stop()  # no work for a panel nobody sees
        super().hideEvent(event)
