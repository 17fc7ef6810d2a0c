"""Autograd machinery: gradcheck / gradgradcheck, ``torch.func.grad``, ``vmap`` and forward-mode
``jvp`` all see ``g'``."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

from spikegrad import surrogate

from .cases import CLASSES, build, cases, sample_input

DETERMINISTIC_GRAD = [cls for cls in CLASSES if cls is not surrogate.StochasticSpikeOperator]


def away_from_breakpoints(sg: surrogate.Surrogate, n: int = 12, seed: int = 0) -> torch.Tensor:
    """float64 points at least 1e-2 from every breakpoint (finite differences step across none),
    inside [0.05, 0.95] for PoissonPass."""
    gen = torch.Generator().manual_seed(seed)
    if isinstance(sg, surrogate.PoissonPass):
        return (0.05 + 0.9 * torch.rand(n, generator=gen, dtype=torch.float64)).requires_grad_()
    x = 2 * torch.randn(4 * n, generator=gen, dtype=torch.float64)
    bps = torch.tensor([float(b) for b in sg.breakpoints(*sg.param_values)], dtype=torch.float64)
    if not sg.smooth:
        x = x[(x[:, None] - bps[None, :]).abs().min(dim=1).values > 1e-2]
    return x[:n].clone().requires_grad_()


@pytest.mark.parametrize(("cls", "params"), cases([c for c in CLASSES if c.has_primitive]))
def test_gradcheck_primitive(cls, params):
    """The smooth path (spiking=False) has consistent first and, where smooth, second derivatives."""
    sg = build(cls, params, spiking=False)
    x = away_from_breakpoints(sg)
    assert gradcheck(sg, (x,), check_forward_ad=True, check_batched_grad=True)
    if cls.smooth:
        assert gradgradcheck(sg, (x,), check_fwd_over_rev=True)


@pytest.mark.parametrize(("cls", "params"), cases(DETERMINISTIC_GRAD))
def test_gradgradcheck_spike_backward(cls, params):
    """Double backward through ``grad_out * g'(x)`` matches finite differences of the backward.

    (A first-order gradcheck of the spike cannot pass by design: numerically dH/dx is 0.)
    Smooth shapes are checked anywhere, piecewise ones 1e-2 away from their breakpoints.
    """
    sg = build(cls, params)
    x = away_from_breakpoints(sg)
    fn = cls.function
    assert gradgradcheck(lambda t: fn.apply(t, *sg.param_values), (x,), check_batched_grad=True)


@pytest.mark.parametrize(("cls", "params"), cases())
def test_func_grad(cls, params):
    sg = build(cls, params)
    x = sample_input(cls, 32)
    for f in (sg, lambda t: cls.function.apply(t, *sg.param_values)):
        torch.manual_seed(3)
        got = torch.func.grad(lambda t, f=f: f(t).sum())(x)
        torch.manual_seed(3)
        torch.testing.assert_close(got, sg.grad(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("cls", "params"), cases())
def test_vmap(cls, params):
    """Forward and per-sample gradients under vmap (random draws: ``randomness='different'``)."""
    sg = build(cls, params)
    xb = sample_input(cls, 24).reshape(4, 6)
    randomness = "different" if cls.stochastic else "error"
    y = torch.vmap(sg, randomness=randomness)(xb)
    assert y.shape == xb.shape
    if not cls.stochastic:
        assert torch.equal(y, sg(xb))
    else:
        assert set(y.unique().tolist()) <= set(range(0, 2))
    per_sample = torch.vmap(torch.func.grad(lambda t: sg(t).sum()), randomness=randomness)(xb)
    if cls is surrogate.StochasticSpikeOperator:
        spiked = xb >= 0
        assert (per_sample[spiked] == 1).all()
        assert (per_sample[~spiked].abs() <= 0.6 * 0.5).all()
    else:
        torch.testing.assert_close(per_sample, sg.grad(xb), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("cls", "params"), cases())
def test_jvp_forward_mode(cls, params):
    """torch.func.jvp and dual numbers give the tangent ``g'(x) t``."""
    sg = build(cls, params)
    x = sample_input(cls, 32)
    t = torch.randn(x.shape, generator=torch.Generator().manual_seed(2), dtype=x.dtype)
    torch.manual_seed(5)
    y, tangent = torch.func.jvp(lambda v: cls.function.apply(v, *sg.param_values), (x,), (t,))
    torch.manual_seed(5)
    assert torch.equal(tangent, sg.grad(x) * t)
    if not cls.stochastic:
        assert torch.equal(y, sg(x))
    import torch.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        torch.manual_seed(5)
        out = sg(fwAD.make_dual(x, t))
        torch.manual_seed(5)
        assert torch.equal(fwAD.unpack_dual(out).tangent, sg.grad(x) * t)
