"""A LIF layer over T = 8, 32, 128 steps (batch 64 x 1024 neurons), forward + backward.

Run from the repository root: ``python benchmarks/bench_lif.py [--threads 1 2] [--markdown FILE] ...``
(every flag of ``spikegrad bench`` except ``--cases``).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from _common import main

    sys.exit(main(__file__, ["lif"], __doc__.splitlines()[0]))
