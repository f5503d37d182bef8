import json
import math

import pytest

from ganviz_gui.core.config import TrainingConfig, parse_setting, recommended_settings
from ganviz_gui.core.errors import ConfigError


def test_defaults_are_valid_and_round_trip_through_json(tmp_path):
    config = TrainingConfig().validate()
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    assert TrainingConfig.load_json(path) == config


def test_whole_numbers_in_json_become_floats_for_float_fields():
    config = TrainingConfig.from_dict({"lr_g": 1, "gp_weight": 5})
    assert config.lr_g == 1.0 and isinstance(config.lr_g, float)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lr_g": math.nan}, "lr_g"),
        ({"lr_d": -1e-3}, "lr_d"),
        ({"lr_d": 0.0}, "lr_d"),
        ({"loss": "wasserstein"}, "loss"),
        ({"dataset": "cifar"}, "dataset"),
        ({"batch_size": 0}, "batch_size"),
        ({"steps": True}, "steps"),
        ({"beta1_g": 1.0}, "beta1_g"),
        ({"d_steps": 2.5}, "d_steps"),
        ({"dataset": "digits", "model": "dcgan", "image_size": 20}, "image_size"),
        ({"dataset": "ring8", "model": "dcgan"}, "model"),
        ({"dataset": "ring8", "image_size": 16}, "image_size"),
        ({"dataset": "folder"}, "data_path"),
        ({"device": "gpu"}, "device"),
    ],
)
def test_bad_values_name_the_field(changes, field):
    with pytest.raises(ConfigError, match=rf"^{field}:"):
        TrainingConfig(**changes).validate()


def test_unknown_setting_in_a_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"lr_g": 1e-4, "learning_rate": 3}))
    with pytest.raises(ConfigError, match=r"bad\.json: unknown setting\(s\) learning_rate"):
        TrainingConfig.load_json(path)


def test_broken_json_names_file_and_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n "lr_g": 1e-4,\n')
    with pytest.raises(ConfigError, match=r"broken\.json: not valid JSON .*line"):
        TrainingConfig.load_json(path)


def test_parse_setting_converts_by_field_type():
    assert parse_setting("r1_weight", "0.5") == 0.5
    assert parse_setting("d_steps", "3") == 3
    assert parse_setting("spectral_norm", "yes") is True
    with pytest.raises(ConfigError, match="d_steps"):
        parse_setting("d_steps", "many")


def test_recommended_settings_are_valid_for_every_dataset():
    for dataset, model in [("ring8", "mlp"), ("digits", "dcgan"), ("mnist", "mlp")]:
        TrainingConfig(
            dataset=dataset, model=model, **recommended_settings(dataset, model)
        ).validate()


# ---------------------------------------------------------------------- intervals
@pytest.mark.parametrize(
    ("steps", "checkpoint", "sample"),
    [(1000, 100, 25), (5000, 500, 100), (10_000, 1000, 250), (20_000, 2000, 500), (7, 1, 1)],
)
def test_auto_intervals_are_tidy_steps_from_the_run_length(steps, checkpoint, sample):
    config = TrainingConfig(steps=steps).validate()
    assert (config.checkpoint_every, config.sample_every) == (0, 0)  # the default is auto
    assert (config.checkpoint_interval(), config.sample_interval()) == (checkpoint, sample)


@pytest.mark.parametrize("steps", [1, 3, 10, 40, 99, 333, 1000, 4321, 12_345, 777_777, 10**8])
def test_auto_intervals_give_about_10_checkpoints_and_40_pictures_for_any_length(steps):
    config = TrainingConfig(steps=steps)
    checkpoints = steps // config.checkpoint_interval()
    pictures = steps // config.sample_interval()
    # Tidy steps are at most a factor ~1.6 apart; a run too short for the target gets one per step.
    assert min(steps, 6) <= checkpoints <= 16
    assert min(steps, 25) <= pictures <= 63


def test_explicit_intervals_are_kept_and_survive_json(tmp_path):
    config = TrainingConfig(steps=1000, checkpoint_every=333, sample_every=7).validate()
    assert (config.checkpoint_interval(), config.sample_interval()) == (333, 7)
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    loaded = TrainingConfig.load_json(path)
    assert (loaded.checkpoint_every, loaded.sample_every) == (333, 7)
    assert loaded.replace(steps=10**6).checkpoint_interval() == 333  # not re-derived
    auto = TrainingConfig.from_dict(json.loads(TrainingConfig(steps=1000).to_json()))
    assert (auto.checkpoint_every, auto.checkpoint_interval()) == (0, 100)


def test_a_negative_interval_is_refused():
    with pytest.raises(ConfigError, match=r"^checkpoint_every:"):
        TrainingConfig(checkpoint_every=-1).validate()
    with pytest.raises(ConfigError, match=r"^sample_every:"):
        TrainingConfig(sample_every=-5).validate()


def test_presets_and_recommended_settings_leave_the_intervals_to_the_run_length():
    from ganviz_gui.core.presets import PRESETS

    for dataset, model in [("ring8", "mlp"), ("digits", "dcgan"), ("mnist", "dcgan")]:
        assert {"sample_every", "checkpoint_every"}.isdisjoint(recommended_settings(dataset, model))
    for preset in PRESETS:
        config = preset.config(data_path="somewhere")
        assert (config.checkpoint_every, config.sample_every) == (0, 0), preset.name
        assert config.steps // config.checkpoint_interval() == 10, preset.name


def test_a_preset_is_changed_by_its_settings_but_not_by_where_it_trains():
    from ganviz_gui.core.presets import preset_named

    preset = preset_named("8 Gaussians")
    config = preset.config()
    assert preset.changed_settings(config) == []
    assert preset.changed_settings(config.replace(device="cpu", num_threads=2)) == []
    changed = config.replace(steps=1000, dataset="spiral", spectral_norm=True)
    assert preset.changed_settings(changed) == ["dataset", "spectral_norm", "steps"]
    # Image size 0 is the data set's own: the digits preset with 8 written in is still it.
    digits = preset_named("Digits - DCGAN")
    assert digits.changed_settings(digits.config().replace(image_size=8)) == []
    assert digits.changed_settings(digits.config().replace(image_size=16)) == ["image_size"]


def test_each_image_data_set_has_the_size_it_trains_at_by_default():
    from ganviz_gui.core.config import natural_image_size

    assert [natural_image_size(d) for d in ("mnist", "fashion-mnist", "folder", "digits")] == [
        28,
        28,
        32,
        8,
    ]
    assert natural_image_size("ring8") == 0
    for dataset in ("mnist", "digits"):  # sizes the dcgan model can make
        TrainingConfig(
            dataset=dataset, model="dcgan", image_size=natural_image_size(dataset)
        ).validate()
