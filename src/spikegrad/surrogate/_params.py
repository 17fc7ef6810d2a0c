"""A surrogate's parameters: their rules, and the checks that apply them cheaply at every call.

Three layers, each paid once:

* :meth:`Param.validate`: the rule of one value (type, finite, range). The module runs it
  when a parameter is set (constructor, assignment, ``load_state_dict``).
* :func:`check_call`: what only a call can know. The formulas compute in the input's dtype,
  so every value must still meet its rule once converted to it, and the largest gradient
  (:meth:`Surrogate.gradient_bound`) must fit it; tensor parameters must broadcast to the
  input's shape. The functional form (``atan.apply(x, alpha)``) gets the full rule here.
* Caches, so that a repeated call costs a dictionary lookup: number parameters are
  remembered per ``(values, their types, dtype)``; a tensor's values are checked the first
  time it is seen with a dtype and again only after an in-place change (its version
  counter moves), never with a device sync on the repeated path.

A tensor that requires grad (a learnable parameter) is checked when first seen; the
optimizer's later updates are not re-checked, since that would cost a device sync per step.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

if TYPE_CHECKING:
    from ._base import Surrogate

ParamValue = float | int | Tensor

#: Number-parameter calls remembered per surrogate class before the cache starts afresh.
_CACHE_SIZE = 4096
#: Call contexts remembered per tensor (dtype and number parameters beside it).
_CONTEXTS_PER_TENSOR = 64


@dataclass(frozen=True)
class Param:
    """One named parameter of a surrogate: its default and the values it may take.

    Args:
        name: the keyword users pass (``alpha``, ``width`` ...).
        default: value used when the user gives none; ``None`` means required.
        low: smallest allowed value (``None``: unbounded).
        low_inclusive: whether ``low`` itself is allowed.
        high: largest allowed value (``None``: unbounded).
        high_inclusive: whether ``high`` itself is allowed.
        integer: the value must be a Python ``int`` (then tensors are refused).
        doc: one line for docs and ``--help``.
    """

    name: str
    default: float | int | None
    low: float | None = None
    low_inclusive: bool = False
    high: float | None = None
    high_inclusive: bool = False
    integer: bool = False
    doc: str = ""

    @property
    def rule(self) -> str:
        """The allowed range in words, e.g. ``a finite number > 0``."""
        kind = "an integer" if self.integer else "a finite number"
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>=' if self.low_inclusive else '>'} {self.low:g}")
        if self.high is not None:
            bounds.append(f"{'<=' if self.high_inclusive else '<'} {self.high:g}")
        return kind + (" " + " and ".join(bounds) if bounds else "")

    def validate(self, owner: str, value: Any) -> ParamValue:
        """Return ``value`` if it is allowed, else raise ``TypeError``/``ValueError``.

        Numbers come back as ``float`` (``int`` for integer parameters) and are checked in
        Python; tensors come back as they are, and checking their values reads them (one
        device sync).
        """
        where = f"{owner}: parameter {self.name!r}"
        if isinstance(value, bool) or not isinstance(value, numbers.Real | Tensor):
            raise TypeError(f"{where} must be {self.rule}, got {value!r} ({type(value).__name__})")
        if not isinstance(value, Tensor):
            if self.integer and not isinstance(value, numbers.Integral):
                raise TypeError(f"{where} must be {self.rule}, got {value!r}")
            try:
                number = operator.index(cast(numbers.Integral, value)) if self.integer else float(value)
            except OverflowError:  # an int beyond every float
                raise ValueError(f"{where} must be {self.rule}, got {_shown(value)}") from None
            if not self._allows(number):
                raise ValueError(f"{where} must be {self.rule}, got {_shown(number)}")
            return number
        if self.integer:
            raise TypeError(f"{where} must be a Python int, got a tensor")
        if not value.is_floating_point():
            raise TypeError(f"{where} must be a floating-point tensor, got dtype {value.dtype}")
        values = value.detach()
        ok = torch.isfinite(values)
        if self.low is not None:
            ok &= values >= self.low if self.low_inclusive else values > self.low
        if self.high is not None:
            ok &= values <= self.high if self.high_inclusive else values < self.high
        if not bool(ok.all()):
            bad = values[~ok].flatten()[0].item() if values.dim() else values.item()
            raise ValueError(f"{where} must be {self.rule}, got {bad!r}")
        return value

    def coerce(self, value: Any) -> ParamValue:
        """A valid number as the formulas take it (``float``, or ``int`` for integer parameters)."""
        if isinstance(value, Tensor):
            return value
        return operator.index(value) if self.integer else float(value)

    def _allows(self, number: float) -> bool:
        if not isinstance(number, int) and not math.isfinite(number):
            return False
        if self.low is not None and not (number >= self.low if self.low_inclusive else number > self.low):
            return False
        return self.high is None or (number <= self.high if self.high_inclusive else number < self.high)


def positive(name: str, default: float | None, doc: str = "") -> Param:
    """A parameter that must be a finite number > 0."""
    return Param(name, default, low=0.0, doc=doc)


def real(name: str, default: float | None, doc: str = "") -> Param:
    """A parameter that may be any finite number."""
    return Param(name, default, doc=doc)


def _shown(value: Any) -> str:
    """``repr`` of a number, shortened when it has hundreds of digits."""
    text = repr(value)
    return text if len(text) <= 32 else f"{text[:12]}...({len(text)} digits)"


# --------------------------------------------------------------------------- dtype rules


def _in_dtype(value: float | int, dtype: torch.dtype) -> float:
    """``value`` as the input's dtype holds it (``inf`` when it overflows, 0 when it underflows)."""
    try:
        number = float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    return float(torch.tensor(number, dtype=torch.float64).to(dtype).item())


def _check_fits(owner: str, spec: Param, value: ParamValue, dtype: torch.dtype) -> None:
    """``value`` still meets its rule once converted to the input's dtype (one sync for a tensor).

    The formulas compute in the input's dtype, so ``alpha = 1e300`` becomes ``inf`` for a float32
    input and a positive width of ``1e-50`` becomes 0: both would break the shape's rule.
    """
    if isinstance(value, Tensor):
        converted = value.detach().to(dtype).double()
        ok = torch.isfinite(converted)
        if spec.low is not None:
            ok &= converted >= spec.low if spec.low_inclusive else converted > spec.low
        if spec.high is not None:
            ok &= converted <= spec.high if spec.high_inclusive else converted < spec.high
        if bool(ok.all()):
            return
        index = int((~ok).flatten().nonzero()[0].item())
        shown, becomes = value.detach().flatten()[index].item(), converted.flatten()[index].item()
    else:
        becomes = _in_dtype(value, dtype)
        if spec._allows(becomes):
            return
        shown = value
    raise ValueError(
        f"{owner}: parameter {spec.name!r} = {_shown(shown)} becomes {becomes!r} in the input's dtype "
        f"{dtype}, which breaks its rule ({spec.rule}); use a value {dtype} can hold "
        f"(magnitudes {_describe_range(dtype)}) or a wider dtype"
    )


def _describe_range(dtype: torch.dtype) -> str:
    info = torch.finfo(dtype)
    return f"{float(info.tiny) * float(info.eps):.3g} to {float(info.max):.3g}"


def _check_peak(owner: str, definition: type[Surrogate], params: Sequence[ParamValue],
                dtype: torch.dtype) -> None:
    """The largest gradient, ``gradient_bound(*params)`` (the peak, for most shapes), fits ``dtype``."""
    if definition.numeric_peak:
        return  # estimated on a fine grid: too costly per call, and a custom shape's own business
    try:
        bound = definition.gradient_bound(*params)
    except OverflowError:
        bound = math.inf
    largest = float(torch.finfo(dtype).max)
    if isinstance(bound, Tensor):
        too_big = ~(bound.detach().abs() <= largest)
        if not bool(too_big.any()):
            return
        shown = bound.detach()[too_big].flatten()[0].item()
    elif abs(float(bound)) <= largest:
        return
    else:
        shown = float(bound)
    values = ", ".join(f"{p.name}={_short(v)}" for p, v in zip(definition.params, params, strict=True))
    raise ValueError(
        f"{owner}: the gradient reaches {shown:.3g} at {values}, more than {dtype} can hold "
        f"({largest:.3g}); choose parameters with a smaller peak or use a wider dtype"
    )


def _short(value: ParamValue) -> str:
    if isinstance(value, Tensor):
        return f"tensor(shape={list(value.shape)})"
    return _shown(value)


# --------------------------------------------------------------------------- call-time checks


#: Tensors whose values were checked: tensor -> (its version then, the call contexts it passed in).
#: A context is the input's dtype and the number parameters beside the tensors.
_SEEN_TENSORS: WeakIdKeyDictionary = WeakIdKeyDictionary()


def check_call(definition: type[Surrogate], owner: str, params: Sequence[Any], x: Tensor) -> None:
    """Refuse parameters that cannot serve an input like ``x``, each with a clear message.

    Runs at every call of the functional form and the module; repeated calls with the same
    number parameters and dtype, or with already-checked tensors, are a cache lookup. Inside
    ``torch.compile`` nothing is checked (the eager call before tracing was), and values of
    tensors under ``vmap``/``torch.func`` are not read (their metadata still is).

    Raises:
        TypeError: a wrong type, a parameter count that differs from the definition, or a
            learnable tensor for a shape without a primitive.
        ValueError: a value outside its rule, one that does not fit ``x``'s dtype, a peak
            gradient that overflows it, or a tensor that does not broadcast to ``x``'s shape.
    """
    if torch.compiler.is_compiling():
        return
    specs = definition.params
    if len(params) != len(specs):
        names = ", ".join(p.name for p in specs) or "none"
        raise TypeError(f"{owner} takes {len(specs)} parameter(s) after x ({names}), got {len(params)}")
    numbers = tuple(p for p in params if not isinstance(p, Tensor))
    context = (x.dtype, numbers, tuple(map(type, numbers)))
    try:
        hash(context)
    except TypeError:  # a list or another unhashable value: the full check words the error
        _check_values(definition, owner, params, x.dtype)
        raise
    if len(numbers) == len(params):
        seen = definition._checked_calls
        if context not in seen:
            _check_values(definition, owner, params, x.dtype)
            if len(seen) >= _CACHE_SIZE:
                seen.clear()
            seen[context] = None
        return
    if _check_tensor_metadata(definition, owner, params, x, context):
        _check_values(definition, owner, params, x.dtype)
        for value in params:
            if isinstance(value, Tensor):
                remember(value, context)


def _check_tensor_metadata(definition: type[Surrogate], owner: str, params: Sequence[Any], x: Tensor,
                           context: tuple[Any, ...]) -> bool:
    """Check what the tensors' metadata says (no sync); return whether their values need a check."""
    from torch._C._functorch import is_functorch_wrapped_tensor

    stale = False
    for spec, value in zip(definition.params, params, strict=True):
        if not isinstance(value, Tensor):
            continue
        if spec.integer:
            raise TypeError(f"{owner}: parameter {spec.name!r} must be a Python int, got a tensor")
        if not value.is_floating_point():
            raise TypeError(f"{owner}: parameter {spec.name!r} must be a floating-point tensor, "
                            f"got dtype {value.dtype}")
        if not broadcasts_to(value.shape, x.shape):
            raise ValueError(
                f"{owner}: parameter {spec.name!r} has shape {tuple(value.shape)}, which does not "
                f"broadcast to the input's shape {tuple(x.shape)} (per-channel values need the "
                f"input's trailing dimensions, e.g. shape (C, 1, 1) for input (N, C, H, W))"
            )
        if value.requires_grad and not definition.has_primitive:
            raise TypeError(
                f"{owner}: parameter {spec.name!r} requires grad, but {definition.__name__} has no "
                f"primitive g, so its gradient with respect to a parameter (dg/d{spec.name}) is not "
                f"defined; pass a number or a tensor that does not require grad"
            )
        if is_functorch_wrapped_tensor(value):
            continue
        seen = _SEEN_TENSORS.get(value)
        current = seen is not None and (seen[0] == value._version or value.requires_grad)
        if not (current and context in seen[1]):
            stale = True
    return stale


def _check_values(definition: type[Surrogate], owner: str, params: Sequence[Any], dtype: torch.dtype) -> None:
    """The full rule on every value (a tensor's values are read: one device sync).

    Under ``vmap``/``torch.func`` a tensor's values cannot be read: then only the numbers are checked.
    """
    from torch._C._functorch import is_functorch_wrapped_tensor

    if any(isinstance(p, Tensor) and is_functorch_wrapped_tensor(p) for p in params):
        for spec, value in zip(definition.params, params, strict=True):
            if not isinstance(value, Tensor):
                _check_fits(owner, spec, spec.validate(owner, value), dtype)
        return
    values = tuple(spec.validate(owner, value) for spec, value in zip(definition.params, params, strict=True))
    for spec, value in zip(definition.params, values, strict=True):
        _check_fits(owner, spec, value, dtype)
    definition.check_relations(owner, *values)
    _check_peak(owner, definition, values, dtype)


def remember(tensor: Tensor, context: tuple[Any, ...]) -> None:
    """Record that ``tensor``'s current values passed the rule in ``context``."""
    seen = _SEEN_TENSORS.get(tensor)
    fresh = seen is not None and seen[0] == tensor._version and len(seen[1]) < _CONTEXTS_PER_TENSOR
    contexts = seen[1] if fresh else frozenset()
    _SEEN_TENSORS[tensor] = (tensor._version, contexts | {context})


def broadcasts_to(shape: Sequence[int], target: Sequence[int]) -> bool:
    """``shape`` broadcasts to ``target`` without changing it (no new or widened dimensions)."""
    if len(shape) > len(target):
        return False
    return all(a == 1 or a == b for a, b in zip(reversed(shape), reversed(target), strict=False))
