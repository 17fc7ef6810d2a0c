"""Two custom surrogates, defined at module level so that pickle can find them.

They run through the same contract tests as the built-ins: one is given by its derivative
(with a primitive, so ``spiking=False`` works), the other only by its primitive (its
derivative then comes from autograd).
"""

from __future__ import annotations

import torch
from torch import Tensor

from spikegrad import surrogate


def _triangle_primitive(x: Tensor, width: float) -> Tensor:
    xc = torch.clamp(x, -width, width)
    return (xc - xc * xc.abs() / (2 * width)) + width / 2


@surrogate.from_derivative(
    primitive=_triangle_primitive,
    params=[surrogate.Param("width", 1.0, low=0.0, doc="half width of the triangle")],
    breakpoints=lambda width: [-width, 0.0, width],
)
def Triangle(x: Tensor, width: float = 1.0) -> Tensor:
    """Triangle: ``g' = max(0, 1 - |x| / width)``; peak 1, area ``width``."""
    return torch.clamp(1 - x.abs() / width, min=0)


@surrogate.from_primitive(smooth=True)
def SoftTanh(x: Tensor, k: float = 2.0) -> Tensor:
    """Hyperbolic tangent step: ``g = (tanh(k x) + 1) / 2``; ``g' = (k/2) sech^2(k x)``, peak k/2, area 1."""
    return (torch.tanh(k * x) + 1) / 2


CUSTOM = [Triangle, SoftTanh]
