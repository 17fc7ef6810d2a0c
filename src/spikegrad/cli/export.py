"""``spikegrad export``: write a trained run's network as a NIR graph for other simulators and chips."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import UsageError

EPILOG = """\
examples:
  spikegrad export runs/20260101-120000 --nir digits.nir
  spikegrad export runs/20260101-120000 --nir digits.nir --dt 1e-3
  spikegrad export runs/20260101-120000 --nir best.nir --checkpoint best   # best.pt's weights

The graph is the network for one time step, its last node the readout (an Affine node); the
class scores of a sample are the mean of the readout's outputs over the T steps. Read it back
with spikegrad.nir_exchange.import_from_nir, SpikingJelly's or snnTorch's import_from_nir, or
any NIR reader. Needs the nir package: pip install 'spikegrad[nir]'.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "export",
        help="write a trained run's network as a NIR graph",
        description="Rebuild the network of a training run (config.json, checkpoint.pt) and write it as\n"
        "a NIR file (the Neuromorphic Intermediate Representation), which SpikingJelly, snnTorch,\n"
        "Norse, Sinabs, Lava and neuromorphic chips read.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder of spikegrad train")
    parser.add_argument("--nir", type=Path, required=True, metavar="FILE", help="the NIR file to write")
    parser.add_argument(
        "--dt",
        type=float,
        default=1e-4,
        help="time step in seconds that time constants are written against (default: 1e-4, "
        "as SpikingJelly and snnTorch read them)",
    )
    parser.add_argument(
        "--checkpoint",
        choices=("last", "best"),
        default="last",
        help="last: checkpoint.pt, the run's result (default); best: best.pt",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="where the run's data set is now, if it moved (the input shape is read from it)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from ..nir_exchange.runs import export_run

        graph = export_run(
            args.run_dir, args.nir, dt=args.dt, checkpoint=args.checkpoint, data_dir=args.data_dir
        )
    except (ImportError, ValueError, TypeError, OSError) as exc:
        raise UsageError(str(exc)) from None
    kinds = [type(node).__name__ for name, node in graph.nodes.items() if name not in ("input", "output")]
    print(f"{args.nir}: {len(kinds)} NIR nodes ({', '.join(kinds)}), dt = {args.dt:g} s")
    return 0
