"""Every benchmark case: the same as ``spikegrad bench``, from a checkout.

Run from the repository root: ``python benchmarks/run_all.py [--quick] [--threads 1 2]
[--cases surrogate lif train] [--rounds N] [--markdown FILE] ...``. The table in
docs/benchmarks.md comes from this script.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from _common import main

    sys.exit(main(__file__, None, __doc__.splitlines()[0]))
