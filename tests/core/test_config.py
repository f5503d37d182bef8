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
