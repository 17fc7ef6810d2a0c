"""Backward: ``grad_in = grad_out * g'(x)``; ``g'`` is the derivative of ``g``, finite everywhere,
with the right limits at +-inf; ``peak`` and ``area`` tell the truth."""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad import surrogate

from .cases import (
    CLASSES,
    DTYPES,
    PERIODIC,
    as_float,
    build,
    cases,
    grid,
    isclose,
    numeric_area,
    sample_input,
)

WITH_PRIMITIVE = [cls for cls in CLASSES if cls.has_primitive]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("cls", "params"), cases())
def test_backward_is_grad_out_times_derivative(cls, params, dtype):
    sg = build(cls, params)
    x = sample_input(cls, 200, dtype).requires_grad_()
    grad_out = torch.randn(x.shape, generator=torch.Generator().manual_seed(1)).to(dtype)
    torch.manual_seed(7)  # StochasticSpikeOperator draws its noise in backward
    sg(x).backward(grad_out)
    torch.manual_seed(7)
    expected = grad_out * sg.grad(x.detach())
    assert x.grad.dtype == dtype
    # torch.testing's per-dtype tolerances: a fused backward kernel may round differently from
    # the eager formula; a wrong formula or argument order is off by far more.
    torch.testing.assert_close(x.grad, expected)


@pytest.mark.parametrize(("cls", "params"), cases())
def test_no_input_grad_no_work(cls, params):
    """``ctx.needs_input_grad`` is respected: a spike of a constant has no gradient path."""
    sg = build(cls, params)
    x = sample_input(cls, 8)
    assert not sg(x).requires_grad


@pytest.mark.parametrize(("cls", "params"), cases(WITH_PRIMITIVE))
def test_derivative_is_autograd_of_primitive(cls, params):
    """In float64 on a dense grid holding every breakpoint (and its 1e-9 neighbours)."""
    sg = build(cls, params)
    x = grid(sg)
    if cls is surrogate.PoissonPass:
        x = x[(x >= 0) & (x <= 1)]
    if cls is surrogate.MultiLevelSpikeCount and params.get("grad_min", 0.0) != 0.0:
        pytest.skip("a custom gradient window is a straight-through choice: g stays clamp(x, 0, K)")
    x.requires_grad_()
    (by_autograd,) = torch.autograd.grad(cls.primitive(x, *sg.param_values).sum(), x)
    torch.testing.assert_close(sg.grad(x.detach()), by_autograd, rtol=1e-9, atol=1e-12)


def limit_at_infinity(sg: surrogate.Surrogate) -> torch.Tensor:
    """g' at -inf and +inf by the catalogue's rule: the limit of g' (its value at +-1e300), 0 if periodic."""
    if type(sg).__name__ in PERIODIC:
        return torch.zeros(2, dtype=torch.float64)
    return sg.grad(torch.tensor([-1e300, 1e300], dtype=torch.float64))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("cls", "params"), cases())
def test_derivative_is_finite_everywhere(cls, params, dtype):
    """Never NaN or inf for any finite x of the dtype, nor at +-inf, where it takes its limit."""
    sg = build(cls, params)
    f = torch.finfo(dtype)
    exponents = torch.arange(math.log2(f.smallest_normal * f.eps), math.log2(f.max), 0.37)
    magnitudes = torch.cat([torch.exp2(exponents.double()), torch.tensor([0.0, f.max])])
    x = torch.cat([-magnitudes, magnitudes, torch.tensor([-0.0])]).to(dtype)
    torch.manual_seed(0)
    d = sg.grad(x)
    assert d.dtype == dtype
    assert torch.isfinite(d).all(), x[~torch.isfinite(d)]
    at_inf = sg.grad(torch.tensor([-math.inf, math.inf], dtype=dtype))
    assert torch.isfinite(at_inf).all()
    if not cls.stochastic:
        expected = limit_at_infinity(sg).to(dtype)
        torch.testing.assert_close(at_inf, expected, rtol=2 * f.eps, atol=1e-12)
    elif cls is surrogate.StochasticSpikeOperator:
        assert at_inf[1] == 1  # it spiked


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_peak_is_one_at_defaults(cls):
    sg = build(cls)
    torch.manual_seed(0)
    assert sg.peak == 1
    assert sg.grad(grid(sg)).max().item() == pytest.approx(1.0, rel=1e-9, abs=0)


@pytest.mark.parametrize(("cls", "params"), cases())
def test_peak_reports_the_maximum(cls, params):
    sg = build(cls, params)
    torch.manual_seed(0)
    numeric = sg.grad(grid(sg)).max().item()
    assert isclose(as_float(sg.peak), numeric, rel=1e-6)


@pytest.mark.parametrize(("cls", "params"), cases())
def test_area_reports_the_integral(cls, params):
    """Finite: the trapezoid integral over [-1e5, 1e5]; inf: the integral keeps growing; nan: undefined."""
    sg = build(cls, params)
    area = as_float(sg.area)
    if (cls.stochastic and math.isnan(area)) or cls.__name__ in PERIODIC:
        assert math.isnan(area)
        return
    if math.isinf(area):
        assert area > 0
        assert numeric_area(sg, 1e5) - numeric_area(sg, 1e2) > 1.0
    else:
        assert area == pytest.approx(numeric_area(sg, 1e5), rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("cls", [c for c in CLASSES if c.has_primitive and math.isfinite(as_float(
    (c(3) if c is surrogate.MultiLevelSpikeCount else c()).area))], ids=lambda c: c.__name__)
def test_primitive_spans_the_area(cls):
    """For a finite area, g climbs by exactly the area from far below to far above threshold."""
    sg = build(cls)
    far = torch.tensor([-1e7, 1e7], dtype=torch.float64)
    g = cls.primitive(far, *sg.param_values)
    assert (g[1] - g[0]).item() == pytest.approx(as_float(sg.area), rel=1e-6)


def test_stochastic_spike_operator_noise():
    """g' is 1 where the neuron spiked and ``(U - 1/2 + mean) variance`` elsewhere, fresh per call."""
    sg = surrogate.StochasticSpikeOperator(mean=0.1, variance=0.5)
    x = torch.cat([torch.full((5000,), -1.0), torch.full((10,), 0.5), torch.zeros(1)])
    torch.manual_seed(0)
    d = sg.grad(x)
    assert (d[5000:] == 1).all()
    noise = d[:5000]
    assert noise.min() >= (-0.5 + 0.1) * 0.5 and noise.max() < (0.5 + 0.1) * 0.5
    assert noise.mean().item() == pytest.approx(0.1 * 0.5, abs=0.01)
    assert not torch.equal(noise, sg.grad(x)[:5000])
