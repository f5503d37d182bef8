"""Which release of NVIDIA's network code a StyleGAN pickle embeds, without running it.

A snapshot carries the source of each network module as text. GANViz never executes it; it
recognises it. The whole text's SHA-256 names a known release file. A text that is not one
is parsed (`ast.parse` builds a syntax tree and runs nothing) and each top-level class and
function is compared with the releases' by a digest of its syntax tree, so that an edited
copy is refused naming exactly what was edited ("SynthesisLayer, modulated_conv2d differ
from stylegan3 networks_stylegan2.py"); comments and formatting do not count as edits.
Only digests are kept here: NVIDIA's code is under a non-commercial licence and none of it is
copied into GANViz.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from typing import Any

MODULE_STATEMENTS = "<module statements>"  # imports, constants, decorators outside definitions


@dataclass(frozen=True)
class Release:
    name: str  # "stylegan2-ada-pytorch training/networks.py"
    family: str  # which of GANViz's networks reproduce it: "stylegan2" or "stylegan3"
    definitions: dict[str, str]  # top-level class/function -> digest of its syntax tree


# Whole-file SHA-256 of the release files (UTF-8, no BOM) -> release.
RELEASES: dict[str, Release] = {
    "53b4e1ec457171d4e2c1454d48013765ab626141c35cdd383b020950effe11a5": Release(
        "stylegan2-ada-pytorch training/networks.py",
        "stylegan2",
        {
            "<module statements>": "1baaf8af78c38859a4ddb1f5c1a98cc4",
            "Conv2dLayer": "d571568e876a0b66caa69626e02e886c",
            "Discriminator": "6a87f34ccd974397925d6a15b97f9232",
            "DiscriminatorBlock": "b462e829437ded9e792040d16afa9eeb",
            "DiscriminatorEpilogue": "034e147193c9384842a1475bc175fe96",
            "FullyConnectedLayer": "7d268fcf21fa13367db2526546d2f153",
            "Generator": "17e0e991f4ca6334ef2a03595f7890d6",
            "MappingNetwork": "e3e7d7a30087644b19052e1f8451a6ce",
            "MinibatchStdLayer": "4349f6ac790a6fac871e57417f52a4a4",
            "SynthesisBlock": "95b427d998c8c1e97cf2bc2effc6c4b9",
            "SynthesisLayer": "c7dbaf39152557a9df4aa37b95475e5f",
            "SynthesisNetwork": "56f1489f38390110d83a1a55783cbcd7",
            "ToRGBLayer": "3880ae401f36ff9cfeea340ed9f515e7",
            "modulated_conv2d": "2f8650a9719e57e7da94b33d819b8440",
            "normalize_2nd_moment": "b97551a90eb194f3399862f981c9ecf5",
        },
    ),
    "b6f14e8fa2a95de4d38218fef31380c6a70de770f585107e209ff83075c307ef": Release(
        "stylegan3 training/networks_stylegan2.py",
        "stylegan2",
        {
            "<module statements>": "0c8060744956c461fef48fc56a2c9f86",
            "Conv2dLayer": "dfc69bccb68e131e7c8ed02ba2df6239",
            "Discriminator": "bd408679f758a277218c735d48edc60d",
            "DiscriminatorBlock": "b565d85d042f500d672ba6e680a3eb13",
            "DiscriminatorEpilogue": "c6090af4a8668c9f17edbc2e9a13211d",
            "FullyConnectedLayer": "936401fb86aa0d3ab10c3f6b710579c8",
            "Generator": "be30beb60068ea83af23544f088db75d",
            "MappingNetwork": "3d1f9a8dbeeb7cfec1067e63f93d8e28",
            "MinibatchStdLayer": "687748c336d1210613b5f94892495172",
            "SynthesisBlock": "1ba76f38876ddfb879054953be74a47e",
            "SynthesisLayer": "b77db7dddbb74e3b64d7792119087d54",
            "SynthesisNetwork": "381b3d760d6dd016496a1643b4ed3f7a",
            "ToRGBLayer": "ecd006f807290f51e7d3eb95c72c559a",
            "modulated_conv2d": "2f8650a9719e57e7da94b33d819b8440",
            "normalize_2nd_moment": "b97551a90eb194f3399862f981c9ecf5",
        },
    ),
    "06082fb3e8929e477f58fb8bc78e7ecb9a9209eb01444272d1d153c85a6a89f7": Release(
        "stylegan3 training/networks_stylegan3.py",
        "stylegan3",
        {
            "<module statements>": "ce68e8528dfe46400e8242e121be8117",
            "FullyConnectedLayer": "2ff94908449f4fb030bc3db8bb72a0c8",
            "Generator": "be30beb60068ea83af23544f088db75d",
            "MappingNetwork": "1953b367d85a10fda5109037c624774a",
            "SynthesisInput": "4b27661ffbac99a3890f8c0c4f50b2da",
            "SynthesisLayer": "ccc407663204c4117b82498b2e8ff8ea",
            "SynthesisNetwork": "249196bd04bdd725f84d1dcf2b5eb5d6",
            "modulated_conv2d": "acbebbef38814f8d5fcadd112bd0fb15",
        },
    ),
}


@dataclass
class SourceCheck:
    release: Release | None  # the known release this text is (None: not one of them)
    closest: Release | None = None  # for an unknown text: the release it is an edit of
    differing: list[str] = field(default_factory=list)  # definitions that differ from it
    unparsable: bool = False

    @property
    def known(self) -> bool:
        return self.release is not None

    def describe(self) -> str:
        if self.release is not None:
            return self.release.name
        if self.unparsable:
            return "a text that is not valid Python"
        if self.closest is None:
            return "code of no StyleGAN release GANViz knows"
        return f"an edited {self.closest.name} ({', '.join(self.differing)} differ)"


def check_source(text: str) -> SourceCheck:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest in RELEASES:
        return SourceCheck(RELEASES[digest])
    try:
        definitions = definition_digests(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return SourceCheck(None, unparsable=True)
    best, best_shared = None, 0
    for release in RELEASES.values():
        shared = sum(release.definitions.get(k) == v for k, v in definitions.items())
        if shared > best_shared:
            best, best_shared = release, shared
    if best is None:
        return SourceCheck(None)
    names = set(best.definitions) | set(definitions)
    differing = sorted(n for n in names if best.definitions.get(n) != definitions.get(n))
    return SourceCheck(None, closest=best, differing=differing)


def definition_digests(text: str) -> dict[str, str]:
    """Digest of each top-level class and function (and of the other statements together)."""
    tree = ast.parse(text)
    found: dict[str, str] = {}
    others: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = _digest(_canonical(node))
        else:
            others.append(_canonical(node))
    found[MODULE_STATEMENTS] = _digest("\n".join(others))
    return found


def _canonical(node: Any) -> str:
    """A syntax tree as text, the same on every Python version GANViz runs on: node types and
    fields only (no positions), fields that are None or empty left out."""
    if isinstance(node, ast.AST):
        parts = []
        for name, value in ast.iter_fields(node):
            if value is None or value == []:
                continue
            parts.append(f"{name}={_canonical(value)}")
        return f"{type(node).__name__}({', '.join(parts)})"
    if isinstance(node, list):
        return "[" + ", ".join(_canonical(item) for item in node) + "]"
    return repr(node)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
