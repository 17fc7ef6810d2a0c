"""The fused surrogate backward ``grad_out * g'(x)`` used by every SpikeFunction."""

from __future__ import annotations

import pytest
import torch

from spikegrad import surrogate
from spikegrad.kernels import pointwise
from spikegrad.surrogate import Surrogate

N = pointwise.MIN_ELEMENTS


def _grads(sg: Surrogate, x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    xr = x.clone().requires_grad_()
    (fused,) = torch.autograd.grad(sg(xr), xr, g)
    eager = g * type(sg).derivative(x, *sg.param_values)
    return fused, eager


@pytest.mark.parametrize(
    "sg",
    [surrogate.ATan(alpha=1.5), surrogate.MultiGaussian(), surrogate.SquarewaveFourierSeries(n=3)],
    ids=lambda s: type(s).__name__,
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_fused_backward_equals_eager(sg: Surrogate, dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(N, generator=gen, dtype=dtype) * 2
    g = torch.randn(N, generator=gen, dtype=dtype)
    assert pointwise.surrogate_grad(type(sg), g, x, sg.param_values) is not None  # the fused path runs
    fused, eager = _grads(sg, x, g)
    torch.testing.assert_close(fused, eager, rtol=4 * torch.finfo(dtype).eps, atol=4 * torch.finfo(dtype).eps)


def test_parameter_values_are_runtime_inputs() -> None:
    x = torch.randn(N)
    g = torch.randn(N)
    for alpha in (0.5, 3.0):
        fused, eager = _grads(surrogate.ATan(alpha=alpha), x, g)
        torch.testing.assert_close(fused, eager)


def test_falls_back_where_it_must() -> None:
    x, g = torch.randn(N), torch.randn(N)
    atan = surrogate.ATan
    assert pointwise.surrogate_grad(atan, g[: N // 2], x[: N // 2], (2.0,)) is None  # small
    assert pointwise.surrogate_grad(atan, g.view(2, -1).t(), x.view(2, -1).t(), (2.0,)) is None  # strided
    assert pointwise.surrogate_grad(atan, g, x, (torch.tensor(2.0),)) is None  # tensor parameter
    assert pointwise.surrogate_grad(surrogate.StochasticSpikeOperator, g, x, (0.0, 0.2)) is None  # random
    # double backward records the eager formula, which autograd can differentiate again
    xr = x.clone().requires_grad_()
    (gx,) = torch.autograd.grad(surrogate.Sigmoid()(xr), xr, g, create_graph=True)
    assert gx.requires_grad
