"""Data sources behind one call: `load_dataset(config)` returns a `Dataset`."""

from __future__ import annotations

from ganviz_gui.core.config import TOY_DATASETS, TrainingConfig
from ganviz_gui.core.data.array_file import load_array_file
from ganviz_gui.core.data.dataset import BatchSampler, Dataset, resize_square, to_model_space
from ganviz_gui.core.data.digits import load_digits
from ganviz_gui.core.data.idx import load_idx_dataset
from ganviz_gui.core.data.image_folder import load_image_folder
from ganviz_gui.core.data.toy2d import load_points, make_toy

__all__ = ["BatchSampler", "Dataset", "load_dataset", "to_model_space"]


def load_dataset(config: TrainingConfig) -> Dataset:
    """Load the configured data; images come out at `config.image_size` (0: their own size)."""
    name = config.dataset
    if name in TOY_DATASETS:
        return make_toy(name, config.toy_samples, config.seed)
    if name == "points":
        return load_points(config.data_path)
    if name == "folder":
        return load_image_folder(config.data_path, config.image_size, config.color)
    if name == "array":
        dataset = load_array_file(config.data_path, config.image_size)
    elif name == "digits":
        dataset = load_digits()
    else:  # mnist, fashion-mnist
        dataset = load_idx_dataset(name, config.data_path or None, config.download)
    if config.image_size and config.image_size != dataset.data.shape[-1]:
        dataset.data = resize_square(dataset.data, config.image_size)
    return dataset
