"""Huge and tiny parameters, and infinite inputs: a clear error or finite numbers, never NaN.

The rule: a parameter must still meet its own rule once converted to the input's dtype (so
``alpha = 1e300`` is refused for a float32 input, and a positive width that would become 0
too), and the largest gradient the shape produces (its peak, for most shapes) must fit the
dtype. Everything the rule lets through computes without overflow: the formulas are written
in scaled variables (``u = alpha x``), and ``+-inf`` inputs give each formula's limit.
"""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad import surrogate

from .cases import CLASSES, OTHER, PERIODIC, build, params_of

HUGE, TINY = 1e300, 1e-300


def _scaled_cases(value: float):
    """(class, parameter) pairs whose rule allows ``value``."""
    out = []
    for cls in CLASSES:
        for p in cls.params:
            if p.integer or cls.__name__ in ("Triangle", "SoftTanh"):
                continue
            if (p.low is not None and value <= p.low) or (p.high is not None and value >= p.high):
                continue
            if cls is surrogate.MultiLevelSpikeCount and p.name == "grad_min":
                continue  # must stay <= grad_max
            out.append(pytest.param(cls, p.name, id=f"{cls.__name__}-{p.name}"))
    return out


def _inputs(dtype: torch.dtype) -> torch.Tensor:
    values = [-math.inf, -1e30, -3.0, -1.0, -1e-3, -0.0, 0.0, 1e-3, 0.5, 1.0, 3.0, 1e30, math.inf]
    return torch.tensor(values, dtype=torch.float64).to(dtype)


def _assert_finite_everywhere(sg: surrogate.Surrogate, dtype: torch.dtype) -> None:
    x = _inputs(dtype).requires_grad_()
    spikes = sg(x)
    spikes.backward(torch.ones_like(spikes))
    assert torch.isfinite(x.grad).all(), f"{sg}: g' = {x.grad.tolist()}"
    if sg.has_primitive:
        x = _inputs(dtype).requires_grad_()
        sg.set_spiking_mode(False)
        g = sg(x)
        assert not torch.isnan(g).any(), f"{sg}: g = {g.tolist()}"
        g.backward(torch.ones_like(g))
        assert torch.isfinite(x.grad).all(), f"{sg}: autograd of g = {x.grad.tolist()}"


@pytest.mark.parametrize(("cls", "name"), _scaled_cases(HUGE))
def test_huge_parameters_are_refused_where_they_do_not_fit_and_finite_where_they_do(cls, name):
    params = dict(OTHER[cls.__name__])
    params[name] = HUGE
    sg = build(cls, params)
    x = torch.randn(4)
    if cls is not surrogate.PoissonPass:
        becomes_inf = rf"'{name}' = 1e\+300 becomes inf in the input's dtype torch.float32"
        with pytest.raises(ValueError, match=becomes_inf):
            sg(x)
        with pytest.raises(ValueError, match=rf"{cls.function.__name__}: parameter '{name}' = 1e\+300"):
            cls.function.apply(x, *sg.param_values)
    try:
        _assert_finite_everywhere(sg, torch.float64)
    except ValueError as error:  # the gradient itself would be 1e300-ish: only its bound may refuse
        assert "the gradient reaches" in str(error) and "torch.float64" in str(error)


def _strictly_positive(case) -> bool:
    spec = case.values[0]._specs[case.values[1]]
    return spec.low == 0.0 and not spec.low_inclusive


@pytest.mark.parametrize(("cls", "name"), [c for c in _scaled_cases(TINY) if _strictly_positive(c)])
def test_tiny_positive_parameters_are_refused_where_they_would_become_zero(cls, name):
    params = dict(OTHER[cls.__name__])
    params[name] = TINY
    sg = build(cls, params)
    becomes_zero = rf"'{name}' = 1e-300 becomes 0.0 in the input's dtype torch.float32"
    with pytest.raises(ValueError, match=becomes_zero):
        sg(torch.randn(4))
    try:
        _assert_finite_everywhere(sg, torch.float64)
    except ValueError as error:
        assert "the gradient reaches" in str(error)


def test_float16_limits_and_messages():
    x = torch.randn(4, dtype=torch.float16)
    with pytest.raises(ValueError, match=r"'alpha' = 100000.0 becomes inf in the input's dtype .*float16"):
        surrogate.Sigmoid(alpha=1e5)(x)
    with pytest.raises(ValueError, match=r"'max_spike_count' = 70000 becomes inf .* torch.float16"):
        surrogate.MultiLevelSpikeCount(70_000)(x)
    surrogate.MultiLevelSpikeCount(70_000)(x.float())  # fits float32
    # 1e-6 is a float16 subnormal, so a leak that small is kept (the rule is "still > 0", not "normal")
    surrogate.LeakyKReLU(leak=1e-6)(x)


def test_the_gradient_bound_refuses_a_peak_the_dtype_cannot_hold():
    bound = r"the gradient reaches .* at n=2, T_period=1e-38, more than torch.float32"
    with pytest.raises(ValueError, match=bound):
        surrogate.SquarewaveFourierSeries(T_period=1e-38)(torch.randn(3))
    # the noise of the stochastic operator reaches (|mean| + 1/2) variance below zero
    with pytest.raises(ValueError, match=r"the gradient reaches 1e\+39"):
        surrogate.StochasticSpikeOperator(mean=-1e38, variance=10.0)(torch.randn(3))
    surrogate.StochasticSpikeOperator(mean=-1e38, variance=10.0)(torch.randn(3, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_infinite_inputs_give_finite_gradients_and_no_nan_at_default_and_other_parameters(cls, dtype):
    """+-inf once gave NaN primitives (inf/inf, 0*inf) for SoftSign, FastSigmoid, SuperSpike, Circ,
    SparseFastSigmoid, LeakyKReLU(k=0), PiecewiseLeakyReLU(c=0), LogTailedReLU(alpha=0) and the
    square wave series."""
    if cls is surrogate.PoissonPass:
        return  # its input is a probability
    for params in (params_of(cls), params_of(cls, "other")):
        _assert_finite_everywhere(build(cls, params), dtype)
    if cls is surrogate.LeakyKReLU:
        _assert_finite_everywhere(surrogate.LeakyKReLU(leak=0.0, k=0.0), dtype)
    if cls is surrogate.PiecewiseLeakyReLU:
        _assert_finite_everywhere(surrogate.PiecewiseLeakyReLU(c=0.0), dtype)


def test_square_wave_primitive_is_one_half_at_infinity():
    sg = surrogate.SquarewaveFourierSeries(spiking=False)
    assert sg(torch.tensor([-math.inf, math.inf])).tolist() == [0.5, 0.5]
    assert "SquarewaveFourierSeries" in PERIODIC


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32], ids=str)
def test_large_parameters_that_fit_do_not_overflow_the_formulas(dtype):
    """Products like alpha^2, alpha^3, (pi/2) alpha and s^2 once overflowed where alpha itself fits."""
    largest = torch.finfo(dtype).max
    for sg in (surrogate.ATan(alpha=largest / 2), surrogate.PiecewiseQuadratic(alpha=largest / 2),
               surrogate.Circ(alpha=largest / 2), surrogate.Circ(alpha=1e-20),
               surrogate.MultiGaussian(sigma=largest / 4, s=largest / 4),
               surrogate.FastSigmoid(slope=largest / 2),
               surrogate.SpikeRateEscape(beta=1e-20, slope=1e10)):
        try:
            _assert_finite_everywhere(sg, dtype)
        except ValueError as error:
            assert "the gradient reaches" in str(error), error
