r"""SpikingJelly's 19 surrogate shapes: same class names, arguments and formulas.

Each class below is the single definition of one shape. Notation: ``x = h - v_threshold``,
``s(z) = 1 / (1 + exp(-z))``, ``g`` the primitive, ``g'`` the surrogate gradient. Where
SpikingJelly's default breaks the "peak gradient 1" rule the default here differs, and
the docstring says so.
"""

# Each definition's static functions take exactly its own parameters, where the base class
# declares the generic ``(x, *params)``: that is the design, not an unsafe override.
# mypy: disable-error-code="override"

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._base import Param, Surrogate, _fmt, heaviside, positive, real
from ._math import INF, NAN, finite, maximum, select, soft_sign, where

_SJ = "SpikingJelly"


class Sigmoid(Surrogate):
    r"""Logistic sigmoid. ``g = s(alpha x)``, ``g' = alpha s(alpha x) (1 - s(alpha x))``.

    Peak ``alpha / 4`` at 0, area 1. Reference: Neftci, Mostafa & Zenke (2019), IEEE SPM 36(6).

    Example:
        >>> sg = Sigmoid()
        >>> sg(torch.tensor([-0.5, 0.0, 0.5]))
        tensor([0., 1., 1.])
    """

    params = (positive("alpha", 4.0, "steepness; peak gradient alpha/4"),)
    origin = _SJ
    smooth = True

    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        return torch.sigmoid(alpha * x)

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        s = torch.sigmoid(alpha * x)
        return alpha * s * (1 - s)

    @staticmethod
    def peak_of(alpha: float) -> float:
        return alpha / 4

    @staticmethod
    def area_of(alpha: float) -> float:
        return 1.0


class SoftSign(Surrogate):
    r"""Soft sign. ``g = (alpha x / (1 + |alpha x|) + 1) / 2``, ``g' = alpha / (2 (1 + alpha |x|)^2)``.

    Peak ``alpha / 2``, area 1.
    """

    params = (positive("alpha", 2.0, "steepness; peak gradient alpha/2"),)
    origin = _SJ

    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        return (soft_sign(alpha * x) + 1) / 2

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return alpha / (2 * (1 + alpha * x.abs()) ** 2)

    @staticmethod
    def peak_of(alpha: float) -> float:
        return alpha / 2

    @staticmethod
    def area_of(alpha: float) -> float:
        return 1.0


class ATan(Surrogate):
    r"""Arc tangent. ``g = atan(pi alpha x / 2) / pi + 1/2``, ``g' = (alpha/2) / (1 + (pi alpha x / 2)^2)``.

    Peak ``alpha / 2``, area 1. Reference: Fang et al. (2021), ICCV (PLIF).
    """

    params = (positive("alpha", 2.0, "steepness; peak gradient alpha/2"),)
    origin = _SJ
    smooth = True

    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        # alpha x first: pi/2 alpha alone may overflow the dtype where alpha itself fits.
        return torch.atan(math.pi / 2 * (alpha * x)) / math.pi + 0.5

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return alpha / 2 / (1 + (math.pi / 2 * (alpha * x)) ** 2)

    @staticmethod
    def peak_of(alpha: float) -> float:
        return alpha / 2

    @staticmethod
    def area_of(alpha: float) -> float:
        return 1.0


class PiecewiseQuadratic(Surrogate):
    r"""Piecewise quadratic. ``g' = max(0, alpha - alpha^2 |x|)``; ``g`` is 0 below ``-1/alpha``,
    ``-alpha^2 |x| x / 2 + alpha x + 1/2`` on ``|x| <= 1/alpha``, 1 above.

    Peak ``alpha``, area 1. Reference: Esser et al. (2016), PNAS 113(41).
    """

    params = (positive("alpha", 1.0, "peak gradient; support is |x| <= 1/alpha"),)
    origin = _SJ

    # In u = alpha x, so that no alpha^2 or 1/alpha can overflow: g = -|u| u / 2 + u + 1/2 on |u| <= 1.
    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        u = torch.clamp(alpha * x, -1, 1)
        return -u.abs() * u / 2 + u + 0.5

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return alpha * torch.clamp(1 - (alpha * x).abs(), min=0)

    @staticmethod
    def peak_of(alpha: float) -> float:
        return alpha

    @staticmethod
    def area_of(alpha: float) -> float:
        return 1.0

    @staticmethod
    def breakpoints(alpha: float) -> list[float]:
        return [-1 / alpha, 0.0, 1 / alpha]


class PiecewiseExp(Surrogate):
    r"""Two-sided exponential. ``g' = (alpha/2) e^{-alpha |x|}``; ``g = e^{alpha x}/2`` (x < 0),
    ``1 - e^{-alpha x}/2`` (x >= 0).

    Peak ``alpha / 2``, area 1. Default ``alpha=2`` (SpikingJelly: 1, peak 0.5).
    Reference: Shrestha & Orchard (2018), NeurIPS (SLAYER).
    """

    params = (positive("alpha", 2.0, "steepness; peak gradient alpha/2"),)
    origin = _SJ

    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        neg = torch.exp(alpha * torch.clamp(x, max=0)) / 2
        pos = 1 - torch.exp(-alpha * torch.clamp(x, min=0)) / 2
        return torch.where(x < 0, neg, pos)

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return alpha / 2 * torch.exp(-alpha * x.abs())

    @staticmethod
    def peak_of(alpha: float) -> float:
        return alpha / 2

    @staticmethod
    def area_of(alpha: float) -> float:
        return 1.0


class LeakyKReLU(Surrogate):
    r"""Leaky straight-through. ``g = k x`` (x >= 0), ``leak x`` (x < 0); ``g' = k`` / ``leak``.

    Peak ``max(k, leak)``; area infinite unless both are 0.
    """

    params = (real("leak", 0.0, "gradient for x < 0"), real("k", 1.0, "gradient for x >= 0"))
    origin = _SJ

    @staticmethod
    def primitive(x: Tensor, leak: float, k: float) -> Tensor:
        x = finite(x)  # a zero slope gives 0 at +-inf, not 0 * inf
        return torch.where(x >= 0, k * x, leak * x)

    @staticmethod
    def derivative(x: Tensor, leak: float, k: float) -> Tensor:
        return select(x >= 0, k, leak, like=x)

    @staticmethod
    def peak_of(leak: float, k: float) -> float:
        return maximum(k, leak)  # type: ignore[return-value]

    @staticmethod
    def area_of(leak: float, k: float) -> float:
        # A Python bool for numbers, a tensor for tensor parameters: the area has the parameters' type.
        return where((leak != 0) | (k != 0), INF, 0.0)  # type: ignore[return-value]


class PiecewiseLeakyReLU(Surrogate):
    r"""Piecewise leaky ReLU. ``g' = 1/(2w)`` on ``|x| <= w`` (inclusive), ``c`` elsewhere;
    ``g = c x + c w`` (x < -w), ``x/(2w) + 1/2`` (``|x| <= w``), ``c x - c w + 1`` (x > w).

    Peak ``max(1/(2w), c)``; area 1 if ``c = 0``, else infinite. Default ``w=0.5``
    (SpikingJelly: 1, peak 0.5).
    """

    params = (positive("w", 0.5, "half width of the linear part; peak gradient 1/(2w)"),
              Param("c", 0.01, low=0.0, low_inclusive=True, doc="gradient outside |x| <= w"))
    origin = _SJ

    @staticmethod
    def primitive(x: Tensor, w: float, c: float) -> Tensor:
        x = finite(x)
        inner = x / w / 2 + 0.5
        outer = torch.where(x < 0, c * (x + w), c * (x - w) + 1)
        return torch.where(x.abs() <= w, inner, outer)

    @staticmethod
    def derivative(x: Tensor, w: float, c: float) -> Tensor:
        return select(x.abs() <= w, 1 / (2 * w), c, like=x)

    @staticmethod
    def peak_of(w: float, c: float) -> float:
        return maximum(1 / (2 * w), c)  # type: ignore[return-value]

    @staticmethod
    def area_of(w: float, c: float) -> float:
        return where(c > 0, INF, 1.0)  # type: ignore[return-value]

    @staticmethod
    def breakpoints(w: float, c: float) -> list[float]:
        return [-w, 0.0, w]


class SquarewaveFourierSeries(Surrogate):
    r"""Truncated Fourier series of a square wave. With ``omega = 2 pi / T_period``:
    ``g = 1/2 + (2/pi) sum_{i=1}^{n-1} sin((2i-1) omega x) / (2i-1)``,
    ``g' = (4/T_period) sum_{i=1}^{n-1} cos((2i-1) omega x)``.

    Peak ``(n-1) 4 / T_period`` at 0; periodic, so the area is undefined (nan).
    Default ``T_period=4`` (SpikingJelly: 8, peak 0.5).
    """

    params = (Param("n", 2, low=2, low_inclusive=True, integer=True, doc="number of terms + 1"),
              positive("T_period", 4.0, "period of the square wave"))
    origin = _SJ
    smooth = True

    @staticmethod
    def _reduce(x: Tensor, T_period: float) -> Tensor:
        # g and g' have period T_period: reducing a large x first (exact in floating point) keeps
        # omega x from overflowing to inf, and sin/cos from giving nan. Small x is left as it is;
        # infinite x gets 0 (its result is set apart), and so does an x more periods away than the
        # dtype can count (x / T_period overflows: the phase is lost in rounding anyway).
        x = torch.where(torch.isfinite(x), x, torch.zeros_like(x))
        reduced = torch.where(x.abs() <= T_period, x, torch.remainder(x, T_period))
        return torch.where(reduced != reduced, torch.zeros_like(reduced), reduced)  # NaN: phase 0

    @staticmethod
    def primitive(x: Tensor, n: int, T_period: float) -> Tensor:
        omega, xr = 2 * math.pi / T_period, SquarewaveFourierSeries._reduce(x, T_period)
        out = torch.full_like(x, 0.5)
        for i in range(1, n):
            out = out + (2 / math.pi) * torch.sin((2 * i - 1) * omega * xr) / (2 * i - 1)
        # No limit at +-inf either: g there is 1/2, the middle of its oscillation.
        return torch.where(torch.isfinite(x), out, torch.full_like(x, 0.5))

    @staticmethod
    def derivative(x: Tensor, n: int, T_period: float) -> Tensor:
        omega, xr = 2 * math.pi / T_period, SquarewaveFourierSeries._reduce(x, T_period)
        out = torch.zeros_like(x)
        for i in range(1, n):
            out = out + torch.cos((2 * i - 1) * omega * xr)
        # A periodic g' has no limit at +-inf; the catalogue's rule sets it to 0 there.
        return torch.where(torch.isfinite(x), (4 / T_period) * out, torch.zeros_like(x))

    @classmethod
    def gradient_bound(cls, n: int, T_period: float) -> float:
        # The largest factor the formulas compute is the top frequency (2n - 3) omega: it must fit
        # the dtype as well as the peak (it exceeds the peak by a factor between pi/2 and pi).
        return maximum(cls.peak_of(n, T_period), (2 * n - 3) * 2 * math.pi / T_period)  # type: ignore[return-value]

    @staticmethod
    def peak_of(n: int, T_period: float) -> float:
        return (n - 1) * 4 / T_period

    @staticmethod
    def area_of(n: int, T_period: float) -> float:
        return NAN


class S2NN(Surrogate):
    r"""S2NN. ``g' = alpha s(alpha x)(1 - s(alpha x))`` (x < 0), ``beta / (x + 1)`` (x >= 0);
    ``g = s(alpha x)`` (x < 0), ``beta ln(x + 1) + 1/2`` (x >= 0).

    Peak ``max(alpha/4, beta)``, area infinite. Reference: Suetake et al. (2023), Neural Networks.
    """

    params = (positive("alpha", 4.0, "steepness below threshold"),
              positive("beta", 1.0, "height of the logarithmic tail above threshold"))
    origin = _SJ

    @staticmethod
    def primitive(x: Tensor, alpha: float, beta: float) -> Tensor:
        return torch.where(x < 0, torch.sigmoid(alpha * x), beta * torch.log1p(torch.clamp(x, min=0)) + 0.5)

    @staticmethod
    def derivative(x: Tensor, alpha: float, beta: float) -> Tensor:
        s = torch.sigmoid(alpha * x)
        return torch.where(x < 0, alpha * s * (1 - s), beta / (torch.clamp(x, min=0) + 1))

    @staticmethod
    def peak_of(alpha: float, beta: float) -> float:
        return maximum(alpha / 4, beta)  # type: ignore[return-value]

    @staticmethod
    def area_of(alpha: float, beta: float) -> float:
        return INF


class QPseudoSpike(Surrogate):
    r"""q-PseudoSpike. ``g' = (1 + 2|x|/(alpha-1))^{-alpha}``; ``g = u^{1-alpha}/2`` (x < 0),
    ``1 - u^{1-alpha}/2`` (x >= 0), ``u = 1 + 2|x|/(alpha-1)``.

    Peak 1, area 1; ``alpha > 1`` sets the tail (heavier for smaller alpha).
    Reference: Herranz-Celotti & Rouat (2024), Surrogate gradients design.
    """

    params = (Param("alpha", 2.0, low=1.0, doc="tail heaviness; must be > 1"),)
    origin = _SJ

    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        # One branch per side, without |x|: autograd of |x| is 0 at 0, which would give g'(0) = 0.
        below = (1 - 2 * torch.clamp(x, max=0) / (alpha - 1)) ** (1 - alpha) / 2
        above = 1 - (1 + 2 * torch.clamp(x, min=0) / (alpha - 1)) ** (1 - alpha) / 2
        return torch.where(x < 0, below, above)

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return (1 + 2 * x.abs() / (alpha - 1)) ** (-alpha)

    @staticmethod
    def peak_of(alpha: float) -> float:
        return 1.0

    @staticmethod
    def area_of(alpha: float) -> float:
        return 1.0


class LogTailedReLU(Surrogate):
    r"""Log-tailed ReLU. ``g' = alpha`` (x <= 0), 1 (0 < x <= 1), ``1/x`` (x > 1);
    ``g = alpha x``, ``x``, ``ln x + 1``.

    Peak ``max(1, alpha)``, area infinite. Reference: Cai et al. (2017), CVPR (HWGQ).
    """

    params = (real("alpha", 0.0, "gradient for x <= 0"),)
    origin = _SJ

    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        above = torch.where(x <= 1, x, torch.log(torch.clamp(x, min=1)) + 1)
        return torch.where(x <= 0, alpha * finite(x), above)

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        above = torch.where(x <= 1, torch.ones_like(x), 1 / torch.clamp(x, min=1))
        return torch.where(x <= 0, alpha * torch.ones_like(x), above)

    @staticmethod
    def peak_of(alpha: float) -> float:
        return maximum(1.0, alpha)  # type: ignore[return-value]

    @staticmethod
    def area_of(alpha: float) -> float:
        return INF

    @staticmethod
    def breakpoints(alpha: float) -> list[float]:
        return [0.0, 1.0]


class NonzeroSignLogAbs(Surrogate):
    r"""Nonzero-sign log-abs. ``g = sign0(x) ln(alpha |x| + 1)`` (``sign0(0) = +1``),
    ``g' = alpha / (1 + alpha |x|)``.

    Peak ``alpha``, area infinite.
    """

    params = (positive("alpha", 1.0, "peak gradient"),)
    origin = _SJ

    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        # sign0(x) |x| is x itself; writing it so keeps autograd's derivative right at 0.
        sign0 = 2 * heaviside(x) - 1
        return sign0 * torch.log1p(alpha * sign0 * x)

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return alpha / (1 + alpha * x.abs())

    @staticmethod
    def peak_of(alpha: float) -> float:
        return alpha

    @staticmethod
    def area_of(alpha: float) -> float:
        return INF


class Erf(Surrogate):
    r"""Gaussian error function. ``g = erfc(-alpha x) / 2``, ``g' = (alpha / sqrt(pi)) e^{-alpha^2 x^2}``.

    Peak ``alpha / sqrt(pi)``, area 1. Default ``alpha = sqrt(pi)`` (SpikingJelly: 2, peak 1.13).
    Reference: Esser et al. (2015), NeurIPS.
    """

    params = (positive("alpha", math.sqrt(math.pi), "steepness; peak gradient alpha/sqrt(pi)"),)
    origin = _SJ
    smooth = True

    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        return torch.special.erfc(-alpha * x) / 2

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return alpha / math.sqrt(math.pi) * torch.exp(-((alpha * x) ** 2))

    @staticmethod
    def peak_of(alpha: float) -> float:
        return alpha / math.sqrt(math.pi)

    @staticmethod
    def area_of(alpha: float) -> float:
        return 1.0


class SuperSpike(Surrogate):
    r"""SuperSpike (SpikingJelly's form). ``g = alpha x / (1 + |x|) + 1/2``, ``g' = alpha / (1 + |x|)^2``.

    ``alpha`` scales the height; the width is fixed. Peak ``alpha``, area ``2 alpha``.
    For the width-parameterised form of Zenke & Ganguli (2018) use :class:`FastSigmoid`.
    """

    params = (positive("alpha", 1.0, "peak gradient"),)
    origin = _SJ

    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        return alpha * soft_sign(x) + 0.5

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return alpha / (1 + x.abs()) ** 2

    @staticmethod
    def peak_of(alpha: float) -> float:
        return alpha

    @staticmethod
    def area_of(alpha: float) -> float:
        return 2 * alpha


class Rect(Surrogate):
    r"""Rectangle (straight-through on a window). ``g' = alpha`` for ``|x| < 1/(2 alpha)``, else 0;
    ``g = clamp(alpha x + 1/2, 0, 1)``.

    Peak ``alpha``, area 1. Reference: Wu et al. (2018), Frontiers in Neuroscience (STBP).
    """

    params = (positive("alpha", 1.0, "peak gradient; window |x| < 1/(2 alpha)"),)
    origin = _SJ

    @staticmethod
    def primitive(x: Tensor, alpha: float) -> Tensor:
        # Written with the same strict window as the derivative, so autograd agrees at the edges.
        # |alpha x| < 1/2 rather than |x| < 1/(2 alpha): no 1/alpha to overflow the dtype.
        ax = alpha * x
        return torch.where(ax.abs() < 0.5, ax + 0.5, heaviside(x))

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return alpha * ((alpha * x).abs() < 0.5).to(x.dtype)

    @staticmethod
    def peak_of(alpha: float) -> float:
        return alpha

    @staticmethod
    def area_of(alpha: float) -> float:
        return 1.0

    @staticmethod
    def breakpoints(alpha: float) -> list[float]:
        return [-0.5 / alpha, 0.0, 0.5 / alpha]


class DeterministicPass(Surrogate):
    r"""Straight-through estimator. ``g = x``, ``g' = 1``. Peak 1, area infinite.

    Reference: Bengio, Leonard & Courville (2013), arXiv:1308.3432.
    """

    origin = _SJ
    smooth = True

    @staticmethod
    def primitive(x: Tensor) -> Tensor:
        return x.clone()

    @staticmethod
    def derivative(x: Tensor) -> Tensor:
        return torch.ones_like(x)

    @staticmethod
    def peak_of() -> float:
        return 1.0

    @staticmethod
    def area_of() -> float:
        return INF


class PoissonPass(DeterministicPass):
    r"""Stochastic straight-through. Spiking forward draws ``bernoulli(x)`` for probabilities
    ``0 <= x <= 1`` (a ``ValueError`` otherwise); ``g = x``, ``g' = 1``.

    The output keeps the input's dtype (SpikingJelly returns float32).
    """

    stochastic = True

    @staticmethod
    def spike(x: Tensor) -> Tensor:
        if not torch.compiler.is_compiling():
            bad = ~((x >= 0) & (x <= 1))
            try:
                invalid = bool(bad.any())
            except RuntimeError:
                # Under vmap a tensor cannot steer Python control flow; torch.bernoulli still
                # refuses probabilities outside [0, 1] there (with a RuntimeError).
                invalid = False
            if invalid:
                raise ValueError(
                    f"PoissonPass samples bernoulli(x) and needs probabilities 0 <= x <= 1, "
                    f"got {x[bad].flatten()[0].item()!r}"
                )
        return torch.bernoulli(x)


class FakeNumericalGradient(Surrogate):
    r"""Fake numerical gradient. ``g' = min(1/|x|, alpha)``, and ``alpha`` at ``x = +-0``.

    No primitive (``spiking=False`` is an error). Peak ``alpha``, area infinite.
    Default ``alpha=1`` (SpikingJelly: 0.3). SpikingJelly returns ``-inf`` at ``x = -0.0``; this
    returns ``alpha``.
    """

    params = (positive("alpha", 1.0, "cap of the gradient near threshold"),)
    origin = _SJ
    has_primitive = False

    @staticmethod
    def derivative(x: Tensor, alpha: float) -> Tensor:
        return torch.clamp(1 / x.abs(), max=alpha)

    @staticmethod
    def peak_of(alpha: float) -> float:
        return alpha

    @staticmethod
    def area_of(alpha: float) -> float:
        return INF

    @staticmethod
    def breakpoints(alpha: float) -> list[float]:
        return [-1 / alpha, 0.0, 1 / alpha]


class MultiLevelSpikeCount(Surrogate):
    r"""Multi-level (graded) spikes. Spiking forward ``round(clamp(x, 0, K))``, an integer spike
    count stored as float; ``g = clamp(x, 0, K)``; ``g' = 1`` on the window
    ``[grad_min, grad_max]`` (inclusive, default ``[0, K]``), else 0.

    Peak 1, area ``grad_max - grad_min``. Functional form:
    ``multi_level_spike_count.apply(x, K, grad_min, grad_max)``.

    Args:
        max_spike_count: K, an int >= 1 (required).
        spiking: spike counts (True) or the clamp (False).
        grad_window: ``(grad_min, grad_max)``; default ``(0, K)``.
    """

    params = (Param("max_spike_count", None, low=1, low_inclusive=True, integer=True, doc="K"),
              real("grad_min", 0.0, "left end of the gradient window"),
              real("grad_max", None, "right end of the gradient window"))
    origin = _SJ
    display_defaults = {"grad_window": "(0, max_spike_count)"}

    def __init__(self, max_spike_count: int, spiking: bool = True,
                 grad_window: tuple[float, float] | None = None) -> None:
        if grad_window is None:
            if isinstance(max_spike_count, int) and not isinstance(max_spike_count, bool):
                grad_window = (0.0, float(max_spike_count))
            else:  # let the parameter check word the error
                grad_window = (0.0, 0.0)
        if not isinstance(grad_window, tuple | list) or len(grad_window) != 2:
            raise TypeError(f"MultiLevelSpikeCount: grad_window must be a pair (grad_min, grad_max), "
                            f"got {grad_window!r}")
        super().__init__(max_spike_count, grad_window[0], grad_window[1], spiking=spiking)

    @staticmethod
    def check_relations(owner: str, max_spike_count: int, grad_min: float, grad_max: float) -> None:
        if not bool(torch.all(torch.as_tensor(grad_min) <= torch.as_tensor(grad_max))):
            raise ValueError(f"{owner}: grad_window must satisfy grad_min <= grad_max, "
                             f"got ({_fmt(grad_min)}, {_fmt(grad_max)})")

    def extra_repr(self) -> str:
        return (f"max_spike_count={self.max_spike_count}, spiking={self.spiking}, "
                f"grad_window=({self.grad_min}, {self.grad_max})")

    @staticmethod
    def spike(x: Tensor, max_spike_count: int, grad_min: float, grad_max: float) -> Tensor:
        return torch.round(torch.clamp(x, 0, max_spike_count))

    @staticmethod
    def primitive(x: Tensor, max_spike_count: int, grad_min: float, grad_max: float) -> Tensor:
        return torch.clamp(x, 0, max_spike_count)

    @staticmethod
    def derivative(x: Tensor, max_spike_count: int, grad_min: float, grad_max: float) -> Tensor:
        return ((x >= grad_min) & (x <= grad_max)).to(x.dtype)

    @staticmethod
    def peak_of(max_spike_count: int, grad_min: float, grad_max: float) -> float:
        return 1.0

    @staticmethod
    def area_of(max_spike_count: int, grad_min: float, grad_max: float) -> float:
        return grad_max - grad_min

    @staticmethod
    def breakpoints(max_spike_count: int, grad_min: float, grad_max: float) -> list[float]:
        return [grad_min, grad_max]
