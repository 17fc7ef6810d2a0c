"""``spikegrad eval``: score a saved run on its test set (accuracy per class, confusion matrix, activity)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import UsageError
from ._imports import add_import_argument, load_user_surrogates

EPILOG = """\
examples:
  spikegrad eval runs/20260101-120000                   # the run's last checkpoint
  spikegrad eval runs/a --checkpoint best               # best.pt instead
  spikegrad eval runs/a --data-dir /scratch/N-MNIST     # the data set moved since training
  spikegrad eval runs/a --device cuda --energy 45nm-int8

Prints the test accuracy (the same as the run recorded for that epoch: same batches, same Poisson
noise), the accuracy of each class, and each layer's firing rate, synaptic operations and energy
estimate per sample; writes eval.json and confusion.png (eval-best.json and confusion-best.png for
--checkpoint best) into the run folder, or into --out. Works on runs trained on a CPU or a GPU.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from ..activity import DEFAULT_ENERGY, ENERGY_MODELS
    from ..train.evaluation import CHECKPOINTS

    parser = subparsers.add_parser(
        "eval",
        help="evaluate a saved run: test accuracy per class, confusion matrix, firing rates, energy",
        description="Evaluate a run of `spikegrad train` on its test set: accuracy, per-class accuracy,\n"
                    "a confusion-matrix PNG, and the network's activity (firing rate per layer,\n"
                    "synaptic operations and an energy estimate per sample).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (holds checkpoint.pt)")
    parser.add_argument("--checkpoint", choices=tuple(CHECKPOINTS), default="last",
                        help="last: checkpoint.pt, the run's result (default); best: best.pt")
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="where the data set is now, if it moved since training")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda, cuda:N (default: cuda if available, else cpu)")
    parser.add_argument("--energy", choices=tuple(ENERGY_MODELS), default=DEFAULT_ENERGY.name,
                        help="energy per operation (Horowitz, ISSCC 2014, 45 nm): 32-bit float, 32-bit "
                             f"or 8-bit integer arithmetic (default: {DEFAULT_ENERGY.name})")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder for eval.json and confusion.png (default: RUN_DIR)")
    add_import_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..activity import ENERGY_MODELS
    from ..datasets import FrameCache
    from ..train import data as D
    from ..train.errors import CheckpointError
    from ..train.evaluation import evaluate_run, load_run, write_evaluation
    from ..train.progress import Progress

    load_user_surrogates(args.imports)
    run_dir = Path(args.run_dir)
    out = Path(args.out) if args.out is not None else run_dir
    if args.out is not None and not out.is_dir():
        raise UsageError(f"--out {args.out}: no such directory")
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        raise UsageError(f"--data-dir {args.data_dir}: no such directory")
    progress = Progress()
    try:
        config, _, _ = load_run(run_dir, args.checkpoint)
        cache = FrameCache(note=lambda text: print(f"spikegrad: {text}", file=sys.stderr))
        data = D.load_for_config(config, args.data_dir, cache=cache)
        evaluation = evaluate_run(run_dir, checkpoint=args.checkpoint, device=args.device, data=data,
                                  energy=ENERGY_MODELS[args.energy], progress=progress)
    except (CheckpointError, FileNotFoundError, ImportError) as exc:
        raise UsageError(str(exc)) from None
    except (ValueError, TypeError) as exc:
        raise UsageError(_with_import_hint(str(exc), run_dir)) from None
    progress.line(evaluation.summary())
    try:
        paths = write_evaluation(evaluation, out)
    except OSError as exc:
        raise UsageError(f"cannot write into {out}: {exc.strerror or exc}; choose another --out") from None
    if "png" not in paths:
        progress.line("confusion.png skipped: matplotlib is not installed (pip install matplotlib)")
    progress.line(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _with_import_hint(message: str, run_dir: Path) -> str:
    """Add which ``--import`` is missing when the run's surrogate is unknown here."""
    if "unknown surrogate" not in message:
        return message
    from ..train import rundir

    try:
        module = rundir.read_config_json(run_dir).get("surrogate_module")
    except (FileNotFoundError, ValueError):
        module = None
    hint = f"add --import {module}" if module else "add --import MODULE for the module that defines it"
    return f"{message}; the run's surrogate is a custom one: {hint}"
