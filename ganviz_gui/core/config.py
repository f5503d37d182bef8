"""`TrainingConfig`: every setting of a training run, with defaults, validation and JSON."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ganviz_gui.core.errors import ConfigError

TOY_DATASETS = ("ring8", "grid25", "spiral", "moons", "swissroll", "circle")
POINT_DATASETS = (*TOY_DATASETS, "points")
IMAGE_DATASETS = ("digits", "mnist", "fashion-mnist", "folder", "array")
DATASETS = POINT_DATASETS + IMAGE_DATASETS
MODELS = ("mlp", "dcgan")
LOSSES = ("nonsaturating", "minimax", "lsgan", "hinge", "wgan-gp")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
COLOR_MODES = ("auto", "gray", "rgb")
# Sizes the DCGAN generator can produce: a 4x4 (or 7x7 for 28) seed doubled by transposed convs.
DCGAN_IMAGE_SIZES = (8, 16, 28, 32, 64)
MLP_MAX_IMAGE_SIZE = 128
# What an "auto" (0) interval aims at over a whole run: enough checkpoints for the step slider
# and Compare to have something to show, and sample pictures for a smooth timeline.
AUTO_CHECKPOINTS_PER_RUN = 10
AUTO_SAMPLES_PER_RUN = 40


@dataclass
class TrainingConfig:
    # --- data ---
    dataset: str = "ring8"  # one of DATASETS
    data_path: str = ""  # file or folder for points/mnist/fashion-mnist/folder/array
    download: bool = False  # mnist/fashion-mnist: fetch into the cache when no folder is given
    image_size: int = 0  # output side in pixels; 0 keeps the data set's own size (folder: 32)
    color: str = "auto"  # folder images: auto (RGB unless all gray), gray or rgb
    toy_samples: int = 50_000  # size of the pool drawn from a 2D toy distribution
    # --- models ---
    model: str = "mlp"  # mlp or dcgan
    latent_dim: int = 16  # size of z
    g_hidden: int = 128  # MLP width (G)
    d_hidden: int = 128  # MLP width (D)
    g_layers: int = 3  # MLP hidden layers (G)
    d_layers: int = 3  # MLP hidden layers (D)
    g_channels: int = 64  # DCGAN feature maps at the widest layer (G)
    d_channels: int = 64  # DCGAN feature maps at the widest layer (D)
    spectral_norm: bool = False  # spectral normalisation on D's weights
    # --- objective ---
    loss: str = "nonsaturating"  # one of LOSSES
    gp_weight: float = 10.0  # gradient penalty weight for wgan-gp
    r1_weight: float = 0.0  # R1 penalty on real data (0 = off)
    d_steps: int = 1  # discriminator steps per generator step
    # --- optimisers, one per network ---
    optimizer_g: str = "adam"
    optimizer_d: str = "adam"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1_g: float = 0.5  # Adam beta1 / SGD momentum / RMSprop alpha is fixed at 0.99
    beta2_g: float = 0.999
    beta1_d: float = 0.5
    beta2_d: float = 0.999
    ema_decay: float = 0.999  # EMA of G's weights used for samples; 0 = off
    # --- schedule ---
    steps: int = 5000  # generator steps to train (a step = d_steps D updates + 1 G update)
    batch_size: int = 128
    log_every: int = 10  # steps between metric records (scalars are fetched from the device then)
    eval_every: int = 100  # steps between quality metrics (2D coverage; image diversity)
    stats_every: int = 100  # steps between per-layer norms/histograms and D's verdicts; 0 = off
    # 0 = auto: intervals follow the run's length (see sample_interval, checkpoint_interval)
    sample_every: int = 0  # steps between sample grids written to the run folder; 0 = auto
    checkpoint_every: int = 0  # steps between checkpoints (one is also written at stop); 0 = auto
    keep_checkpoints: int = 20  # newest checkpoints kept (auto schedules write 10-14); 0 = all
    n_samples: int = 64  # fixed-noise samples in each grid
    # --- machine ---
    device: str = "auto"  # auto, cpu, cuda, cuda:N or mps
    num_threads: int = 0  # torch threads for training; 0 = auto (half the cores, at most 4)
    seed: int = 0
    max_nonfinite_recoveries: int = 5  # non-finite steps tolerated before the run stops

    # ------------------------------------------------------------------ checks
    @property
    def is_2d(self) -> bool:
        return self.dataset in POINT_DATASETS

    def checkpoint_interval(self) -> int:
        """Steps between checkpoints: `checkpoint_every`, or for 0 (auto) a tidy interval giving
        about AUTO_CHECKPOINTS_PER_RUN over `steps`."""
        return self.checkpoint_every or tidy_interval(self.steps / AUTO_CHECKPOINTS_PER_RUN)

    def sample_interval(self) -> int:
        """Steps between sample pictures: `sample_every`, or for 0 (auto) a tidy interval giving
        about AUTO_SAMPLES_PER_RUN over `steps`."""
        return self.sample_every or tidy_interval(self.steps / AUTO_SAMPLES_PER_RUN)

    def validate(self) -> TrainingConfig:
        """Raise ConfigError naming the first bad field; return self so calls can chain."""
        for f in fields(self):
            value = getattr(self, f.name)
            expected = _field_type(f)
            if expected is bool:
                if not isinstance(value, bool):
                    raise ConfigError(f"{f.name}: expected true or false, got {value!r}")
            elif expected is int:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ConfigError(f"{f.name}: expected a whole number, got {value!r}")
            elif expected is float:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{f.name}: expected a number, got {value!r}")
                if not math.isfinite(value):
                    raise ConfigError(f"{f.name}: must be a finite number, got {value!r}")
            elif expected is str and not isinstance(value, str):
                raise ConfigError(f"{f.name}: expected text, got {value!r}")

        _choice("dataset", self.dataset, DATASETS)
        _choice("model", self.model, MODELS)
        _choice("loss", self.loss, LOSSES)
        _choice("optimizer_g", self.optimizer_g, OPTIMIZERS)
        _choice("optimizer_d", self.optimizer_d, OPTIMIZERS)
        _choice("color", self.color, COLOR_MODES)

        _range("latent_dim", self.latent_dim, 1, 4096)
        _range("g_hidden", self.g_hidden, 1, 16384)
        _range("d_hidden", self.d_hidden, 1, 16384)
        _range("g_layers", self.g_layers, 1, 32)
        _range("d_layers", self.d_layers, 1, 32)
        _range("g_channels", self.g_channels, 4, 2048)
        _range("d_channels", self.d_channels, 4, 2048)
        _range("d_steps", self.d_steps, 1, 100)
        _range("steps", self.steps, 1, 100_000_000)
        _range("batch_size", self.batch_size, 1, 65_536)
        _range("log_every", self.log_every, 1, 1_000_000)
        _range("eval_every", self.eval_every, 1, 1_000_000)
        _range("stats_every", self.stats_every, 0, 1_000_000)
        _range("sample_every", self.sample_every, 0, 100_000_000)  # 0: auto
        _range("checkpoint_every", self.checkpoint_every, 0, 100_000_000)  # 0: auto
        _range("keep_checkpoints", self.keep_checkpoints, 0, 100_000)
        _range("n_samples", self.n_samples, 1, 1024)
        _range("num_threads", self.num_threads, 0, 1024)
        _range("toy_samples", self.toy_samples, 100, 10_000_000)
        _range("max_nonfinite_recoveries", self.max_nonfinite_recoveries, 0, 1000)
        _range("seed", self.seed, 0, 2**63 - 1)
        _range("lr_g", self.lr_g, 0.0, 1.0, low_open=True)
        _range("lr_d", self.lr_d, 0.0, 1.0, low_open=True)
        for name in ("beta1_g", "beta1_d"):
            _range(name, getattr(self, name), 0.0, 1.0, high_open=True)
        for name in ("beta2_g", "beta2_d"):
            _range(name, getattr(self, name), 0.0, 1.0, high_open=True)
        _range("ema_decay", self.ema_decay, 0.0, 1.0, high_open=True)
        _range("gp_weight", self.gp_weight, 0.0, 1e6)
        _range("r1_weight", self.r1_weight, 0.0, 1e6)

        if self.image_size != 0:
            if self.is_2d:
                raise ConfigError(
                    f"image_size: {self.dataset} is 2D point data; image_size must be 0"
                )
            if self.model == "dcgan" and self.image_size not in DCGAN_IMAGE_SIZES:
                raise ConfigError(
                    f"image_size: the dcgan model produces {_sizes_text()} px images, "
                    f"not {self.image_size}"
                )
            _range("image_size", self.image_size, 4, MLP_MAX_IMAGE_SIZE)
        if self.model == "dcgan" and self.is_2d:
            raise ConfigError(
                f"model: dcgan generates images; {self.dataset} is 2D point data, use mlp"
            )
        if self.dataset in ("points", "folder", "array") and not self.data_path:
            raise ConfigError(f"data_path: the {self.dataset} data set needs a file or folder")
        if self.device != "auto" and not _device_name_ok(self.device):
            raise ConfigError(
                f"device: expected auto, cpu, cuda, cuda:N or mps, got {self.device!r}"
            )
        return self

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainingConfig:
        """Build and validate a config; unknown keys are an error (a typo must not pass)."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object of settings")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}")
        # JSON writes 1.0 as 1; a float field given a whole number is still that number.
        floats = {f.name for f in fields(cls) if _field_type(f) is float}
        data = {k: float(v) if k in floats and type(v) is int else v for k, v in data.items()}
        config = cls(**data)
        try:
            return config.validate()
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def load_json(cls, path: str | Path) -> TrainingConfig:
        """Settings from a JSON file (read by `read_json_file`: any failure is a ConfigError
        naming the file)."""
        return cls.from_dict(read_json_file(path), source=str(Path(path)))

    def replace(self, **changes: Any) -> TrainingConfig:
        return dataclasses.replace(self, **changes).validate()


MAX_JSON_BYTES = 16 << 20  # a settings file is a few kB


def read_json_file(path: str | Path) -> Any:
    """The JSON document of a settings file (config.json), read safely: a regular file (never
    a pipe or device, which would block or never end) of at most MAX_JSON_BYTES, UTF-8 (UTF-16
    or UTF-32 with a byte-order mark), nested no deeper than Python's recursion allows. Any
    failure is a one-line ConfigError that names the file."""
    from ganviz_gui.core.regular_files import read_regular

    path = Path(path)
    text = _json_text(read_regular(path, MAX_JSON_BYTES, ConfigError, "settings file"), path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a settings file: its JSON is nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise ConfigError(f"{path}: not valid JSON ({str(exc)[:100]})") from None


def _json_text(raw: bytes, path: Path) -> str:
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"  # a byte-order mark, as some Windows editors write, is skipped
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        what = "a PNG picture" if raw.startswith(b"\x89PNG") else "binary data"
        name = encoding.removesuffix("-sig").upper()
        raise ConfigError(
            f"{path}: not a JSON text file: byte {exc.start:,} is not {name} (it looks like {what})"
        ) from None
    if "\x00" in text:
        raise ConfigError(
            f"{path}: not a JSON text file: it holds NUL characters (UTF-16 without a "
            "byte-order mark? save it as UTF-8)"
        )
    return text


# Interval steps people read easily (100, 250, 500, 1,000, ...): each power of ten times these.
TIDY_STEPS = (1, 2, 2.5, 5)


def tidy_interval(wanted: float) -> int:
    """The tidy whole number of steps (1, 2, 2.5 or 5 x 10^k) nearest `wanted` by ratio; at
    least 1."""
    if wanted <= 1:
        return 1
    power = 10 ** math.floor(math.log10(wanted))
    candidates = [m * power for m in (*TIDY_STEPS, 10) if (m * power) % 1 == 0]
    return int(min(candidates, key=lambda step: abs(math.log(step / wanted))))


def field_names() -> list[str]:
    return [f.name for f in fields(TrainingConfig)]


def _field_type(f: dataclasses.Field) -> type:
    # `from __future__ import annotations` turns annotations into strings.
    return {"bool": bool, "int": int, "float": float, "str": str}[str(f.type)]


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}: {value!r} is not one of {', '.join(allowed)}")


def _range(
    name: str,
    value: float,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ConfigError(
            f"{name}: {value!r} is outside the allowed range {left}{low}, {high}{right}"
        )


def _sizes_text() -> str:
    return ", ".join(str(s) for s in DCGAN_IMAGE_SIZES)


def _device_name_ok(name: str) -> bool:
    if name in ("cpu", "cuda", "mps"):
        return True
    prefix, _, index = name.partition(":")
    return prefix == "cuda" and index.isdigit()


# Settings that may change when a run is resumed: none of them alters the models' shapes.
RESUMABLE_FIELDS = (
    "steps",
    "lr_g",
    "lr_d",
    "d_steps",
    "loss",
    "gp_weight",
    "r1_weight",
    "device",
    "num_threads",
    "log_every",
    "eval_every",
    "stats_every",
    "sample_every",
    "checkpoint_every",
    "keep_checkpoints",
    "max_nonfinite_recoveries",
    "data_path",
    "download",
)


def recommended_settings(dataset: str, model: str) -> dict[str, Any]:
    """Starting points that train well on a 2-core CPU, applied under the user's own settings.

    2D data: Adam at 1e-3 with a small R1 penalty (gamma 0.1). Measured on ring8 after 5,000
    steps (EMA generator): without R1, seeds 0, 1 and 2 covered 7, 3 and 4 of 8 modes; with it,
    8 of 8 on all three, 87-91% of samples high quality.
    Images: the DCGAN paper's Adam 2e-4, beta1 0.5, batches of 64. The sample and checkpoint
    intervals are left to follow the run's length (0 = auto), for every model.
    """
    if dataset in POINT_DATASETS:
        return {"lr_g": 1e-3, "lr_d": 1e-3, "batch_size": 256, "r1_weight": 0.1, "latent_dim": 16}
    return {"lr_g": 2e-4, "lr_d": 2e-4, "batch_size": 64, "latent_dim": 64}


# The side a data set's images are trained at when the user has not chosen one: their own size
# (digits 8, MNIST 28), 32 for a folder of pictures; 0 (the file's own) for an array file.
NATURAL_IMAGE_SIZES = {"digits": 8, "mnist": 28, "fashion-mnist": 28, "folder": 32, "array": 0}


def natural_image_size(dataset: str) -> int:
    """The image_size a newly chosen data set starts with (0 for 2D point data)."""
    return NATURAL_IMAGE_SIZES.get(dataset, 0)


def parse_setting(name: str, text: str) -> Any:
    """Turn command-line text into the type of field `name` (validation comes later)."""
    kind = _field_type(next(f for f in fields(TrainingConfig) if f.name == name))
    if kind is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: expected true or false, got {text!r}")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{name}: expected a whole number, got {text!r}") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {text!r}") from None
    return text
