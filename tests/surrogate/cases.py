"""The catalogue under test and helpers shared by the surrogate tests.

Every test module parametrises over :data:`CLASSES`: the built-in registry plus the two
custom shapes of :mod:`.custom_shapes`, so a newly defined surrogate is tested at once.
Each shape is checked at its defaults and at the explicit parameters of :data:`OTHER`.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import Tensor

from spikegrad import surrogate
from spikegrad.surrogate import Surrogate

from .custom_shapes import CUSTOM

CLASSES: list[type[Surrogate]] = [*surrogate.builtins(), *CUSTOM]
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]

#: Parameters a shape needs because it has no default.
REQUIRED: dict[str, dict[str, Any]] = {"MultiLevelSpikeCount": {"max_spike_count": 3}}

#: Explicit non-default parameters for every shape (each Param name of the class).
OTHER: dict[str, dict[str, Any]] = {
    "Sigmoid": {"alpha": 2.5},
    "SoftSign": {"alpha": 3.0},
    "ATan": {"alpha": 0.7},
    "PiecewiseQuadratic": {"alpha": 2.0},
    "PiecewiseExp": {"alpha": 0.8},
    "LeakyKReLU": {"leak": 0.1, "k": 0.7},
    "PiecewiseLeakyReLU": {"w": 0.8, "c": 0.0},
    "SquarewaveFourierSeries": {"n": 4, "T_period": 6.0},
    "S2NN": {"alpha": 6.0, "beta": 0.5},
    "QPseudoSpike": {"alpha": 3.0},
    "LogTailedReLU": {"alpha": 1.5},
    "NonzeroSignLogAbs": {"alpha": 2.0},
    "Erf": {"alpha": 2.0},
    "SuperSpike": {"alpha": 0.5},
    "Rect": {"alpha": 2.0},
    "DeterministicPass": {},
    "PoissonPass": {},
    "FakeNumericalGradient": {"alpha": 0.3},
    "MultiLevelSpikeCount": {"max_spike_count": 4, "grad_min": -0.5, "grad_max": 3.5},
    "FastSigmoid": {"slope": 100.0},
    "Circ": {"alpha": 1.5},
    "MultiGaussian": {"sigma": 0.3, "h": 0.5, "s": 2.0},
    "SparseFastSigmoid": {"slope": 10.0, "B": 0.2},
    "OneSidedRect": {"width": 0.25},
    "SpikeRateEscape": {"beta": 2.0, "slope": 0.5},
    "StochasticSpikeOperator": {"mean": 0.1, "variance": 0.5},
    "BernoulliSigmoid": {"alpha": 2.0},
    "Triangle": {"width": 0.5},
    "SoftTanh": {"k": 3.0},
}

#: Shapes whose spiking forward is not the Heaviside step.
OWN_FORWARD = {"PoissonPass", "BernoulliSigmoid", "MultiLevelSpikeCount"}
#: Shapes whose ``g'`` is periodic: no limit at +-inf, so the rule "0 at +-inf" applies by definition.
PERIODIC = {"SquarewaveFourierSeries"}


def cid(cls: type[Surrogate]) -> str:
    return cls.__name__


def params_of(cls: type[Surrogate], which: str = "default") -> dict[str, Any]:
    """The parameters of one case: ``"default"`` (plus required ones) or ``"other"``."""
    if which == "other":
        return dict(OTHER[cls.__name__])
    return dict(REQUIRED.get(cls.__name__, {}))


def build(cls: type[Surrogate], params: dict[str, Any] | None = None, **kwargs: Any) -> Surrogate:
    """Instantiate ``cls`` from Param names (maps MultiLevelSpikeCount's window to its argument)."""
    params = dict(params if params is not None else params_of(cls))
    if cls is surrogate.MultiLevelSpikeCount and ("grad_min" in params or "grad_max" in params):
        window = (params.pop("grad_min"), params.pop("grad_max"))
        return cls(**params, grad_window=window, **kwargs)
    return cls(**params, **kwargs)


def cases(classes: list[type[Surrogate]] | None = None, which: tuple[str, ...] = ("default", "other")):
    """``pytest.param(cls, params)`` for each class and parameter set."""
    out = []
    for cls in classes if classes is not None else CLASSES:
        for w in which:
            out.append(pytest.param(cls, params_of(cls, w), id=f"{cls.__name__}-{w}"))
    return out


def sample_input(cls: type[Surrogate], n: int = 64, dtype: torch.dtype = torch.float64,
                 seed: int = 0) -> Tensor:
    """A random input in the shape's domain (probabilities for PoissonPass), with 0 and -0.0."""
    gen = torch.Generator().manual_seed(seed)
    if cls is surrogate.PoissonPass:
        x = torch.rand(n, generator=gen, dtype=torch.float64)
        x[:3] = torch.tensor([0.0, 1.0, 0.5])
    else:
        x = 3 * torch.randn(n, generator=gen, dtype=torch.float64)
        x[:2] = torch.tensor([0.0, -0.0])
    return x.to(dtype)


def grid(sg: Surrogate, half_width: float = 20.0) -> Tensor:
    """A dense float64 grid: uniform steps of 1e-3, 1e-5 near 0, plus every breakpoint and its neighbours."""
    bps = torch.tensor([float(b) for b in sg.breakpoints(*sg.param_values)], dtype=torch.float64)
    eps = 1e-9
    parts = [
        torch.linspace(-half_width, half_width, 40_001, dtype=torch.float64),
        torch.linspace(-0.05, 0.05, 10_001, dtype=torch.float64),
        bps, bps - eps, bps + eps,
        torch.tensor([0.0, -0.0, 1e-300, -1e-300], dtype=torch.float64),
    ]
    return torch.sort(torch.cat(parts)).values


def area_grid(sg: Surrogate, half_width: float) -> Tensor:
    """Grid for the trapezoid rule: cubic stretch (dense near 0), breakpoints bracketed by 1e-12."""
    u = torch.linspace(-1.0, 1.0, 100_001, dtype=torch.float64)
    x = half_width * u.pow(3)
    bps = torch.tensor([float(b) for b in sg.breakpoints(*sg.param_values)], dtype=torch.float64)
    x = torch.cat([x, bps, bps - 1e-12, bps + 1e-12])
    return torch.unique(x)  # sorted


def numeric_area(sg: Surrogate, half_width: float = 1e5) -> float:
    x = area_grid(sg, half_width)
    return torch.trapezoid(sg.grad(x), x).item()


def as_float(value: Any) -> float:
    return float(value.item()) if isinstance(value, Tensor) else float(value)


def isclose(a: float, b: float, rel: float, abs_: float = 0.0) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)
