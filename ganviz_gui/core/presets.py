"""Named starting points for the setup panel: each one trains out of the box.

A preset is a set of settings laid over the defaults and the data set's recommended values;
"My images..." needs a folder from the user before it can start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganviz_gui.core.config import (
    TrainingConfig,
    field_names,
    natural_image_size,
    recommended_settings,
)

# Where the data live and what trains them: choosing these keeps a preset what it is.
PLACE_SETTINGS = ("data_path", "device", "num_threads")


@dataclass(frozen=True)
class Preset:
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    needs_folder: bool = False  # the user picks data_path before it can start
    note: str = ""

    def values(self) -> dict[str, Any]:
        """The settings the preset decides: its data set's recommended values under its own."""
        dataset = self.settings.get("dataset", TrainingConfig.dataset)
        model = self.settings.get("model", TrainingConfig.model)
        return {**recommended_settings(dataset, model), **self.settings}

    def config(self, **extra: Any) -> TrainingConfig:
        return TrainingConfig(**{**self.values(), **extra}).validate()

    def changed_settings(self, config: TrainingConfig) -> list[str]:
        """The settings in which `config` differs from this preset (its values over the
        defaults), in field order; where the data live and which machine trains do not count.
        [] means `config` is still this preset."""
        own = TrainingConfig(**self.values())  # unvalidated: "My images..." lacks its folder
        return [
            name
            for name in field_names()
            if name not in PLACE_SETTINGS and _setting(config, name) != _setting(own, name)
        ]


def _setting(config: TrainingConfig, name: str) -> object:
    """A setting as it trains: image size 0 is the data set's own size, the same run as that
    size given (choosing digits by hand writes 8 where the preset left 0)."""
    if name == "image_size":
        return config.image_size or natural_image_size(config.dataset)
    return getattr(config, name)


PRESETS = (
    Preset(
        "8 Gaussians",
        {"dataset": "ring8", "model": "mlp", "steps": 5000},
        note="2D mixture on a ring: watch D's field and mode collapse (about 40 s on a CPU)",
    ),
    Preset(
        "Digits - DCGAN",
        {"dataset": "digits", "model": "dcgan", "steps": 5000},
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
