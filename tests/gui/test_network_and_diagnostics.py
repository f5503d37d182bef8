"""The network view and the diagnostics panel, live and on an opened run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("pyqtgraph")

from ganviz_gui.core.run_folder import read_jsonl
from tests.core.helpers import tiny_image_config
from tests.gui.conftest import WAIT_MS, recorded_run

RUNS = Path(__file__).parent.parent / "data" / "diagnostic_runs"


@pytest.fixture
def stats_run(tmp_path):
    """A tiny digits DCGAN recording layer statistics every 10 steps."""
    config = tiny_image_config(steps=40, checkpoint_every=20, stats_every=10)
    return recorded_run(tmp_path / "run", config)


def test_an_opened_run_shows_its_layers_their_health_and_ds_verdicts(qtbot, window, stats_run):
    window.open_path(str(stats_run))
    view = window.network_view
    qtbot.waitUntil(lambda: len(view.stats) == 4, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(view.architecture.get("generator")), timeout=WAIT_MS)
    window.network_dock.raise_()
    # The table: every layer of G, then a totals row.
    generator = window.workspace.generator.build_generator()
    rows = view.table.rowCount()
    assert rows == len(view.architecture["generator"]) + 1
    total = view.table.item(rows - 1, 3).text().replace(",", "")
    assert int(total) == sum(p.numel() for p in generator.parameters())
    # The heat map: one row per layer with parameters, one column per record, log10 norms.
    qtbot.waitUntil(lambda: view.health_heat is not None, timeout=WAIT_MS)
    record = read_jsonl(stats_run / "network_stats.jsonl")[-1]
    assert view.health_heat.shape == (len(record["generator"]), 4)
    np.testing.assert_allclose(
        view.health_heat[:, -1], np.log10([row["grad_norm"] for row in record["generator"]])
    )
    # Its colour bar: log10 values, no SI prefix ("x0.001"), ticks labelled as the norms
    # themselves, all within the heat map's range.
    axis = view.health_bar.axis
    assert not axis.autoSIPrefix and "(x" not in axis.labelString()
    finite = view.health_heat[np.isfinite(view.health_heat)]
    ticks = axis._tickLevels[0]
    assert len(ticks) >= 2
    for position, label in ticks:
        assert finite.min() - 1e-6 <= position <= finite.max() + 1e-6
        np.testing.assert_allclose(np.log10(float(label)), position, atol=0.01)
    # Choosing a layer shows its histograms at the inspected step.
    name = record["generator"][1]["layer"]
    row = next(i for i, layer in enumerate(view.architecture["generator"]) if layer.name == name)
    view.table.selectRow(row)
    assert view.layer == name and name in view.weight_hist.titleLabel.text
    assert "overlap" in view.verdicts.titleLabel.text
    # Scrubbing to the first checkpoint shows the statistics of that step.
    window.scrubber.slider.setValue(0)
    qtbot.waitUntil(lambda: view.step_label.text() == "statistics of step 20", timeout=WAIT_MS)
    view.network_combo.setCurrentIndex(1)
    view.network_combo.activated.emit(1)
    assert view.table.rowCount() == len(view.architecture["discriminator"]) + 1


def test_the_forward_pass_shows_activations_and_saliency(qtbot, window, stats_run):
    window.open_path(str(stats_run))
    view = window.network_view
    qtbot.waitUntil(lambda: view.opened is not None, timeout=WAIT_MS)
    # The layer table is built from the run's settings on a background thread.
    qtbot.waitUntil(lambda: bool(view.architecture.get("generator")), timeout=WAIT_MS)
    window.network_dock.raise_()
    view.tabs.setCurrentIndex(1)
    first_conv = view.architecture["generator"][0]
    view.select_layer(first_conv.name)
    wait_for_forward_pass(qtbot, view)  # computed on the panel's own thread
    channels, _height, width = first_conv.output_shape
    shown = min(channels, 64)
    columns = int(np.ceil(np.sqrt(shown)))
    assert view.activation_picture.shape[1] == columns * (width + 1) + 1
    # Saliency: |dD/dx| of the checkpoint's D at the sample of latent 0.
    z = view.current_latent()
    sample = view.networks["generator"](z).detach()
    x = sample.clone().requires_grad_(True)
    torch.sigmoid(view.networks["discriminator"](x)).sum().backward()
    np.testing.assert_allclose(view.saliency_map, x.grad[0].abs().amax(0).numpy(), rtol=1e-4)
    # The saliency's colour scale: from 0 to the map's largest value, labelled, no SI prefix.
    low, high = view.saliency_bar.levels()
    assert low == 0.0 and high == pytest.approx(float(view.saliency_map.max()))
    assert "saliency" in view.saliency_bar.axis.labelString()
    assert not view.saliency_bar.axis.autoSIPrefix
    assert "D says" in view.forward_label.text()
    # Another latent, then the explorer's cursor.
    before = view.activation_picture.copy()
    view.latent_spin.setValue(3)
    wait_for_forward_pass(qtbot, view)
    assert not np.array_equal(view.activation_picture, before)
    qtbot.waitUntil(lambda: window.latent_explorer.plane is not None, timeout=WAIT_MS)
    view.cursor_button.click()
    wait_for_forward_pass(qtbot, view)
    torch.testing.assert_close(view.current_latent()[0], window.latent_explorer.cursor_latent())


def test_a_live_run_fills_the_network_view_and_is_diagnosed(qtbot, window):
    window.setup_panel.apply_preset("8 Gaussians")
    window.setup_panel.steps_spin.setValue(100_000)
    window.network_dock.raise_()
    window.start_training()
    view = window.network_view
    qtbot.waitUntil(lambda: len(view.stats) >= 2, timeout=WAIT_MS)  # every 100 steps
    qtbot.waitUntil(lambda: bool(view.architecture.get("generator")), timeout=WAIT_MS)
    assert next(layer.name for layer in view.architecture["generator"]) == "net.0"
    window.network_dock.raise_()  # a 2D run raised the field view when it started
    qtbot.waitUntil(lambda: view.health_heat is not None, timeout=WAIT_MS)
    view.tabs.setCurrentIndex(1)  # the forward pass asks the worker for weight copies
    qtbot.waitUntil(lambda: "G(z) = (" in view.forward_label.text(), timeout=WAIT_MS)
    assert view.opened.kind == "live run"
    qtbot.waitUntil(lambda: len(window.diagnostics.records) > 0, timeout=WAIT_MS)
    window.stop_training()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)


def test_the_networks_panel_behind_a_tab_draws_nothing_until_brought_forward(qtbot, window):
    window.setup_panel.apply_preset("8 Gaussians")
    window.setup_panel.steps_spin.setValue(100_000)
    window.start_training()  # a 2D run brings the field view to the front
    view = window.network_view
    qtbot.waitUntil(lambda: len(view.stats) >= 3, timeout=WAIT_MS)
    # Qt leaves a dock behind a tab "visible"; nothing of it is on screen, nothing is drawn.
    assert view.isVisible() and view.visibleRegion().isEmpty()
    assert view.health_heat is None
    # The field in front sends what drawing it costs to the live run's picture budget.
    budget = window.trainer.training.worker.loop.budget
    qtbot.waitUntil(lambda: bool(budget._drawn.get("field")), timeout=WAIT_MS)
    assert all(0 < seconds < 5 for seconds in budget._drawn["field"])
    window.network_dock.raise_()
    qtbot.waitUntil(lambda: view.health_heat is not None, timeout=WAIT_MS)
    window.stop_training()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)


def test_findings_are_listed_shaded_on_the_plots_and_lead_to_their_step(qtbot, window):
    show_recorded_run(window, RUNS / "strong_d")
    panel = window.diagnostics
    # Diagnosed on a background thread: findings arrive a moment after the run.
    qtbot.waitUntil(lambda: panel.findings_list.count() == 2, timeout=WAIT_MS)
    assert len(window.loss_plots.shaded_ranges()) == 2
    assert "1 of 8 modes" in panel.summary.text() or "of 8 modes" in panel.summary.text()
    panel.findings_list.setCurrentRow(0)
    first = panel.findings[0]
    assert first.evidence in panel.details.text()
    assert window.loss_plots.step_cursor() == first.first_step


def test_a_healthy_2d_run_says_no_problems_and_names_its_own_measures(qtbot, window):
    show_recorded_run(window, RUNS / "healthy")  # 8 Gaussians: no Fréchet plot
    details = window.diagnostics.details
    qtbot.waitUntil(lambda: "No problems found in 200 records" in details.text(), timeout=WAIT_MS)
    assert window.diagnostics.findings == []
    note = window.diagnostics.fid_status.text()
    assert "modes covered" in note and "JS divergence" in note and "high quality" in note
    assert "above" not in note  # no Fréchet distance is drawn above for a 2D run
    assert not window.diagnostics.frechet_plot.isVisible()


def test_the_quality_texts_follow_the_kind_of_run(qtbot):
    from ganviz_gui.core.workspace import Mode, RunDelta, RunInfo, Workspace
    from ganviz_gui.gui.diagnostics_panel import DiagnosticsPanel

    workspace = Workspace()
    panel = DiagnosticsPanel(workspace)
    qtbot.addWidget(panel)
    # An image run before its first evaluation: what will be measured, for images only.
    workspace.show_run(RunInfo("folder", "digits", is_image=True), Mode.INSPECTING)
    assert "Fréchet distance" in panel.summary.text() and "2D" not in panel.summary.text()
    assert "No Fréchet distance is recorded" in panel.fid_status.text()
    # ... and with its Fréchet distance recorded: the plot above, from a classifier.
    records = [{"step": 100, "diversity_ratio": 0.8, "frechet_distance": 12.5}]
    workspace.show_run(
        RunInfo("folder", "digits", is_image=True), Mode.INSPECTING, RunDelta(records=records)
    )
    assert "Fréchet distance 12.5" in panel.summary.text()
    assert "Fréchet distance above" in panel.fid_status.text()
    assert "classifier" in panel.fid_status.text() and "Inception" in panel.fid_status.text()
    # A 2D run: its own measures, no Fréchet distance, no Inception.
    workspace.show_run(RunInfo("folder", "ring", is_image=False), Mode.INSPECTING)
    assert "modes covered" in panel.summary.text() and "Fréchet" not in panel.summary.text()
    assert "Fréchet distance above" not in panel.fid_status.text()
    assert "JS divergence" in panel.fid_status.text()


def test_a_clicked_sample_shows_its_nearest_training_images(qtbot, window, stats_run):
    window.open_path(str(stats_run))
    qtbot.waitUntil(lambda: window.sample_grid.sheet is not None, timeout=WAIT_MS)
    dialog = window.sample_grid.open_sample("fake", 2)
    qtbot.waitUntil(lambda: len(dialog.neighbour_pictures) == 5, timeout=WAIT_MS)
    assert dialog.neighbour_pictures[0].shape == (8, 8, 3)  # digits at their own 8 px
    text = dialog.neighbours_label.text()
    assert "Nearest training images" in text and "from their nearest other training image" in text
    dialog.close()


def wait_for_forward_pass(qtbot, view):
    qtbot.waitUntil(lambda: not view.forward_label.text().startswith("taking"), timeout=WAIT_MS)


def show_recorded_run(window, folder):
    """A recorded run (metrics and events, no checkpoints) fed to the window's workspace as
    its run-folder source feeds it."""
    from ganviz_gui.core.run_sources import RunFolderSource
    from ganviz_gui.core.workspace import Mode

    source = RunFolderSource(folder)
    window.workspace.show_run(source.describe(), Mode.INSPECTING, source.poll())
