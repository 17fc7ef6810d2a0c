"""Pointwise kernels generated from plain torch functions.

A *step function* is written once in ordinary torch ops over flat, contiguous 1-D tensors
(it may write its results into output tensors with ``copy_``). :func:`compile_pointwise`
traces it with ``make_fx`` in symbolic mode, so one trace is valid for every length ``N``,
and hands the graph to inductor, which fuses it into a single loop: vectorised C++ on the
CPU, a Triton kernel on CUDA. Compiled kernels are kept in a dict keyed by what changes
the graph (surrogate class, dtype, device, variant), never by parameter values or sizes,
which travel as runtime tensors.

Why not ``torch.compile``: Dynamo's guards and wrapper cost several milliseconds per call,
and unrolling all time steps into one graph takes minutes to compile. A pointwise graph
per step compiles in 1-3 s (then inductor's on-disk cache, ``TORCHINDUCTOR_CACHE_DIR``,
serves later processes) and costs ~25 us per call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence

import torch
from torch import Tensor

#: Example length used when tracing: distinct from every other traced size, so that
#: duck shaping gives the flat tensors one shared symbolic size and nothing else.
_TRACE_N = 37

_KERNELS: dict[Hashable, Callable[..., object]] = {}
_LOCK = threading.Lock()

#: (name, shape) of one kernel input: ``shape`` is ``"n"`` for a flat tensor of the step's
#: length, an int for a 1-D vector of that length, or ``()`` for a 0-dim tensor.
InputSpec = tuple[str, "str | int | tuple[()]"]


def _example(shape: str | int | tuple[()], dtype: torch.dtype, device: torch.device) -> Tensor:
    if shape == "n":
        return torch.zeros(_TRACE_N, dtype=dtype, device=device)
    if shape == ():
        return torch.zeros((), dtype=dtype, device=device)
    return torch.zeros(int(shape), dtype=dtype, device=device)  # type: ignore[arg-type]


def compile_pointwise(
    key: Hashable,
    fn: Callable[..., object],
    inputs: Sequence[tuple[str | int | tuple[()], torch.dtype]],
    device: torch.device,
) -> Callable[..., object]:
    """Return the compiled kernel for ``key``, tracing and compiling ``fn`` on first use.

    Args:
        key: everything that changes the traced graph (the caller's choice, hashable).
        fn: a function of tensors in pointwise torch ops (``copy_`` into inputs allowed).
        inputs: per positional argument, its shape kind (``"n"``, a length, or ``()``)
            and dtype.
        device: where the kernel runs (``cpu`` gives C++, ``cuda`` Triton).

    Returns:
        A callable taking the same positional tensors as ``fn``.
    """
    full_key = (key, device.type)
    kernel = _KERNELS.get(full_key)
    if kernel is not None:
        return kernel
    with _LOCK:
        kernel = _KERNELS.get(full_key)
        if kernel is None:
            kernel = _build(fn, inputs, device)
            _KERNELS[full_key] = kernel
    return kernel


def trace(
    fn: Callable[..., object],
    inputs: Sequence[tuple[str | int | tuple[()], torch.dtype]],
    device: torch.device,
) -> torch.fx.GraphModule:
    """The aten graph of ``fn`` over flat tensors of a symbolic length (``make_fx``)."""
    from torch.fx.experimental.proxy_tensor import make_fx

    examples = [_example(shape, dtype, device) for shape, dtype in inputs]
    with torch.no_grad():
        return make_fx(fn, tracing_mode="symbolic")(*examples)


def _build(
    fn: Callable[..., object],
    inputs: Sequence[tuple[str | int | tuple[()], torch.dtype]],
    device: torch.device,
) -> Callable[..., object]:
    from torch._inductor import config
    from torch._inductor.compile_fx import compile_fx

    graph = trace(fn, inputs, device)
    fakes = [node.meta["val"] for node in graph.graph.nodes if node.op == "placeholder"]
    half = any(dtype in (torch.float16, torch.bfloat16) for _, dtype in inputs)
    # Half types: round after every op as eager torch does, so fused == reference.
    with config.patch(emulate_precision_casts=half):
        return compile_fx(graph, fakes)  # type: ignore[return-value]


def clear_cache() -> None:
    """Forget every compiled kernel of this process (inductor's disk cache stays)."""
    with _LOCK:
        _KERNELS.clear()


def cached_kernels() -> int:
    """How many kernels this process has compiled (tests use it to check reuse)."""
    return len(_KERNELS)
