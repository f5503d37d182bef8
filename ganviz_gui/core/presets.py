"""Named starting points for the setup panel: each one trains out of the box.

A preset is a set of settings laid over the defaults and the data set's recommended values;
"My images..." needs a folder from the user before it can start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganviz_gui.core.config import TrainingConfig, recommended_settings


@dataclass(frozen=True)
class Preset:
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    needs_folder: bool = False  # the user picks data_path before it can start
    note: str = ""

    def config(self, **extra: Any) -> TrainingConfig:
        dataset = self.settings.get("dataset", TrainingConfig.dataset)
        model = self.settings.get("model", TrainingConfig.model)
        merged = {**recommended_settings(dataset, model), **self.settings, **extra}
        return TrainingConfig(**merged).validate()


PRESETS = (
    Preset(
        "8 Gaussians",
        {"dataset": "ring8", "model": "mlp", "steps": 5000},
        note="2D mixture on a ring: watch D's field and mode collapse (about 40 s on a CPU)",
    ),
    Preset(
        "Digits - DCGAN",
        {"dataset": "digits", "model": "dcgan", "steps": 5000, "sample_every": 250},
        note="1,797 bundled 8x8 handwritten digits (UCI); no download",
    ),
    Preset(
        "MNIST - DCGAN",
        {
            "dataset": "mnist",
            "model": "dcgan",
            "image_size": 28,
            "download": True,
            "steps": 10000,
        },
        note="60,000 28x28 digits, downloaded once (11 MB) into the cache",
    ),
    Preset(
        "My images...",
        {"dataset": "folder", "model": "dcgan", "image_size": 32, "steps": 20000},
        needs_folder=True,
        note="a folder of your own pictures (subfolders are classes), 32x32",
    ),
)

DEFAULT_PRESET = PRESETS[0].name


def preset_named(name: str) -> Preset:
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise KeyError(name)
