"""Inside G and D: their layers, each layer's health over the run, D's verdicts, and one
forward pass taken apart.

Layers tab:
- the architecture: each layer with its output shape and parameter count, and totals;
- layer health: the norm of each layer's gradients (or weights) over the run as a heat map,
  layers by steps, in log10: vanishing and exploding gradients show as dark or bright rows;
- histograms of the chosen layer's weights and gradients at the chosen step;
- D's verdicts: histograms of D's outputs on a real and a fake batch at that step, and their
  overlap over the run (1: D cannot tell them apart; 0: it separates them perfectly).
The statistics are recorded by the engine every `stats_every` steps (`core.network_stats`), so
they are the same live and for an opened run.

Forward pass tab: a chosen layer's activations for a chosen latent (G), or for the sample it
makes (D), and D's saliency on that sample: |dD/dx|, the pixels its verdict hangs on. They run
on this panel's own copies of the networks, built and run on a thread of the panel's own (a
backward pass); only pictures and text come back.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ganviz_gui.core.stats_records import clean_stats_record
from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui.background import LatestOnly
from ganviz_gui.gui.panel_frame import PanelFrame, on_screen

if TYPE_CHECKING:
    import torch

    from ganviz_gui.core.generator_files import GeneratorFile
    from ganviz_gui.core.network_probe import ForwardPass
    from ganviz_gui.core.network_stats import LayerInfo
    from ganviz_gui.core.workspace import RunDelta, RunInfo, ShownGenerator

D_COLOR, G_COLOR = (66, 133, 244), (244, 140, 40)  # as in the plots: blue real/D, orange fake/G
NETWORKS = (("generator", "Generator"), ("discriminator", "Discriminator"))
MEASURES = (("grad_norm", "gradient norm"), ("weight_norm", "weight norm"))


class NetworkView(QWidget):
    def __init__(self, workspace: Workspace | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("networkView")
        self.workspace = workspace or Workspace()
        self._built: tuple[GeneratorFile, dict[str, Any]] | None = (
            None  # (generator file, its networks)
        )
        self._forward = LatestOnly(self, own_thread=True)  # forward passes, off the GUI thread
        self._forward.finished.connect(self._on_forward_pass)
        self._describer = LatestOnly(self, own_thread=True)  # architecture tables
        self._describer.finished.connect(self._on_described)
        self.stats: list[dict[str, Any]] = []  # network_stats records, oldest first
        self.architecture: dict[str, list[LayerInfo]] = {}  # network -> its layers
        self.opened: GeneratorFile | None = None  # for the forward pass
        self.networks: dict[str, Any] = {}  # network -> module (copies owned by this panel)
        self.latents: torch.Tensor | None = None  # (N, Z) the latent index picks from
        self.step: int | None = None  # the inspected step (None: the newest)
        self.layer: str | None = None  # the layer chosen for histograms and activations
        self._dirty = False  # stats arrived and are not drawn yet
        self._redraw_timer = QTimer(self, singleShot=True, interval=1000)
        self._redraw_timer.timeout.connect(lambda: self._redraw() if on_screen(self) else None)
        self.health_heat: np.ndarray | None = None  # (layers, records) log10 norms drawn

        self.network_combo = QComboBox(objectName="networkCombo")
        for key, text in NETWORKS:
            self.network_combo.addItem(text, key)
        self.measure_combo = QComboBox(objectName="healthMeasureCombo")
        for key, text in MEASURES:
            self.measure_combo.addItem(text, key)
        self.step_label = QLabel(objectName="networkStepLabel")
        bar = QHBoxLayout()
        bar.addWidget(self.network_combo)
        bar.addWidget(QLabel("Heat map of"))
        bar.addWidget(self.measure_combo)
        bar.addStretch(1)
        bar.addWidget(self.step_label)

        self.tabs = QTabWidget(objectName="networkTabs")
        self.tabs.addTab(self._make_layers_tab(), "Layers")
        self.tabs.addTab(self._make_forward_tab(), "Forward pass")
        self.frame = PanelFrame(
            self,
            bar,
            self.tabs,
            "network",
            "Start a run or open one (File > Open) to look inside its generator and "
            "discriminator here.",
        )
        self.readout = self.frame.readout

        self.network_combo.activated.connect(lambda _: self._on_network_changed())
        self.measure_combo.activated.connect(lambda _: self._draw_health())
        self.table.itemSelectionChanged.connect(self._on_layer_selected)
        self.health_plot.scene().sigMouseClicked.connect(self._on_health_clicked)
        self.activation_layer_combo.activated.connect(lambda _: self.draw_forward_pass())
        self.latent_spin.valueChanged.connect(lambda _: self.draw_forward_pass())
        self.tabs.currentChanged.connect(lambda _: self._redraw())
        self.tabs.currentChanged.connect(lambda _: self._tell_forward_pass_shown())
        self.cursor_button.clicked.connect(self._take_cursor_apart)
        workspace = self.workspace
        workspace.run_changed.connect(self._on_run_changed)
        workspace.run_extended.connect(self._on_run_extended)
        workspace.step_changed.connect(self._on_step_changed)
        workspace.layer_changed.connect(self._on_layer_changed)
        workspace.generator_changed.connect(self._on_generator_changed)

    # ------------------------------------------------------------------ the workspace
    def _on_run_changed(self, run: RunInfo | None) -> None:
        """Another run: its layer statistics, and its networks' architecture (built from its
        settings on a background thread: shapes need no weights)."""
        self.clear()
        if run is None:
            return
        self.set_stats(self.workspace.stats)  # layer health, whoever wrote the run
        if run.config is None or not run.sample_shape:
            return  # not GANViz's own networks: the layers come from the generator's file
        config, shape = run.config, tuple(run.sample_shape)

        def describe() -> Any:
            from ganviz_gui.core.models import build_models
            from ganviz_gui.core.network_stats import describe_networks

            generator, discriminator = build_models(config, shape)
            return run, describe_networks(generator, discriminator, config.latent_dim, shape)

        self._describer.submit(describe)

    def _on_run_extended(self, delta: RunDelta) -> None:
        if delta.restarted:
            self.set_stats(self.workspace.stats)
        else:
            self.add_stats(delta.stats)

    def _on_step_changed(self, step: int | None) -> None:
        """An inspected run's step; a live run's histograms follow the newest record (a
        finding clicked while training only moves the plots' cursor)."""
        self.set_step(step if self.workspace.inspecting_run else None)

    def _on_generator_changed(self, shown: ShownGenerator | None) -> None:
        if shown is None:
            return
        generator = shown.generator
        run = self.workspace.run
        if shown.origin == "live":
            if run is not None and run.fixed_noise is not None:
                import torch

                self.set_generator_file(generator, torch.from_numpy(run.fixed_noise))
            return
        self.set_generator_file(generator, generator.probe_latents())
        if run is None or run.config is None:  # a lone file, or a run of the user's own networks
            from ganviz_gui.core.network_probe import describe_generator_file

            self._describer.submit(lambda: (run, describe_generator_file(generator)))

    def _on_described(self, result: Any, error: str) -> None:
        if error:
            self.readout.setText(f"the layers are not known: {error}")
            return
        run, architecture = result
        if run is not self.workspace.run:
            return  # described for a run no longer shown
        self.set_architecture(architecture)

    def _take_cursor_apart(self) -> None:
        z = self.workspace.cursor_latent
        if z is None:
            self.workspace.say("Open a generator in the latent explorer first.", 5000)
            return
        self.use_latent(z)

    def _tell_forward_pass_shown(self) -> None:
        """The forward pass on screen wants the live run's weights (copies cost training)."""
        self.workspace.set_forward_pass_shown(on_screen(self) and self.tabs.currentIndex() == 1)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._tell_forward_pass_shown()

    # ------------------------------------------------------------------ construction
    def _make_layers_tab(self) -> QWidget:
        self.table = QTableWidget(0, 4, objectName="architectureTable")
        self.table.setHorizontalHeaderLabels(["Layer", "Type", "Output", "Parameters"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)

        self.health_plot = pg.GraphicsLayoutWidget()
        self.health_plot.setObjectName("layerHealthView")
        self.health = self.health_plot.addPlot(enableMenu=False, row=0, col=0, colspan=2)
        self.health.setLabel("bottom", "step")
        self.health_image = pg.ImageItem(axisOrder="row-major")
        self.health_image.setColorMap(pg.colormap.get("viridis"))
        self.health.addItem(self.health_image)
        self.health_bar = pg.ColorBarItem(
            values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False, width=10
        )
        # The bar's values are log10 norms: its ticks are labelled as the norms themselves
        # (`log_norm_ticks`), and pyqtgraph's SI prefix must not rescale them ("x0.001").
        self.health_bar.axis.enableAutoSIPrefix(False)
        self.health_bar.axis.setLabel("norm (log scale)")
        self.health_plot.addItem(self.health_bar, row=0, col=2)
        self.health_cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((240, 240, 240), width=1))
        self.health.addItem(self.health_cursor, ignoreBounds=True)
        self.weight_hist = self._histogram_plot(1, 0, "weights")
        self.grad_hist = self._histogram_plot(1, 1, "gradients")
        self.verdicts = self._histogram_plot(2, 0, "D's output")
        self.verdicts.addLegend(offset=(5, 5))
        self.overlap = self.health_plot.addPlot(enableMenu=False, row=2, col=1)
        self.overlap.setTitle("real/fake overlap over the run", size="9pt")
        self.overlap.setYRange(0, 1)
        self.overlap_curve = self.overlap.plot(pen=pg.mkPen((200, 200, 200), width=1))
        self.overlap_cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((230, 200, 60), width=1))
        self.overlap.addItem(self.overlap_cursor, ignoreBounds=True)
        layout = self.health_plot.ci.layout
        layout.setRowStretchFactor(0, 3)
        layout.setRowStretchFactor(1, 2)
        layout.setRowStretchFactor(2, 2)

        # The table above the plots: its four columns want width, the plots want height less.
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.health_plot)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([160, 500])
        return splitter

    def _histogram_plot(self, row: int, col: int, title: str) -> pg.PlotItem:
        plot = self.health_plot.addPlot(enableMenu=False, row=row, col=col)
        plot.setTitle(title, size="9pt")
        plot.getAxis("left").setWidth(40)
        return plot

    def _make_forward_tab(self) -> QWidget:
        self.activation_layer_combo = QComboBox(objectName="activationLayerCombo")
        self.activation_layer_combo.setMinimumWidth(180)
        self.latent_spin = QSpinBox(objectName="latentIndexSpin")
        self.latent_spin.setToolTip("Which of the run's fixed-noise latents to take apart")
        self.cursor_button = QPushButton("Explorer's cursor", objectName="useCursorButton")
        self.cursor_button.setToolTip("Take apart the latent under the latent explorer's cursor")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer"))
        controls.addWidget(self.activation_layer_combo)
        controls.addWidget(QLabel("Latent: fixed sample"))
        controls.addWidget(self.latent_spin)
        controls.addWidget(self.cursor_button)
        controls.addStretch(1)
        self.forward_view = pg.GraphicsLayoutWidget()
        self.forward_view.setObjectName("forwardPassView")
        self.activation_box = self._picture_box(0, 0, 2)
        self.sample_box = self._picture_box(0, 1, 1)
        self.saliency_box = self._picture_box(1, 1, 1)
        self.activation_item = self.activation_box.addedItems[0]
        self.sample_item = self.sample_box.addedItems[0]
        self.saliency_item = self.saliency_box.addedItems[0]
        self.saliency_item.setColorMap(pg.colormap.get("inferno"))
        # The saliency's scale: 0 to the map's largest |dD/dx| (small numbers: no SI prefix).
        self.saliency_bar = pg.ColorBarItem(
            values=(0, 1), colorMap=pg.colormap.get("inferno"), interactive=False, width=10
        )
        self.saliency_bar.axis.enableAutoSIPrefix(False)
        self.saliency_bar.axis.setLabel("saliency |dD/dx|")
        self.saliency_bar.axis.setWidth(58)  # ticks like 0.0025 beside the label
        self.forward_view.addItem(self.saliency_bar, row=1, col=2)
        self.forward_view.ci.layout.setColumnStretchFactor(0, 3)
        self.forward_view.ci.layout.setColumnStretchFactor(1, 1)
        self.forward_label = QLabel(objectName="forwardPassLabel", wordWrap=True)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.forward_view, 1)
        layout.addWidget(self.forward_label)
        self.activation_picture: np.ndarray | None = None
        self.saliency_map: np.ndarray | None = None
        self.latent_override: torch.Tensor | None = None  # the explorer's cursor
        self.cursor_button.setEnabled(False)
        return tab

    def _picture_box(self, row: int, col: int, rowspan: int) -> pg.ViewBox:
        box = self.forward_view.addViewBox(
            row=row, col=col, rowspan=rowspan, lockAspect=True, invertY=True, enableMenu=False
        )
        box.addItem(pg.ImageItem(axisOrder="row-major"))
        return box

    # ------------------------------------------------------------------ data in
    def clear(self) -> None:
        self.stats = []
        self.architecture = {}
        self.networks = {}
        self.opened = None
        self.step = None
        self.layer = None
        self.latent_override = None
        self.table.setRowCount(0)
        self.frame.show_message(
            "Start a run or open one (File > Open) to look inside its generator and "
            "discriminator here."
        )

    def set_architecture(self, architecture: dict[str, list[LayerInfo]]) -> None:
        """{network: [LayerInfo]}, from `core.network_stats.describe_layers`."""
        self.architecture = architecture
        self.frame.show_view()
        self._fill_table()

    def set_stats(self, records: list[dict[str, Any]]) -> None:
        """A whole run's records (an opened run); replaces what was shown."""
        self.stats = sorted(drawable_stats(records), key=lambda r: r["step"])
        self._redraw_if_on_screen()

    def add_stats(self, records: list[dict[str, Any]]) -> None:
        """Records of the run training now, as they arrive; drawn at most once a second (the
        heat map is rebuilt from every record, and painting holds the GIL training needs)."""
        records = drawable_stats(records)
        if not records:
            return
        self.stats.extend(records)
        self._dirty = True
        if on_screen(self) and not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def set_step(self, step: int | None) -> None:
        """Show the histograms at `step` (the record at or before it); None follows the newest."""
        self.step = step
        if on_screen(self):
            self._draw_step()
        else:
            self._dirty = True  # drawn whole when next shown

    def set_generator_file(
        self, opened: GeneratorFile, latents: torch.Tensor | None = None
    ) -> None:
        """The networks to take apart in the forward-pass tab, and the latents to pick from.
        They are built when the tab is drawn: scrubbing a run must not wait for them."""
        if self.opened is not None and self.opened.latent_dim != opened.latent_dim:
            self.latent_override = None  # the explorer's latent belongs to another space
        self.opened = opened
        self.networks = {}
        self._built = None
        if latents is not None:
            self.latents = latents
            self.latent_spin.setRange(0, len(latents) - 1)
        if self.tabs.currentIndex() == 1 and on_screen(self):
            self.draw_forward_pass()
        elif self.tabs.currentIndex() == 1:
            self._dirty = True

    def use_latent(self, z: torch.Tensor) -> None:
        """Take apart this latent (the explorer's cursor) instead of a fixed-noise one."""
        self.latent_override = z.reshape(1, -1)
        self.draw_forward_pass()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.dock_shown_changed(True)

    def dock_shown_changed(self, shown: bool) -> None:
        """Its dock came to the front (or went behind another tab): draw what arrived meanwhile,
        and tell the live run whether the forward pass wants weights."""
        self.workspace.set_forward_pass_shown(shown and self.tabs.currentIndex() == 1)
        if shown and self._dirty:
            self._redraw()

    def _redraw_if_on_screen(self) -> None:
        """Draw now if seen; otherwise when the panel is next shown (drawing a panel behind
        another tab costs the GUI thread, and a training run the GIL, for nothing)."""
        if on_screen(self):
            self._redraw()
        else:
            self._dirty = True

    # ------------------------------------------------------------------ layers tab
    def network(self) -> str:
        return self.network_combo.currentData()

    def _on_network_changed(self) -> None:
        self.layer = None
        self._fill_table()
        self._redraw()

    def _fill_table(self) -> None:
        layers = self.architecture.get(self.network(), [])
        self.table.blockSignals(True)
        self.table.setRowCount(len(layers) + 1)
        for row, layer in enumerate(layers):
            shape = " x ".join(str(n) for n in layer.output_shape)
            for col, text in enumerate((layer.name, layer.kind, shape, f"{layer.parameters:,}")):
                item = QTableWidgetItem(text)
                if col == 3:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, col, item)
        total = sum(layer.parameters for layer in layers)
        for col, text in enumerate(("Total", f"{len(layers)} layers", "", f"{total:,}")):
            item = QTableWidgetItem(text)
            font = item.font()
            font.setBold(True)
            item.setFont(font)
            if col == 3:
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.table.setItem(len(layers), col, item)
        self.table.blockSignals(False)
        self._fill_activation_layers()

    def _on_layer_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        layers = self.architecture.get(self.network(), [])
        if rows and rows[0].row() < len(layers):
            self.select_layer(layers[rows[0].row()].name)

    def select_layer(self, name: str) -> None:
        """Choose the layer for the histograms and the activations (by its module name): the
        user's selection, kept in the workspace."""
        self.workspace.select_layer(self.network(), name)

    def _on_layer_changed(self, selected: tuple[str, str] | None) -> None:
        if selected is None:
            return
        network, name = selected
        if network != self.network():
            self.network_combo.setCurrentIndex(self.network_combo.findData(network))
            self._fill_table()
        self.layer = name
        index = self.activation_layer_combo.findData(name)
        if index >= 0:
            self.activation_layer_combo.setCurrentIndex(index)
        self._draw_step()
        if self.tabs.currentIndex() == 1:
            self.draw_forward_pass()

    def _redraw(self) -> None:
        self._dirty = False
        if self.tabs.currentIndex() == 0:
            self._draw_health()
            self._draw_step()
        else:
            self.draw_forward_pass()

    def _records_of(self, network: str) -> list[dict[str, Any]]:
        return [r for r in self.stats if r.get(network)]

    def _draw_health(self) -> None:
        records = self._records_of(self.network())
        if not records:
            self.health_image.clear()
            self.health.setTitle("no layer statistics recorded (stats_every = 0, or an older run)")
            return
        names = [row["layer"] for row in records[-1][self.network()]]
        key = self.measure_combo.currentData()
        heat = np.full((len(names), len(records)), np.nan)
        for col, record in enumerate(records):
            for row, layer in enumerate(record[self.network()][: len(names)]):
                value = layer.get(key)
                if value is not None and value > 0:
                    heat[row, col] = math.log10(value)
        finite = heat[np.isfinite(heat)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
        steps = [r["step"] for r in records]
        # One column per record; at least one step wide (records repeating a step).
        width = max(steps[-1] - steps[0] + (steps[1] - steps[0] if len(steps) > 1 else 1), 1)
        # Row 0 at the top: the first layer (input side) above the last.
        self.health_image.setImage(np.nan_to_num(heat[::-1], nan=low), levels=(low, high))
        self.health_image.setRect(steps[0], 0, width, len(names))
        self.health_bar.setLevels((low, high))
        self.health_bar.axis.setTicks(log_norm_ticks(low, high))
        ticks = [(len(names) - i - 0.5, name) for i, name in enumerate(names)]
        self.health.getAxis("left").setTicks([ticks])
        self.health.setTitle(
            f"{self.measure_combo.currentText()} per layer (colours on a log scale)", size="9pt"
        )
        self.health.setRange(xRange=(steps[0], steps[0] + width), yRange=(0, len(names)), padding=0)
        self.health_heat = heat  # (layers, records), for tests and readouts
        self.overlap_curve.setData(
            [r["step"] for r in self.stats if "verdicts" in r],
            [r["verdicts"]["overlap"] for r in self.stats if "verdicts" in r],
        )

    def record_at(self, step: int | None) -> dict[str, Any] | None:
        """The stats record at or before `step` (the newest one for None)."""
        if not self.stats:
            return None
        if step is None:
            return self.stats[-1]
        steps = [r["step"] for r in self.stats]
        index = bisect.bisect_right(steps, step) - 1
        return self.stats[max(index, 0)]

    def _draw_step(self) -> None:
        record = self.record_at(self.step)
        for plot in (self.weight_hist, self.grad_hist, self.verdicts):
            plot.clear()
        if record is None:
            self.step_label.setText("")
            return
        step = record["step"]
        self.step_label.setText(f"statistics of step {step:,}")
        self.health_cursor.setPos(step)
        self.overlap_cursor.setPos(step)
        layers = {row["layer"]: row for row in record.get(self.network(), [])}
        layer = layers.get(self.layer) or (next(iter(layers.values())) if layers else None)
        if self.layer is not None and self.layer not in layers and layer is not None:
            self.readout.setText(
                f"{self.layer} has no parameters: the histograms show {layer['layer']}; its "
                "activations are in the Forward pass tab."
            )
        else:
            self.readout.setText("")
        if layer is not None:
            from ganviz_gui.core.network_stats import histogram_edges

            for plot, kind, color in (
                (self.weight_hist, "weight", G_COLOR if self.network() == "generator" else D_COLOR),
                (self.grad_hist, "grad", (200, 200, 200)),
            ):
                counts = layer[f"{kind}_hist"]
                if counts:  # a layer recorded without this histogram has none to draw
                    edges = histogram_edges(layer[f"{kind}_range"] or 0.0, len(counts))
                    plot.plot(edges, counts, stepMode="center", fillLevel=0, brush=(*color, 150))
                norm = layer[f"{kind}_norm"]
                plot.setTitle(
                    f"{layer['layer']} {'weights' if kind == 'weight' else 'gradients'}"
                    f" (norm {norm:.3g})"
                    if norm is not None
                    else f"{layer['layer']}: non-finite",
                    size="9pt",
                )
        verdicts = record.get("verdicts")
        if verdicts is not None and len(verdicts["real"]) == len(verdicts["fake"]) > 0:
            bins = len(verdicts["real"])
            low, high = verdicts["low"], verdicts["high"]
            edges = [low + (high - low) * i / bins for i in range(bins + 1)]
            for name, color in (("real", D_COLOR), ("fake", G_COLOR)):
                self.verdicts.plot(
                    edges,
                    verdicts[name],
                    stepMode="center",
                    fillLevel=0,
                    brush=(*color, 110),
                    pen=pg.mkPen(color),
                    name=f"D on {name}",
                )
            self.verdicts.setTitle(
                f"D's output at step {step:,}: overlap {verdicts['overlap']:.2f}", size="9pt"
            )

    def _on_health_clicked(self, event) -> None:
        """A click on the heat map picks that layer and the record at that step."""
        if event.button() != Qt.LeftButton or not self._records_of(self.network()):
            return
        point = self.health.getViewBox().mapSceneToView(event.scenePos())
        names = [row["layer"] for row in self._records_of(self.network())[-1][self.network()]]
        row = len(names) - 1 - math.floor(point.y())
        if 0 <= row < len(names):
            self.select_layer(names[row])
            self.set_step(int(point.x()))  # the record there: this panel's own look back

    # ------------------------------------------------------------------ forward-pass tab
    def _fill_activation_layers(self) -> None:
        combo = self.activation_layer_combo
        current = combo.currentData()
        combo.clear()
        for layer in self.architecture.get(self.network(), []):
            shape = "x".join(str(n) for n in layer.output_shape)
            combo.addItem(f"{layer.name} {layer.kind} ({shape})", layer.name)
        index = combo.findData(current)
        combo.setCurrentIndex(index if index >= 0 else max(combo.count() - 2, 0))

    def current_latent(self) -> torch.Tensor | None:
        if self.latent_override is not None:
            return self.latent_override
        if self.latents is None:
            return None
        return self.latents[self.latent_spin.value()].reshape(1, -1)

    def draw_forward_pass(self) -> None:
        """Activations of the chosen layer, and D's saliency on the sample, for the latent:
        computed on a thread of this panel's own (a backward pass can take a while), drawn when
        it is done; a newer request replaces a waiting one."""
        self.cursor_button.setEnabled(self.opened is not None)
        z = self.current_latent()
        layer = self.activation_layer_combo.currentData()
        if self.opened is None or z is None or layer is None:
            self.forward_label.setText("Open a run or start one to take a forward pass apart.")
            return
        opened, network = self.opened, self.network()
        built = self._built if self._built is not None and self._built[0] is opened else None
        self.forward_label.setText(f"taking {layer} apart...")
        self._forward.submit(lambda: _take_apart(opened, built, network, layer, z))

    def _on_forward_pass(self, result: Any, error: str) -> None:
        if error:
            self.forward_label.setText(f"Cannot take the forward pass apart: {error}")
            return
        opened, networks, taken = result
        if opened is not self.opened:
            return  # another generator arrived meanwhile; its own pass is on its way
        self._built = (opened, networks)
        self.networks = networks
        if taken.activations is None:
            self.forward_label.setText(taken.text)
            return
        self.activation_picture = taken.activations
        self.activation_item.setImage(self.activation_picture, autoLevels=False, levels=(0, 255))
        self.activation_box.autoRange(padding=0.01)
        if taken.sample is not None:
            self.sample_item.setImage(taken.sample, levels=(0, 255))
            self.sample_box.autoRange(padding=0.02)
        if taken.saliency is not None:
            self.saliency_map = taken.saliency
            levels = (0.0, float(taken.saliency.max()) or 1.0)
            self.saliency_item.setImage(taken.saliency, levels=levels)
            self.saliency_bar.setLevels(levels)
            self.saliency_box.autoRange(padding=0.02)
        self.forward_label.setText(taken.text)


def log_norm_ticks(low: float, high: float) -> list[list[tuple[float, str]]]:
    """Ticks for a colour bar of log10 norms from `low` to `high`, labelled as the norms
    (1e-3, 0.01, 0.5, 2): whole decades when the range spans two or more, else the 1-2-5
    steps within it. As pyqtgraph's `setTicks` takes them: [major ticks], each (value, text)."""
    first, last = math.floor(low), math.ceil(high)
    decades = [d for d in range(first, last + 1) if low <= d <= high]
    if len(decades) >= 2:
        step = math.ceil(len(decades) / 8)  # at most about 8 labels on a short bar
        return [[(float(d), f"{10.0**d:g}") for d in decades[::step]]]
    positions = [math.log10(m * 10.0**d) for d in range(first - 1, last + 1) for m in (1, 2, 5)]
    inside = [p for p in positions if low - 1e-9 <= p <= high + 1e-9]
    if len(inside) < 2:  # a range narrower than one 1-2-5 step: add its two ends
        inside = sorted({low, *inside, high})
    return [[(p, f"{10.0**p:.3g}") for p in inside]]


def drawable_stats(records: Any) -> list[dict[str, Any]]:
    """The layer-statistics records the panel can draw, each in the shape it draws them
    (`core.stats_records.clean_stats_record`: a step, layers with a name, finite numbers or
    None, lists of numbers). Sources hand over checked records; this is the panel's own
    guard, so that a record of another type never reaches the drawing."""
    if not isinstance(records, (list, tuple)) or not records:
        return []
    kept = []
    for record in records:
        cleaned, _dropped = clean_stats_record(record)
        if cleaned is not None:
            kept.append(cleaned)
    return kept


def _take_apart(
    opened: GeneratorFile,
    built: tuple[GeneratorFile, dict[str, Any]] | None,
    network: str,
    layer: str,
    z: torch.Tensor,
) -> tuple[GeneratorFile, dict[str, Any], ForwardPass]:
    """The forward-pass job: this panel's copies of the networks (built once per file), and
    what the tab draws."""
    from ganviz_gui.core.network_probe import build_networks, take_forward_pass_apart
    from ganviz_gui.gui.background import torch_threads_for_this_job

    torch_threads_for_this_job()
    networks = built[1] if built is not None else build_networks(opened)
    return opened, networks, take_forward_pass_apart(networks, opened.path.name, network, layer, z)
