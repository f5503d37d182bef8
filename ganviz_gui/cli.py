"""The `ganviz` command line: train, sample, evaluate and inspect, headless.

Exit status: 0 on success; 2 for bad usage or bad input (one line on stderr, no traceback);
1 for an internal error; 130 when interrupted (after saving a checkpoint).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganviz_gui import __version__

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

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
}


TRAIN_FLAG_HELP = {
    "batch_size": "samples per batch; under torchrun, per process (the global batch is N times it)",
    "device": "auto, cpu, cuda, cuda:N or mps; under torchrun the kind only: each process "
    "takes cuda:LOCAL_RANK",
}


class UsageError(Exception):
    """Bad command-line usage: exit 2 with the message."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    train.add_argument("--config", type=Path, help="a JSON file of settings (flags override it)")
    train.add_argument(
        "--resume", type=Path, metavar="CKPT", help="continue the run of a checkpoint"
    )
    train.add_argument("--run-dir", type=Path, help="where to write the run folder")
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
    sample.add_argument("checkpoint", type=Path)
    _add_foreign_file_flags(sample)
    sample.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", type=Path, required=True, help=".npy array or .png picture")
    sample.add_argument("--raw", action="store_true", help="use the raw generator, not its EMA")
    style = sample.add_argument_group("StyleGAN generators")
    style.add_argument("--truncation", type=float, default=1.0, help="psi (default 1: none)")
    style.add_argument(
        "--truncation-cutoff", type=int, help="truncate only the first N style layers"
    )
    style.add_argument(
        "--noise-mode", choices=("const", "random", "none"), default="const", help="default const"
    )
    style.add_argument("--class", type=int, default=0, dest="class_index", help="class label")

    evaluate = commands.add_parser("evaluate", help="metrics of a checkpoint's generator")
    evaluate.add_argument("checkpoint", type=Path)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--raw", action="store_true", help="use the raw generator, not its EMA")

    diagnose = commands.add_parser(
        "diagnose", help="findings in a run folder's records: collapse, a winning D, ..."
    )
    diagnose.add_argument("run", type=Path, help="a run folder")
    diagnose.add_argument("--json", action="store_true", help="print a JSON list of findings")

    info = commands.add_parser(
        "info",
        help="what a checkpoint, generator file or TensorBoard log holds (a checkpoint: no "
        "models built)",
    )
    info.add_argument("checkpoint", type=Path)
    _add_foreign_file_flags(info)
    info.add_argument("--json", action="store_true", help="print one JSON object")

    open_ = commands.add_parser(
        "open", help="open the window on a run folder, checkpoint or generator file"
    )
    open_.add_argument("path", type=Path)
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
    demo.add_argument("--run-dir", type=Path)
    return parser


def _add_foreign_file_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust",
        action="store_true",
        help="open a file that carries code (TorchScript, torch.export) or a StyleGAN pickle of "
        "edited code: only from a source you trust",
    )
    parser.add_argument(
        "--latent-dim", type=int, help="a TorchScript generator's latent size, if not found"
    )


def main(argv: list[str] | None = None) -> int:
    from ganviz_gui.runtime import prepare_process

    prepare_process()  # streams, fault handler and crash log, before anything can fail
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from ganviz_gui.gui.self_test import run_self_test

        return run_self_test()
    if args.command is None:
        return open_window()
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
        print(f"ganviz {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"ganviz {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        traceback.print_exc()
        print(
            f"ganviz {args.command}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return EXIT_INTERNAL


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

    checkpoint = None
    if args.resume is not None:
        if args.config is not None:
            raise UsageError("--config and --resume do not mix: a checkpoint carries its settings")
        overrides = _resume_overrides(args)
        checkpoint = load_checkpoint(args.resume)
        device = overrides.get("device", checkpoint.config.device)
    else:
        config = train_config(args)
        device = config.device
    # Under torchrun this joins the other processes (the device: this rank's own GPU); without
    # torchrun it only resolves the device.
    distributed = DistributedContext.from_environment(device)
    with distributed.joined() as should_stop:
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
        return _run_session(session, should_stop)


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


def _run_session(session, should_stop: Callable[[], bool] = lambda: False) -> int:
    """Train to the configured step, reporting progress; `should_stop`: asked between steps."""
    from ganviz_gui.core.devices import apply_num_threads

    trainer = session.trainer
    config = trainer.config
    threads = apply_num_threads(config.num_threads)
    if not session.writes:  # under torchrun, a rank other than 0: it trains and says nothing
        ended = session.run(config.steps, should_stop=should_stop)
        session.close()
        return EXIT_OK if ended == "finished" else EXIT_INTERRUPTED
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
        if session.run(config.steps, should_stop, progress.update) == "stopped":
            reason = "interrupted"  # torchrun asked this process to stop (SIGTERM)
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
        print(f"{reason} at step {session.step_count}; checkpoint {checkpoint}")
    if reason == "interrupted":
        return EXIT_INTERRUPTED
    if not trainer.dataset.is_image:
        summary = trainer.evaluate_2d()
        print("evaluation (EMA generator): " + _format_metrics(summary))
    return EXIT_OK


class _Progress:
    """A tqdm bar with ETA on a terminal; plain lines (about 20 per run) when piped."""

    def __init__(self, start: int, total: int):
        self.total = total
        self.interactive = sys.stderr.isatty()
        self.last: dict[str, Any] = {}
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
        if self.bar is not None:
            self.bar.update(1)
            if result.record:
                self.bar.set_postfix_str(_format_metrics(self.last, short=True), refresh=False)
        elif (result.step - self.start) % self.every == 0 or result.step == self.total:
            done = result.step - self.start
            rate = done / max(time.perf_counter() - self.started, 1e-9)
            eta = (self.total - result.step) / rate if rate else 0.0
            print(
                f"step {result.step}/{self.total}  {_format_metrics(self.last, short=True)}  "
                f"{rate:.0f} steps/s  ETA {_clock(eta)}",
                flush=True,
            )

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
    from ganviz_gui.core.generator_files import open_generator_file
    from ganviz_gui.core.sample_images import (
        image_grid,
        save_png,
        scatter_plot,
        tile_scale,
        upscale,
    )

    if not 1 <= args.n <= 100_000:
        raise UsageError(f"-n {args.n}: choose between 1 and 100000 samples")
    suffix = args.out.suffix.lower()
    if suffix not in (".npy", ".png"):
        raise UsageError(f"--out {args.out}: must end in .npy or .png")
    opened = open_generator_file(args.checkpoint, trust=args.trust, latent_dim=args.latent_dim)
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
        save_png(upscale(image_grid(samples), tile_scale(samples.shape[-1])), args.out)
    else:
        save_png(scatter_plot(_real_points_for_plot(opened.config), samples), args.out)
    step = f"step {opened.step}" if opened.step is not None else (opened.format or opened.kind)
    print(f"wrote {args.n} samples from {step} to {args.out}")
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
    from ganviz_gui.core.config import TrainingConfig
    from ganviz_gui.core.diagnostics import diagnose
    from ganviz_gui.core.errors import ConfigError, DataError
    from ganviz_gui.core.run_sources import RunFolderSource

    config_path = args.run / "config.json"
    if not config_path.is_file():
        raise DataError(f"{args.run}: not a GANViz run folder (no config.json)")
    try:
        settings = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{config_path}: unreadable ({exc})") from None
    try:
        loss = TrainingConfig.from_dict(settings, source=str(config_path)).loss
    except ConfigError:
        if isinstance(settings, dict) and {"model", "dataset"} <= settings.keys():
            raise  # GANViz's own settings, damaged: the message names the file and the field
        loss = None  # a run logged from the user's own loop holds the user's config
    # Read as the window reads it: in pieces, so 10^6 records never exist as dicts at once.
    recorded = RunFolderSource(args.run).poll_all()
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
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from ganviz_gui.core.generator_files import describe_generator_file
    from ganviz_gui.core.tensorboard_log import is_tensorboard_log

    if is_tensorboard_log(args.checkpoint):
        return _info_tensorboard_log(args.checkpoint, args.json)
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
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """The quickest look at the engine: 8 Gaussians, 5,000 steps, then the coverage metrics."""
    from ganviz_gui.core.config import TrainingConfig, recommended_settings
    from ganviz_gui.core.training_session import TrainingSession

    config = TrainingConfig(**{**recommended_settings("ring8", "mlp"), "steps": 5000})
    return _run_session(TrainingSession.start(config, run_dir=args.run_dir))
