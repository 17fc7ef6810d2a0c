"""A few values of g' and g worked out by hand from the formulas in SURROGATES.md."""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad import surrogate as sg

from .custom_shapes import SoftTanh, Triangle

s = 1 / (1 + math.exp(-2.0))  # sigmoid(2)

GRADIENTS = [
    # (module, x, g'(x))
    (sg.Sigmoid(), 0.0, 1.0),
    (sg.Sigmoid(), 0.5, 4 * s * (1 - s)),
    (sg.SoftSign(), 1.0, 2 / (2 * 3**2)),
    (sg.ATan(), 1.0, 1 / (1 + math.pi**2)),  # (pi alpha x / 2)^2 = pi^2
    (sg.ATan(alpha=4.0), 0.0, 2.0),
    (sg.PiecewiseQuadratic(), 0.5, 0.5),
    (sg.PiecewiseQuadratic(), -1.0, 0.0),
    (sg.PiecewiseExp(), 1.0, math.exp(-2)),
    (sg.LeakyKReLU(0.1, 2.0), -3.0, 0.1),
    (sg.LeakyKReLU(0.1, 2.0), 0.0, 2.0),
    (sg.PiecewiseLeakyReLU(), 0.5, 1.0),  # |x| <= w inclusive
    (sg.PiecewiseLeakyReLU(), 0.6, 0.01),
    (sg.SquarewaveFourierSeries(), 1.0, 0.0),  # cos(pi/2)
    (sg.SquarewaveFourierSeries(3, 4.0), 0.0, 2.0),
    (sg.S2NN(), 1.0, 0.5),
    (sg.S2NN(), -0.5, 4 * s * (1 - s)),
    (sg.QPseudoSpike(), 0.5, 0.25),
    (sg.QPseudoSpike(3.0), -1.0, 1 / 8),
    (sg.LogTailedReLU(0.2), -1.0, 0.2),
    (sg.LogTailedReLU(), 1.0, 1.0),
    (sg.LogTailedReLU(), 4.0, 0.25),
    (sg.NonzeroSignLogAbs(), -1.0, 0.5),
    (sg.Erf(), 0.0, 1.0),
    (sg.Erf(alpha=2.0), 0.5, 2 / math.sqrt(math.pi) * math.exp(-1)),
    (sg.SuperSpike(), 1.0, 0.25),
    (sg.Rect(), 0.49, 1.0),
    (sg.Rect(), 0.5, 0.0),  # the window is open: |x| < 1/(2 alpha)
    (sg.DeterministicPass(), -7.0, 1.0),
    (sg.PoissonPass(), 0.3, 1.0),
    (sg.FakeNumericalGradient(), 2.0, 0.5),
    (sg.FakeNumericalGradient(), -0.0, 1.0),  # SpikingJelly: -inf
    (sg.FakeNumericalGradient(0.3), 0.1, 0.3),
    (sg.MultiLevelSpikeCount(3), 3.0, 1.0),  # window [0, K] inclusive
    (sg.MultiLevelSpikeCount(3), 3.1, 0.0),
    (sg.FastSigmoid(), 0.04, 0.25),
    (sg.Circ(), 0.5, 0.125 / 0.5**1.5),
    (sg.SparseFastSigmoid(), -1.0, 0.0),
    (sg.SparseFastSigmoid(), 0.04, 0.25),
    (sg.OneSidedRect(), -0.5, 1.0),
    (sg.OneSidedRect(), -0.51, 0.0),
    (sg.SpikeRateEscape(), 1.0, 1.0),
    (sg.SpikeRateEscape(), 0.0, math.exp(-1)),
    (sg.BernoulliSigmoid(), 0.5, 4 * s * (1 - s)),
    (Triangle(), 0.25, 0.75),
    (SoftTanh(), 0.0, 1.0),
]


@pytest.mark.parametrize(("module", "x", "expected"), GRADIENTS, ids=lambda v: repr(v) if not
                         isinstance(v, float) else f"{v:g}")
def test_gradient_by_hand(module, x, expected):
    got = module.grad(torch.tensor([x], dtype=torch.float64)).item()
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # and through backward
    t = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    module(t).sum().backward()
    assert t.grad.item() == pytest.approx(expected, rel=1e-12, abs=1e-15)


PRIMITIVES = [
    (sg.Sigmoid(), 0.0, 0.5),
    (sg.ATan(), 1.0, math.atan(math.pi) / math.pi + 0.5),
    (sg.PiecewiseQuadratic(), 0.5, -0.125 + 0.5 + 0.5),
    (sg.PiecewiseExp(), -1.0, math.exp(-2) / 2),
    (sg.PiecewiseLeakyReLU(), -1.0, -0.01 + 0.005),
    (sg.S2NN(), 1.0, math.log(2) + 0.5),
    (sg.QPseudoSpike(), -0.5, 0.25),
    (sg.LogTailedReLU(), math.e, 2.0),
    (sg.NonzeroSignLogAbs(), -1.0, -math.log(2)),
    (sg.NonzeroSignLogAbs(), -0.0, 0.0),
    (sg.Erf(alpha=1.0), 0.0, 0.5),
    (sg.SuperSpike(), 1.0, 1.0),
    (sg.Rect(), 0.25, 0.75),
    (sg.MultiLevelSpikeCount(3), 2.5, 2.5),
    (sg.FastSigmoid(slope=1.0), 1.0, 1.5),
    (sg.Circ(alpha=1.0), 0.0, 1.0),
    (sg.OneSidedRect(), 1.0, 1.5),
    (sg.SpikeRateEscape(), 1.0, 1.0),
    (Triangle(), 1.0, 1.0),
]


@pytest.mark.parametrize(("module", "x", "expected"), PRIMITIVES, ids=lambda v: repr(v) if not
                         isinstance(v, float) else f"{v:g}")
def test_primitive_by_hand(module, x, expected):
    module.set_spiking_mode(False)
    got = module(torch.tensor([x], dtype=torch.float64)).item()
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_peak_and_area_by_hand():
    assert (sg.Sigmoid(alpha=8.0).peak, sg.Sigmoid(alpha=8.0).area) == (2.0, 1.0)
    assert sg.S2NN(alpha=2.0, beta=0.8).peak == 0.8
    assert sg.SquarewaveFourierSeries(4, 8.0).peak == 1.5
    assert sg.SuperSpike(alpha=3.0).area == 6.0
    assert sg.FastSigmoid(slope=100.0).area == 0.02
    assert sg.MultiLevelSpikeCount(5, grad_window=(1.0, 2.5)).area == 1.5
    assert sg.PiecewiseLeakyReLU(w=0.25, c=0.0).area == 1.0
    assert math.isinf(sg.PiecewiseLeakyReLU().area)
    assert sg.LeakyKReLU(0.0, 0.0).area == 0.0
    assert Triangle(width=0.5).area == pytest.approx(0.5, rel=1e-6)
    assert SoftTanh(k=3.0).peak == pytest.approx(1.5, rel=1e-9)
