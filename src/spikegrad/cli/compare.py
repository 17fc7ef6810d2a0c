"""``spikegrad compare``: accuracy vs surrogate shape and scale, detached vs differentiable reset."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from . import UsageError
from ._imports import add_import_argument, load_user_surrogates
from .train import add_training_arguments, check_common, check_positive

EPILOG = """\
examples:
  spikegrad compare                                  # 5 shapes x 5 scales x 2 resets on digits
  spikegrad compare --shapes atan,fast_sigmoid --scales 0.1,1,10 --seeds 3
  spikegrad compare --epochs 10 --out compare-long

Each run trains the same network from the same seed; only the surrogate and the reset differ.
The scale multiplies the shape's first parameter (its steepness alpha for atan, sigmoid,
piecewise_quadratic and rect; its height for super_spike), so the peak gradient is scale x 1.
Writes compare.csv (every run), compare.md (table) and compare.png (plot) into --out.
Reference: Zenke & Vogels (2021), Neural Computation 33:899.
"""


def _float_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers, got {text!r}") from None
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers > 0, got {text!r}")
    return values


def _name_list(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError("needs at least one surrogate name")
    return names


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ..train.compare import DEFAULT_SCALES, DEFAULT_SHAPES

    parser = subparsers.add_parser(
        "compare",
        help="train with many surrogate shapes and scales; table and plot of accuracy",
        description="Train the same spiking network with several surrogate shapes, each at several\n"
                    "scales, with detached and differentiable reset, and tabulate and plot the test\n"
                    "accuracy: is learning robust to the surrogate's shape, sensitive to its scale?",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--shapes", type=_name_list, default=list(DEFAULT_SHAPES), metavar="A,B,...",
                        help=f"surrogate names (default: {','.join(DEFAULT_SHAPES)})")
    parser.add_argument("--scales", type=_float_list, default=list(DEFAULT_SCALES), metavar="X,Y,...",
                        help=f"scale factors (default: {','.join(f'{c:g}' for c in DEFAULT_SCALES)})")
    parser.add_argument("--resets", choices=("both", "detached", "differentiable"), default="both",
                        help="which reset modes to train (default: both)")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="repeat each run with seeds SEED..SEED+N-1 (--seed, default 0) and average "
                             "(default: 1)")
    parser.add_argument("--epochs", type=int, default=5, metavar="N",
                        help="epochs per run (default: 5)")
    add_training_arguments(parser)
    add_import_argument(parser)
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: runs/compare-<timestamp>)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..train import rundir
    from ..train.compare import run_compare, scaled_surrogate, spread_sentence, summary, write_report
    from ..train.config import MAX_SEED, TrainConfig
    from ..train.errors import RunFolderError
    from ..train.progress import Progress, plural
    from .train import config_from_args, prepare

    load_user_surrogates(args.imports)
    check_common(args)
    check_positive(args, "seeds")
    if args.seed is not None and args.seed + args.seeds - 1 > MAX_SEED:
        raise UsageError(f"--seed {args.seed} with --seeds {args.seeds} goes past the largest seed, 2**63-1")
    for shape in args.shapes:
        try:
            scaled_surrogate(shape, 1.0)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    config = config_from_args(args, TrainConfig(epochs=args.epochs))
    first_seed, config.seed = config.seed, 0
    data = prepare(config, args.device)
    resets = {"both": (True, False), "detached": (True,), "differentiable": (False,)}[args.resets]
    out = Path(args.out) if args.out else Path("runs") / time.strftime("compare-%Y%m%d-%H%M%S")
    try:
        rundir.create(out)  # now, not after an hour of training
    except RunFolderError as exc:
        raise UsageError(str(exc)) from None
    progress = Progress()
    n = len(args.shapes) * len(args.scales) * len(resets) * args.seeds
    progress.line(f"compare: {plural(n, 'run')} of {plural(args.epochs, 'epoch')} ({config.model}, "
                  f"{config.neuron.upper()}, {config.encoding} T={config.T}, {data.name})")
    t0 = time.perf_counter()
    seeds = range(first_seed, first_seed + args.seeds)
    rows = run_compare(config, args.shapes, args.scales, resets, seeds, device=args.device,
                       progress=progress, data=data, threads=args.threads if args.threads else "auto")
    title = (f"{data.name}, {config.model} of {config.neuron.upper()} neurons, T={config.T}, "
             f"{plural(config.epochs, 'epoch')}")
    paths = write_report(rows, out, title=title)
    progress.line(paths["md"].read_text().rstrip())
    progress.line(f"done in {time.perf_counter() - t0:.0f} s: {spread_sentence(summary(rows))}; "
                  f"wrote {paths['md']}, {paths['csv']}, {paths['png']}")
    return 0
