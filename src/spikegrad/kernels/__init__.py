"""Kernels for multi-step neurons.

``reference`` is the plain loop over :func:`spikegrad.neuron.dynamics.step` (the oracle).
``fused`` runs all T steps in one autograd node with generated kernels (C++ on the CPU,
Triton on CUDA), saving only the charge ``h`` per step. :func:`multi_step` picks one by name.
"""

from __future__ import annotations

from torch import Tensor

from ..neuron.dynamics import Dynamics, Surrogate

BACKENDS = ("reference", "fused")


def multi_step(
    backend: str,
    dyn: Dynamics,
    surrogate: Surrogate,
    x_seq: Tensor,
    v: Tensor | float,
    k: Tensor | float,
    store_v_seq: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Run T steps with the named backend; returns ``(spikes, final v, v_seq or None)``."""
    if backend == "reference":
        from .reference import multi_step as run
    elif backend == "fused":
        from .fused import multi_step as run  # type: ignore[no-redef]
    else:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return run(dyn, surrogate, x_seq, v, k, store_v_seq)
