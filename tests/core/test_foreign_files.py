"""Foreign GAN files against the truth: what third-party code wrote, and what it computed.

The fixtures (`shared/fixtures/foreign`, outside the project; see its MANIFEST.md and
cases.json) are real files written by NVIDIA's StyleGAN2-ADA / StyleGAN3 code, rosinality's
stylegan2-pytorch, pytorch/examples' DCGAN, PyTorch-GAN, Lightning's GAN example, Hugging Face's
save_pretrained and torch.export, each with the original code's outputs on fixed latents. Here:

- every file is identified, `ganviz info` names its format and architecture, and `ganviz sample`
  reproduces the original outputs (EMA and raw G, truncation), its D the original verdicts;
- a D file opens the G beside it, and only a G with its D beside it has a critic;
- nothing a file carries ever runs: crafted pickles that would run a command are refused
  naming the import (and the command's marker file never appears), an edited network source is
  refused naming the edited class (with trust: opened by GANViz's own networks, not run), and
  truncated or corrupted files are refused naming the file, never a crash.

`ganviz sample --out X.npy` writes clip((x + 1) / 2, 0, 1), so 2 * npy - 1 is compared with
the reference clipped to [-1, 1], as the original scripts save images.
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import re
import shutil
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ganviz_gui.cli import main
from ganviz_gui.core import inspection
from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.formats import (
    FileFormat,
    identify,
    lightning_checkpoint,
    open_file,
    pretrained_folder,
    rosinality_checkpoint,
    safetensors_file,
    state_dict_file,
    stylegan_pickle,
    torch_export,
)
from ganviz_gui.core.losses import PROBABILISTIC_LOSSES
from ganviz_gui.core.stylegan.rosinality import rosinality_generator

FOREIGN = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "foreign"
if not (FOREIGN / "cases.json").is_file():
    pytest.skip(f"no foreign fixtures at {FOREIGN}", allow_module_level=True)

TOLERANCE = 1e-3  # the MANIFEST's: max |reader - original| on images clipped to [-1, 1]
D_TOLERANCE = 1e-4  # D's verdicts (logits or probabilities); readers agree to ~1e-6
LIGHTNING_DIR = "lightning_gan/lightning_logs/version_0"


@dataclass(frozen=True)
class Fixture:
    path: str  # under FOREIGN
    reader: FileFormat  # the reader that must take it
    architecture: str | None  # what `ganviz info` must call it (a part of its "architecture")
    ref: str | None = None  # the reference .npz, under FOREIGN
    trust: bool = False  # opens only with the user's trust
    code: str | None = None  # the NVIDIA release the embedded source must be recognised as
    d_output: str | None = None  # "logits" or "sigmoid": what the reference's d_out holds

    @property
    def file(self) -> Path:
        return FOREIGN / self.path

    def reference(self) -> Any:
        assert self.ref is not None
        return np.load(FOREIGN / self.ref)

    def __str__(self) -> str:  # the test ids
        return self.path.split("/")[0] + "/" + Path(self.path).name


def _snapshot(case: str, architecture: str, code: str) -> Fixture:
    return Fixture(
        f"{case}/network-snapshot-000004.pkl",
        stylegan_pickle.FORMAT,
        architecture,
        ref=f"{case}/network-snapshot-000004.ref.npz",
        code=code,
        d_output="logits",
    )


SG2ADA = _snapshot("sg2ada_32", "StyleGAN2", "stylegan2-ada-pytorch training/networks.py")
SG3T = _snapshot("sg3t_32", "StyleGAN3-T", "stylegan3 training/networks_stylegan3.py")
SG3R = _snapshot("sg3r_32", "StyleGAN3-R", "stylegan3 training/networks_stylegan3.py")
SG3_SG2 = _snapshot("sg3_stylegan2_32", "StyleGAN2", "stylegan3 training/networks_stylegan2.py")
NVIDIA = [SG2ADA, SG3T, SG3R, SG3_SG2]
ROSINALITY = Fixture(
    "rosinality_32/000004.pt",
    rosinality_checkpoint.FORMAT,
    "rosinality",
    ref="rosinality_32/000004.ref.npz",
    d_output="logits",
)
DCGAN_G = Fixture(
    "dcgan_examples/netG_epoch_0.pth",
    state_dict_file.FORMAT,
    "pytorch/examples DCGAN",
    ref="dcgan_examples/netG_epoch_0.ref.npz",
    d_output="sigmoid",  # the original D ends in a Sigmoid
)
DCGAN_D = Fixture(
    "dcgan_examples/netD_epoch_0.pth",
    state_dict_file.FORMAT,
    "pytorch/examples DCGAN",  # the D file opens the pair: the G's architecture is named
    ref="dcgan_examples/netG_epoch_0.ref.npz",
    d_output="sigmoid",
)
LIGHTNING = Fixture(
    f"{LIGHTNING_DIR}/checkpoints/epoch=1-step=16.ckpt",
    lightning_checkpoint.FORMAT,
    "Lightning GAN example",
    ref="lightning_gan/gan.ref.npz",
    d_output="logits",  # this Lightning release's example D has no Sigmoid (BCE with logits)
)
PYTORCH_GAN_G = Fixture(
    "pytorch_gan/generator_5.pth",
    state_dict_file.FORMAT,
    "PyTorch-GAN DCGAN",
    ref="pytorch_gan/generator_5.ref.npz",
    d_output="sigmoid",
)
PYTORCH_GAN_D = Fixture(
    "pytorch_gan/discriminator_5.pth",
    state_dict_file.FORMAT,
    "PyTorch-GAN DCGAN",
    ref="pytorch_gan/generator_5.ref.npz",
    d_output="sigmoid",
)
SAFETENSORS = Fixture(
    "export_formats/netG.safetensors",
    safetensors_file.FORMAT,
    "pytorch/examples DCGAN",
    ref="export_formats/ref.npz",
)
HUGGAN = Fixture(
    "export_formats/huggan_dcgan",
    pretrained_folder.FORMAT,
    "huggan DCGAN",
    ref="export_formats/ref.npz",
)
PT2 = Fixture(
    "export_formats/netG.pt2",
    torch_export.FORMAT,
    None,  # any architecture: the format is the name
    ref="export_formats/ref.npz",
    trust=True,
)
FILES = [
    *NVIDIA,
    ROSINALITY,
    DCGAN_G,
    DCGAN_D,
    LIGHTNING,
    PYTORCH_GAN_G,
    PYTORCH_GAN_D,
    SAFETENSORS,
    HUGGAN,
    PT2,
]
GENERATORS = [f for f in FILES if f not in (DCGAN_D, PYTORCH_GAN_D)]  # one per reference
CRITICS = [f for f in FILES if f.d_output is not None]


# ---------------------------------------------------------------------- helpers
def ganviz(*argv: Any) -> tuple[int, str, str]:
    """`ganviz ARGV` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in argv])
    return code, out.getvalue(), err.getvalue()


def info(path: Path, *flags: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = ganviz("info", "--json", *flags, path)
    return code, (json.loads(out) if out.strip() else {}), err


def sample(path: Path, out: Path, *flags: Any) -> np.ndarray:
    """`ganviz sample -n 8 --seed 0` as images in [-1, 1] (from the [0, 1] .npy it writes)."""
    code, _, err = ganviz("sample", path, "-n", 8, "--seed", 0, "--out", out, *flags)
    assert code == 0, err
    return 2 * np.load(out).astype(np.float64) - 1


def seeded_z(count: int, z_dim: int) -> torch.Tensor:
    return torch.randn(count, z_dim, generator=torch.Generator().manual_seed(0))


def assert_images_match(got: np.ndarray | torch.Tensor, reference: np.ndarray) -> None:
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else got
    assert got.shape == reference.shape
    diff = np.abs(np.clip(got, -1, 1) - np.clip(reference, -1, 1)).max()
    assert diff <= TOLERANCE, f"max |GANViz - original| = {diff:.2e}"


def flags_of(fixture: Fixture) -> tuple[str, ...]:
    return ("--trust",) if fixture.trust else ()


# ---------------------------------------------------------------------- identify and info
@pytest.mark.parametrize("fixture", FILES, ids=str)
def test_identify_picks_the_reader_made_for_each_fixture(fixture):
    assert identify(fixture.file) is fixture.reader


@pytest.mark.parametrize("fixture", FILES, ids=str)
def test_ganviz_info_names_the_format_and_architecture(fixture):
    code, described, err = info(fixture.file, *flags_of(fixture))
    assert code == 0, err
    assert described["format"] == fixture.reader.name
    assert "refused" not in described
    if fixture.architecture is not None:
        assert fixture.architecture in described["architecture"]
    if fixture.code is not None:  # the embedded source recognised as the release it is
        assert fixture.code in described["code"]


def test_ganviz_info_tells_stylegan3_t_from_r_and_stylegan2():
    architectures = {f.path: info(f.file)[1]["architecture"] for f in NVIDIA}
    assert architectures == {f.path: f.architecture for f in NVIDIA}


def test_ganviz_info_refuses_the_torch_export_program_without_trust_naming_its_format():
    code, described, err = info(PT2.file)
    assert code == 2
    assert described["format"] == torch_export.FORMAT.name
    assert "trust" in described["refused"]
    assert "trust" in err


@pytest.mark.parametrize(
    ("log", "scalars", "pictures"),
    [
        (LIGHTNING_DIR, {"d_loss", "g_loss"}, "generated_images"),
        ("pytorch_gan/runs/dcgan", {"D/loss", "G/loss"}, "samples"),
    ],
    ids=["lightning", "pytorch_gan"],
)
def test_ganviz_info_reads_the_tensorboard_logs_beside_the_files(log, scalars, pictures):
    code, out, err = ganviz("info", "--json", FOREIGN / log)
    assert code == 0, err
    summary = json.loads(out)
    assert scalars <= set(summary["scalar_tags"])
    assert summary["picture_tag"] == pictures
    assert summary["steps"] > 0


# ---------------------------------------------------------------------- outputs
@pytest.mark.parametrize("fixture", GENERATORS, ids=str)
def test_ganviz_sample_reproduces_the_original_output(fixture, tmp_path):
    ref = fixture.reference()
    # The fixture's latents are exactly what `ganviz sample -n 8 --seed 0` draws.
    assert np.array_equal(ref["z"], seeded_z(8, ref["z"].shape[1]).numpy())
    assert_images_match(sample(fixture.file, tmp_path / "x.npy", *flags_of(fixture)), ref["out"])


@pytest.mark.parametrize("fixture", [*NVIDIA, ROSINALITY], ids=str)
def test_ganviz_sample_raw_reproduces_the_non_ema_generator(fixture, tmp_path):
    ref = fixture.reference()
    # The EMA and raw outputs differ: reading G for G_ema would show here.
    assert np.abs(np.clip(ref["out"], -1, 1) - np.clip(ref["out_G"], -1, 1)).max() > TOLERANCE
    assert_images_match(sample(fixture.file, tmp_path / "raw.npy", "--raw"), ref["out_G"])


@pytest.mark.parametrize("fixture", NVIDIA, ids=str)
def test_ganviz_sample_truncation_pulls_toward_the_stored_w_avg(fixture, tmp_path):
    ref = fixture.reference()
    got = sample(fixture.file, tmp_path / "psi.npy", "--truncation", 0.5)
    assert_images_match(got, ref["out_psi05"])


def test_rosinality_truncation_toward_its_mean_latent_reproduces_the_original(tmp_path):
    """rosinality stores no mean latent (GANViz estimates one); given the original's, the
    truncated images are the original's."""
    ref = ROSINALITY.reference()
    state = rosinality_checkpoint.read_rosinality(ROSINALITY.file)
    generator = rosinality_generator(
        state["g_ema"], mean_latent=torch.from_numpy(ref["mean_latent"])
    )
    with torch.no_grad():
        ws = generator.map(torch.from_numpy(ref["z"]), truncation_psi=0.5)
        images = generator.synthesize(ws)
    assert_images_match(images, ref["out_psi05"])
    # GANViz's own estimate, which `ganviz sample --truncation` uses, lands near the original's
    # truncated images: far nearer than the untruncated ones are.
    estimated = sample(ROSINALITY.file, tmp_path / "psi.npy", "--truncation", 0.5)
    truncated, untruncated = np.clip(ref["out_psi05"], -1, 1), np.clip(ref["out"], -1, 1)
    assert np.abs(estimated - truncated).max() < 0.1 * np.abs(untruncated - truncated).max()


# ---------------------------------------------------------------------- discriminators
@pytest.mark.parametrize("fixture", CRITICS, ids=str)
def test_the_critic_reproduces_the_original_discriminator_verdicts(fixture):
    ref = fixture.reference()
    critic = open_file(fixture.file).build_critic()
    assert critic is not None
    discriminator, loss = critic
    assert loss in PROBABILISTIC_LOSSES
    with torch.no_grad():
        verdicts = discriminator(torch.from_numpy(ref["out"])).reshape(-1)
    if fixture.d_output == "sigmoid":
        verdicts = torch.sigmoid(verdicts)
    diff = np.abs(verdicts.numpy() - ref["d_out"].reshape(-1)).max()
    assert diff <= D_TOLERANCE, f"max |D - original| = {diff:.2e}"


@pytest.mark.parametrize("fixture", CRITICS, ids=str)
def test_the_critic_comes_in_eval_mode_as_build_critic_promises(fixture):
    """GeneratorFile.build_critic: "(D in eval mode, ...)"; run_in_eval restores the mode it
    found, so a wrapper left in train mode puts the whole D in train mode after one use."""
    discriminator, _ = open_file(fixture.file).build_critic()
    training = sorted({type(m).__name__ for m in discriminator.modules() if m.training})
    assert training == []


@pytest.mark.parametrize(
    ("d_file", "g_file"),
    [(DCGAN_D, DCGAN_G), (PYTORCH_GAN_D, PYTORCH_GAN_G)],
    ids=["netD_epoch_0", "discriminator_5"],
)
def test_opening_the_discriminator_file_opens_the_pair(d_file, g_file):
    opened = open_file(d_file.file)
    assert opened.path == g_file.file
    assert opened.has_critic
    assert opened.description["discriminator_file"] == str(d_file.file)


def test_a_generator_copied_alone_has_no_critic(tmp_path):
    shutil.copy(DCGAN_G.file, tmp_path)
    opened = open_file(tmp_path / DCGAN_G.file.name)
    assert not opened.has_critic
    assert opened.build_critic() is None


def test_a_generator_copied_with_its_discriminator_gets_that_critic(tmp_path):
    shutil.copy(DCGAN_G.file, tmp_path)
    shutil.copy(DCGAN_D.file, tmp_path)
    opened = open_file(tmp_path / DCGAN_G.file.name)
    assert opened.description["discriminator_file"] == str(tmp_path / DCGAN_D.file.name)
    discriminator, _ = opened.build_critic()
    ref = DCGAN_G.reference()
    with torch.no_grad():
        verdicts = torch.sigmoid(discriminator(torch.from_numpy(ref["out"]))).reshape(-1)
    assert np.abs(verdicts.numpy() - ref["d_out"]).max() <= D_TOLERANCE


def test_a_discriminator_copied_alone_is_refused_pointing_at_the_generator(tmp_path):
    shutil.copy(DCGAN_D.file, tmp_path)
    with pytest.raises(CheckpointError, match="open the generator's file"):
        open_file(tmp_path / DCGAN_D.file.name)


# ---------------------------------------------------------------------- crafted pickles
class _Global:
    """A name a crafted pickle imports (written as a GLOBAL opcode; nothing is imported here)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # pickle asks its callables to be callable
        raise AssertionError("a crafted pickle's call is only ever written, never made")


class _Call:
    """module.name(*args), written into a pickle as GLOBAL + REDUCE (and BUILD with `state`)."""

    def __init__(self, module: str, name: str, *args: Any, state: Any = None):
        self.function, self.args, self.state = _Global(module, name), args, state

    def __reduce__(self) -> tuple[Any, ...]:
        if self.state is None:
            return self.function, self.args
        return self.function, self.args, self.state


class _CraftingPickler(pickle._Pickler):  # the pure-Python pickler: its `save` can be extended
    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, _Global):
            self.write(b"c" + obj.module.encode() + b"\n" + obj.name.encode() + b"\n")
            return
        super().save(obj, save_persistent_id)


def craft(value: Any) -> bytes:
    """A protocol-4 pickle (as NVIDIA's snapshots are) of `value`, _Call objects included."""
    buffer = io.BytesIO()
    _CraftingPickler(buffer, protocol=4).dump(value)
    return buffer.getvalue()


def _python(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


def payloads(marker: Path) -> dict[str, _Call]:
    """Calls that would create `marker`, by the import each names."""
    command = f'"{sys.executable}" -c "{_python(marker)}"'
    return {
        "os.system": _Call("os", "system", command),
        "posix.system": _Call("posix", "system", command),
        "builtins.exec": _Call("builtins", "exec", _python(marker)),
        "builtins.eval": _Call("builtins", "eval", f"exec({_python(marker)!r})"),
        "subprocess.check_call": _Call(
            "subprocess", "check_call", [sys.executable, "-c", _python(marker)]
        ),
        "subprocess.Popen": _Call("subprocess", "Popen", [sys.executable, "-c", _python(marker)]),
    }


IMPORTS = list(payloads(Path("marker")))


def _persistent(class_name: str, state: dict[str, Any]) -> _Call:
    meta = {
        "type": "class",
        "version": 6,
        "module_src": "import torch\n",
        "class_name": class_name,
        "state": state,
    }
    return _Call("torch_utils.persistence", "_reconstruct_persistent_obj", meta)


def _looks_like_a_snapshot(payload: Any) -> dict[str, Any]:
    return {"note": "torch_utils.persistence", "G_ema": payload}  # the marker in the first bytes


def test_the_crafted_payload_is_live_for_an_ordinary_unpickler(tmp_path):
    """The safety tests' pickles do run their command when unpickled the usual way."""

    class Ordinary(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if module == "torch_utils.persistence":
                return lambda meta: meta  # the one name not importable here
            return super().find_class(module, name)

    marker = tmp_path / "ran"
    hidden = _persistent("Generator", {"_init_kwargs": payloads(marker)["builtins.exec"]})
    Ordinary(io.BytesIO(craft(_looks_like_a_snapshot(hidden)))).load()
    assert marker.exists()


@pytest.mark.parametrize("refused", IMPORTS)
def test_a_pickle_posing_as_a_snapshot_that_would_run_a_command_is_refused(refused, tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "network-snapshot-000000.pkl"
    path.write_bytes(craft(_looks_like_a_snapshot(payloads(marker)[refused])))
    assert identify(path) is stylegan_pickle.FORMAT  # it does reach the restricted unpickler
    with pytest.raises(CheckpointError) as raised:
        open_file(path, trust=True)  # trust never admits code into a pickle
    assert f"import {refused}" in str(raised.value)
    assert str(path) in str(raised.value)
    assert not marker.exists()


@pytest.mark.parametrize("refused", IMPORTS)
def test_a_command_hidden_in_a_persistent_objects_state_is_refused(refused, tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "network-snapshot-000000.pkl"
    hidden = _persistent("Generator", {"_init_kwargs": {"z_dim": payloads(marker)[refused]}})
    path.write_bytes(craft({"G_ema": hidden}))
    with pytest.raises(CheckpointError, match=re.escape(f"import {refused}")):
        open_file(path)
    assert not marker.exists()


def test_a_command_inside_a_numpy_object_array_is_refused(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "network-snapshot-000000.pkl"
    array = np.array([payloads(marker)["builtins.exec"], 1], dtype=object)
    state = {"_buffers": {"magnitude_ema": array}}
    path.write_bytes(craft(_looks_like_a_snapshot(_persistent("Generator", state))))
    # Refused at the array's object dtype, before its items (the command) are reached.
    with pytest.raises(CheckpointError, match=r"dtype object that is not a number|builtins\.exec"):
        open_file(path)
    assert not marker.exists()


def test_a_numpy_object_array_of_plain_values_is_refused(tmp_path):
    """No numpy array of Python objects is rebuilt, even one holding only strings."""
    path = tmp_path / "network-snapshot-000000.pkl"
    array = np.array(["touch", "ran"], dtype=object)
    path.write_bytes(craft(_looks_like_a_snapshot(_persistent("Generator", {"a": array}))))
    with pytest.raises(CheckpointError) as raised:
        open_file(path)
    assert str(path) in str(raised.value)


def test_a_command_inside_a_tensor_storage_blob_is_refused(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "network-snapshot-000000.pkl"
    blob = _Call("torch.storage", "_load_from_bytes", craft(payloads(marker)["builtins.exec"]))
    state = {"_parameters": {"weight": blob}}
    path.write_bytes(craft(_looks_like_a_snapshot(_persistent("Generator", state))))
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        open_file(path)
    assert not marker.exists()


# ---------------------------------------------------------------------- edited sources
def test_a_pickle_that_changes_an_admitted_class_or_function_is_refused(tmp_path):
    """BUILD on what a pickle imports would change it for the whole process: refused."""
    from ganviz_gui.core.formats import network_pickle

    path = tmp_path / "network-snapshot-000000.pkl"
    for module, name in (("dnnlib.util", "EasyDict"), ("torch._utils", "_rebuild_parameter")):
        buffer = io.BytesIO()
        target = _Built(_Global(module, name), {"planted": 1})
        _BuildingPickler(buffer, protocol=4).dump(_looks_like_a_snapshot(target))
        path.write_bytes(buffer.getvalue())
        with pytest.raises(CheckpointError, match=r"refused|damaged"):
            open_file(path)
    assert not hasattr(network_pickle.AttributeBag, "planted")


class _Built:
    """`target` followed by a BUILD opcode with `state` (what a pickle can do to any object)."""

    def __init__(self, target: Any, state: Any):
        self.target, self.state = target, state


class _BuildingPickler(_CraftingPickler):
    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, _Built):
            self.save(obj.target)
            self.save((None, obj.state))  # slot state: setattr on the target
            self.write(pickle.BUILD)
            return
        super().save(obj, save_persistent_id)


def test_shared_references_cost_once_not_twice_per_level(tmp_path):
    """A chain of tuples that each hold the previous one twice: 2^40 paths, read at once."""
    chain: Any = ()
    for _ in range(40):
        chain = (chain, chain)
    path = tmp_path / "network-snapshot-000000.pkl"
    path.write_bytes(craft({"note": "torch_utils.persistence", "x": chain}))
    started = time.perf_counter()
    with pytest.raises(CheckpointError):  # no generator in it: refused, after reading it
        open_file(path)
    assert time.perf_counter() - started < 5


def test_records_that_are_not_a_tree_are_refused(tmp_path):
    part = _persistent("FullyConnectedLayer", {"_modules": {}})
    twice = _persistent("Generator", {"_modules": {"a": part, "b": part}})
    path = tmp_path / "network-snapshot-000000.pkl"
    path.write_bytes(craft(_looks_like_a_snapshot(twice)))
    with pytest.raises(CheckpointError, match="not a tree"):
        open_file(path)


def test_a_tensor_larger_than_its_stored_data_is_refused(tmp_path):
    """A zero stride makes 4 stored bytes a 10^12-element tensor: refused before any use."""
    path = tmp_path / "huge.pt"
    small = torch.zeros(1)
    torch.save({"weight": small.as_strided((10**6, 10**6), (0, 0))}, path)
    with pytest.raises(CheckpointError, match="larger than the data stored"):
        open_file(path)


def test_a_compressed_member_is_refused_without_inflating_it(tmp_path):
    import zipfile

    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00." + b"\x00" * 50_000_000)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(CheckpointError, match="compressed member"):
        open_file(path)


def test_a_protocol_3_snapshot_with_sets_of_buffer_names_is_read(tmp_path):
    """Python 3.7 (the code's documented version) pickles sets as builtins.set calls."""
    from ganviz_gui.core.formats.network_pickle import read_network_pickle

    state = {"_non_persistent_buffers_set": _Call("builtins", "set", ["noise_const"])}
    buffer = io.BytesIO()
    _CraftingPickler(buffer, protocol=3).dump(
        _looks_like_a_snapshot(_persistent("Generator", state))
    )
    path = tmp_path / "network-snapshot-000000.pkl"
    path.write_bytes(buffer.getvalue())
    record = read_network_pickle(path)["G_ema"]
    assert record.state["_non_persistent_buffers_set"] == {"noise_const"}
    assert "import torch" not in repr(record)  # the embedded code is never shown


def edit_synthesis_layer(source: bytes) -> tuple[bytes, int]:
    """The snapshot with `def forward` of every `class SynthesisLayer` renamed `def forwarx`
    (same length: the pickle stays valid); and how many classes were edited. The source is
    neither printed nor kept."""
    edited, start, count = bytearray(source), 0, 0
    while (found := source.find(b"class SynthesisLayer", start)) >= 0:
        forward = source.find(b"def forward", found)
        assert forward > found
        edited[forward : forward + len(b"def forward")] = b"def forwarx"
        start, count = forward, count + 1
    return bytes(edited), count


@pytest.mark.parametrize("fixture", [SG2ADA, SG3T], ids=str)
def test_an_edited_network_source_is_refused_naming_the_edited_class(fixture, tmp_path):
    edited, count = edit_synthesis_layer(fixture.file.read_bytes())
    assert count >= 1
    path = tmp_path / fixture.file.name
    path.write_bytes(edited)
    with pytest.raises(CheckpointError) as raised:
        open_file(path)
    message = str(raised.value)
    assert "SynthesisLayer" in message
    assert "never runs it" in message
    assert "MappingNetwork" not in message  # only what was edited is named
    code, described, _ = info(path)
    assert code == 2
    assert described["format"] == stylegan_pickle.FORMAT.name
    assert "SynthesisLayer" in described["refused"]


@pytest.mark.parametrize("fixture", [SG2ADA, SG3T], ids=str)
def test_an_edited_network_source_opens_with_trust_by_ganviz_own_networks(fixture, tmp_path):
    edited, _ = edit_synthesis_layer(fixture.file.read_bytes())
    path = tmp_path / fixture.file.name
    path.write_bytes(edited)
    opened = open_file(path, trust=True)
    assert any("SynthesisLayer" in note and "not run" in note for note in opened.notes)
    assert opened.description["edited"] == ["SynthesisLayer"]
    ref = fixture.reference()
    with torch.no_grad():
        images = opened.build_generator()(torch.from_numpy(ref["z"]))
    assert_images_match(images, ref["out"])  # GANViz's networks: the edit is not reproduced
    code, described, err = info(path, "--trust")
    assert code == 0, err
    assert described["edited"] == ["SynthesisLayer"]


# ---------------------------------------------------------------------- damaged files
TRUNCATED = [SG2ADA, SG3R, ROSINALITY, DCGAN_G, LIGHTNING, SAFETENSORS, PT2]


@pytest.mark.parametrize("fixture", TRUNCATED, ids=str)
def test_a_truncated_file_is_refused_naming_it(fixture, tmp_path):
    whole = fixture.file.read_bytes()
    path = tmp_path / fixture.file.name
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CheckpointError) as raised:
        open_file(path, trust=True)
    assert str(path) in str(raised.value)
    code, _, err = ganviz("info", "--trust", path)
    assert code == 2, err  # refused, not an internal error


def _safetensors_variants(whole: bytes) -> dict[str, bytes]:
    (length,) = struct.unpack("<Q", whole[:8])
    header, data = whole[8 : 8 + length], whole[8 + length :]
    return {
        "header_not_utf8": whole[:8] + b"{" + b"\xff" * (length - 1) + data,
        "header_json_cut": whole[:8] + header[: length // 2] + b" " * (length - length // 2) + data,
        "offsets_past_the_data": whole.replace(b'"data_offsets":[0,8]', b'"data_offsets":[0,9]', 1),
        "unknown_dtype": whole.replace(b'"dtype":"I64"', b'"dtype":"X64"', 1),
        "header_length_2_63": struct.pack("<Q", 2**63) + whole[8:],
        "header_length_100_MB": struct.pack("<Q", 100 * 1024**2) + whole[8:],
        "header_length_whole_file": struct.pack("<Q", len(whole) - 8) + whole[8:],
    }


SAFETENSORS_DAMAGE = list(_safetensors_variants(b"\x00" * 8))


@pytest.mark.parametrize("damage", SAFETENSORS_DAMAGE)
def test_a_corrupted_safetensors_file_is_refused_not_a_crash(damage, tmp_path):
    whole = SAFETENSORS.file.read_bytes()
    corrupted = _safetensors_variants(whole)[damage]
    assert corrupted != whole and len(corrupted) == len(whole)
    path = tmp_path / "netG.safetensors"
    path.write_bytes(corrupted)
    with pytest.raises(CheckpointError) as raised:
        open_file(path)
    assert str(path) in str(raised.value)
    code, _, err = ganviz("info", path)
    assert code == 2, err


# ---------------------------------------------------------------------- folders and exports
def test_a_hugging_face_folder_opens_as_a_model_not_a_run():
    assert not inspection.is_run_folder(HUGGAN.file)
    opened = inspection.open_path(HUGGAN.file)
    assert opened.generator is not None
    assert opened.run_dir is None
    assert not opened.tensorboard
    ref = HUGGAN.reference()
    with torch.no_grad():
        images = opened.generator.build_generator()(torch.from_numpy(ref["z"]))
    assert_images_match(images, ref["out"])


def test_a_torch_export_program_is_refused_without_trust():
    with pytest.raises(CheckpointError, match="trust"):
        open_file(PT2.file)


def test_a_torch_export_program_opens_with_trust_and_reproduces_the_original():
    opened = open_file(PT2.file, trust=True)
    ref = PT2.reference()
    assert opened.latent_dim == ref["z"].shape[1]
    with torch.no_grad():
        images = opened.build_generator()(torch.from_numpy(ref["z"]))
    assert_images_match(images, ref["out"])


# ---------------------------------------------------------------------- re-saved weights
@pytest.mark.parametrize("fixture", [DCGAN_G, PYTORCH_GAN_G], ids=str)
def test_a_dataparallel_state_dict_with_module_prefixes_still_opens(fixture, tmp_path):
    weights = torch.load(fixture.file, weights_only=True)
    path = tmp_path / "model.pth"
    torch.save({f"module.{key}": tensor for key, tensor in weights.items()}, path)
    opened = open_file(path)
    assert fixture.architecture in opened.description["architecture"]
    ref = fixture.reference()
    with torch.no_grad():
        images = opened.build_generator()(torch.from_numpy(ref["z"]))
    assert_images_match(images, ref["out"])
