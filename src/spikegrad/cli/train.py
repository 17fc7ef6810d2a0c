"""``spikegrad train``: train a spiking network, by default on scikit-learn's bundled digits."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..train.defaults import DEFAULTS
from . import UsageError
from ._imports import add_import_argument, load_user_surrogates
from ._surrogate_args import add_surrogate_arguments, build_surrogate, surrogate_kwargs

if TYPE_CHECKING:
    from ..train.config import TrainConfig
    from ..train.data import Split

EPILOG = """\
examples:
  spikegrad train                                   # digits, spiking MLP, atan surrogate (~15 s)
  spikegrad train --surrogate sigmoid --alpha 4 --neuron plif --detach-reset
  spikegrad train --model conv --encoding direct --T 4
  spikegrad train --dataset mnist --data-dir ~/data/mnist --epochs 5 --device cuda
  spikegrad train --dataset nmnist --data-dir ~/data/N-MNIST --device cuda  # conv net, events
  spikegrad train --dataset shd --data-dir ~/data/shd --T 100 --hidden 256  # recurrent net
  spikegrad train --import my_shapes --surrogate tent  # a custom surrogate from my_shapes.py
  spikegrad train --resume runs/20260101-120000             # continue where it stopped
  spikegrad train --resume runs/20260101-120000 --epochs 40 # and train on to 40 epochs
  torchrun --nproc_per_node 2 -m spikegrad.cli train        # data-parallel, 2 processes

A run folder (--out, default runs/<timestamp>) receives config.json, metrics.json, metrics.csv
(with each epoch's firing rates, synaptic operations and energy estimate on the test set),
checkpoint.pt (rewritten atomically after every epoch), best.pt (the epoch with the best test
accuracy), curve.png and activity.png. Event data sets are binned into --T frames once and the
frames cached ($SPIKEGRAD_CACHE, else DATA_DIR/.spikegrad-cache). The folder is locked while the
run lives. Ctrl-C saves a checkpoint of the last completed batch and prints the command that
resumes it (exit code 130). A NaN or infinite loss stops the run (exit code 1) and keeps the
last good checkpoint.
"""

#: Flags a resumed run may change, besides the ones that do not change what it computes.
RESUMABLE_FLAGS = ("--epochs", "--data-dir", "--device", "--threads", "--import", "--allocator")


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The network, data and optimisation flags shared by ``train`` and ``compare``.

    Every default is ``None`` (= not given), so that a resumed run can tell the flags the user
    gave from the ones left alone; :func:`config_from_args` fills in the defaults.
    """
    from ..train.config import ENCODINGS, MODELS, NEURONS
    from ..train.data import DATASETS
    from ..train.defaults import DEFAULTS as d

    net = parser.add_argument_group("network and input")
    net.add_argument("--model", choices=MODELS, default=None,
                     help="spiking MLP (one hidden layer), conv net, or recurrent net (a spiking layer, "
                          f"then a recurrent one) (default: {d.model}; conv for nmnist and dvsgesture, "
                          "recurrent for shd)")
    net.add_argument("--neuron", choices=NEURONS, default=None,
                     help="integrate-and-fire, leaky, leaky with learned tau, or leaky with an adaptive "
                          f"threshold (Bellec et al. 2018) (default: {d.neuron}; alif for shd)")
    net.add_argument("--tau", type=float, default=None,
                     help=f"membrane time constant, > 1 (default: {d.tau:g})")
    net.add_argument("--hidden", type=int, default=None, metavar="N",
                     help=f"width of the hidden spiking layer (default: {d.hidden})")
    net.add_argument("--T", type=int, default=None, metavar="STEPS",
                     help=f"time steps per sample (default: {d.T})")
    net.add_argument("--encoding", choices=ENCODINGS, default=None,
                     help="images: poisson (random spikes with pixel-value probability) or direct (the "
                          f"analog image at every step) (default: {d.encoding}); event data: spikes (1 "
                          "where a frame holds an event, the default) or counts (the event counts)")
    net.add_argument("--backend", choices=("reference", "fused"), default=None,
                     help="the neurons' multi-step kernel (default: the neurons' default)")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", choices=tuple(DATASETS), default=None,
                      help="; ".join(f"{name}: {ds.summary}" for name, ds in DATASETS.items())
                      + " (default: digits)")
    data.add_argument("--data-dir", metavar="DIR", default=None,
                      help="folder with the data set's files (nothing is downloaded): "
                           + "; ".join(f"{name}: {ds.files}" for name, ds in DATASETS.items() if ds.files))
    data.add_argument("--downsample", type=int, default=None, metavar="K",
                      help="event data: pool KxK pixels (shd: K channels) into one (default: 4 for "
                           "dvsgesture, else 1); --T sets the frames each sample is binned into")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--batch-size", type=int, default=None, metavar="N",
                     help=f"global batch size (default: {d.batch_size})")
    opt.add_argument("--lr", type=float, default=None,
                     help=f"Adam learning rate in (0, 1], cosine-annealed towards 0 (default: {d.lr:g})")
    opt.add_argument("--seed", type=int, default=None,
                     help="seed of weights, batch order, spikes, in 0..2**63-1 (default: 0)")
    opt.add_argument("--device", default=None,
                     help="cpu, cuda, cuda:N (default: cuda if available, else cpu)")
    opt.add_argument("--threads", type=int, default=None, metavar="N",
                     help="CPU threads torch may use (default: 1 for digits on the CPU, whose small "
                          "batches run fastest on one thread and do not suffer when other programs "
                          "share the CPU; torch's choice otherwise)")
    opt.add_argument("--allocator", choices=("kept", "default"), default="kept",
                     help="kept (default): large freed tensors stay in this process for the next step "
                          "instead of going back to the system, at the cost of resident memory "
                          "(spikegrad.memory.keep_freed_memory); default: the C library's own behaviour")
    opt.add_argument("--max-batches", type=int, default=None, help=argparse.SUPPRESS)


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "train",
        help="train a spiking network (default: bundled digits, ~97%% in ~15 s on 2 CPU cores)",
        description="Train a spiking network with a surrogate gradient and report its test accuracy.\n"
                    "The default run trains a spiking MLP of LIF neurons on scikit-learn's bundled\n"
                    "8x8 digits (no download) and reaches about 96-97% test accuracy.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_surrogate_arguments(parser)
    add_import_argument(parser)
    parser.add_argument("--detach-reset", action="store_true", default=None,
                        help="cut the gradient through the neurons' reset")
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help=f"passes over the training set (default: {DEFAULTS.epochs}; with --resume: "
                             "the run's own; more continues the learning-rate schedule without a jump)")
    add_training_arguments(parser)
    runs = parser.add_argument_group("run folder")
    runs.add_argument("--out", metavar="RUN_DIR", default=None,
                      help="where to write the run (default: runs/<timestamp>)")
    runs.add_argument("--resume", metavar="RUN_DIR", default=None,
                      help="continue the run in RUN_DIR from its last checkpoint, with its own settings "
                           f"(only {', '.join(RESUMABLE_FLAGS)} may change)")
    parser.set_defaults(run=run)


# --------------------------------------------------------------------------- checking the flags


def check_positive(args: argparse.Namespace, *names: str) -> None:
    """Refuse integer flags below 1 (``--T 0``) as a one-line :class:`UsageError`."""
    for name in names:
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be an integer >= 1, got {value}")


def check_common(args: argparse.Namespace) -> None:
    """Refuse every given value that argparse's types do not catch, as a :class:`UsageError`.

    Flags left at ``None`` (not given) are not checked here; the config they end in is.
    """
    from ..train.config import MAX_LR, MAX_SEED

    check_positive(args, "T", "hidden", "batch_size", "epochs", "threads", "max_batches", "downsample")
    cpus = os.cpu_count() or 1
    if args.threads is not None and args.threads > cpus:
        raise UsageError(f"--threads must be at most {cpus}, the CPUs of this machine, got {args.threads}")
    if args.tau is not None and not (args.tau > 1 and args.tau < float("inf")):
        raise UsageError(f"--tau must be a finite number > 1, got {args.tau:g}")
    if args.lr is not None and not (0 < args.lr <= MAX_LR):
        raise UsageError(f"--lr must be a finite number in (0, {MAX_LR:g}] (Adam diverges above), "
                         f"got {args.lr:g}")
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer in 0..2**63-1, got {args.seed}")
    if args.out is not None and not args.out.strip():
        raise UsageError("--out must name a folder, got ''")
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        raise UsageError(f"--data-dir {args.data_dir}: no such directory")


def config_from_args(args: argparse.Namespace, base: TrainConfig) -> TrainConfig:
    """The config the flags ask for: ``base`` (the defaults, or a resumed run's config) with every
    flag the user gave applied. A ``--dataset`` other than the base's brings the data set's own
    defaults (its model, encoding, down-sampling) under the flags. Bad surrogate names or
    parameters become a :class:`UsageError`."""
    from ..train.config import TrainConfig
    from ..train.data import DATASETS

    values: dict[str, Any] = base.to_dict()
    if getattr(args, "dataset", None) not in (None, base.dataset):
        values.update(DATASETS[args.dataset].defaults)
    for name in ("dataset", "data_dir", "model", "neuron", "tau", "encoding", "T", "epochs", "batch_size",
                 "lr", "hidden", "seed", "backend", "max_batches", "detach_reset", "downsample"):
        if getattr(args, name, None) is not None:
            values[name] = getattr(args, name)
    given = surrogate_kwargs(args)
    if getattr(args, "surrogate", None) is None:  # the base's surrogate, with parameter flags on top
        kept = {k: v for k, v in base.surrogate_params.items() if k not in given}
        surrogate = build_surrogate(base.surrogate, args, **kept)
    else:
        kept = {}
        surrogate = build_surrogate(args.surrogate, args)
    values["surrogate"] = type(surrogate).function.__name__
    values["surrogate_params"] = {**kept, **given}
    return TrainConfig(**values)


def prepare(config: TrainConfig, device: str | None) -> Split:
    """Validate ``config`` and ``device``, load and check the data, check the memory it needs.

    Raises:
        UsageError: any of these fails (one line).
    """
    from ..datasets import FrameCache
    from ..train import data as D
    from ..train import memory
    from ..train.distributed import check_device, env_rank
    from ..train.models import check_model_input

    def note(text: str) -> None:
        if env_rank() == 0:
            print(f"spikegrad: {text}", file=sys.stderr, flush=True)

    try:
        config.validate()
        dev = check_device(device)
        if config.data_dir is not None and not Path(config.data_dir).is_dir():
            raise ValueError(f"--data-dir {config.data_dir}: no such directory")
        data = D.load_for_config(config, cache=FrameCache(note=note))
        check_model_input(config.model, data.input_shape)
        memory.check(config, data.input_shape, data.n_classes, len(data.train_y), len(data.test_y), dev)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        raise UsageError(str(exc)) from None
    return data


# --------------------------------------------------------------------------- resuming


def _saved_run(run_dir: Path) -> tuple[TrainConfig, int, int]:
    """The config of the run in ``run_dir``, its completed epochs and batches (read-only)."""
    from ..train import checkpoint, rundir
    from ..train.config import TrainConfig

    path = run_dir / checkpoint.CHECKPOINT
    try:
        if path.exists():
            state = checkpoint.load(path)
            values, epochs, batches = state["config"], state["epoch"], state["batch"]
        else:
            values, epochs, batches = rundir.read_config_json(run_dir), 0, 0
        return TrainConfig.from_dict(values), epochs, batches
    except FileNotFoundError as exc:
        raise UsageError(f"--resume {run_dir}: {exc}") from None
    except ValueError as exc:
        hint = ""
        if str(exc).startswith("unknown surrogate"):
            try:
                module = rundir.read_config_json(run_dir).get("surrogate_module")
            except (FileNotFoundError, ValueError):
                module = None
            hint = (f"; the run's surrogate was defined in {module}: add --import {module}" if module
                    else "; add --import MODULE for the module that defines the run's surrogate")
        raise UsageError(f"--resume {run_dir}: {exc}{hint}") from None


def _flag_text(args: argparse.Namespace, name: str, config: TrainConfig) -> str:
    if name == "surrogate":
        given = " ".join(f"--{k} {v:g}" for k, v in surrogate_kwargs(args).items())
        return " ".join(filter(None, (f"--surrogate {args.surrogate}" if args.surrogate else "", given)))
    value = getattr(config, name)
    return f"--{name.replace('_', '-')}" + ("" if isinstance(value, bool) else f" {value}")


def _resumed(args: argparse.Namespace, run_dir: Path) -> TrainConfig:
    """The config to resume with: the run's own, plus the changes a resume may make (or a UsageError)."""
    from ..train.config import RESUMABLE_CHANGES, differences, resumed_config
    from ..train.progress import plural

    saved, epochs, batches = _saved_run(run_dir)
    requested = config_from_args(args, saved)
    for name in differences(saved, requested):
        if name not in RESUMABLE_CHANGES:
            was = repr(saved.make_surrogate()) if name == "surrogate" else repr(getattr(saved, name))
            flag = _flag_text(args, name, requested)
            raise UsageError(f"--resume {run_dir}: {flag} differs from the run's "
                             f"{was}; a resumed run keeps its settings (only {', '.join(RESUMABLE_FLAGS)} "
                             "may change; start a new run with --out for other settings)")
    if requested.epochs != saved.epochs and requested.epochs <= epochs:
        raise UsageError(f"--resume {run_dir}: --epochs {requested.epochs}: the run has completed "
                         f"{plural(epochs, 'epoch')} already; give more to train on "
                         f"(its own: {saved.epochs})")
    resumed_config(saved, requested, epochs, batches)  # what fit will apply; raises nothing now
    return requested


# --------------------------------------------------------------------------- the command


def run(args: argparse.Namespace) -> int:
    from ..train import rundir
    from ..train.config import TrainConfig
    from ..train.distributed import env_rank
    from ..train.errors import RunFolderError, TrainingDiverged, TrainingInterrupted

    load_user_surrogates(args.imports)
    check_common(args)
    if args.allocator == "kept":
        from ..memory import keep_freed_memory

        keep_freed_memory()  # every step makes and frees the same large tensors: keep the pages
    main_process = env_rank() == 0
    if args.resume is not None:
        if args.out is not None:
            raise UsageError("--resume continues a run in its own folder; drop --out")
        run_dir = Path(args.resume)
        if not run_dir.is_dir():
            raise UsageError(f"--resume {args.resume}: no such run folder")
    else:
        run_dir = Path(args.out) if args.out else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    command = f"spikegrad train --resume {shlex.quote(str(run_dir))}"
    try:
        if args.resume is not None:
            with rundir.lock(run_dir) if main_process else contextlib.nullcontext(run_dir):
                config = _resumed(args, run_dir)
                data = prepare(config, args.device)
                _fit(config, run_dir, args, data, resume=True)
        else:
            # Refuse what can be refused before anything is created: a folder in use or holding a
            # run, then the settings, the data and the memory; only then create and lock the folder.
            if run_dir.exists() and not run_dir.is_dir():
                raise UsageError(f"{run_dir} exists and is not a folder")
            if main_process and rundir.holds_run(run_dir):
                with rundir.lock(run_dir):  # a training still living there is named as such
                    _refuse_a_run(run_dir)
            config = config_from_args(args, TrainConfig())
            data = prepare(config, args.device)
            with rundir.lock(run_dir) if main_process else contextlib.nullcontext(run_dir):
                if main_process:
                    _refuse_a_run(run_dir)  # one may have started since the first look
                _fit(config, run_dir, args, data, resume=False)
    except RunFolderError as exc:
        raise UsageError(str(exc)) from None
    except TrainingInterrupted as exc:
        print(f"spikegrad train: {exc}; continue with: {command}", file=sys.stderr)
        return 128 + exc.signal
    except TrainingDiverged as exc:
        print(f"spikegrad train: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C, or one before training started
        print(f"spikegrad train: interrupted; the last checkpoint in {run_dir} (if any) is the resume "
              f"point: {command}", file=sys.stderr)
        return 130
    except (OSError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not _out_of_memory(exc):
            raise
        print(f"spikegrad train: error: {_one_line(exc)}; the last checkpoint in {run_dir} stays the "
              f"resume point: {command}", file=sys.stderr)
        return 1
    return 0


def _refuse_a_run(run_dir: Path) -> None:
    from ..train import rundir

    if rundir.holds_run(run_dir):
        raise UsageError(f"{run_dir} already holds a run; continue it with --resume {run_dir} "
                         "or choose another --out")


def _fit(config: TrainConfig, run_dir: Path, args: argparse.Namespace, data: Split, resume: bool) -> None:
    from ..train.errors import CheckpointError
    from ..train.loop import fit
    from ..train.progress import Progress

    try:
        fit(config, run_dir, resume=resume, device=args.device, progress=Progress(), data=data,
            threads=args.threads if args.threads is not None else "auto")
    except CheckpointError as exc:  # found once the network is built: tensors that do not fit it
        raise UsageError(f"--resume {run_dir}: {exc}") from None


def _out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "can't allocate memory" in str(exc)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"

