"""Custom surrogates made the three documented ways, fuzzed like the built-ins.

Defined at module level (so they are registered and picklable), named so they cannot clash
with a user's or another test's shapes.
"""

from __future__ import annotations

import torch
from torch import Tensor

from spikegrad import surrogate


def _bump(x: Tensor, width: float, height: float) -> Tensor:
    """``g' = height / (1 + (x / width)^2)``: a Cauchy bump."""
    return height / (1 + (x / width) ** 2)


def _bump_primitive(x: Tensor, width: float, height: float) -> Tensor:
    return height * width * (torch.atan(x / width) + torch.pi / 2)


#: ``define`` with explicit parameter rules, a closed-form peak and area, and a primitive.
FuzzBump = surrogate.define(
    "FuzzBump",
    derivative=_bump,
    primitive=_bump_primitive,
    params=[surrogate.Param("width", 0.5, low=0.0, doc="half width at half height"),
            surrogate.Param("height", 1.0, low=0.0, doc="peak gradient")],
    peak=lambda width, height: height,
    area=lambda width, height: torch.pi * width * height,
    smooth=True,
    module=__name__,
)


@surrogate.from_derivative
def FuzzTent(x: Tensor, width: float = 1.0) -> Tensor:
    """``g' = max(0, 1 - |x| / width)`` with the default rule: any finite width (numeric peak)."""
    return torch.clamp(1 - x.abs() / width, min=0)


@surrogate.from_primitive(smooth=True)
def FuzzSoftStep(x: Tensor, k: float = 2.0) -> Tensor:
    """``g = (tanh(k x) + 1) / 2``; ``g'`` by autograd."""
    return (torch.tanh(k * x) + 1) / 2


CUSTOM = [FuzzBump, FuzzTent, FuzzSoftStep]
