"""Custom surrogates from one definition: a derivative, or only a primitive.

Example:
    >>> import torch
    >>> from spikegrad import surrogate
    >>> @surrogate.from_derivative
    ... def Hat(x, width=1.0):
    ...     return torch.clamp(1 - x.abs() / width, min=0)
    >>> Hat(width=0.5)
    Hat(width=0.5, spiking=True)
    >>> round(Hat().area, 4)
    1.0
"""

from __future__ import annotations

import functools
import inspect
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from ._base import Param, ParamValue, Surrogate, peak_and_area_numerically, real

ShapeFn = Callable[..., Tensor]


def define(
    name: str,
    *,
    derivative: ShapeFn | None = None,
    primitive: ShapeFn | None = None,
    params: Sequence[Param] | None = None,
    peak: Callable[..., ParamValue] | None = None,
    area: Callable[..., ParamValue] | None = None,
    breakpoints: Callable[..., list[float]] | None = None,
    smooth: bool = False,
    origin: str = "custom",
    module: str | None = None,
) -> type[Surrogate]:
    """Make a first-class surrogate class from a derivative and/or a primitive.

    The result is a :class:`Surrogate` subclass like every built-in: module style
    (``Name(alpha=...)``), functional style (``Name.function.apply(x, alpha)``), ``spiking``
    flag, validation, ``repr``, ``peak``/``area``, plots, and the fused neuron kernels.

    Args:
        name: class name (CamelCase); it is registered under this name, so
            ``surrogate.get(name)`` and ``spikegrad plot NAME`` find it.
        derivative: ``g'(x, *params)`` in torch ops. If omitted, it is derived from
            ``primitive`` by autograd (one reverse-mode pass).
        primitive: ``g(x, *params)``; optional when ``derivative`` is given (then
            ``spiking=False`` is unavailable).
        params: the parameters with their ranges; by default read from the signature of
            the function given (every parameter after ``x`` needs a default) and allowed to
            be any finite number.
        peak, area: ``f(*params)`` in closed form; by default estimated numerically on a dense
            float64 grid (see :func:`peak_and_area_numerically`).
        breakpoints: ``f(*params) -> [x, ...]`` where ``g'`` has kinks (used by tests).
        smooth: ``g'`` is differentiable (double backward is meaningful).
        origin: shown in the catalogue table.
        module: module the class claims to live in (for pickling); default: the caller's.

    Returns:
        The new class. Assign it to a module-level name equal to ``name`` so pickle finds it.

    Raises:
        ValueError: neither function given, bad name, or a parameter without a default.
    """
    if not name.isidentifier() or not name[0].isupper():
        raise ValueError(f"a surrogate's name must be a CamelCase identifier, got {name!r}")
    if derivative is None and primitive is None:
        raise ValueError(f"surrogate {name!r} needs a derivative, a primitive, or both")
    if params is None:
        params = _params_from_signature(name, derivative or primitive)  # type: ignore[arg-type]
    names = [p.name for p in params]

    if derivative is None:
        derivative = _derivative_by_autograd(primitive)  # type: ignore[arg-type]

    @functools.lru_cache(maxsize=64)
    def at_point(*values: float) -> tuple[float, float]:
        # peak and area come from one grid evaluation, remembered per parameter point.
        return peak_and_area_numerically(lambda x: derivative(x, *values))  # type: ignore[misc]

    def numeric(*values: ParamValue) -> tuple[ParamValue, ParamValue]:
        return _numeric_peak_area(at_point, values)

    body: dict[str, Any] = {
        "params": tuple(params),
        "origin": origin,
        "smooth": smooth,
        "has_primitive": primitive is not None,
        "numeric_peak": peak is None,
        "derivative": staticmethod(derivative),
        "peak_of": staticmethod(peak or (lambda *v: numeric(*v)[0])),
        "area_of": staticmethod(area or (lambda *v: numeric(*v)[1])),
        "__module__": module or _caller_module(),
        "__qualname__": name,
        "__doc__": (derivative.__doc__ or primitive.__doc__ if primitive else derivative.__doc__)
        or f"Custom surrogate {name}({', '.join(names)}).",
    }
    if primitive is not None:
        body["primitive"] = staticmethod(primitive)
    if breakpoints is not None:
        body["breakpoints"] = staticmethod(breakpoints)
    return type(name, (Surrogate,), body)


def from_derivative(fn: ShapeFn | None = None, **options: Any) -> Any:
    """Decorator: the function is ``g'(x, param=default, ...)`` and its name the class name.

    ``@from_derivative`` or ``@from_derivative(primitive=g, smooth=True, ...)``; the options
    are those of :func:`define`.
    """

    def wrap(f: ShapeFn) -> type[Surrogate]:
        options.setdefault("module", f.__module__)
        return define(f.__name__, derivative=f, **options)

    return wrap(fn) if fn is not None else wrap


def from_primitive(fn: ShapeFn | None = None, **options: Any) -> Any:
    """Decorator: the function is the primitive ``g(x, param=default, ...)``; ``g'`` comes from autograd."""

    def wrap(f: ShapeFn) -> type[Surrogate]:
        options.setdefault("module", f.__module__)
        return define(f.__name__, primitive=f, **options)

    return wrap(fn) if fn is not None else wrap


def _params_from_signature(name: str, fn: ShapeFn) -> list[Param]:
    sig = inspect.signature(fn)
    args = list(sig.parameters.values())
    if not args:
        raise ValueError(f"surrogate {name!r}: the shape function must take x first")
    out = []
    for p in args[1:]:
        if p.default is inspect.Parameter.empty or isinstance(p.default, bool) or not isinstance(
            p.default, int | float
        ):
            raise ValueError(f"surrogate {name!r}: parameter {p.name!r} needs a numeric default, "
                             f"e.g. def {name}(x, {p.name}=1.0)")
        out.append(real(p.name, float(p.default)))
    return out


def _derivative_by_autograd(primitive: ShapeFn) -> ShapeFn:
    """``g'`` of an elementwise ``g``: one reverse-mode pass with cotangent 1.

    ``torch.func.vjp`` composes with ``grad``, ``vmap``, ``jvp``, double backward and
    ``torch.compile``; it is also safe inside forward-mode dual numbers, where a forward-mode
    derivative would be nested forward AD (unsupported by PyTorch).
    """

    def derivative(x: Tensor, *params: ParamValue) -> Tensor:
        pull_back = torch.func.vjp(lambda t: primitive(t, *params), x)[1]
        return pull_back(torch.ones_like(x))[0]

    derivative.__doc__ = primitive.__doc__
    return derivative


def _numeric_peak_area(
    at_point: Callable[..., tuple[float, float]], values: Sequence[ParamValue]
) -> tuple[ParamValue, ParamValue]:
    """Peak and area at number parameters, or elementwise (float64 tensors) for tensor ones."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    if not tensors:
        return at_point(*values)
    shape = torch.broadcast_shapes(*(t.shape for t in tensors))
    peaks, areas = torch.empty(shape, dtype=torch.float64), torch.empty(shape, dtype=torch.float64)
    for index in range(math.prod(shape)):
        idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(index), shape))
        point = [v.expand(shape)[idx].item() if isinstance(v, Tensor) else v for v in values]
        peaks[idx], areas[idx] = at_point(*point)
    return peaks, areas


def _caller_module() -> str:
    frame = sys._getframe(2)
    return str(frame.f_globals.get("__name__", "__main__"))
