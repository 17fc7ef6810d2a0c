"""The surrogate's backward ``grad_out * g'(x)`` as one generated pointwise kernel.

Eager torch evaluates ``g'`` op by op, each a pass over memory; this traces the
definition's ``derivative`` once per (surrogate class, dtype, device) into a one-step
:class:`~.trace.LoopProgram` and runs it with the same C++ / Triton translators as the
neurons: a single pass that reads ``grad_out`` and ``x`` and writes ``grad_x``, with the
float parameters as scalar arguments. :class:`spikegrad.surrogate.SpikeFunction` uses it
for large inputs when no double backward is recorded; everything else keeps the eager formula.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from . import fused_available
from .trace import LoopProgram, Slot

#: Below this many elements eager torch is as fast, and no kernel is compiled.
MIN_ELEMENTS = 1 << 16

_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_KERNELS: dict[Any, Callable[[Sequence[Any], int, int], None] | None] = {}
_LOCK = threading.Lock()


def surrogate_grad(definition: type, grad_out: Tensor, x: Tensor, params: Sequence[object]) -> Tensor | None:
    """``grad_out * definition.derivative(x, *params)`` fused, or ``None`` where not supported.

    Supported: plain (non-subclass, non-functorch) contiguous tensors of the same shape and
    dtype on a device with fused kernels, at least :data:`MIN_ELEMENTS` elements, a
    deterministic surrogate, and number (not tensor) parameters.
    """
    if not _supported(definition, grad_out, x, params):
        return None
    floats = tuple(isinstance(p, float) for p in params)
    baked = tuple(p for p, f in zip(params, floats, strict=True) if not f)
    key = (definition, floats, baked, x.dtype, x.device.type)
    if key not in _KERNELS:
        with _LOCK:
            if key not in _KERNELS:
                _KERNELS[key] = _build(definition, params, floats, x.dtype, x.device)
    run = _KERNELS[key]
    if run is None:
        return None
    out = torch.empty_like(x)
    run([grad_out, x, *(p for p, f in zip(params, floats, strict=True) if f), out], x.numel(), 1)
    return out


def _build(
    definition: Any,
    params: Sequence[object],
    floats: tuple[bool, ...],
    dtype: torch.dtype,
    device: torch.device,
) -> Callable[[Sequence[Any], int, int], None] | None:
    """The kernel, or ``None`` if the derivative cannot be traced with tensor parameters
    (it computes with them as Python numbers) or translated."""
    from torch.fx.experimental.proxy_tensor import make_fx

    from .fused import _compiler
    from .loopgen import Untranslatable

    def grad(g: Tensor, x: Tensor, *scalars: Tensor) -> Tensor:
        it = iter(scalars)
        args = [next(it) if f else p for p, f in zip(params, floats, strict=True)]
        return g * definition.derivative(x, *args)

    n_scalars = sum(floats)
    examples = [torch.zeros(37, dtype=dtype, device=device) for _ in range(2)]
    examples += [torch.zeros((), dtype=torch.float64, device=device) for _ in range(n_scalars)]
    try:
        with torch.no_grad():
            graph = make_fx(grad, tracing_mode="symbolic")(*examples)
    except Exception:
        return None
    inputs = (
        Slot("step", "g", dtype),
        Slot("step", "x", dtype),
        *(Slot("scalar", f"p{i}", torch.float64) for i in range(n_scalars)),
    )
    (output,) = [n for n in graph.graph.nodes if n.op == "output"]
    if not isinstance(output.args[0], tuple | list):
        output.args = ((output.args[0],),)
        graph.recompile()
    program = LoopProgram(graph, inputs, (Slot("step", "grad_x", dtype),))
    try:
        return _compiler(device)(program)
    except Untranslatable:
        return None


def _supported(definition: type, grad_out: Tensor, x: Tensor, params: Sequence[object]) -> bool:
    from torch._C._functorch import is_functorch_wrapped_tensor

    return (
        type(x) is Tensor
        and type(grad_out) is Tensor
        and not definition.stochastic  # type: ignore[attr-defined]
        and x.dtype in _DTYPES
        and grad_out.dtype == x.dtype
        and grad_out.device == x.device
        and x.numel() >= MIN_ELEMENTS
        and grad_out.shape == x.shape
        and x.is_contiguous()
        and grad_out.is_contiguous()
        and not any(isinstance(p, Tensor) for p in params)
        and not is_functorch_wrapped_tensor(x)
        and not is_functorch_wrapped_tensor(grad_out)
        and fused_available(x.device, x.dtype) is None
    )
