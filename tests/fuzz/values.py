"""Hypothesis strategies for the values users pass: numbers, wrong types, tensors, inputs.

Every strategy mixes the ordinary with the edges that break numerical code: signed zeros,
subnormals, the largest finite values of each dtype and just beyond them, NaN, infinities,
integers too large for a float, and values of the wrong type altogether.
"""

from __future__ import annotations

import fractions
import math
from typing import Any

import torch
from hypothesis import strategies as st
from torch import Tensor

from spikegrad.surrogate import Param

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

#: Edges: zeros, subnormals, dtype limits and just past them, NaN, infinities.
SPECIAL_FLOATS = (
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 1e-3, 6e-8, 6.2e-5, 1e-30, 1.2e-38, 1e-45, 1e-300, 5e-324,
    65504.0, 7e4, 1e10, 1e30, 3.4e38, 3.5e38, 1e100, 1e300, 1.7976931348623157e308,
    -1e300, -3.0, math.nan, math.inf, -math.inf,
)

#: Things that are not numbers at all, or numbers of a kind a parameter must refuse.
WRONG_TYPES: tuple[Any, ...] = (
    None, True, False, "1.0", "alpha", [1.0], (1.0,), {}, 1 + 0j, b"1", object(),
)


def floats() -> st.SearchStrategy[float]:
    """Any float, the edges much more often than chance would give them."""
    return st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats(allow_nan=True, allow_infinity=True))


def integers() -> st.SearchStrategy[int]:
    """Small integers, signed, and some too large for any float dtype (or for a float at all)."""
    return st.one_of(
        st.integers(-3, 40),
        st.sampled_from([2**24 + 1, 70_000, 2**63, 2**70, 10**400]),
    )


def numbers_like(spec: Param) -> st.SearchStrategy[Any]:
    """Numbers the documentation allows for ``spec`` (from the whole float range)."""
    if spec.integer:
        low = int(spec.low) if spec.low is not None else -5
        return st.integers(low, low + 12)
    return st.floats(
        min_value=spec.low, max_value=spec.high, allow_nan=False, allow_infinity=False,
        exclude_min=spec.low is not None and not spec.low_inclusive,
        exclude_max=spec.high is not None and not spec.high_inclusive,
    )


def moderate(spec: Param) -> st.SearchStrategy[Any]:
    """Values of ``spec`` of the size real models use (the valid-call branch of each target)."""
    if spec.integer:
        low = int(spec.low) if spec.low is not None else 0
        return st.integers(low, low + 6)
    low = spec.low if spec.low is not None else -4.0
    high = spec.high if spec.high is not None else 8.0
    low, high = max(low, -4.0), min(high, 8.0)
    if spec.low is not None and not spec.low_inclusive:
        low = max(low, spec.low + 0.05 * max(1.0, abs(spec.low)))
    if spec.high is not None and not spec.high_inclusive:
        high = spec.high - 0.05 * max(1.0, abs(spec.high))
    if spec.low is not None and spec.low == 0.0 and not spec.low_inclusive:
        low = 0.05
    # Magnitudes below 1e-3 become 0 (when 0 is allowed): smaller ones are refused for float16 inputs.
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False).map(
        lambda v: 0.0 if abs(v) < 1e-3 and low <= 0.0 <= high else v)


def any_value(spec: Param | None = None) -> st.SearchStrategy[Any]:
    """What a user might pass for a parameter: mostly numbers, sometimes anything at all."""
    options: list[st.SearchStrategy[Any]] = [floats(), integers(), st.sampled_from(WRONG_TYPES),
                                             st.just(fractions.Fraction(1, 3)), param_tensors()]
    if spec is not None:
        options = [numbers_like(spec), numbers_like(spec), *options]
    return st.one_of(options)


@st.composite
def param_tensors(draw: st.DrawFn, allowed: Param | None = None) -> Tensor:
    """A tensor for a parameter: any dtype, a shape that may or may not broadcast, maybe learnable."""
    dtype = draw(st.sampled_from([*FLOAT_DTYPES, torch.float32, torch.float32, torch.int64, torch.bool]))
    shape = draw(st.sampled_from([(), (1,), (5,), (2, 1), (3,), (4, 5), (2, 1, 1)]))
    size = math.prod(shape)
    element = numbers_like(allowed) if allowed is not None and not allowed.integer else floats()
    values = draw(st.lists(element, min_size=size, max_size=size))
    tensor = torch.tensor(values, dtype=torch.float64).reshape(shape)
    if dtype in (torch.int64, torch.bool):
        tensor = torch.nan_to_num(tensor).clamp(-100, 100).to(dtype)
    else:
        tensor = tensor.to(dtype)
    kind = draw(st.sampled_from(["plain", "plain", "requires_grad", "parameter"]))
    if kind == "requires_grad" and tensor.is_floating_point():
        tensor.requires_grad_()
    elif kind == "parameter" and tensor.is_floating_point():
        tensor = torch.nn.Parameter(tensor)
    return tensor


@st.composite
def inputs(draw: st.DrawFn, probabilities: bool = False, shape: tuple[int, ...] | None = None,
           valid: bool = False) -> Any:
    """An input ``x``: usually a floating tensor holding edge values, sometimes anything else.

    Args:
        probabilities: draw mostly from ``[0, 1]`` (for inputs that are spike probabilities).
        shape: a fixed shape; by default one of a few small shapes, empty ones included.
        valid: only floating tensors with finite, moderate values (in ``[0, 1]`` for probabilities).
    """
    if not valid:
        kind = draw(st.sampled_from(["tensor"] * 8 + ["int_tensor", "bool_tensor", "number", "list"]))
        if kind == "number":
            return draw(floats())
        if kind == "list":
            return [0.5, -0.5]
        if kind == "int_tensor":
            return torch.tensor([1, 0, -1])
        if kind == "bool_tensor":
            return torch.tensor([True, False])
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    if shape is None:
        shape = draw(st.sampled_from([(5,), (5,), (2, 5), (4, 5), (3, 2, 5), (0,), (0, 5), ()]))
    size = math.prod(shape)
    if valid:
        element = (st.floats(0.0, 1.0) if probabilities
                   else st.floats(-8.0, 8.0, allow_nan=False, allow_infinity=False))
    elif probabilities:
        element = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, -0.0, 1e-45]), floats())
    else:
        element = st.one_of(st.floats(-8.0, 8.0), floats())
    values = draw(st.lists(element, min_size=size, max_size=size))
    return torch.tensor(values, dtype=torch.float64).reshape(shape).to(dtype)
