"""Settings of the kernel tests.

Triton's interpreter must be chosen before ``triton`` is first imported (its library
functions are decorated at import), and inductor may import it while compiling: so
``TRITON_INTERPRET=1`` is set here, at collection, on machines without CUDA. It only
changes how Triton kernels run; CPU code never uses Triton otherwise.
"""

from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
