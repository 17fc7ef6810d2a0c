"""Settings of these neuron tests: as in tests/kernels, Triton's interpreter is chosen before
``triton`` is first imported, on machines without CUDA, so that the Triton translation of
these neurons runs on the CPU (test_triton.py)."""

from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
