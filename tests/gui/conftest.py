"""The main window as a fixture, shared by the GUI tests."""

from __future__ import annotations

import pytest

WAIT_MS = 90_000  # generous: CI machines are shared and slow


@pytest.fixture
def window(qtbot):
    """A shown MainWindow whose engine (torch) has loaded; closed afterwards, which stops any
    run (the dangling-thread check in tests/conftest.py verifies it)."""
    pytest.importorskip("pyqtgraph")
    from ganviz_gui.gui import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1300, 820)
    win.show()
    qtbot.waitUntil(lambda: win.engine_ready, timeout=WAIT_MS)
    yield win
    win.close()


def recorded_run(folder, config):
    """A run trained to its end with the engine, as a run folder to open."""
    from ganviz_gui.core.training_session import TrainingSession

    session = TrainingSession.start(config, run_dir=folder)
    session.run(config.steps)
    session.close()
    return folder


@pytest.fixture
def digits_run(tmp_path):
    """A tiny digits DCGAN: 30 steps, checkpoints at 10, 20 and 30."""
    from tests.core.helpers import tiny_image_config

    return recorded_run(tmp_path / "run", tiny_image_config(steps=30, checkpoint_every=10))


@pytest.fixture
def ring_run(tmp_path):
    """A tiny 8 Gaussians MLP: 40 steps, checkpoints at 20 and 40."""
    from tests.core.helpers import tiny_points_config

    return recorded_run(tmp_path / "ring", tiny_points_config(steps=40, checkpoint_every=20))


def wait_for_pictures(qtbot, explorer):
    qtbot.waitUntil(
        lambda: explorer.mosaic_picture is not None and explorer.cursor_picture is not None,
        timeout=WAIT_MS,
    )


def start_following(qtbot, window, preset: str):
    """Start a long run of `preset` with the explorer following it every 0.5 s; returns once
    the explorer shows the live generator."""
    window.setup_panel.apply_preset(preset)
    window.setup_panel.steps_spin.setValue(100_000)
    explorer = window.latent_explorer
    explorer.follow_check.setChecked(True)
    explorer.follow_combo.setCurrentIndex(explorer.follow_combo.findData(0.5))
    window.start_training()
    qtbot.waitUntil(
        lambda: explorer.opened is not None and explorer.opened.kind == "live run",
        timeout=WAIT_MS,
    )
    return explorer
