"""The `ganviz` command line: train, sample, evaluate and inspect, headless.

Exit status: 0 on success; 2 for bad usage or bad input (one line on stderr, no traceback; a
full disk too); 1 for an internal error; 3 when `train` reached its last step but the run
diverged; 75 when `train` was pre-empted (SIGUSR1: a checkpoint was saved, resume it); 130
when interrupted (Ctrl+C or SIGTERM, after saving a checkpoint).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from ganviz_gui import __version__

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_DIVERGED = 3  # train: the run reached its last step with its losses run away
EXIT_PREEMPTED = 75  # train: stopped by SIGUSR1 to be requeued (sysexits' EX_TEMPFAIL: retry)

# Flags of `train` and the config fields they set. Anything else: --set FIELD=VALUE.
TRAIN_FLAGS = {
    "dataset": ("--dataset", str),
    "data_path": ("--data", str),
    "model": ("--model", str),
    "loss": ("--loss", str),
    "steps": ("--steps", int),
    "batch_size": ("--batch-size", int),
    "lr_g": ("--lr-g", float),
    "lr_d": ("--lr-d", float),
    "d_steps": ("--d-steps", int),
    "latent_dim": ("--latent-dim", int),
    "image_size": ("--image-size", int),
    "device": ("--device", str),
    "seed": ("--seed", int),
    "checkpoint_every": ("--checkpoint-every", int),
    "sample_every": ("--sample-every", int),
}


TRAIN_FLAG_HELP = {
    "batch_size": "samples per batch; under torchrun, per process (the global batch is N times it)",
    "device": "auto, cpu, cuda, cuda:N or mps; under torchrun the kind only: each process "
    "takes cuda:LOCAL_RANK",
    "checkpoint_every": "steps between checkpoints (default: about 10 per run, from --steps; "
    "0 = that default)",
    "sample_every": "steps between sample pictures (default: about 40 per run, from --steps; "
    "0 = that default)",
}


class UsageError(Exception):
    """Bad command-line usage: exit 2 with the message."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """An argument parser that refuses a command line in one line on stderr, exit 2: what is
    wrong and where the usage is, not argparse's usage block (up to 9 lines) above it."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.command_parsers: dict[str, argparse.ArgumentParser] = {}

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            # A command's parser hands the words it does not know up to this one: the hint
            # names that command's help, not the top level's.
            refusing = self.command_parsers.get(getattr(parsed, "command", None) or "", self)
            refusing.error(f"unrecognized arguments: {' '.join(unknown)}")
        return parsed


def one_line(text: str) -> str:
    """`text` on one line: a message may quote a value or a file's words that hold newlines."""
    return " ".join(text.replace("\r", "\n").split("\n")).strip() or "(no message)"


# ---------------------------------------------------------------------- argument types
# Each refuses a value at parse time, as argparse refuses "x" for an int: one line, exit 2.
def path_argument(text: str) -> Path:
    """A path that names something: "" would be the current folder, and a run written there."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r}: a path cannot hold a NUL character")
    return Path(text)


def folder_argument(text: str) -> Path:
    """A folder to write into (a run folder): it may not exist yet, but it may not be a file,
    nor lie under one, and its nearest existing folder must be writable."""
    path = path_argument(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file, not a folder")
    _check_writable_under(path, path)
    return path


def output_file_argument(text: str) -> Path:
    """A file to write (samples): not a folder, not under a file, in a writable folder."""
    path = path_argument(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder, not a file")
    _check_writable_under(path.parent, path)
    return path


def _check_writable_under(folder: Path, named: Path) -> None:
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{named}: {existing} is a file, not a folder")
    if existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{named}: cannot write in {existing}")


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """An int type for argparse refusing values outside [low, high] (no upper bound: None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < low or (high is not None and value > high):
            allowed = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value

    return parse


def finite_float(text: str) -> float:
    """A float for argparse refusing nan and infinities (which argparse's float accepts)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


# Seeds as the training settings take them (torch.Generator refuses more than 64 bits).
MAX_SEED = 2**63 - 1
seed_argument = bounded_int(0, MAX_SEED)
# Wider than any generator's latent (StyleGAN's: 512), narrow enough that one latent fits memory.
MAX_LATENT_SIZE = 1 << 20


def build_parser() -> OneLineArgumentParser:
    parser = OneLineArgumentParser(
        prog="ganviz",
        description="Train GANs and inspect their checkpoints. With no command, open the "
        "GANViz window; the commands below run headless and write run folders the window "
        "can continue.",
    )
    parser.add_argument("--version", action="version", version=f"GANViz {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window offscreen, train a few steps, save and reopen a checkpoint, "
        "render every panel; exit 0 if all worked",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.command_parsers = commands.choices  # each made by OneLineArgumentParser too

    train = commands.add_parser(
        "train",
        help="train a GAN and write a run folder",
        description="Train a GAN and write a run folder. Under torchrun (torchrun "
        "--nproc_per_node N -m ganviz_gui train ...) it trains with DistributedDataParallel, "
        "one process per GPU (or N on the CPU); rank 0 alone writes the run folder.",
    )
    for field, (flag, kind) in TRAIN_FLAGS.items():
        train.add_argument(
            flag, dest=field, type=kind, default=argparse.SUPPRESS, help=TRAIN_FLAG_HELP.get(field)
        )
    train.add_argument(
        "--download",
        action="store_true",
        default=argparse.SUPPRESS,
        help="fetch MNIST / Fashion-MNIST into the cache if missing",
    )
    train.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="any other setting, e.g. --set r1_weight=0.1 (repeatable)",
    )
    train.add_argument(
        "--config", type=path_argument, help="a JSON file of settings (flags override it)"
    )
    train.add_argument(
        "--resume", type=path_argument, metavar="CKPT", help="continue the run of a checkpoint"
    )
    train.add_argument("--run-dir", type=folder_argument, help="where to write the run folder")
    train.add_argument(
        "--threads",
        type=int,
        default=argparse.SUPPRESS,
        dest="num_threads",
        help="torch threads (default: half the cores, at most 4)",
    )

    sample = commands.add_parser(
        "sample",
        help="generate samples from any generator file GANViz opens (see `ganviz info`)",
    )
    sample.add_argument("checkpoint", type=path_argument)
    _add_foreign_file_flags(sample)
    sample.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    sample.add_argument("--seed", type=seed_argument, default=0)
    sample.add_argument(
        "--out", type=output_file_argument, required=True, help=".npy array or .png picture"
    )
    sample.add_argument("--raw", action="store_true", help="use the raw generator, not its EMA")
    sample.add_argument(
        "--batchnorm",
        choices=("eval", "train"),
        default="eval",
        help="batch-norm layers: eval uses their running statistics (default); train uses each "
        "batch's own, as pytorch/examples draws its pictures",
    )
    style = sample.add_argument_group("StyleGAN generators")
    style.add_argument("--truncation", type=finite_float, default=1.0, help="psi (default 1: none)")
    style.add_argument(
        "--truncation-cutoff", type=bounded_int(0), help="truncate only the first N style layers"
    )
    style.add_argument(
        "--noise-mode", choices=("const", "random", "none"), default="const", help="default const"
    )
    style.add_argument(
        "--class", type=bounded_int(0), default=0, dest="class_index", help="class label"
    )

    evaluate = commands.add_parser("evaluate", help="metrics of a checkpoint's generator")
    evaluate.add_argument("checkpoint", type=path_argument)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--seed", type=seed_argument, default=0)
    evaluate.add_argument("--raw", action="store_true", help="use the raw generator, not its EMA")

    diagnose = commands.add_parser(
        "diagnose", help="findings in a run folder's records: collapse, a winning D, ..."
    )
    diagnose.add_argument("run", type=path_argument, help="a run folder")
    diagnose.add_argument("--json", action="store_true", help="print a JSON list of findings")

    info = commands.add_parser(
        "info",
        help="what a checkpoint, generator file or TensorBoard log holds (a checkpoint: no "
        "models built)",
    )
    info.add_argument("checkpoint", type=path_argument)
    _add_foreign_file_flags(info)
    info.add_argument("--json", action="store_true", help="print one JSON object")

    open_ = commands.add_parser(
        "open", help="open the window on a run folder, checkpoint or generator file"
    )
    open_.add_argument("path", type=path_argument)
    open_.add_argument(
        "--trust",
        action="store_true",
        help="open a TorchScript file without asking (it carries code)",
    )
    open_.add_argument(
        "--follow",
        action="store_true",
        help="keep showing the newest of a run as it is written, even after it says it ended",
    )

    demo = commands.add_parser(
        "demo", help="train 8 Gaussians for 5,000 steps (about a minute) and evaluate"
    )
    demo.add_argument("--run-dir", type=folder_argument, help="where to write the run folder")
    return parser


def _add_foreign_file_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust",
        action="store_true",
        help="open a file that carries code (TorchScript, torch.export) or a StyleGAN pickle of "
        "edited code: only from a source you trust",
    )
    parser.add_argument(
        "--latent-dim",
        type=bounded_int(1, MAX_LATENT_SIZE),
        help="a TorchScript generator's latent size, if not found",
    )


def main(argv: list[str] | None = None) -> int:
    from ganviz_gui.runtime import prepare_process

    prepare_process()  # streams, fault handler and crash log, before anything can fail
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a refused command line (said in one line)
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if args.self_test:
        from ganviz_gui.gui.self_test import run_self_test

        return run_self_test()
    if args.command is None:
        return open_window()
    status = run_command(args)
    if args.command == "train":
        from ganviz_gui.core.distributed import end_worker_process

        # The one command torchrun starts: its workers end here, not in Python's shutdown.
        end_worker_process(status)
    return status


def run_command(args: argparse.Namespace) -> int:
    """Run the command `args` names; its exit status, with any failure said in one line."""
    # Imported late so `ganviz --help` answers before torch has loaded (about 3 s).
    from ganviz_gui.core.errors import GanvizError

    handlers = {
        "train": cmd_train,
        "sample": cmd_sample,
        "evaluate": cmd_evaluate,
        "diagnose": cmd_diagnose,
        "info": cmd_info,
        "demo": cmd_demo,
        "open": cmd_open,
    }
    try:
        return handlers[args.command](args)
    except (GanvizError, UsageError) as exc:
        print(f"ganviz {args.command}: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"ganviz {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        # Not our bug but the machine's limits or its files: said in one line, exit 2.
        problem = machine_problem(exc, args)
        if problem:
            print(f"ganviz {args.command}: {one_line(problem)}", file=sys.stderr)
            return EXIT_USAGE
        traceback.print_exc()
        print(
            f"ganviz {args.command}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return EXIT_INTERNAL


def machine_problem(exc: Exception, args: argparse.Namespace) -> str:
    """What the machine refused, when `exc` is out of memory or a file operation the system
    refused (a read-only folder, a full disk); "" for anything else."""
    if is_out_of_memory(exc):
        return out_of_memory_message(exc, args)
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return ""


def is_out_of_memory(exc: BaseException) -> bool:
    """Python's MemoryError, torch.OutOfMemoryError (CUDA, MPS) or the CPU allocator's refusal
    (a RuntimeError: "can't allocate memory", before torch 2.6 "not enough memory")."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        words in text for words in ("out of memory", "not enough memory", "can't allocate memory")
    )


# "you tried to allocate 17179869184 bytes" (CPU), "Tried to allocate 20.00 GiB" (CUDA, MPS)
_ALLOCATION = re.compile(r"tried to allocate\s+([\d.,]+)\s*(bytes|[KMGTP]i?B|B)\b", re.I)


def out_of_memory_message(exc: BaseException, args: argparse.Namespace) -> str:
    """Out of memory, with the allocation that failed and the settings that size it."""
    message = "out of memory"
    tried = _ALLOCATION.search(str(exc))
    if tried:
        amount, unit = tried.groups()
        if unit.lower() == "bytes":
            count = int(amount.replace(",", "").split(".")[0])
            message += f" trying to allocate {count:,} bytes ({_binary_size(count)})"
        else:
            message += f" trying to allocate {amount} {unit}"
    settings = _memory_settings(args)
    if settings:
        message += f" with {settings}"
    return message + "; choose smaller settings, or a device with more memory"


def _binary_size(count: int) -> str:
    size, unit = float(count), "bytes"
    for bigger in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{size:.1f} {unit}" if unit != "bytes" else f"{count} bytes"


def _memory_settings(args: argparse.Namespace) -> str:
    """The settings the memory a command needs grows with, as NAME=VALUE, for its message."""
    if args.command == "sample":
        return f"-n {args.n}"
    if args.command != "train":
        return ""
    if args.resume is not None:
        batch = f"batch_size={args.batch_size}, " if hasattr(args, "batch_size") else ""
        return f"{batch}the settings of {args.resume}"
    try:
        config = train_config(args)
    except Exception:  # the settings were accepted once; a message needs no second failure
        return ""
    widths = (
        ("g_hidden", "d_hidden", "g_layers", "d_layers")
        if config.model == "mlp"
        else ("g_channels", "d_channels", "image_size")
    )
    return ", ".join(f"{name}={getattr(config, name)}" for name in ("batch_size", *widths))


def cmd_open(args: argparse.Namespace) -> int:
    if not args.path.exists():
        raise UsageError(f"{args.path}: no such file or folder")
    return open_window(str(args.path), trust=args.trust, follow=args.follow)


def open_window(path: str | None = None, trust: bool = False, follow: bool = False) -> int:
    """Open the GANViz window, on `path` if given (or say why no window can open here)."""
    from ganviz_gui.gui.app import display_problem

    problem = display_problem()
    if problem:
        print(f"ganviz: cannot open the window: {problem}", file=sys.stderr)
        print("Run `ganviz --help` for the headless commands.", file=sys.stderr)
        return EXIT_USAGE
    try:
        from ganviz_gui.gui.app import run_app
    except ImportError as exc:
        print(
            f"ganviz: the window needs PySide6 and pyqtgraph ({exc}); "
            "the headless commands work without them (ganviz --help)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return run_app(open_path=path, trust=trust, follow=follow)


# ---------------------------------------------------------------------- train
def train_config(args: argparse.Namespace):
    """Settings from, in rising priority: recommended values for the data set, --config, flags."""
    from ganviz_gui.core.config import TrainingConfig, recommended_settings

    given = _explicit_settings(args)
    base: dict[str, Any] = {}
    if args.config is not None:
        base = TrainingConfig.load_json(args.config).to_dict()
    dataset = given.get("dataset", base.get("dataset", TrainingConfig.dataset))
    model = given.get("model", base.get("model", TrainingConfig.model))
    merged = {**recommended_settings(dataset, model), **base, **given}
    return TrainingConfig.from_dict(merged, source="settings")


def _explicit_settings(args: argparse.Namespace) -> dict[str, Any]:
    from ganviz_gui.core.config import field_names, parse_setting

    given = {field: getattr(args, field) for field in TRAIN_FLAGS if hasattr(args, field)}
    if hasattr(args, "num_threads"):
        given["num_threads"] = args.num_threads
    if getattr(args, "download", False):
        given["download"] = True
    for item in args.settings:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in field_names():
            raise UsageError(f"--set {item!r}: expected FIELD=VALUE with a known field")
        given[name] = parse_setting(name, value.strip())
    return given


def cmd_train(args: argparse.Namespace) -> int:
    from ganviz_gui.core.checkpoint import load_checkpoint
    from ganviz_gui.core.distributed import DistributedContext
    from ganviz_gui.core.training_session import TrainingSession

    with StopSignals() as signals:
        checkpoint = None
        if args.resume is not None:
            if args.config is not None:
                raise UsageError(
                    "--config and --resume do not mix: a checkpoint carries its settings"
                )
            overrides = _resume_overrides(args)
            checkpoint = load_checkpoint(resume_checkpoint(args.resume))
            device = overrides.get("device", checkpoint.config.device)
        else:
            config = train_config(args)
            device = config.device
        # Under torchrun this joins the other processes (the device: this rank's own GPU);
        # without torchrun it only resolves the device.
        distributed = DistributedContext.from_environment(device)
        with distributed.joined() as torchrun_stops:
            if checkpoint is not None:
                session = TrainingSession.resume(
                    checkpoint,
                    run_dir=args.run_dir,
                    device=str(distributed.device),
                    overrides=overrides,
                    distributed=distributed,
                )
            else:
                session = TrainingSession.start(
                    config, run_dir=args.run_dir, device=distributed.device, distributed=distributed
                )
            # Under torchrun, joined() takes SIGTERM itself; SIGUSR1 stays with `signals`.
            return _run_session(
                session, lambda: signals.reason or ("interrupted" if torchrun_stops() else None)
            )


def resume_checkpoint(path: Path) -> Path:
    """What --resume names: a checkpoint, or a run folder (or its checkpoints/ folder), whose
    newest checkpoint it means (a requeued job resumes its run without knowing the step)."""
    from ganviz_gui.core.run_folder import list_checkpoints

    if not path.is_dir():
        return path
    run_dir = path.parent if path.name == "checkpoints" else path
    found = list_checkpoints(run_dir)
    if not found:
        raise UsageError(f"--resume {path}: no checkpoints in {run_dir / 'checkpoints'}")
    return found[-1][1]


STOP_SIGNALS = (("SIGTERM", "interrupted"), ("SIGUSR1", "preempted"))  # and the run's reason


class StopSignals:
    """SIGTERM and SIGUSR1 as requests to stop between two steps, saving a checkpoint.

    SIGTERM is what `timeout`, `docker stop` and Slurm (at a job's end) send: the run stops as
    on Ctrl+C ("interrupted", exit 130). SIGUSR1 is Slurm's warning before pre-emption
    (`sbatch --signal=USR1@60`): "preempted", exit 75, so the job script can requeue itself
    and resume. A second signal while stopping stops at once (KeyboardInterrupt), as a second
    Ctrl+C would. Signals can be set in the main thread only: elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for name, reason in STOP_SIGNALS:
                number = getattr(signal, name, None)  # Windows has no SIGUSR1
                if number is not None:
                    self._previous[number] = signal.signal(number, self._handler(reason))
        return self

    def _handler(self, reason: str) -> Callable[[int, Any], None]:
        def handle(_signal: int, _frame: Any) -> None:
            if self.reason is not None:
                raise KeyboardInterrupt  # asked again while stopping: now
            self.reason = reason

        return handle

    def __exit__(self, *_exc: object) -> None:
        import signal

        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()


def _resume_overrides(args: argparse.Namespace) -> dict[str, Any]:
    from ganviz_gui.core.config import RESUMABLE_FIELDS

    given = _explicit_settings(args)
    fixed = sorted(set(given) - set(RESUMABLE_FIELDS))
    if fixed:
        raise UsageError(
            f"cannot change {', '.join(fixed)} when resuming (they define the model or data); "
            f"these can change: {', '.join(RESUMABLE_FIELDS)}"
        )
    return given


def _run_session(session, should_stop: Callable[[], bool | str | None] = lambda: None) -> int:
    """Train to the configured step, reporting progress, and end with the run's verdict.

    `should_stop`, asked between steps, returns why to stop ("interrupted", "preempted") or
    None. Returns the exit status: 0 trained, 3 diverged, 130 interrupted, 75 pre-empted."""
    from ganviz_gui.core.devices import apply_num_threads

    trainer = session.trainer
    config = trainer.config
    threads = apply_num_threads(config.num_threads)
    if not session.writes:  # under torchrun, a rank other than 0: it trains and says nothing
        ended = session.run(config.steps, should_stop=should_stop)
        session.close()
        if ended == "finished":
            return EXIT_OK  # rank 0 alone reads the records for a verdict
        return EXIT_PREEMPTED if ended == "preempted" else EXIT_INTERRUPTED
    ranks = trainer.distributed.world_size
    print(
        f"GANViz {__version__}: training {config.model} on {config.dataset} "
        f"({len(trainer.dataset)} samples of shape {tuple(trainer.dataset.sample_shape)}) "
        f"on {trainer.device}, {threads} thread(s)"
        + (f" in each of {ranks} processes ({trainer.distributed.backend})" if ranks > 1 else "")
    )
    for path, reason in trainer.dataset.skipped[:10]:
        print(f"  skipped {path}: {reason}")
    if len(trainer.dataset.skipped) > 10:
        print(f"  ... and {len(trainer.dataset.skipped) - 10} more skipped files")
    print(f"run folder: {session.run_dir}")
    progress = _Progress(session.step_count, config.steps)
    reason = "finished"
    try:
        ended = session.run(config.steps, should_stop, progress.update)
        if ended != "finished":  # a signal; "stopped": a caller's plain True
            reason = "interrupted" if ended == "stopped" else ended
    except KeyboardInterrupt:
        reason = "interrupted"
        raise
    except Exception as exc:
        # Once torchrun has asked this process to stop, a peer that left first is no error.
        reason = "interrupted" if should_stop() else f"error: {exc}"
        raise
    finally:
        progress.close()
        checkpoint = session.close(reason)
        if session.verdict is not None:
            reason = "diverged"
        if not session.disk_full:  # else its one line on stderr names the checkpoint kept
            saved = f"checkpoint {checkpoint}" if checkpoint else "no checkpoint could be saved"
            print(f"{reason} at step {session.step_count}; {saved}")
    if reason == "interrupted":
        return EXIT_INTERRUPTED
    if reason == "preempted":
        print(f"pre-empted: continue with ganviz train --resume {session.run_dir}")
        return EXIT_PREEMPTED
    if not trainer.dataset.is_image:
        summary = trainer.evaluate_2d()
        print("evaluation (EMA generator): " + _format_metrics(summary))
    _print_verdict(session)
    return EXIT_DIVERGED if session.verdict is not None else EXIT_OK


def _print_verdict(session) -> None:
    """The last lines of a run: diverged or not, and the diagnostics' findings on its records."""
    try:
        findings = session.findings()
    except Exception as exc:  # the verdict must not turn a trained run into a failed one
        print(f"verdict: the records could not be diagnosed ({type(exc).__name__}: {exc})")
        return
    if session.verdict is not None:
        print(f"verdict: diverged: {session.verdict.reason}")
    elif findings:
        count = len(findings)
        print(f"verdict: trained, with {count} finding{'s' if count != 1 else ''}:")
    else:
        print("verdict: trained; the diagnostics find no problem")
    for finding in findings:
        print(f"- {finding.describe()}")


class _Progress:
    """A tqdm bar with ETA on a terminal; plain lines (about 20 per run) when piped."""

    def __init__(self, start: int, total: int):
        self.total = total
        self.interactive = sys.stderr.isatty()
        self.last: dict[str, Any] = {}
        self.fresh = False  # a record arrived since the last printed line
        self.every = max(1, (total - start) // 20)
        self.started = time.perf_counter()
        self.start = start
        self.bar = None
        if self.interactive:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True)

    def update(self, result) -> None:
        if result.record:
            self.last.update(result.record)  # coverage metrics come less often than losses
            self.fresh = True
        if self.bar is not None:
            self.bar.update(1)
            if result.record:
                self.bar.set_postfix_str(_format_metrics(self.last, short=True), refresh=False)
            return
        last_step = result.step == self.total
        # A line repeats no values: between two records (log_every apart) nothing new is known,
        # so only the last line of the run is printed without one, and then without metrics.
        if (result.step - self.start) % self.every != 0 and not last_step:
            return
        if not self.fresh and not last_step:
            return
        done = result.step - self.start
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        eta = (self.total - result.step) / rate if rate else 0.0
        metrics = f"  {_format_metrics(self.last, short=True)}" if self.fresh else ""
        print(
            f"step {result.step}/{self.total}{metrics}  {rate:.0f} steps/s  ETA {_clock(eta)}",
            flush=True,
        )
        self.fresh = False

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _format_metrics(record: dict[str, Any], short: bool = False) -> str:
    names = [
        "loss_d",
        "loss_g",
        "d_real",
        "d_fake",
        "modes_covered",
        "high_quality",
        "js_divergence",
        "diversity_ratio",
    ]
    if not short:
        names += ["modes_total"]
    parts = []
    for name in names:
        if name in record and record[name] is not None:
            value = record[name]
            parts.append(f"{name}={value:.3f}" if isinstance(value, float) else f"{name}={value}")
    return " ".join(parts)


# ---------------------------------------------------------------------- sample / evaluate / info
def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from ganviz_gui.core.evaluation import sample
    from ganviz_gui.core.generator_files import (
        BATCH_STATISTICS_SIZE,
        batchnorm_layers,
        open_generator_file,
    )
    from ganviz_gui.core.sample_images import save_png, saved_grid, scatter_plot

    if not 1 <= args.n <= 100_000:
        raise UsageError(f"-n {args.n}: choose between 1 and 100000 samples")
    suffix = args.out.suffix.lower()
    if suffix not in (".npy", ".png"):
        raise UsageError(f"--out {args.out}: must end in .npy or .png")
    opened = open_generator_file(args.checkpoint, trust=args.trust, latent_dim=args.latent_dim)
    opened = opened.in_batchnorm_mode(args.batchnorm)
    generator = opened.build_generator("raw" if args.raw else "ema")
    if opened.style_based:
        from ganviz_gui.core.style_controls import with_controls

        if opened.class_count and not 0 <= args.class_index < opened.class_count:
            raise UsageError(f"--class {args.class_index}: choose 0 to {opened.class_count - 1}")
        generator = with_controls(
            generator, args.truncation, args.truncation_cutoff, args.noise_mode, args.class_index
        )
    elif args.truncation != 1.0 or args.truncation_cutoff is not None:
        raise UsageError("--truncation: only StyleGAN generators have a mapping to truncate")
    samples = sample(generator, args.n, opened.latent_dim, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        if opened.is_image:
            samples = np.clip((samples + 1.0) / 2.0, 0.0, 1.0)  # N x C x H x W in [0, 1]
        np.save(args.out, samples.astype(np.float32))
    elif opened.is_image:
        save_png(saved_grid(samples), args.out)
    else:
        save_png(scatter_plot(_real_points_for_plot(opened.config), samples), args.out)
    step = f"step {opened.step}" if opened.step is not None else (opened.format or opened.kind)
    said = ""
    if batchnorm_layers(generator):  # the two modes draw different pictures: say which
        if args.batchnorm == "eval":
            said = " (batch norm: eval mode, its running statistics)"
        else:
            batch = "the file's fixed noise" if opened.fixed_noise is not None else "seeded latents"
            size = len(opened.probe_latents(BATCH_STATISTICS_SIZE))
            said = f" (batch norm: train mode, the statistics of a batch of {size} {batch})"
    elif args.batchnorm == "train":
        print(
            f"note: --batchnorm train: GANViz sees no batch-norm layers in {args.checkpoint} "
            "(a TorchScript or torch.export program hides its layers); drawn as it is"
        )
    print(f"wrote {args.n} samples from {step} to {args.out}{said}")
    return EXIT_OK


def _real_points_for_plot(config):
    """The real distribution behind a 2D plot when it costs nothing: toy data are regenerated
    (`config`: the training settings, None for a generator GANViz did not train)."""
    import numpy as np

    from ganviz_gui.core.config import TOY_DATASETS
    from ganviz_gui.core.data import load_dataset

    if config is None or config.dataset not in TOY_DATASETS:
        return np.empty((0, 2))
    return load_dataset(config).data[:2000].numpy()


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ganviz_gui.core.checkpoint import load_checkpoint
    from ganviz_gui.core.evaluation import evaluate_checkpoint

    checkpoint = load_checkpoint(args.checkpoint)
    result = evaluate_checkpoint(checkpoint, which="raw" if args.raw else "ema", seed=args.seed)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value:.4f}" if isinstance(value, float) else f"{key:>16}: {value}")
    return EXIT_OK


def cmd_diagnose(args: argparse.Namespace) -> int:
    """The diagnostics panel's findings, for a run folder, headless. Exit 0 either way: a
    finding is information, not a failure of the command."""
    from ganviz_gui.core.config import TrainingConfig, read_json_file
    from ganviz_gui.core.diagnostics import diagnose
    from ganviz_gui.core.errors import ConfigError, DataError
    from ganviz_gui.core.run_sources import RunFolderSource

    config_path = args.run / "config.json"
    if not (config_path.exists() or config_path.is_symlink()):  # a broken link is named below
        raise DataError(f"{args.run}: not a GANViz run folder (no config.json)")
    try:  # a pipe, a device, a picture or JSON nested 10^5 deep: one line naming the file
        settings = read_json_file(config_path)
    except ConfigError as exc:
        reason = str(exc).removeprefix(f"{config_path}: ")
        raise DataError(f"{config_path}: unreadable: {reason}") from None
    try:
        loss = TrainingConfig.from_dict(settings, source=str(config_path)).loss
    except ConfigError:
        if isinstance(settings, dict) and {"model", "dataset"} <= settings.keys():
            raise  # GANViz's own settings, damaged: the message names the file and the field
        loss = None  # a run logged from the user's own loop holds the user's config
    # Read as the window reads it: in pieces, so 10^6 records never exist as dicts at once.
    source = RunFolderSource(args.run)
    recorded = source.poll_all()
    for name in ("metrics", "events"):  # what the findings come from
        problem = source.problem_of(name)
        if problem is not None:
            raise DataError(f"{problem}; the run cannot be diagnosed without it")
    records, events = recorded.records, recorded.events
    if loss is None:  # ganviz_gui.Run says in its `started` event which loss D was given
        started = next((e for e in events if e.get("kind") == "started"), {})
        loss = started.get("loss") if isinstance(started.get("loss"), str) else None
    findings = diagnose(records, events, loss)
    if args.json:
        print(json.dumps([finding.to_dict() for finding in findings]))
    elif not findings:
        print(f"no problems found in {len(records):,} records")
    else:
        for finding in findings:
            print(f"- {finding.describe()}")
    # What was left out of the files, so a finding (or none) is read knowing it.
    for note in source.notes():
        print(f"note: {note}", file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from ganviz_gui.core.generator_files import describe_generator_file
    from ganviz_gui.core.inspection import is_run_folder
    from ganviz_gui.core.tensorboard_log import is_tensorboard_log

    if is_tensorboard_log(args.checkpoint):
        return _info_tensorboard_log(args.checkpoint, args.json)
    if is_run_folder(args.checkpoint):
        return _info_run_folder(args.checkpoint, args.trust, args.json)
    described = describe_generator_file(
        args.checkpoint, trust=args.trust, latent_dim=args.latent_dim
    )
    if "refused" in described:  # the format is known, the file does not open: say both
        if args.json:
            print(json.dumps(described))
        else:
            print(f"{'format':>24}: {described['format']}")
        print(f"error: {described['refused']}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(described))
        return EXIT_OK
    for key, value in described.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        print(f"{key:>24}: {value}")
    return EXIT_OK


def _info_run_folder(path: Path, trust: bool, as_json: bool) -> int:
    """A run folder: its checkpoints, and the newest one that opens (newer ones that do not
    are named, one line each)."""
    from ganviz_gui.core.inspection import open_path

    opened = open_path(path, trust=trust)
    steps = [step for step, _ in opened.checkpoints]
    described = opened.generator.description if opened.generator is not None else None
    if as_json:
        skipped = [{"file": str(p), "refused": reason} for p, reason in opened.skipped]
        summary = {"run": str(path), "checkpoint_steps": steps, "skipped": skipped}
        print(json.dumps({**summary, "newest_that_opens": described}))
        return EXIT_OK
    print(f"{'run':>24}: {path}")
    span = f" (steps {steps[0]:,} to {steps[-1]:,})" if steps else ""
    print(f"{'checkpoints':>24}: {len(steps)}{span}")
    for key, value in (described or {}).items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        print(f"{key:>24}: {value}")
    if steps and described is None:
        print(f"{'newest that opens':>24}: none of the newest {len(opened.skipped)}")
    for note in opened.notes():
        print(f"note: {note}")
    return EXIT_OK


def _info_tensorboard_log(path: Path, as_json: bool) -> int:
    """The run a TensorBoard log holds: its files, steps, tags and what GANViz calls them."""
    from ganviz_gui.core.tensorboard_log import TensorBoardSource

    summary = TensorBoardSource(path).summary()
    if as_json:
        print(json.dumps(summary))
        return EXIT_OK
    print(f"TensorBoard log {summary['log']}")
    if len(summary["runs"]) > 1:
        print(f"  the newest of {len(summary['runs'])} runs: {', '.join(summary['runs'])}")
    print(f"  event files: {', '.join(summary['event_files'])}")
    if summary["steps"]:
        first, last = summary["first_step"], summary["last_step"]
        print(f"  steps: {summary['steps']:,} (from {first} to {last})")
    print("  scalar tags:")
    for tag, key in summary["scalar_tags"].items():
        print(f"    {tag} -> {key}" if key != tag else f"    {tag} (kept)")
    print("  image tags:" if summary["image_tags"] else "  image tags: none")
    for tag, count in summary["image_tags"].items():
        chosen = " (the sample history)" if tag == summary["picture_tag"] else ""
        print(f"    {tag}: {count} picture{'s' if count != 1 else ''}{chosen}")
    for note in summary["notes"]:
        print(f"note: {note}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """The quickest look at the engine: 8 Gaussians, 5,000 steps, then the coverage metrics."""
    from ganviz_gui.core.config import TrainingConfig, recommended_settings
    from ganviz_gui.core.training_session import TrainingSession

    config = TrainingConfig(**{**recommended_settings("ring8", "mlp"), "steps": 5000})
    with StopSignals() as signals:
        session = TrainingSession.start(config, run_dir=args.run_dir)
        return _run_session(session, lambda: signals.reason)
