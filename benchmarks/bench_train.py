"""One training step (forward, backward, SGD step) of a small convolutional SNN, T = 8, batch 32.

Run from the repository root: ``python benchmarks/bench_train.py [--threads 1 2] [--markdown FILE] ...``
(every flag of ``spikegrad bench`` except ``--cases``).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from _common import main

    sys.exit(main(__file__, ["train"], __doc__.splitlines()[0]))
