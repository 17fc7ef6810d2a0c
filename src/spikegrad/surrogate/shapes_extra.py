r"""Surrogate shapes that snnTorch, Norse, Sinabs and others offer and SpikingJelly lacks.

Named and parameterised the way their users know them; defaults give a peak gradient of 1.
Primitives are written as ``g(x) = integral of g' from -inf to x`` unless the origin fixes another.
"""

# Each definition's static functions take exactly its own parameters, where the base class
# declares the generic ``(x, *params)``: that is the design, not an unsafe override.
# mypy: disable-error-code="override"

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._base import Param, ParamValue, Surrogate, positive, real
from ._math import INF, NAN, exp, maximum, soft_sign, unit_ratio
from .shapes import Sigmoid


class FastSigmoid(Surrogate):
    r"""Fast sigmoid (SuperSpike of Zenke & Ganguli). ``g' = 1 / (1 + slope |x|)^2``;
    ``g = x / (1 + slope |x|) + 1/slope``.

    Peak 1 for every slope, area ``2 / slope``. snnTorch's ``fast_sigmoid`` (slope 25) and
    Zenke's SuperSpike tutorials (slope 100). Reference: Zenke & Ganguli (2018), Neural Computation 30(6).

    Example:
        >>> sg = FastSigmoid(slope=25.0)
        >>> sg.grad(torch.tensor([0.0, 0.04, -0.04]))
        tensor([1.0000, 0.2500, 0.2500])
    """

    params = (positive("slope", 25.0, "sharpness; the width is about 1/slope"),)
    origin = "snnTorch fast_sigmoid, Norse super"

    @staticmethod
    def primitive(x: Tensor, slope: float) -> Tensor:
        # x / (1 + slope |x|) written in u = slope x, which stays in [-1, 1] whatever slope and x.
        return (soft_sign(slope * x) + 1) / slope

    @staticmethod
    def derivative(x: Tensor, slope: float) -> Tensor:
        return 1 / (1 + slope * x.abs()) ** 2

    @staticmethod
    def peak_of(slope: float) -> float:
        return 1.0

    @staticmethod
    def area_of(slope: float) -> float:
        return 2 / slope


class Circ(Surrogate):
    r"""Circular (inverse-square-root) shape. ``g' = alpha^3 / (alpha^2 + x^2)^{3/2}``;
    ``g = alpha x / sqrt(alpha^2 + x^2) + alpha``.

    Peak 1 for every alpha, area ``2 alpha`` (1 at the default 0.5).
    """

    params = (positive("alpha", 0.5, "width"),)
    origin = "Norse circ"
    smooth = True

    # In u = x / alpha, so that no alpha^2, alpha^3 or x^2 can overflow.
    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        return alpha * (unit_ratio(x / alpha) + 1)

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return (1 + (x / alpha) ** 2) ** -1.5

    @staticmethod
    def peak_of(alpha: float) -> float:
        return 1.0

    @staticmethod
    def area_of(alpha: float) -> float:
        return 2 * alpha


def _std_pdf(u: Tensor) -> Tensor:
    """The standard normal density."""
    return torch.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)


def _std_cdf(u: Tensor) -> Tensor:
    """The standard normal distribution function."""
    return 0.5 * torch.special.erfc(-u / math.sqrt(2))


class MultiGaussian(Surrogate):
    r"""Multi-Gaussian. ``g' = c [(1+h) N(x; 0, sigma) - h N(x; sigma, s sigma) - h N(x; -sigma, s sigma)]``,
    with ``c`` chosen so the peak (at 0) is 1; ``g`` is the same mixture of normal CDFs.

    Peak 1, area ``c (1 - h)``. Reference: Yin, Corradi & Bohte (2021), Nature Machine Intelligence 3.
    """

    params = (positive("sigma", 0.5, "width of the central Gaussian"),
              Param("h", 0.15, low=0.0, low_inclusive=True, high=1.0,
                    doc="weight of the negative side lobes"),
              Param("s", 6.0, low=1.0, low_inclusive=True, doc="width of the side lobes relative to sigma"))
    origin = "Yin et al. 2021; Sinabs, BrainPy"
    smooth = True

    # Written in u = x / sigma: with phi the standard normal density,
    # g' = [(1+h) phi(u) - (h/s) phi((u-1)/s) - (h/s) phi((u+1)/s)] / (its value at u = 0),
    # so no power of sigma or s can overflow, whatever their size.

    @staticmethod
    def _at_zero(h: ParamValue, s: ParamValue) -> ParamValue:
        """The bracket of g' at u = 0 (g' is the bracket divided by this)."""
        return ((1 + h) - 2 * h / s * exp(-0.5 / s / s)) / math.sqrt(2 * math.pi)

    @staticmethod
    def _scale(sigma: ParamValue, h: ParamValue, s: ParamValue) -> ParamValue:
        """``c`` in the formula above: 1 / (the mixture of densities at 0)."""
        return sigma / MultiGaussian._at_zero(h, s)

    @staticmethod
    def primitive(x: Tensor, sigma: float, h: float, s: float) -> Tensor:
        u = x / sigma
        side = _std_cdf((u - 1) / s) + _std_cdf((u + 1) / s)
        return sigma * (((1 + h) * _std_cdf(u) - h * side) / MultiGaussian._at_zero(h, s))

    @staticmethod
    def derivative(x: Tensor, sigma: float, h: float, s: float) -> Tensor:
        u = x / sigma
        side = (_std_pdf((u - 1) / s) + _std_pdf((u + 1) / s)) / s
        return ((1 + h) * _std_pdf(u) - h * side) / MultiGaussian._at_zero(h, s)

    @staticmethod
    def peak_of(sigma: float, h: float, s: float) -> float:
        return 1.0

    @staticmethod
    def area_of(sigma: ParamValue, h: ParamValue, s: ParamValue) -> ParamValue:
        return MultiGaussian._scale(sigma, h, s) * (1 - h)


class SparseFastSigmoid(Surrogate):
    r"""Sparse fast sigmoid. ``g' = 1 / (1 + slope |x|)^2`` for ``x > -B``, 0 for ``x <= -B``:
    only neurons near (or above) threshold get a gradient, so backward can skip the rest.

    Peak 1, area ``1/slope + B / (1 + slope B)``. Reference: Perez-Nieves & Goodman (2021), NeurIPS.
    (snnTorch's ``SFS`` masks with ``x > B``; the paper's rule, used here, is ``x > -B``.)
    """

    params = (positive("slope", 25.0, "sharpness"), positive("B", 1.0, "gradient is 0 for x <= -B"))
    origin = "Perez-Nieves & Goodman 2021; snnTorch SFS"

    @staticmethod
    def primitive(x: Tensor, slope: float, B: float) -> Tensor:
        # torch.where (not a clamp) so that autograd, like g', is 0 at x = -B itself.
        inside = (soft_sign(slope * x) + soft_sign(slope * B * torch.ones_like(x))) / slope
        return torch.where(x > -B, inside, torch.zeros_like(x))

    @staticmethod
    def derivative(x: Tensor, slope: float, B: float) -> Tensor:
        return (x > -B).to(x.dtype) / (1 + slope * x.abs()) ** 2

    @staticmethod
    def peak_of(slope: float, B: float) -> float:
        return 1.0

    @staticmethod
    def area_of(slope: float, B: float) -> float:
        return 1 / slope + B / (1 + slope * B)

    @staticmethod
    def breakpoints(slope: float, B: float) -> list[float]:
        return [-B, 0.0]


class OneSidedRect(Surrogate):
    r"""One-sided window: ``g' = 1`` for ``x >= -width``, else 0; ``g = max(x + width, 0)``.

    Every neuron within ``width`` below threshold, and every neuron above it, passes the gradient
    straight through. Peak 1, area infinite.
    """

    params = (positive("width", 0.5, "how far below threshold the gradient reaches"),)
    origin = "Sinabs Heaviside, Rockpool StepPWL, EXODUS"

    @staticmethod
    def primitive(x: Tensor, width: float) -> Tensor:
        return torch.clamp(x + width, min=0)

    @staticmethod
    def derivative(x: Tensor, width: float) -> Tensor:
        return (x >= -width).to(x.dtype)

    @staticmethod
    def peak_of(width: float) -> float:
        return 1.0

    @staticmethod
    def area_of(width: float) -> float:
        return INF

    @staticmethod
    def breakpoints(width: float) -> list[float]:
        return [-width, 0.0]


class SpikeRateEscape(Surrogate):
    r"""Spike-rate escape noise. ``g' = slope e^{-beta |x - 1|}``, peaked one unit above threshold;
    ``g`` is its integral from ``-inf``.

    Peak ``slope``, area ``2 slope / beta``. Default ``slope=1`` (snnTorch: 25) for peak 1.
    Reference: Gerstner et al. (2014), Neuronal Dynamics, ch. 9 (escape noise).
    """

    params = (positive("beta", 1.0, "decay rate of the exponential"), positive("slope", 1.0, "peak gradient"))
    origin = "snnTorch spike_rate_escape"

    @staticmethod
    def primitive(x: Tensor, beta: float, slope: float) -> Tensor:
        # slope * (... / beta), not slope / beta * ...: the factor alone may overflow where g does not.
        below = slope * (torch.exp(beta * torch.clamp(x - 1, max=0)) / beta)
        above = slope * ((2 - torch.exp(-beta * torch.clamp(x - 1, min=0))) / beta)
        return torch.where(x < 1, below, above)

    @staticmethod
    def derivative(x: Tensor, beta: float, slope: float) -> Tensor:
        return slope * torch.exp(-beta * (x - 1).abs())

    @staticmethod
    def peak_of(beta: float, slope: float) -> float:
        return slope

    @staticmethod
    def area_of(beta: float, slope: float) -> float:
        return 2 * slope / beta

    @staticmethod
    def breakpoints(beta: float, slope: float) -> list[float]:
        return [0.0, 1.0]


class StochasticSpikeOperator(Surrogate):
    r"""Stochastic spike operator. ``g' = 1`` where the neuron spiked (``x >= 0``), and uniform
    noise ``(U - 1/2 + mean) variance``, ``U ~ U[0, 1)``, elsewhere; drawn anew at every backward.

    No primitive. Peak ``max(1, (1/2 + mean) variance)``; the area is undefined (nan).
    """

    params = (real("mean", 0.0, "centre of the noise"),
              Param("variance", 0.2, low=0.0, low_inclusive=True, doc="width of the noise"))
    origin = "snnTorch SSO"
    stochastic = True
    has_primitive = False

    @staticmethod
    def derivative(x: Tensor, mean: float, variance: float) -> Tensor:
        noise = (torch.rand_like(x) - 0.5 + mean) * variance
        return torch.where(x >= 0, torch.ones_like(x), noise)

    @staticmethod
    def peak_of(mean: float, variance: float) -> float:
        return maximum(1.0, (0.5 + mean) * variance)  # type: ignore[return-value]

    @staticmethod
    def area_of(mean: float, variance: float) -> float:
        return NAN

    @classmethod
    def gradient_bound(cls, mean: float, variance: float) -> float:
        # The noise reaches (mean -+ 1/2) variance: below -peak when the mean is negative.
        return maximum(1.0, (abs(mean) + 0.5) * variance)  # type: ignore[return-value, arg-type]


class BernoulliSigmoid(Sigmoid):
    r"""Escape-noise spikes: forward draws ``bernoulli(s(alpha x))``; ``g`` and ``g'`` as :class:`Sigmoid`.

    Peak ``alpha / 4``, area 1. A NaN potential never spikes (as ``H(NaN) = 0`` for the
    deterministic shapes) and its gradient is NaN: the NaN propagates instead of stopping
    the forward with an error from deep inside the sampler.
    """

    origin = "Norse logistic, escape-noise neurons"
    stochastic = True

    @staticmethod
    def spike(x: Tensor, alpha: float) -> Tensor:
        return torch.bernoulli(torch.nan_to_num(torch.sigmoid(alpha * x), nan=0.0))
