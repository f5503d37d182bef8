"""The memorisation check of a clicked sample: its nearest training images, found off the GUI
thread and written into the sample's dialog (the verdict itself is `core.memorisation`'s)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui.background import LatestOnly, torch_threads_for_this_job
from ganviz_gui.gui.sample_grid import SampleDialog

NEIGHBOURS = 5


class NeighbourSearch(QObject):
    def __init__(self, workspace: Workspace, parent: QObject | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self._training_data: tuple[str, Any, float] | None = None  # (config, data, typical)
        self._finder = LatestOnly(self, own_thread=True)
        self._finder.finished.connect(self._on_found)
        self._dialog: SampleDialog | None = None

    def find(self, which: str, index: int, dialog: SampleDialog) -> None:
        """A generated sample's nearest training images, in the background."""
        if which != "fake":
            return
        config = self.workspace.config
        if config is None or config.is_2d:
            dialog.say("The training data of this generator is not known.")
            return
        dialog.say("Looking for the nearest training images...")
        key = config.to_json()
        known = self._training_data
        cached = known if known is not None and known[0] == key else None
        sample = dialog.sample
        self._dialog = dialog

        def find() -> tuple:
            from ganviz_gui.core.data import load_dataset, to_model_space
            from ganviz_gui.core.memorisation import (
                nearest_images,
                picture_to_model_space,
                typical_neighbour_distance,
            )
            from ganviz_gui.core.sample_images import image_grid

            torch_threads_for_this_job()
            if cached is not None:
                _, dataset, typical = cached
            else:
                dataset = load_dataset(config.replace(download=False))
                typical = typical_neighbour_distance(dataset)
            pixels = picture_to_model_space(sample, dataset.data.shape[1])
            indices, distances = nearest_images(pixels, dataset, k=NEIGHBOURS)
            pictures = [
                image_grid(to_model_space(dataset.data[[int(i)]]).numpy(), 1, padding=0)
                for i in indices
            ]
            return dialog, (key, dataset, typical), pictures, distances

        self._finder.submit(find)

    def _on_found(self, result: Any, error: str) -> None:
        from ganviz_gui.core.memorisation import memorisation_verdict

        if error:
            if self._dialog is not None and self._dialog.isVisible():
                self._dialog.say(f"Cannot search the training data: {error}")
            return
        dialog, training_data, pictures, distances = result
        self._training_data = training_data
        if not dialog.isVisible():
            return  # closed meanwhile
        dialog.show_neighbours(pictures, memorisation_verdict(distances, training_data[2]))
