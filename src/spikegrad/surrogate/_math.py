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
