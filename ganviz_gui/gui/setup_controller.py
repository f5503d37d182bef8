"""The engine and the setup panel's preview: torch imported in the background after the first
paint, the devices it finds, and a preview of the chosen data (newest request wins)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui.background import LatestOnly


def load_engine() -> list[tuple[str, str]]:
    """Import torch and the trainer (the slow part of start-up); list the devices that exist."""
    import ganviz_gui.core.live_views  # noqa: F401  (pulls in torch, the models, the trainer)
    from ganviz_gui.core.devices import available_devices

    return [(d.name, d.description) for d in available_devices()]


def preview_data(config: TrainingConfig) -> tuple[Any, str]:
    from ganviz_gui.core.live_views import dataset_preview

    return dataset_preview(config)


class SetupController(QObject):
    def __init__(self, workspace: Workspace, parent: QObject | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.engine_ready = False
        self._pending_preview: TrainingConfig | None = None
        self._last_config: TrainingConfig | None = None  # the data last asked to be previewed
        self._engine_loader = LatestOnly(self)
        self._engine_loader.finished.connect(self._on_engine_loaded)
        self._previewer = LatestOnly(self)
        self._previewer.finished.connect(self._on_preview_ready)

    def load_engine(self) -> None:
        self._engine_loader.submit(load_engine)

    def _on_engine_loaded(self, devices: Any, error: str) -> None:
        if error:
            self.workspace.warn(f"The training engine could not load:\n{error}")
            return
        self.engine_ready = True
        self.workspace.set_devices(devices)
        self.workspace.say("Ready", 3000)
        if self._pending_preview is not None:
            self.preview(self._pending_preview)

    def preview(self, config: TrainingConfig) -> None:
        self._last_config = config
        self.workspace.set_preview(None, "loading a preview...")
        if not self.engine_ready:  # the preview needs torch: it follows the engine
            self._pending_preview = config
            return
        self._pending_preview = None
        self._previewer.submit(lambda: (config, preview_data(config)))

    def _on_preview_ready(self, result: Any, error: str) -> None:
        if error:
            config = self._last_config
            text = error
            if config is not None and config.download and "not found" in error:
                text = f"{config.dataset} is not downloaded yet: it is fetched when training starts"
            self.workspace.set_preview(None, text)
            return
        _config, (picture, summary) = result
        self.workspace.set_preview(picture, summary)
