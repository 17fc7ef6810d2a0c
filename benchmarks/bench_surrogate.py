"""A surrogate (ATan) alone, forward + backward, at 2^22 and 2^24 float32 elements.

Run from the repository root: ``python benchmarks/bench_surrogate.py [--threads 1 2] [--markdown FILE] ...``
(every flag of ``spikegrad bench`` except ``--cases``).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from _common import main

    sys.exit(main(__file__, ["surrogate"], __doc__.splitlines()[0]))
