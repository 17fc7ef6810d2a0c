"""Surrogate spike functions: the Heaviside step forward, a smooth ``g'`` backward.

Module style (``Sigmoid(alpha=4.)``, an ``nn.Module``) and functional style
(``sigmoid.apply(x, 4.)``, a ``torch.autograd.Function``) of every shape in the catalogue,
each derived from one definition (see ``shapes.py`` / ``shapes_extra.py``), plus
custom shapes from a derivative or a primitive (:func:`define`, :func:`from_derivative`,
:func:`from_primitive`), and SpikingJelly's API for custom shapes
(:class:`SurrogateFunctionBase`, the ``*_backward`` helpers; see ``compat.py``).

Example:
    >>> import torch
    >>> from spikegrad import surrogate
    >>> sg = surrogate.ATan()
    >>> x = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    >>> sg(x)
    tensor([0., 1., 1.], grad_fn=<atanBackward>)
    >>> sg.peak, sg.area
    (1.0, 1.0)
"""

from __future__ import annotations

from ._base import REGISTRY, Param, SpikeFunction, Surrogate, heaviside
from .compat import (
    SurrogateFunctionBase,
    atan_backward,
    erf_backward,
    fake_numerical_gradient_backward,
    leaky_k_relu_backward,
    log_tailed_relu_backward,
    nonzero_sign_log_abs_backward,
    piecewise_exp_backward,
    piecewise_leaky_relu_backward,
    piecewise_quadratic_backward,
    rect_backward,
    sigmoid_backward,
    soft_sign_backward,
    super_spike_backward,
)
from .custom import define, from_derivative, from_primitive
from .shapes import (
    S2NN,
    ATan,
    DeterministicPass,
    Erf,
    FakeNumericalGradient,
    LeakyKReLU,
    LogTailedReLU,
    MultiLevelSpikeCount,
    NonzeroSignLogAbs,
    PiecewiseExp,
    PiecewiseLeakyReLU,
    PiecewiseQuadratic,
    PoissonPass,
    QPseudoSpike,
    Rect,
    Sigmoid,
    SoftSign,
    SquarewaveFourierSeries,
    SuperSpike,
)
from .shapes_extra import (
    BernoulliSigmoid,
    Circ,
    FastSigmoid,
    MultiGaussian,
    OneSidedRect,
    SparseFastSigmoid,
    SpikeRateEscape,
    StochasticSpikeOperator,
)

# Functional style, SpikingJelly's names: ``sigmoid.apply(x, alpha)``.
sigmoid = Sigmoid.function
soft_sign = SoftSign.function
atan = ATan.function
piecewise_quadratic = PiecewiseQuadratic.function
piecewise_exp = PiecewiseExp.function
leaky_k_relu = LeakyKReLU.function
piecewise_leaky_relu = PiecewiseLeakyReLU.function
squarewave_fourier_series = SquarewaveFourierSeries.function
s2nn = S2NN.function
q_pseudo_spike = QPseudoSpike.function
log_tailed_relu = LogTailedReLU.function
nonzero_sign_log_abs = NonzeroSignLogAbs.function
erf = Erf.function
super_spike = SuperSpike.function
rect = Rect.function
deterministic_pass = DeterministicPass.function
poisson_pass = PoissonPass.function
fake_numerical_gradient = FakeNumericalGradient.function
multi_level_spike_count = MultiLevelSpikeCount.function
fast_sigmoid = FastSigmoid.function
circ = Circ.function
multi_gaussian = MultiGaussian.function
sparse_fast_sigmoid = SparseFastSigmoid.function
one_sided_rect = OneSidedRect.function
spike_rate_escape = SpikeRateEscape.function
stochastic_spike_operator = StochasticSpikeOperator.function
bernoulli_sigmoid = BernoulliSigmoid.function


def builtins() -> list[type[Surrogate]]:
    """The built-in catalogue, in table order (SpikingJelly's 19, then the others)."""
    return [cls for cls in REGISTRY.values() if cls.builtin]


def get(name: str) -> type[Surrogate]:
    """Look a surrogate class up by name: ``'ATan'``, ``'atan'`` or ``'a_tan'`` alike (custom ones too).

    Raises:
        ValueError: no surrogate has that name (the message lists the known ones).
    """
    key = name.replace("_", "").replace("-", "").lower()
    for cls_name, cls in REGISTRY.items():
        if cls_name.lower() == key:
            return cls
    known = ", ".join(cls.function.__name__ for cls in REGISTRY.values())
    raise ValueError(f"unknown surrogate {name!r}; known: {known}")


def plot(sg: Surrogate, **kwargs):  # type: ignore[no-untyped-def]
    """Draw the step, the primitive and the gradient of ``sg`` in one figure (see :mod:`spikegrad.plot`)."""
    from ..plot import plot_surrogate

    return plot_surrogate(sg, **kwargs)


__all__ = [
    "REGISTRY", "Param", "SpikeFunction", "Surrogate", "heaviside", "define", "from_derivative",
    "from_primitive", "builtins", "get", "plot",
    *(cls.__name__ for cls in builtins()),
    *(cls.function.__name__ for cls in builtins()),
    # SpikingJelly compatibility (compat.py)
    "SurrogateFunctionBase", "atan_backward", "erf_backward", "fake_numerical_gradient_backward",
    "leaky_k_relu_backward", "log_tailed_relu_backward", "nonzero_sign_log_abs_backward",
    "piecewise_exp_backward", "piecewise_leaky_relu_backward", "piecewise_quadratic_backward",
    "rect_backward", "sigmoid_backward", "soft_sign_backward", "super_spike_backward",
]
