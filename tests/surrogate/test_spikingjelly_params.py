"""The parameter differences from SpikingJelly 2.0, each asserted as a difference.

Listed in the section "Surrogate parameters" of ``docs/differences_spikingjelly.md``.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from spikegrad import surrogate

sj = pytest.importorskip("spikingjelly.activation_based.surrogate",
                         reason="SpikingJelly 2.0 is not installed (pip install --no-deps spikingjelly)")


def test_a_learnable_width_gets_a_gradient_here_and_none_in_spikingjelly():
    x = torch.randn(16, dtype=torch.float64)
    theirs = nn.Parameter(torch.tensor(3.0, dtype=torch.float64))
    sj.Sigmoid(alpha=theirs)(x.clone().requires_grad_()).sum().backward()
    assert theirs.grad is None
    ours = nn.Parameter(torch.tensor(3.0, dtype=torch.float64))
    surrogate.Sigmoid(alpha=ours)(x.clone().requires_grad_()).sum().backward()
    a = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(a * x).sum().backward()
    torch.testing.assert_close(ours.grad, a.grad)


def test_assignment_and_functional_form_are_checked_here_and_not_in_spikingjelly():
    x = torch.randn(8, requires_grad=True)
    theirs = sj.ATan()
    theirs.alpha = math.nan
    theirs(x).sum().backward()
    assert torch.isnan(x.grad).all()
    with pytest.raises(ValueError, match="'alpha' must be a finite number > 0, got nan"):
        surrogate.ATan().alpha = math.nan
    x.grad = None
    sj.atan.apply(x, -1.0).sum().backward()
    assert (x.grad < 0).all()  # negative gradients, silently
    with pytest.raises(ValueError, match=r"atan: parameter 'alpha' must be a finite number > 0, got -1\.0"):
        surrogate.atan.apply(x, -1.0)


def test_huge_parameters_give_nan_in_spikingjelly_and_a_clear_error_here():
    x = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    sj.Sigmoid(alpha=1e300)(x).sum().backward()
    assert not torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match=r"'alpha' = 1e\+300 becomes inf in the input's dtype torch.float32"):
        surrogate.Sigmoid(alpha=1e300)(x)
