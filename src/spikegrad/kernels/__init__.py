"""Kernels for neurons: the reference loop and the fused kernels, and the choice between them.

``reference`` calls the neuron's step once per time step (autograd differentiates it): the
oracle. ``fused`` runs all T steps, forward and backward, each in one generated kernel
(C++ on the CPU, Triton on CUDA) traced from that same step. ``auto`` (the default) runs
the fused kernels where they can be built and otherwise the reference loop, saying once why.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from . import reference

BACKENDS = ("auto", "fused", "reference")

__all__ = ["BACKENDS", "fused_available", "multi_step", "route", "single_step", "triton_on_cpu", "unfusable"]


def multi_step(node: Any, x_seq: Tensor, store_v_seq: bool = False) -> tuple[Tensor, Tensor | None]:
    """Run ``T = x_seq.shape[0] >= 1`` steps of ``node`` with its backend; updates its state.

    Returns ``(outputs [T, *shape], v_seq or None)``.
    """
    if node.backend != "reference" and torch.compiler.is_compiling():
        from .compiled import neuron_loop

        out, finals, v_seq = neuron_loop(node, x_seq, store_v_seq)
        for name, value in zip(node.state_names(), finals, strict=True):
            setattr(node, name, value)
        return out, v_seq
    if node.backend != "reference":
        from . import fused

        plan = fused.lookup(node, x_seq, store_v_seq)  # the common case: this neuron ran fused before
        if plan is not None or _use_fused(node, x_seq):
            return fused.multi_step(node, x_seq, store_v_seq, plan)
    return reference.multi_step(node, x_seq, store_v_seq)


def single_step(node: Any, x: Tensor) -> Tensor:
    """One step of ``node`` with its backend (the fused kernels with ``T = 1``)."""
    if node.step_method == "step" and node.backend != "reference" and torch.compiler.is_compiling():
        out, _ = multi_step(node, x.unsqueeze(0))
        return out[0]
    if node.step_method == "step" and node.backend != "reference":
        from . import fused

        x_seq = x.unsqueeze(0)
        plan = fused.lookup(node, x_seq, False)
        if plan is not None or _use_fused(node, x):
            return fused.multi_step(node, x_seq, False, plan)[0][0]
    return reference.single_step(node, x)


def _use_fused(node: Any, x: Tensor) -> bool:
    backend = node.backend
    if backend == "reference":
        return False
    reason = unfusable(node, x)
    if reason is None:
        return True
    if backend == "fused":
        raise RuntimeError(f"{type(node).__name__}(backend='fused'): {reason}")
    if not _stochastic(node):  # that one is by design; a missing compiler is worth a word
        _warn_once(reason)
    return False


def _stochastic(node: Any) -> bool:
    from ..surrogate import Surrogate

    sg = node._modules.get("surrogate_function")
    return isinstance(sg, Surrogate) and type(sg).stochastic


def unfusable(node: Any, x: Tensor) -> str | None:
    """Why ``node`` cannot run fused on ``x`` (``None`` if it can)."""
    if _stochastic(node):
        return (
            f"{type(node.surrogate_function).__name__} draws random numbers at every step from torch's "
            "generator, so its neurons run the reference loop; use backend='auto' or 'reference'"
        )
    return fused_available(x.device, x.dtype)


def fused_available(device: torch.device, dtype: torch.dtype) -> str | None:
    """Why fused kernels cannot run on ``device`` for ``dtype`` (``None`` if they can)."""
    return _availability(device.type, dtype, route(device))


@functools.cache
def _availability(device_type: str, dtype: torch.dtype, how: str | None) -> str | None:
    if how == "triton":
        from . import triton_loop

        if not triton_loop.available():
            return "the fused CUDA kernels need Triton (pip install triton); running the reference loop"
        return None
    if how is None:
        return f"no fused kernels for device {device_type!r}; running the reference loop"
    from . import cpp_loop

    if not cpp_loop.supported(dtype):
        return f"no fused CPU kernels for {dtype}; running the reference loop"
    try:
        cpp_loop.compiler()
    except cpp_loop.CompilerMissing as exc:
        return f"{exc}. Running the reference loop (slower)"
    return None


#: The CPU runs the Triton kernels (through Triton's interpreter) instead of the C++ ones:
#: how CI tests the GPU kernels. Set at import from ``SPIKEGRAD_TRITON_ON_CPU=1`` together
#: with ``TRITON_INTERPRET=1``; tests switch it with :func:`triton_on_cpu`.
_TRITON_ON_CPU = [
    os.environ.get("TRITON_INTERPRET") == "1" and os.environ.get("SPIKEGRAD_TRITON_ON_CPU") == "1"
]


def route(device: torch.device) -> str | None:
    """Which kernels run on ``device``: ``"cpp"``, ``"triton"``, or ``None`` (none fused)."""
    if device.type == "cuda":
        return "triton"
    if device.type == "cpu":
        return "triton" if _TRITON_ON_CPU[0] else "cpp"
    return None


@contextlib.contextmanager
def triton_on_cpu(enabled: bool = True) -> Iterator[None]:
    """Run the Triton kernels on the CPU (``TRITON_INTERPRET=1`` must be set before triton is imported)."""
    before = _TRITON_ON_CPU[0]
    _TRITON_ON_CPU[0] = enabled
    try:
        yield
    finally:
        _TRITON_ON_CPU[0] = before


@functools.cache
def _warn_once(reason: str) -> None:
    warnings.warn(reason, RuntimeWarning, stacklevel=4)
