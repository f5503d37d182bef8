"""Records of the wrong type never break an open run, window side: fed to the workspace
directly (past the sources, which check what they read), the loss plots and the network view
draw the well-formed records and skip the rest, and whatever still goes wrong while an
opened run is shown ends in a dialog, not in a half-opened run.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")

from ganviz_gui.core.workspace import Mode, RunDelta, RunInfo, Workspace
from ganviz_gui.gui.loss_plots import LossPlots
from ganviz_gui.gui.network_view import NetworkView
from tests.gui.conftest import WAIT_MS

WRONG_RECORDS = [
    {"step": 10, "loss_d": "high"},  # text where a number belongs
    {"step": "twenty", "loss_d": 1.0},  # a step that is no number
    {"step": 30, "loss_d": [1, 2]},
    {"step": 40, "loss_d": {"a": 1}},
    {"step": 50, "loss_d": float("inf")},
    {"step": 60, "loss_d": float("nan")},
    {"step": 70, "loss_d": 10**400},  # an integer beyond any float
    {"step": float("nan"), "loss_d": 1.0},
    {"step": -5, "loss_d": 1.0},
    {1: 2, "step": 80, "loss_d": 1.0},  # a key that is no text
    "not a record",
    42,
    None,
    ["step", 90],
]
GOOD_RECORDS = [{"step": 100 + 10 * i, "loss_d": 1.0 + 0.1 * i, "loss_g": 0.5} for i in range(5)]

WRONG_EVENTS = [
    {"kind": "resumed", "step": "x"},
    {"kind": "stopped"},  # no step
    {"kind": ["resumed"], "step": 5},  # a kind that is no text
    {"kind": "stopped", "step": float("inf")},
    {"kind": "stopped", "step": 10**400},
    "not an event",
    None,
    7,
]
GOOD_EVENTS = [
    {"kind": "resumed", "step": 120},
    {"kind": "settings_changed", "step": 20, "note": "x" * 10_000},  # its label is cut
]


def layer_row(name: str, grad_norm: float) -> dict:
    return {
        "layer": name,
        "weight_norm": 2.0,
        "grad_norm": grad_norm,
        "weight_range": 0.5,
        "grad_range": 0.05,
        "weight_hist": [1] * 32,
        "grad_hist": [2] * 32,
    }


def good_stats(step: int) -> dict:
    return {
        "step": step,
        "generator": [layer_row("net.0", 0.1), layer_row("net.2", 0.01)],
        "verdicts": {"low": 0.0, "high": 1.0, "real": [1] * 24, "fake": [2] * 24, "overlap": 0.4},
    }


WRONG_STATS = [
    "not a record",
    None,
    {"step": "x", "generator": []},
    {"step": 10, "generator": "not a list"},
    {
        "step": 20,
        "generator": [
            {"layer": 5},
            "row",
            {
                "layer": "net.0",
                "weight_norm": "big",
                "grad_norm": [1],
                "weight_hist": "x",
                "grad_hist": [1, "a"],
                "weight_range": float("nan"),
            },
        ],
    },
    {"step": 30, "verdicts": {"real": [1, 2], "fake": [1], "low": 0, "high": 1, "overlap": 0.5}},
    {"step": 35, "verdicts": {"real": [1, 2], "fake": [1, 2], "low": "0", "high": 1}},
]


@pytest.fixture
def panels(qtbot):
    """The loss plots and the network view, shown, on one workspace showing a run."""
    workspace = Workspace()
    plots, network = LossPlots(workspace), NetworkView(workspace)
    for widget in (plots, network):
        qtbot.addWidget(widget)
        widget.resize(800, 700)
        widget.show()
    return workspace, plots, network


def test_the_plots_and_the_network_view_draw_the_good_records_and_skip_the_rest(qtbot, panels):
    workspace, plots, network = panels
    run = RunInfo(source="folder", name="damaged")
    with qtbot.captureExceptions() as escaped:
        # Half of each kind when the run is shown, the other half as the run grows.
        workspace.show_run(
            run,
            Mode.INSPECTING,
            RunDelta(
                records=WRONG_RECORDS[::2] + GOOD_RECORDS[:2],
                events=WRONG_EVENTS[::2],
                stats=[*WRONG_STATS[::2], good_stats(40)],
            ),
        )
        workspace.extend(
            RunDelta(
                records=WRONG_RECORDS[1::2] + GOOD_RECORDS[2:],
                events=WRONG_EVENTS[1::2] + GOOD_EVENTS,
                stats=[*WRONG_STATS[1::2], good_stats(50)],
            )
        )
        workspace.extend(RunDelta(records="not a list", events={"kind": "resumed"}, stats=3))
        plots.redraw()
        for step in (None, 20, 30, 35, 50):
            network.set_step(step)
    assert escaped == []

    # The loss curve is the good records', exactly.
    steps, values = plots.drawn_curve("loss_d", smoothed=False)
    np.testing.assert_array_equal(steps, [r["step"] for r in GOOD_RECORDS])
    np.testing.assert_allclose(values, [r["loss_d"] for r in GOOD_RECORDS])
    low, high = plots.plots["losses"].getViewBox().viewRange()[1]
    assert np.isfinite([low, high]).all() and low < 1.0 and high > 1.4
    # The two good events are marked on every plot; nothing else is.
    assert [event["step"] for event in plots.events] == [120, 20]
    assert plots.marker_count() == 2 * len(plots.plots)

    # The heat map (redrawn a second after records arrive): the two layers of the good
    # records, and the damaged record's one layer without its norm.
    qtbot.waitUntil(lambda: network.health_heat.shape == (2, 3), timeout=WAIT_MS)
    np.testing.assert_allclose(network.health_heat[:, 1:], np.log10([[0.1, 0.1], [0.01, 0.01]]))
    assert np.isnan(network.health_heat[0, 0])
    assert network.step_label.text() == "statistics of step 50"
    assert "overlap 0.40" in network.verdicts.titleLabel.text


def test_a_view_that_fails_while_a_run_opens_is_a_dialog_not_half_a_run(
    qtbot, window, digits_run, monkeypatch
):
    """Whatever a view still cannot draw: the run is not shown, a dialog says why, and the
    next open works."""

    def broken(self, records):
        raise RuntimeError("a view met a record it cannot draw")

    monkeypatch.setattr(LossPlots, "add_records", broken)
    with qtbot.captureExceptions() as escaped:
        window.open_path(str(digits_run))
        qtbot.waitUntil(lambda: window.error_box is not None, timeout=WAIT_MS)
    assert escaped == []
    text = window.error_box.text()
    assert str(digits_run) in text and "a view met a record it cannot draw" in text
    workspace = window.workspace
    assert workspace.run is None and workspace.mode == Mode.IDLE and workspace.step is None
    assert window.inspector.source is None and not window.scrubber.isVisible()

    monkeypatch.undo()
    window.open_path(str(digits_run))
    qtbot.waitUntil(lambda: window.scrubber.steps == [10, 20, 30], timeout=WAIT_MS)
    assert workspace.run is not None and workspace.run_dir == digits_run
