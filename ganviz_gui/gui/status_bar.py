"""The status bar as a view of the workspace: the run shown, where it stands, where it lives.

Step, steps/s, ETA and time spent training follow a live run's progress; an inspected run shows
the step of the slider; a followed run (another process writes it) also shows how far it is
recorded and how long ago its last record was written, so a writer that died is noticed. Everything is reset when another run (or a lone generator) is shown,
so no label ever describes the previous run.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QStatusBar

from ganviz_gui.core.workspace import Mode, Progress, RunInfo, Workspace
from ganviz_gui.gui.panel_frame import named


class RunStatusBar:
    def __init__(self, workspace: Workspace, bar: QStatusBar):
        self.workspace = workspace
        self.bar = bar
        self.step_label = named(QLabel(), "stepLabel")
        self.rate_label = named(QLabel(), "rateLabel")
        self.eta_label = named(QLabel(), "etaLabel")
        self.elapsed_label = named(QLabel(), "elapsedLabel")
        self.device_label = named(QLabel(), "deviceLabel")
        self.run_folder_label = named(QLabel(), "runFolderLabel")
        self.run_folder_label.setTextFormat(Qt.TextFormat.RichText)
        self.run_folder_label.linkActivated.connect(open_folder)
        for label in self.labels():
            bar.addPermanentWidget(label)
        workspace.run_changed.connect(self._on_run_changed)
        workspace.progress_changed.connect(self._on_progress_changed)
        workspace.step_changed.connect(self._on_step_changed)
        workspace.message.connect(self._on_message)
        workspace.mode_changed.connect(self._on_mode_changed)
        workspace.run_extended.connect(self._on_run_extended)
        self._age_timer = QTimer(bar, interval=1000)
        self._age_timer.timeout.connect(self._show_last_write)

    def labels(self) -> tuple[QLabel, ...]:
        return (
            self.step_label,
            self.rate_label,
            self.eta_label,
            self.elapsed_label,
            self.device_label,
            self.run_folder_label,
        )

    def _on_message(self, text: str, milliseconds: int) -> None:
        self.bar.showMessage(text, milliseconds)

    def _on_run_changed(self, run: RunInfo | None) -> None:
        for label in self.labels():
            label.setText("")
            label.setToolTip("")
        if run is None:
            return
        if run.device:
            self.device_label.setText(f"{run.device}, {run.threads} thread(s)")
        if run.run_dir is not None:
            url = QUrl.fromLocalFile(str(run.run_dir)).toString()
            self.run_folder_label.setText(f"<a href='{url}'>{run.name}</a>")
            self.run_folder_label.setToolTip(f"Open {run.run_dir}")

    def _on_progress_changed(self, progress: Progress | None) -> None:
        if progress is None:
            for label in (self.step_label, self.rate_label, self.eta_label, self.elapsed_label):
                label.setText("")
            return
        if progress.state == "starting":
            self.step_label.setText("starting...")
            return
        self.step_label.setText(f"step {progress.step:,} / {progress.total_steps:,}")
        if progress.state == "paused":
            self.rate_label.setText("paused")
            self.eta_label.setText("")
        elif progress.state in ("ended", "stopping"):
            self.rate_label.setText(progress.state if progress.state == "stopping" else "")
            self.eta_label.setText("")
        else:
            self.rate_label.setText(f"{progress.steps_per_sec:,.0f} steps/s")
            eta = progress.eta_seconds
            self.eta_label.setText(f"ETA {clock(eta)}" if eta is not None else "ETA -")
        self.elapsed_label.setText(f"elapsed {clock(progress.active_seconds)}")

    def _on_step_changed(self, step: int | None) -> None:
        workspace = self.workspace
        if workspace.mode == Mode.FOLLOWING and workspace.run is not None:
            recorded = workspace.records.steps
            to = f"{int(recorded.max()):,}" if len(recorded) else "-"
            shown = f"step {step:,} shown, " if step is not None else ""
            self.step_label.setText(f"{shown}recorded to step {to} (following)")
        elif workspace.inspecting_run and step is not None:
            scrub = workspace.scrub_steps
            last = scrub[-1] if scrub else step
            self.step_label.setText(f"step {step:,} of {last:,} (inspecting)")

    def _on_mode_changed(self, mode: Mode) -> None:
        if mode == Mode.FOLLOWING:
            self._age_timer.start()
        elif self._age_timer.isActive():  # a followed run ended: its age no longer counts
            self._age_timer.stop()
            self.rate_label.setText("")
        self._on_step_changed(self.workspace.step)
        self._show_last_write()

    def _on_run_extended(self, _delta: object) -> None:
        """Only a followed run's labels follow its records (a run training here has its
        progress for that, and this is called at every update it sends)."""
        if self.workspace.mode == Mode.FOLLOWING:
            self._on_step_changed(self.workspace.step)
            self._show_last_write()

    def _show_last_write(self) -> None:
        """How long ago the followed run's newest record was written (its `time` field)."""
        if self.workspace.mode != Mode.FOLLOWING:
            return
        times = self.workspace.records.column("time")[-64:]
        written = times[times == times][-1:]  # the newest record that says when
        if len(written):
            age = max(0.0, time.time() - float(written[0]))
            self.rate_label.setText(f"last record {clock(age)} ago")


def open_folder(link: str) -> None:
    url = QUrl(link) if "://" in link else QUrl.fromLocalFile(link)
    QDesktopServices.openUrl(url)


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
