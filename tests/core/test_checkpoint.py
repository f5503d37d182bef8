import io
import os
import zipfile

import pytest
import torch

from ganviz_gui.core.checkpoint import (
    FORMAT_VERSION,
    describe_checkpoint,
    load_checkpoint,
    read_torch_file,
    save_checkpoint,
)
from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.trainer import Trainer
from tests.core.helpers import own_home, tiny_image_config, tiny_points_config


@pytest.fixture(scope="module")
def _trained(tmp_path_factory):
    """One trainer and its checkpoint for the whole module: training once, not per test."""
    with own_home(tmp_path_factory):
        trainer = Trainer(tiny_image_config())
        for _ in range(3):
            trainer.step()
    folder = tmp_path_factory.mktemp("checkpoint") / "run"
    return trainer, save_checkpoint(trainer.checkpoint_state(), folder / "step.pt")


@pytest.fixture
def saved(_trained):
    """The module's trainer and checkpoint file, shared: a test writes its changes to copies in
    its tmp_path, and fails here if it changed either."""
    trainer, path = _trained
    before, step = path.read_bytes(), trainer.step_count
    yield trainer, path
    assert path.read_bytes() == before, "a test changed the shared checkpoint file"
    assert trainer.step_count == step, "a test trained the shared trainer"


def _no_torch_advice(message: str) -> None:
    # torch's own messages advise weights_only=False: ours must never pass that on.
    assert "weights_only" not in message and "Traceback" not in message


def test_round_trip_keeps_everything(saved):
    trainer, path = saved
    checkpoint = load_checkpoint(path)
    assert checkpoint.step == 3 and checkpoint.config == trainer.config
    assert checkpoint.sample_shape == (1, 8, 8)
    generator = checkpoint.build_generator()
    z = trainer.fixed_noise
    with torch.no_grad():
        # A GPU run differs from the CPU rebuild in the last digits of its convolutions.
        assert torch.allclose(generator(z), torch.from_numpy(trainer.fixed_samples()), atol=1e-4)
    assert not list(path.parent.glob("*.tmp"))  # the atomic write cleaned up


def test_checkpoint_holds_only_tensors_and_plain_values(saved):
    _, path = saved
    allowed = (torch.Tensor, dict, list, tuple, str, int, float, bool, type(None))

    def walk(value):
        assert isinstance(value, allowed), type(value)
        if isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(torch.load(path, weights_only=True))


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "ganviz-checkpoint", "payload": _RunsCode(marker)}, path)
    # Even with torch's escape hatch set, the explicit weights_only=True holds.
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(CheckpointError, match=r"evil\.pt: refused: .*(posix|nt)\.system") as info:
        load_checkpoint(path)
    assert not marker.exists()
    _no_torch_advice(str(info.value))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: raw[: len(raw) // 2], "truncated or damaged"),
        (lambda raw: b"", "empty"),
        (lambda raw: os.urandom(4096), "not a PyTorch checkpoint"),
        (lambda raw: b"PK\x03\x04" + os.urandom(200), "truncated or damaged"),
    ],
)
def test_broken_files_give_one_clear_error(saved, tmp_path, damage, message):
    _, path = saved
    broken = tmp_path / "broken.pt"
    broken.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(broken)
    assert str(broken) in str(info.value)
    _no_torch_advice(str(info.value))


def test_a_flipped_data_byte_fails_the_crc_check(saved, tmp_path):
    _, path = saved
    raw = bytearray(path.read_bytes())
    archive = zipfile.ZipFile(io.BytesIO(bytes(raw)))
    member = max(
        (i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size
    )
    local_header = 30 + len(member.filename.encode())
    extra = int.from_bytes(raw[member.header_offset + 28 : member.header_offset + 30], "little")
    raw[member.header_offset + local_header + extra + member.file_size // 2] ^= 0xFF
    flipped = tmp_path / "flipped.pt"
    flipped.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"damaged: .*data/\d+ fails its CRC check"):
        load_checkpoint(flipped)


def _tampered(path, out, change):
    """A copy of the checkpoint at `path`, edited by change(state), saved as `out`."""
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, out)
    return out


def test_newer_format_asks_for_an_update(saved, tmp_path):
    _, path = saved
    newer = _tampered(
        path,
        tmp_path / "newer.pt",
        lambda s: s.update(format_version=FORMAT_VERSION + 1, app_version="9.0"),
    )
    with pytest.raises(CheckpointError, match=r"newer GANViz \(9\.0, format 2\).*please update"):
        load_checkpoint(newer)


def test_state_dict_of_another_architecture_is_named(saved, tmp_path):
    _, path = saved
    state = torch.load(path, weights_only=True)
    state["config"]["g_channels"] = 16  # the weights were trained with 8
    other = tmp_path / "other.pt"
    torch.save(state, other)
    with pytest.raises(CheckpointError, match=r"generator weights do not fit .*shape"):
        load_checkpoint(other)
    state["generator"].pop("net.0.weight")
    state["config"]["g_channels"] = 8
    torch.save(state, other)
    with pytest.raises(CheckpointError, match=r"missing net\.0\.weight"):
        load_checkpoint(other)


def test_plain_torch_files_and_bad_settings(tmp_path, saved):
    plain = tmp_path / "plain.pt"
    torch.save({"weight": torch.ones(3)}, plain)
    with pytest.raises(CheckpointError, match="not a GANViz checkpoint"):
        load_checkpoint(plain)
    _, path = saved
    bad = _tampered(path, tmp_path / "bad.pt", lambda s: s["config"].update(lr_g=-5.0))
    with pytest.raises(CheckpointError, match=r"bad\.pt: holds invalid settings: lr_g"):
        load_checkpoint(bad)


def test_non_finite_weights_are_neither_saved_nor_loaded(saved, tmp_path):
    trainer, path = saved
    state = trainer.checkpoint_state()
    state["generator"]["net.0.weight"][0] = float("nan")
    with pytest.raises(CheckpointError, match="not saved"):
        save_checkpoint(state, tmp_path / "nan.pt")
    assert not (tmp_path / "nan.pt").exists()
    raw = torch.load(path, weights_only=True)
    raw["generator"]["net.0.weight"][0] = float("inf")
    torch.save(raw, tmp_path / "inf.pt")
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        load_checkpoint(tmp_path / "inf.pt")


def test_folders_and_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match="is a folder"):
        read_torch_file(tmp_path)
    with pytest.raises(CheckpointError, match="cannot read"):
        read_torch_file(tmp_path / "nope.pt")


def test_describe_reads_without_building_models(saved):
    trainer, path = saved
    info = describe_checkpoint(path)
    assert info["step"] == 3 and info["dataset"] == "digits" and info["model"] == "dcgan"
    assert info["generator_parameters"] == sum(
        p.numel() for p in trainer.generator.state_dict().values()
    )


def test_points_checkpoint_round_trip(tmp_path):
    trainer = Trainer(tiny_points_config())
    trainer.step()
    checkpoint = load_checkpoint(save_checkpoint(trainer.checkpoint_state(), tmp_path / "p.pt"))
    assert checkpoint.sample_shape == (2,) and not checkpoint.is_image


def test_any_failure_inside_torch_load_is_one_clear_error(tmp_path, monkeypatch):
    """Random bytes once made torch's weights-only unpickler raise IndexError (seen in CI)."""
    import torch

    from ganviz_gui.core.checkpoint import read_torch_file
    from ganviz_gui.core.errors import CheckpointError

    path = tmp_path / "garbage.pt"
    path.write_bytes(b"\x80\x02garbage")

    def failing_load(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr(torch, "load", failing_load)
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        read_torch_file(path)
