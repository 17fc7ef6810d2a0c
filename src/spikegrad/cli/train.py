"""``spikegrad train``: train a spiking network, by default on scikit-learn's bundled digits."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..train.defaults import DEFAULTS
from . import UsageError
from ._surrogate_args import add_surrogate_arguments, build_surrogate, surrogate_kwargs

EPILOG = """\
examples:
  spikegrad train                                   # digits, spiking MLP, atan surrogate (~15 s)
  spikegrad train --surrogate sigmoid --alpha 4 --neuron plif --detach-reset
  spikegrad train --model conv --encoding direct --T 4
  spikegrad train --dataset mnist --data-dir ~/data/mnist --epochs 5 --device cuda
  spikegrad train --resume runs/20260101-120000 --epochs 30   # continue a run (more epochs)
  torchrun --nproc_per_node 2 -m spikegrad.cli train        # data-parallel, 2 processes

A run folder (--out, default runs/<timestamp>) receives config.json, metrics.json, metrics.csv,
checkpoint.pt (rewritten atomically after every epoch) and curve.png.
"""


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The network, data and optimisation flags shared by ``train`` and ``compare``."""
    from ..train.defaults import DEFAULTS as d

    net = parser.add_argument_group("network and input")
    net.add_argument("--model", choices=("mlp", "conv"), default=d.model,
                     help=f"spiking MLP (one hidden layer) or conv net (default: {d.model})")
    net.add_argument("--neuron", choices=("if", "lif", "plif"), default=d.neuron,
                     help=f"integrate-and-fire, leaky, or leaky with learned tau (default: {d.neuron})")
    net.add_argument("--tau", type=float, default=d.tau,
                     help=f"membrane time constant, > 1 (default: {d.tau:g})")
    net.add_argument("--hidden", type=int, default=d.hidden, metavar="N",
                     help=f"width of the hidden spiking layer (default: {d.hidden})")
    net.add_argument("--T", type=int, default=d.T, metavar="STEPS",
                     help=f"time steps per sample (default: {d.T})")
    net.add_argument("--encoding", choices=("poisson", "direct"), default=d.encoding,
                     help="poisson: random spikes with pixel-value probability; direct: the analog "
                          f"image at every step (default: {d.encoding})")
    net.add_argument("--backend", choices=("reference", "fused"), default=None,
                     help="the neurons' multi-step kernel (default: the neurons' default)")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", choices=("digits", "mnist", "fashion-mnist"), default="digits",
                      help="digits: scikit-learn's 1,797 8x8 images, bundled (default); mnist, "
                           "fashion-mnist: the IDX files in --data-dir")
    data.add_argument("--data-dir", metavar="DIR", default=None,
                      help="folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                           "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may be .gz)")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--batch-size", type=int, default=d.batch_size, metavar="N",
                     help=f"global batch size (default: {d.batch_size})")
    opt.add_argument("--lr", type=float, default=d.lr,
                     help=f"Adam learning rate, cosine-annealed to 0 (default: {d.lr:g})")
    opt.add_argument("--seed", type=int, default=0, help="seed of weights, batch order, spikes (default: 0)")
    opt.add_argument("--device", default=None,
                     help="cpu, cuda, cuda:N (default: cuda if available, else cpu)")
    opt.add_argument("--threads", type=int, default=None, metavar="N",
                     help="CPU threads torch may use (default: 1 for digits, whose small batches "
                          "run fastest on one thread and do not suffer when other programs share "
                          "the CPU; torch's choice for the other data sets)")
    opt.add_argument("--max-batches", type=int, default=None, help=argparse.SUPPRESS)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a spiking network (default: bundled digits, ~97%% in ~15 s on 2 CPU cores)",
        description="Train a spiking network with a surrogate gradient and report its test accuracy. "
                    "The default run trains a spiking MLP of LIF neurons on scikit-learn's bundled "
                    "8x8 digits (no download) and reaches about 96-97% test accuracy.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_surrogate_arguments(parser)
    parser.add_argument("--detach-reset", action="store_true",
                        help="cut the gradient through the neurons' reset")
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help=f"passes over the training set (default: {DEFAULTS.epochs}; with --resume: "
                             "the run's own)")
    add_training_arguments(parser)
    runs = parser.add_argument_group("run folder")
    runs.add_argument("--out", metavar="RUN_DIR", default=None,
                      help="where to write the run (default: runs/<timestamp>)")
    runs.add_argument("--resume", metavar="RUN_DIR", default=None,
                      help="continue the run in RUN_DIR from its last checkpoint, with its config "
                           "(--epochs, --device, --threads may change)")
    parser.set_defaults(run=run)


def check_positive(args: argparse.Namespace, *names: str) -> None:
    """Refuse integer flags below 1 (``--T 0``) as a one-line :class:`UsageError`."""
    for name in names:
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be an integer >= 1, got {value}")


def check_common(args: argparse.Namespace) -> None:
    """Refuse bad values that argparse's types do not catch, as a :class:`UsageError`."""
    check_positive(args, "T", "hidden", "batch_size", "epochs", "threads", "max_batches")
    if not (args.tau > 1 and args.tau < float("inf")):
        raise UsageError(f"--tau must be a finite number > 1, got {args.tau:g}")
    if not (args.lr > 0 and args.lr < float("inf")):
        raise UsageError(f"--lr must be a finite number > 0, got {args.lr:g}")
    if args.dataset != "digits":
        if args.data_dir is None:
            raise UsageError(f"--dataset {args.dataset} needs --data-dir DIR (a folder with its IDX files)")
        if not Path(args.data_dir).is_dir():
            raise UsageError(f"--data-dir {args.data_dir}: no such directory")
    elif args.data_dir is not None:
        raise UsageError("--data-dir applies to --dataset mnist or fashion-mnist only")


def _config_from_args(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ..train.loop import TrainConfig

    surrogate = build_surrogate(args.surrogate, args)  # UsageError for unknown names, bad values
    return TrainConfig(
        dataset=args.dataset, data_dir=args.data_dir, model=args.model, neuron=args.neuron, tau=args.tau,
        surrogate=type(surrogate).function.__name__, surrogate_params=surrogate_kwargs(args),
        detach_reset=args.detach_reset, encoding=args.encoding, T=args.T,
        epochs=args.epochs if args.epochs is not None else DEFAULTS.epochs, batch_size=args.batch_size,
        lr=args.lr, hidden=args.hidden, seed=args.seed, backend=args.backend, max_batches=args.max_batches,
    )


def set_threads(threads: int | None, dataset: str) -> None:
    """Apply ``--threads`` (default: 1 for digits, else torch's choice)."""
    import torch

    if threads is None and dataset == "digits":
        threads = 1
    if threads is not None:
        torch.set_num_threads(threads)


def prepare(config, device: str | None):  # type: ignore[no-untyped-def]
    """Validate ``config`` and ``device`` and load the data; bad input becomes a :class:`UsageError`."""
    from ..train import data as D
    from ..train.distributed import check_device

    try:
        config.validate()
        check_device(device)
        return D.load_dataset(config.dataset, config.data_dir)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from ..train import checkpoint
    from ..train.loop import TrainConfig, fit
    from ..train.progress import Progress

    check_positive(args, "epochs", "threads", "max_batches")
    if args.resume is not None:
        if args.out is not None:
            raise UsageError("--resume continues a run in its own folder; drop --out")
        run_dir = Path(args.resume)
        try:
            state = checkpoint.load(run_dir / checkpoint.CHECKPOINT)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(f"--resume {args.resume}: {exc}") from None
        config = TrainConfig.from_dict(state["config"])
        if args.epochs is not None:
            config.epochs = args.epochs
        if args.max_batches is not None:
            config.max_batches = args.max_batches
    else:
        check_common(args)
        config = _config_from_args(args)
        run_dir = Path(args.out) if args.out else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
        if (run_dir / checkpoint.CHECKPOINT).exists():
            raise UsageError(f"{run_dir} already holds a run; continue it with --resume {run_dir} "
                             "or choose another --out")
    set_threads(args.threads, config.dataset)
    data = prepare(config, args.device)
    fit(config, run_dir, resume=args.resume is not None, device=args.device, progress=Progress(), data=data)
    return 0
