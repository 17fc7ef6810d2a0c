"""Shared entry point of the scripts in this folder: ``spikegrad bench`` with some cases preset.

The scripts run from a checkout without installing spikegrad (``src/`` is put on the path
when ``import spikegrad`` fails). Importing any of them has no side effect.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path


def main(script: str, cases: Sequence[str] | None, description: str,
         argv: Sequence[str] | None = None) -> int:
    """Parse ``spikegrad bench``'s flags (``--cases`` preset unless ``cases`` is None) and run it.

    Args:
        script: the calling script's ``__file__`` (for the command line in the report).
        cases: the case kinds this script runs, or ``None`` to take ``--cases`` from the flags.
        description: the ``--help`` text.
        argv: the flags (default: ``sys.argv[1:]``).
    """
    try:
        import spikegrad  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from spikegrad.cli import UsageError, bench

    parser = argparse.ArgumentParser(description=description)
    bench.add_arguments(parser)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if cases is not None:
        args.cases = list(cases)
    command = shlex.join(["python", f"benchmarks/{Path(script).name}", *argv])
    try:
        return bench.run(args, command=command)
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
