"""Quality and diagnostics: the run's quality numbers, the class histogram of its samples, the
Fréchet distance over the run, and findings that name what is going wrong.

Findings come from `core.diagnostics` run on the recorded metrics and events. Live, the
detectors run again on a thread of their own at most every `DIAGNOSE_SECONDS` while records
arrive, and less often once a pass gets slow on a long run (at most 5% of the time; a pass
over 10^5 records takes about 0.2 s on a 2-core CPU). A click on a finding emits its first step, which
the window uses to put the plots' cursor (and the step slider of an opened run) there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ganviz_gui.core.record_columns import RecordColumns
from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui.background import LatestOnly

if TYPE_CHECKING:
    from ganviz_gui.core.diagnostics import Finding
    from ganviz_gui.core.workspace import RunDelta, RunInfo

DIAGNOSE_SECONDS = 3.0
# The metrics the detectors and the summary read; records are kept slim to these.
KEPT = (
    "step",
    "loss_d",
    "loss_g",
    "d_real",
    "d_fake",
    "grad_norm_g",
    "modes_covered",
    "modes_total",
    "high_quality",
    "js_divergence",
    "diversity_ratio",
    "frechet_distance",
    "classes_covered",
    "classes_total",
    "class_counts",
)
QUALITY_KEYS = set(KEPT[KEPT.index("modes_covered") :])  # written every eval_every steps


class DiagnosticsPanel(QWidget):
    step_chosen = Signal(int)  # a finding was clicked: its first step
    findings_changed = Signal(list)  # [core.diagnostics.Finding] after each diagnosis

    def __init__(self, workspace: Workspace | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("diagnosticsPanel")
        self.workspace = workspace or Workspace()
        self.events: list[dict[str, Any]] = []
        self.loss: str | None = None
        self.findings: list[Finding] = []
        self._timer = QTimer(self, singleShot=True, interval=round(DIAGNOSE_SECONDS * 1000))
        self._timer.timeout.connect(self._diagnose_in_background)
        self._diagnoser = LatestOnly(self, own_thread=True)  # a live run's passes, off the GUI
        self._diagnoser.finished.connect(self._on_diagnosed)

        self.summary = QLabel(objectName="qualitySummary", wordWrap=True)
        self.summary.setTextFormat(Qt.RichText)
        # What this run's quality measures are (2D or images); set with the summary.
        self.fid_status = QLabel(objectName="inceptionFidStatus", wordWrap=True)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setObjectName("qualityPlots")
        self.class_plot = self.plots.addPlot(enableMenu=False, row=0, col=0)
        self.class_plot.setTitle("classes of the generated samples (newest evaluation)", size="9pt")
        self.class_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=(244, 140, 40, 200))
        self.class_plot.addItem(self.class_bars)
        self.frechet_plot = self.plots.addPlot(enableMenu=False, row=0, col=1)
        self.frechet_plot.setTitle("Fréchet distance (classifier features)", size="9pt")
        self.frechet_curve = self.frechet_plot.plot(pen=pg.mkPen((230, 210, 90), width=1))
        self.frechet_plot.setLabel("bottom", "step")
        self.findings_list = QListWidget(objectName="findingsList")
        self.details = QLabel(objectName="findingDetails", wordWrap=True)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.summary)
        layout.addWidget(self.plots, 2)
        layout.addWidget(QLabel("<b>Findings</b>"))
        layout.addWidget(self.findings_list, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.fid_status)
        self.findings_list.currentRowChanged.connect(self._on_finding_chosen)
        self._show_summary()
        self.workspace.run_changed.connect(self._on_run_changed)
        self.workspace.run_extended.connect(self._on_run_extended)
        self.findings_changed.connect(self.workspace.set_findings)
        self.step_chosen.connect(self.workspace.go_to_step)

    # ------------------------------------------------------------------ the workspace
    @property
    def records(self) -> RecordColumns:
        """The run's metric records: the workspace's columns, read, never copied."""
        return self.workspace.records

    def _on_run_changed(self, run: RunInfo | None) -> None:
        """Diagnosed in the background, at once and again as records come."""
        self.clear()
        self.loss = run.config.loss if run is not None and run.config is not None else None
        self.events = list(self.workspace.events)
        if self.records or self.events:
            self._diagnose_in_background()

    def _on_run_extended(self, delta: RunDelta) -> None:
        if delta.restarted:
            self._on_run_changed(self.workspace.run)
            return
        self.add_events(delta.events)
        if (delta.records or delta.events) and not self._timer.isActive():
            self._timer.start()

    # ------------------------------------------------------------------ data in
    def clear(self) -> None:
        self._timer.stop()
        self._diagnoser.cancel()  # a pass over the last run must not land on the next one
        self.events, self.findings = [], []
        self.findings_list.clear()
        self.details.clear()
        self.class_bars.setOpts(x=[], height=[])
        self.frechet_curve.setData([], [])
        self._show_summary()
        self.findings_changed.emit([])

    def add_events(self, events: list[dict[str, Any]]) -> None:
        self.events.extend(events)

    # ------------------------------------------------------------------ diagnosing
    def diagnose(self) -> list[Finding]:
        """Diagnose the records now, on this thread."""
        from ganviz_gui.core.diagnostics import diagnose

        self._show_findings(diagnose(self.records, self.events, self.loss))
        return self.findings

    def _diagnose_in_background(self) -> None:
        from ganviz_gui.core.diagnostics import diagnose

        # A snapshot: the records held now, unchanged while the workspace appends more.
        records, events, loss = self.records.snapshot(), list(self.events), self.loss

        def run() -> tuple[list[Finding], float]:
            started = time.perf_counter()
            return diagnose(records, events, loss), time.perf_counter() - started

        self._diagnoser.submit(run)

    def _on_diagnosed(self, result: Any, error: str) -> None:
        if error:
            self.details.setText(f"The diagnostics failed: {error}")
            return
        findings, seconds = result
        # A long run's pass takes longer: run it at most 2% of the time (a followed run of
        # 10^6 records is diagnosed about every 15 s).
        self._timer.setInterval(round(1000 * max(DIAGNOSE_SECONDS, 50 * seconds)))
        self._show_findings(findings)

    def _show_findings(self, findings: list[Finding]) -> None:
        self.findings = findings
        self.findings_list.blockSignals(True)
        self.findings_list.clear()
        for finding in self.findings:
            steps = (
                f"step {finding.first_step:,}"
                if finding.first_step == finding.last_step
                else f"steps {finding.first_step:,}-{finding.last_step:,}"
            )
            item = QListWidgetItem(f"{finding.title}, {steps}")
            item.setToolTip(finding.describe())
            self.findings_list.addItem(item)
        self.findings_list.blockSignals(False)
        if not self.findings:
            self.details.setText(
                f"No problems found in {len(self.records):,} records."
                if self.records
                else "Findings appear here as the run is recorded."
            )
        else:
            self.details.setText("Click a finding for its evidence and what to try.")
        self._show_summary()
        self.findings_changed.emit(self.findings)

    def _on_finding_chosen(self, row: int) -> None:
        if not 0 <= row < len(self.findings):
            return
        finding = self.findings[row]
        self.details.setText(
            f"<b>{finding.title}</b>, steps {finding.first_step:,}-{finding.last_step:,}<br>"
            f"{finding.evidence}<br><i>Commonly tried:</i> {finding.advice}"
        )
        self.step_chosen.emit(finding.first_step)

    # ------------------------------------------------------------------ summary
    def _show_summary(self) -> None:
        # The newest evaluation: its quality metrics are recorded together, in one record.
        newest = self.records.newest_with(QUALITY_KEYS)
        latest = {k: v for k, v in newest.items() if v is not None}  # NaN is written as null
        parts = []
        if "modes_covered" in latest and "modes_total" in latest:
            parts.append(f"{latest['modes_covered']:.0f} of {latest['modes_total']:.0f} modes")
        if "high_quality" in latest:
            parts.append(f"{latest['high_quality']:.0%} high quality")
        if "js_divergence" in latest:
            parts.append(f"JS divergence {latest['js_divergence']:.3f} bits")
        if "classes_covered" in latest and "classes_total" in latest:
            parts.append(
                f"{latest['classes_covered']:.0f} of {latest['classes_total']:.0f} classes"
            )
        if "diversity_ratio" in latest:
            parts.append(f"diversity {latest['diversity_ratio']:.2f} of the data's")
        steps, values = self.records.series("frechet_distance")
        frechet = len(steps) > 0
        if frechet:
            best = int(np.argmin(values))
            parts.append(
                f"Fréchet distance {values[-1]:.1f} (best {values[best]:.1f} at step "
                f"{int(steps[best]):,})"
            )
            self.frechet_curve.setData(steps.copy(), values.copy())
        counts = latest.get("class_counts")
        if isinstance(counts, list) and counts:
            self.class_bars.setOpts(x=np.arange(len(counts)), height=np.array(counts, float))
        self.class_plot.setVisible(bool(counts))
        self.frechet_plot.setVisible(bool(frechet))
        self.plots.setVisible(bool(counts) or bool(frechet))
        run = self.workspace.run
        is_image = run.is_image if run is not None else None
        if parts:
            self.summary.setText("<b>Newest evaluation:</b> " + ", ".join(parts) + ".")
        else:
            self.summary.setText(quality_measures_text(is_image))
        self.fid_status.setText(quality_note(is_image, frechet))


def quality_measures_text(is_image: bool | None) -> str:
    """What is measured every eval_every steps, for a run of this kind (None: no run yet)."""
    points = (
        "modes covered, the share of high-quality samples (within 3 standard deviations of "
        "a mode) and the JS divergence from the data"
    )
    images = (
        "the diversity of the samples against the data's, and, for data with labels, the "
        "Fréchet distance in a small classifier's features and the classes covered"
    )
    if is_image is None:
        return (
            f"Quality is measured every eval_every steps: for 2D data, {points}; for images, "
            f"{images}."
        )
    return f"Quality is measured every eval_every steps: {points if not is_image else images}."


def quality_note(is_image: bool | None, frechet_shown: bool) -> str:
    """The note under the findings: what this run's quality numbers are, and for images why
    there is no Inception FID. It speaks of the Fréchet plot only when one is drawn."""
    if is_image is None:
        return ""
    if not is_image:
        return (
            "A 2D run is measured against its data's points: modes covered (a mode holding "
            "at least a quarter of its share of the samples), high quality (the fraction of "
            "samples within 3 standard deviations of a mode) and the JS divergence between "
            "histograms of real and generated points. The Fréchet distance and FID are "
            "measures for images."
        )
    import importlib.util

    if frechet_shown:
        ours = (
            "The Fréchet distance above is measured in the features of a small classifier of "
            "this data set (comparable between runs on the same data and image size)"
        )
    else:
        ours = (
            "No Fréchet distance is recorded for this run: GANViz measures it in a small "
            "classifier's features, for data sets with labels, every eval_every steps"
        )
    if importlib.util.find_spec("torch_fidelity") is None:
        return (
            f"{ours}. Inception FID is off: torch-fidelity is not installed (pip install "
            "torch-fidelity; it then downloads about 100 MB of Inception weights)."
        )
    return f"{ours}. torch-fidelity is installed, but GANViz does not compute an Inception FID yet."
