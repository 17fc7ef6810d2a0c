"""The surrogate's backward ``grad_out * g'(x)`` as one generated pointwise kernel.

Eager torch evaluates ``g'`` op by op, each a pass over memory; this traces the
definition's ``derivative`` once per (surrogate class, dtype, device) and lets inductor fuse
it into a single pass that reads ``grad_out`` and ``x`` and writes ``grad_x``.
:class:`spikegrad.surrogate.SpikeFunction` uses it for large inputs when no double
backward is recorded; everything else keeps the eager formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from .codegen import compile_pointwise

#: Below this many elements eager torch is as fast, and no kernel is compiled.
MIN_ELEMENTS = 1 << 16

_DEVICES = ("cpu", "cuda")
_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_BAKED: set[type] = set()


def surrogate_grad(definition: type, grad_out: Tensor, x: Tensor, params: Sequence[object]) -> Tensor | None:
    """``grad_out * definition.derivative(x, *params)`` fused, or ``None`` where not supported.

    Supported: plain (non-subclass, non-functorch) contiguous tensors of the same shape and
    dtype on the CPU or CUDA with at least :data:`MIN_ELEMENTS` elements, a deterministic
    surrogate, and number (not tensor) parameters.
    """
    if not _supported(definition, grad_out, x, params):
        return None
    values = list(params)
    dtype = x.dtype
    try:
        kernel, floats = _kernel(definition, values, dtype, x.device, bake=definition in _BAKED)
    except Exception:
        if definition in _BAKED:
            raise
        # The derivative computes with its parameters as Python numbers: bake them in.
        _BAKED.add(definition)
        kernel, floats = _kernel(definition, values, dtype, x.device, bake=True)
    out = torch.empty_like(x)
    kernel(
        grad_out.view(-1),
        x.view(-1),
        torch.tensor(floats, dtype=torch.float64, device=x.device),
        out.view(-1),
    )
    return out


def _kernel(
    definition: type, values: list[object], dtype: torch.dtype, device: torch.device, bake: bool
) -> tuple[Callable[..., object], list[float]]:
    """The kernel and its runtime float parameters; ints (and, if ``bake``, floats) are constants."""
    specs = definition.params  # type: ignore[attr-defined]
    runtime = [not (spec.integer or bake) for spec in specs]
    floats = [float(v) for v, r in zip(values, runtime, strict=True) if r]  # type: ignore[arg-type]
    baked = tuple(v for v, r in zip(values, runtime, strict=True) if not r)

    def grad(g: Tensor, xs: Tensor, p: Tensor, out: Tensor) -> None:
        index = iter(range(len(floats)))
        constants = iter(baked)
        args = [p[next(index)] if r else next(constants) for r in runtime]
        out.copy_(g * definition.derivative(xs, *args))  # type: ignore[attr-defined]

    inputs: list[tuple[Any, torch.dtype]] = [
        ("n", dtype),
        ("n", dtype),
        (len(floats), torch.float64),
        ("n", dtype),
    ]
    kernel = compile_pointwise(("surrogate_grad", definition, baked, dtype), grad, inputs, device)
    return kernel, floats


def _supported(definition: type, grad_out: Tensor, x: Tensor, params: Sequence[object]) -> bool:
    from torch._C._functorch import is_functorch_wrapped_tensor

    return (
        type(x) is Tensor
        and type(grad_out) is Tensor
        and not definition.stochastic  # type: ignore[attr-defined]
        and x.device.type in _DEVICES
        and grad_out.device == x.device
        and x.dtype in _DTYPES
        and grad_out.dtype == x.dtype
        and x.numel() >= MIN_ELEMENTS
        and grad_out.shape == x.shape
        and x.is_contiguous()
        and grad_out.is_contiguous()
        and not any(isinstance(p, Tensor) for p in params)
        and not is_functorch_wrapped_tensor(x)
        and not is_functorch_wrapped_tensor(grad_out)
    )
