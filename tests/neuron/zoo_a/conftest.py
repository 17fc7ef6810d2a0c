"""Settings of this zoo's tests: Triton's interpreter, as in tests/kernels (it must be chosen
before ``triton`` is first imported, so at collection), for the Triton translation of the
multi-state neurons on machines without CUDA."""

from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
