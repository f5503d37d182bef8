"""Which GANViz quantity a logged tag is: `Loss/D`, `d_loss` and `errD` are all `loss_d`.

Other programs name their curves as they like (pytorch/examples' DCGAN prints `Loss_D`,
`D(x)`, `D(G(z))`; Lightning's GAN example logs `d_loss`, `g_loss`; many repositories log
`Loss/D`). A `TagMapping` guesses the quantity of a tag from a table of such names, compared
without case or punctuation, and lets the user correct the guess: an override always wins.
A tag that maps to nothing keeps its own name in the records, so it is still plotted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ganviz_gui.core.errors import ConfigError

# The quantities GANViz plots or diagnoses, as named in a run folder's metrics.jsonl.
QUANTITIES = (
    "loss_d",
    "loss_g",
    "d_real",
    "d_fake",
    "grad_norm_d",
    "grad_norm_g",
    "lr_d",
    "lr_g",
    "d_steps",
    "steps_per_sec",
    "js_divergence",
    "modes_covered",
    "modes_total",
    "high_quality",
    "frechet_distance",
    "diversity_ratio",
    "classes_covered",
    "classes_total",
)

# Names seen in the wild, lower case without punctuation ("D(G(z))" -> "dgz"). Every
# quantity also answers to its own name.
ALIASES = {
    "loss_d": (
        "lossd",
        "dloss",
        "lossdis",
        "disloss",
        "lossdisc",
        "discloss",
        "discriminatorloss",
        "lossdiscriminator",
        "errd",  # pytorch/examples' DCGAN variable
    ),
    "loss_g": (
        "lossg",
        "gloss",
        "lossgen",
        "genloss",
        "generatorloss",
        "lossgenerator",
        "errg",
    ),
    "d_real": ("dx", "dreal", "realscore", "scorereal", "dscorereal", "doutreal"),
    # D_G_z2 of the DCGAN example is D(G(z)) again after D's update: a second curve, not d_fake.
    "d_fake": ("dgz", "dgz1", "dfake", "fakescore", "scorefake", "dscorefake", "doutfake"),
    "grad_norm_d": (
        "gradnormd",
        "dgradnorm",
        "gradnormdis",
        "gradnormdiscriminator",
        "discriminatorgradnorm",
    ),
    "grad_norm_g": (
        "gradnormg",
        "ggradnorm",
        "gradnormgen",
        "gradnormgenerator",
        "generatorgradnorm",
    ),
    "lr_d": (
        "lrd",
        "dlr",
        "lrdis",
        "lrdisc",
        "lrdiscriminator",
        "discriminatorlr",
        "learningrated",
        "learningratediscriminator",
    ),
    "lr_g": (
        "lrg",
        "glr",
        "lrgen",
        "lrgenerator",
        "generatorlr",
        "learningrateg",
        "learningrategenerator",
    ),
    "js_divergence": ("jsdivergence", "jsd"),
    "modes_covered": ("modescovered",),
    "high_quality": ("highquality",),
    "frechet_distance": ("frechetdistance", "fid"),
    "diversity_ratio": ("diversityratio",),
}
# Leading words that do not change what a tag is ("train/d_loss"). Validation tags are left
# alone: a validation loss is another curve than the training loss.
TRAINING_PREFIXES = ("training", "train")
# Lightning's self.log(..., on_step=True, on_epoch=True) writes "d_loss_step" and "d_loss_epoch";
# the per-step one is the curve (the per-epoch one would put a second value at some steps).
STEP_SUFFIX = "step"
# Lightning's LearningRateMonitor: "lr-Adam" for the first optimizer of a class, "lr-Adam-1" for
# the second. Lightning's GAN examples return [opt_g, opt_d], so the first is G's: a guess the
# user may correct.
LR_MONITOR = re.compile(r"lr-[A-Za-z][A-Za-z0-9_]*(-1)?")
# Image tags that are likely the generator's samples, most likely first.
PICTURE_WORDS = (
    "samples",
    "sample",
    "generated",
    "fake",
    "fakes",
    "gen",
    "generator",
    "images",
    "image",
    "outputs",
    "output",
)

_QUANTITY_OF_NAME = {
    name: quantity
    for quantity in QUANTITIES
    for name in (re.sub(r"[^a-z0-9]", "", quantity), *ALIASES.get(quantity, ()))
}


class TagRow(NamedTuple):
    """One line of the mapping as the user sees it."""

    tag: str
    quantity: str | None  # None: plotted under the tag's own name
    was_guessed: bool  # False when the user set it (an override)


def guess_quantity(tag: str) -> str | None:
    """The quantity a tag most likely is, from its name alone, or None."""
    match = LR_MONITOR.fullmatch(tag)
    if match:
        return "lr_d" if match.group(1) else "lr_g"
    segments = [part for part in re.split(r"[/\\.]", tag.lower()) if part]
    while len(segments) > 1 and segments[0] in TRAINING_PREFIXES:
        segments.pop(0)
    name = re.sub(r"[^a-z0-9]", "", "".join(segments))
    candidates = [name]
    for prefix in TRAINING_PREFIXES:  # "train_d_loss": the prefix joined by punctuation
        if name.startswith(prefix):
            candidates.append(name.removeprefix(prefix))
    candidates += [c.removesuffix(STEP_SUFFIX) for c in candidates if c.endswith(STEP_SUFFIX)]
    for candidate in candidates:
        if candidate in _QUANTITY_OF_NAME:
            return _QUANTITY_OF_NAME[candidate]
    return None


@dataclass
class TagMapping:
    """The guessed quantities of tags, with the user's corrections."""

    # tag (exactly as logged) -> quantity, or None: "this tag is none of them".
    overrides: dict[str, str | None] = field(default_factory=dict)
    picture_tag: str | None = None  # the image tag the user chose as the sample history

    def __post_init__(self) -> None:
        for tag, quantity in self.overrides.items():
            if quantity is not None and quantity not in QUANTITIES:
                raise ConfigError(
                    f"tag mapping: {tag!r} -> {quantity!r}: not a GANViz quantity "
                    f"(one of {', '.join(QUANTITIES)})"
                )

    def resolve(self, tag: str) -> str | None:
        """The quantity of `tag`: the user's choice if there is one, else the guess."""
        if tag in self.overrides:
            return self.overrides[tag]
        return guess_quantity(tag)

    def record_keys(self, tags: Iterable[str]) -> dict[str, str]:
        """The key each tag's values get in the records: its quantity, or its own name.

        Two tags never share a key. A quantity set by an override is the override's; a guessed
        one goes to the first tag (in the order given) that asks for it, so a tag that appears
        later cannot move an earlier tag's values. A tag left with a name already taken, or
        named like a quantity it is not, gets a suffix ("loss_d (2)").
        """
        reserved = {quantity for quantity in self.overrides.values() if quantity is not None}
        keys: dict[str, str] = {}
        taken: set[str] = set()
        for tag in tags:
            if tag in keys:
                continue
            quantity = self.resolve(tag)
            own = tag in self.overrides
            if quantity is not None and quantity not in taken and (own or quantity not in reserved):
                key = quantity
            else:
                # Its own name, unless that is taken or would pass for a quantity it is not.
                key, count = tag, 1
                while key in taken or key in QUANTITIES:
                    count += 1
                    key = f"{tag} ({count})"
            keys[tag] = key
            taken.add(key)
        return keys

    def choose_picture_tag(self, counts: Mapping[str, int]) -> str | None:
        """The image tag to show as the run's sample history (`counts`: pictures per tag).

        The user's choice where it was logged; else a tag named like generated samples, the
        likeliest name first; else the tag with most pictures that is not of real data.
        """
        if not counts:
            return None
        if self.picture_tag in counts:
            return self.picture_tag

        def rank(tag: str) -> tuple[int, int]:
            words = set(re.split(r"[^a-z0-9]+", tag.lower()))
            named = [i for i, word in enumerate(PICTURE_WORDS) if word in words]
            if named and "real" not in words:
                return (named[0], -counts[tag])
            return (len(PICTURE_WORDS) + ("real" in words), -counts[tag])

        return min(counts, key=rank)

    def to_dict(self) -> dict[str, Any]:
        return {"overrides": dict(self.overrides), "picture_tag": self.picture_tag}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TagMapping:
        """The mapping `to_dict` saved; ConfigError names what is wrong in it."""
        overrides = data.get("overrides", {})
        picture_tag = data.get("picture_tag")
        if not isinstance(overrides, Mapping) or not all(isinstance(t, str) for t in overrides):
            raise ConfigError("tag mapping: 'overrides' must map tag names to quantities")
        if picture_tag is not None and not isinstance(picture_tag, str):
            raise ConfigError("tag mapping: 'picture_tag' must be a tag name or null")
        return cls(overrides=dict(overrides), picture_tag=picture_tag)


def mapping_rows(mapping: TagMapping, tags: Iterable[str]) -> list[TagRow]:
    """What the mapping makes of each tag, for the user to read and correct: a tag whose
    quantity an earlier tag took shows no quantity (it is plotted under its own name)."""
    keys = mapping.record_keys(tags)
    return [
        TagRow(tag, key if key in QUANTITIES else None, tag not in mapping.overrides)
        for tag, key in keys.items()
    ]
