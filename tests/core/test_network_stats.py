"""Layer tables, layer health statistics and D's verdict histograms, with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.models import build_models, parameter_count
from ganviz_gui.core.network_stats import (
    LayerStats,
    describe_layers,
    describe_networks,
    histogram_edges,
    layer_parameters,
    verdict_histograms,
    weight_histogram,
)
from ganviz_gui.core.run_folder import read_jsonl
from ganviz_gui.core.training_session import TrainingSession
from tests.core.helpers import tiny_image_config, tiny_points_config


@pytest.mark.parametrize(
    ("config", "shape"),
    [
        (TrainingConfig(), (2,)),
        (TrainingConfig(spectral_norm=True), (2,)),
        (TrainingConfig(dataset="digits", model="dcgan", image_size=16), (1, 16, 16)),
    ],
)
def test_the_layer_table_adds_up_to_the_networks_parameters(config, shape):
    generator, discriminator = build_models(config, shape)
    tables = describe_networks(generator, discriminator, config.latent_dim, shape)
    assert sum(layer.parameters for layer in tables["generator"]) == parameter_count(generator)
    assert sum(layer.parameters for layer in tables["discriminator"]) == parameter_count(
        discriminator
    )
    assert tables["generator"][-1].output_shape == shape  # G's last layer makes a sample
    assert tables["discriminator"][-1].output_shape in ((1,), (1, 1, 1))
    if config.spectral_norm:
        assert any("spectral norm" in layer.kind for layer in tables["discriminator"])


def test_layer_parameters_group_weight_and_bias_by_layer():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    layers = layer_parameters(net)
    assert list(layers) == ["0", "2"]
    assert [p.shape for p in layers["0"]] == [torch.Size([4, 3]), torch.Size([4])]


def test_layer_stats_equal_norms_and_histograms_computed_by_hand():
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -1.0], [0.5, 0.0]]))
        layer.bias.copy_(torch.tensor([0.25, -0.5]))
    layer.weight.grad = torch.full((2, 2), 3.0)
    layer.bias.grad = torch.zeros(2)
    (row,) = LayerStats(layer_parameters(layer), bins=4).to_record()
    values = np.array([1, -1, 0.5, 0, 0.25, -0.5])
    assert row["weight_norm"] == pytest.approx(np.linalg.norm(values))
    assert row["grad_norm"] == pytest.approx(6.0)  # four gradients of 3
    assert row["weight_range"] == pytest.approx(1.0)
    expected, _ = np.histogram(values, bins=histogram_edges(1.0, 4))
    assert row["weight_hist"] == expected.tolist()
    assert row["grad_hist"] == [0, 0, 2, 4]  # two zeros in the upper-middle bin, four at the top
    assert weight_histogram(list(layer.parameters()), bins=4)["weight_hist"] == row["weight_hist"]


def test_verdict_overlap_is_one_for_the_same_outputs_and_zero_for_separated_ones():
    same = torch.rand(500, generator=torch.Generator().manual_seed(0))
    assert verdict_histograms(same, same, probabilities=True)["overlap"] == pytest.approx(1.0)
    apart = verdict_histograms(torch.full((50,), 0.95), torch.full((50,), 0.05), True)
    assert apart["overlap"] == 0.0 and sum(apart["real"]) == sum(apart["fake"]) == 50
    critic = verdict_histograms(torch.tensor([3.0, 4.0]), torch.tensor([-4.0]), False)
    assert (critic["low"], critic["high"]) == (-4.0, 4.0)


def test_a_run_records_layer_health_every_stats_every_steps(tmp_path):
    session = TrainingSession.start(tiny_image_config(steps=20, stats_every=10), tmp_path / "r")
    session.run(20)
    session.close()
    records = read_jsonl(tmp_path / "r" / "network_stats.jsonl")
    assert [r["step"] for r in records] == [10, 20]
    record = records[-1]
    generator, discriminator = build_models(session.trainer.config, (1, 8, 8))
    assert [row["layer"] for row in record["generator"]] == list(layer_parameters(generator))
    assert [row["layer"] for row in record["discriminator"]] == list(
        layer_parameters(discriminator)
    )
    for row in record["generator"] + record["discriminator"]:
        assert row["grad_norm"] > 0 and row["weight_norm"] > 0
        assert sum(row["weight_hist"]) == sum(row["grad_hist"]) > 0
    verdicts = record["verdicts"]
    assert sum(verdicts["real"]) == sum(verdicts["fake"]) == 16  # one batch each
    json.dumps(records)  # plain JSON all the way down


def test_stats_every_zero_records_nothing_and_resume_drops_later_records(tmp_path):
    off = TrainingSession.start(tiny_points_config(steps=20, stats_every=0), tmp_path / "off")
    off.run(20)
    off.close()
    assert read_jsonl(tmp_path / "off" / "network_stats.jsonl") == []
    run = tmp_path / "on"
    session = TrainingSession.start(
        tiny_points_config(steps=40, stats_every=10, checkpoint_every=20), run
    )
    session.run(40)
    session.close()
    resumed = TrainingSession.resume(run / "checkpoints" / "step_00000020.pt")
    resumed.close()
    assert [r["step"] for r in read_jsonl(run / "network_stats.jsonl")] == [10, 20]
    assert list(run.glob("network_stats.before-resume-*.jsonl"))  # moved aside, not lost


def test_describe_layers_runs_on_a_bare_module():
    layers = describe_layers(nn.Sequential(nn.Linear(5, 3), nn.Tanh()), torch.randn(2, 5))
    assert [(layer.kind, layer.output_shape, layer.parameters) for layer in layers] == [
        ("Linear", (3,), 18),
        ("Tanh", (3,), 0),
    ]
