"""Tags as other programs log them, and the GANViz quantities they are."""

from __future__ import annotations

import pytest

from ganviz_gui.core.errors import ConfigError
from ganviz_gui.core.tag_mapping import TagMapping, TagRow, guess_quantity, mapping_rows

SAME_QUANTITY = {
    "loss_d": [
        "Loss/D",
        "loss_D",
        "d_loss",
        "lossD",
        "Loss_D",
        "discriminator_loss",
        "train/d_loss",
        "D_loss",
        "errD",
        "d_loss_step",  # Lightning's on_step copy
        "train_d_loss",
    ],
    "loss_g": ["Loss/G", "g_loss", "Loss_G", "generator_loss", "train/g_loss", "G_loss"],
    "d_real": ["D(x)", "D_x", "d_real", "real_score"],
    "d_fake": ["D(G(z))", "D_G_z", "D_G_z1", "d_fake", "fake_score"],
    "lr_g": ["lr_g", "lr-Adam", "learning_rate/generator"],  # lr-Adam: Lightning's first optimizer
    "lr_d": ["lr_d", "lr-Adam-1", "lr/D"],
    "grad_norm_d": ["grad_norm_d", "grad_norm/D"],
    "grad_norm_g": ["grad_norm_g", "G_grad_norm"],
    "frechet_distance": ["FID", "frechet_distance"],
    "js_divergence": ["js_divergence", "JSD"],
}


@pytest.mark.parametrize(
    ("tag", "quantity"),
    [(tag, quantity) for quantity, tags in SAME_QUANTITY.items() for tag in tags],
)
def test_common_names_are_guessed(tag, quantity):
    assert guess_quantity(tag) == quantity


@pytest.mark.parametrize("tag", ["val/d_loss", "d_loss_epoch", "D_G_z2", "epoch", "Loss/other"])
def test_other_curves_are_not_guessed(tag):
    assert guess_quantity(tag) is None


def test_an_override_wins_and_is_not_a_guess():
    mapping = TagMapping(overrides={"Loss/other": "loss_d", "Loss/D": None})
    assert mapping.resolve("Loss/other") == "loss_d" and mapping.resolve("Loss/D") is None
    rows = mapping_rows(mapping, ["Loss/D", "Loss/G", "Loss/other"])
    assert rows == [
        TagRow("Loss/D", None, False),
        TagRow("Loss/G", "loss_g", True),
        TagRow("Loss/other", "loss_d", False),
    ]


def test_two_tags_never_share_a_record_key():
    keys = TagMapping().record_keys(["Loss/D", "d_loss", "loss_d", "misc"])
    assert keys == {"Loss/D": "loss_d", "d_loss": "d_loss", "loss_d": "loss_d (2)", "misc": "misc"}
    # A quantity the user gave one tag is that tag's, even where another tag came first.
    keys = TagMapping(overrides={"critic": "loss_d"}).record_keys(["Loss/D", "critic"])
    assert keys == {"Loss/D": "Loss/D", "critic": "loss_d"}


def test_keys_stay_put_as_tags_appear():
    mapping = TagMapping()
    early = mapping.record_keys(["d_loss", "g_loss"])
    later = mapping.record_keys(["d_loss", "g_loss", "Loss/D", "Loss/G"])
    assert later == {**early, "Loss/D": "Loss/D", "Loss/G": "Loss/G"}


def test_the_picture_tag():
    mapping = TagMapping()
    assert mapping.choose_picture_tag({}) is None
    assert mapping.choose_picture_tag({"real": 1, "fake": 3}) == "fake"
    assert mapping.choose_picture_tag({"images/real": 9, "images/generated": 3}) == (
        "images/generated"
    )
    assert mapping.choose_picture_tag({"train/samples": 2, "fake": 8}) == "train/samples"
    assert mapping.choose_picture_tag({"real": 5, "grid": 2}) == "grid"  # not the real data
    assert TagMapping(picture_tag="real").choose_picture_tag({"real": 1, "fake": 3}) == "real"
    assert TagMapping(picture_tag="gone").choose_picture_tag({"fake": 3}) == "fake"


def test_saved_and_read_back():
    mapping = TagMapping(overrides={"Loss/other": "grad_norm_d", "D(x)": None}, picture_tag="x")
    assert TagMapping.from_dict(mapping.to_dict()) == mapping
    assert TagMapping.from_dict({}) == TagMapping()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"overrides": {"Loss/D": "loss_of_d"}}, "'Loss/D' -> 'loss_of_d': not a GANViz quantity"),
        ({"overrides": ["Loss/D"]}, "'overrides' must map"),
        ({"picture_tag": 3}, "'picture_tag' must be"),
    ],
)
def test_a_broken_saved_mapping_is_refused(data, message):
    with pytest.raises(ConfigError, match=message):
        TagMapping.from_dict(data)
