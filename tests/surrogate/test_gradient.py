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


def breakpoints_of(sg: surrogate.Surrogate) -> torch.Tensor:
    """The definition's declared breakpoints (where ``g'`` has kinks or jumps), as float64."""
    return torch.tensor([float(b) for b in sg.breakpoints(*sg.param_values)], dtype=torch.float64)


def at_a_breakpoint(x: torch.Tensor, bps: torch.Tensor) -> torch.Tensor:
    """Which points lie on a breakpoint (to within the rounding of a computed one such as ``-1/alpha``).

    There, autograd of a primitive depends on how a torch release defines the derivative of
    ``clamp``/``where`` at its bound (torch 2.14 changed d/dx ``clamp(x, min=0)`` at 0 from 1 to 0),
    so the test compares those points by the definition's one-sided rule instead.
    """
    if bps.numel() == 0:
        return torch.zeros_like(x, dtype=torch.bool)
    distance = (x[:, None] - bps[None, :]).abs()
    return (distance <= 4 * torch.finfo(torch.float64).eps * bps.abs().clamp(min=1)).any(dim=1)


def autograd_of_primitive(cls: type[surrogate.Surrogate], sg: surrogate.Surrogate,
                          x: torch.Tensor) -> torch.Tensor:
    """``d g / dx`` by autograd, elementwise, in x's dtype."""
    x = x.detach().requires_grad_()
    (by_autograd,) = torch.autograd.grad(cls.primitive(x, *sg.param_values).sum(), x)
    return by_autograd


def straight_through_window(cls: type[surrogate.Surrogate], params: dict) -> bool:
    return cls is surrogate.MultiLevelSpikeCount and params.get("grad_min", 0.0) != 0.0


@pytest.mark.parametrize(("cls", "params"), cases(WITH_PRIMITIVE))
def test_derivative_is_autograd_of_primitive(cls, params):
    """In float64 on a dense grid that comes within 1e-9 of every breakpoint but not onto one."""
    sg = build(cls, params)
    if straight_through_window(cls, params):
        pytest.skip("a custom gradient window is a straight-through choice: g stays clamp(x, 0, K)")
    x = grid(sg)
    if cls is surrogate.PoissonPass:
        x = x[(x >= 0) & (x <= 1)]
    x = x[~at_a_breakpoint(x, breakpoints_of(sg))]
    torch.testing.assert_close(sg.grad(x), autograd_of_primitive(cls, sg, x), rtol=1e-9, atol=1e-12)


#: How far from a breakpoint its one-sided derivatives are read. g' changes by at most
#: ``STEP * max |g''|`` over it (< 1e-7 for every shape and parameter set under test), while the
#: two sides of a jump differ by far more (S2NN: alpha/4 against beta; OneSidedRect: 0 against 1).
STEP = 1e-9


@pytest.mark.parametrize(("cls", "params"), cases(WITH_PRIMITIVE))
def test_derivative_at_breakpoints_is_a_one_sided_limit(cls, params):
    """At each kink or jump, ``g'`` takes the derivative of ``g`` from the left or from the right.

    Both one-sided derivatives are taken by autograd just off the breakpoint, where every torch
    release agrees, so the check does not depend on what a release returns at the kink itself.
    At 0 the sign of zero makes no difference.
    """
    sg = build(cls, params)
    if straight_through_window(cls, params):
        pytest.skip("a custom gradient window is a straight-through choice: g stays clamp(x, 0, K)")
    bps = breakpoints_of(sg)
    if cls is surrogate.PoissonPass:
        bps = bps[(bps >= 0) & (bps <= 1)]
    at = torch.cat([bps, -bps[bps == 0]])  # b, and -0.0 beside 0.0
    value = sg.grad(at)
    left = autograd_of_primitive(cls, sg, at - STEP)
    right = autograd_of_primitive(cls, sg, at + STEP)
    if cls is surrogate.PoissonPass:
        left = torch.where(at == 0, right, left)  # the domain ends at 0 and 1: one side only
        right = torch.where(at == 1, left, right)
    tolerance = 1e-7 * (1 + value.abs())
    from_left = (value - left).abs() <= tolerance
    from_right = (value - right).abs() <= tolerance
    assert (from_left | from_right).all(), (
        f"g' at {at[~(from_left | from_right)].tolist()} is {value[~(from_left | from_right)].tolist()}, "
        f"neither the left limit {left[~(from_left | from_right)].tolist()} "
        f"nor the right limit {right[~(from_left | from_right)].tolist()}"
    )


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
