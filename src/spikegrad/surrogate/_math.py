"""Small helpers that let a definition's formulas take numbers or tensors alike."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._base import ParamValue

INF = math.inf
NAN = math.nan


def maximum(a: ParamValue, b: ParamValue) -> ParamValue:
    """``max(a, b)`` for numbers, elementwise for tensors."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return torch.maximum(torch.as_tensor(a), torch.as_tensor(b))
    return max(a, b)


def exp(a: ParamValue) -> ParamValue:
    """``e^a`` for a number (a float) or a tensor (elementwise)."""
    return torch.exp(a) if isinstance(a, Tensor) else math.exp(a)


def where(cond: bool | Tensor, a: ParamValue, b: ParamValue) -> ParamValue:
    """``a if cond else b`` for a Python condition, ``torch.where`` for a tensor one."""
    if isinstance(cond, Tensor):
        return torch.where(cond, torch.as_tensor(a), torch.as_tensor(b))
    return a if cond else b


def select(cond: Tensor, a: Tensor | float, b: Tensor | float, like: Tensor) -> Tensor:
    """``torch.where(cond, a, b)`` in ``like``'s dtype even when both branches are numbers."""
    one = torch.ones((), dtype=like.dtype, device=like.device)
    return torch.where(cond, a * one, b * one)


def finite(x: Tensor) -> Tensor:
    """``x`` with ``+-inf`` replaced by the largest finite values of its dtype (NaN stays NaN).

    Formulas that tend to a limit (``x / (1 + |x|) -> 1``, ``0 * x -> 0``) then give that limit
    at infinity instead of ``inf / inf`` or ``0 * inf`` = NaN; autograd gives 0 there.
    """
    largest = torch.finfo(x.dtype).max
    return torch.clamp(x, -largest, largest)


def soft_sign(u: Tensor) -> Tensor:
    """``u / (1 + |u|)``, in ``[-1, 1]`` for every ``u``, ``+-inf`` included."""
    u = finite(u)
    return u / (1 + u.abs())


def unit_ratio(u: Tensor) -> Tensor:
    """``u / sqrt(1 + u^2)`` without overflowing ``u^2``: ``+-1`` at ``+-inf``, accurate everywhere.

    For ``|u| > 1`` it is computed as ``sign(u) / sqrt(1 + 1/u^2)``; each branch sees only
    values where it is safe, so autograd stays finite too.
    """
    big = u.abs() > 1
    one = torch.ones_like(u)
    inverse = 1 / torch.where(big, u, one)
    small = torch.where(big, one, u)
    far = torch.sign(u) * torch.rsqrt(1 + inverse * inverse)
    return torch.where(big, far, small * torch.rsqrt(1 + small * small))
