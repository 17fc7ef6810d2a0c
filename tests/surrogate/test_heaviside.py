"""The spike ``H(x)``: 1 for ``x >= 0`` (zeros of both signs fire), on both of its code paths.

``heaviside`` writes large plain tensors (2^16 elements and more) with one ``torch.ge`` pass
into the output, and smaller or traced ones with ``(x >= 0).to(dtype)``. Both must fire at
``x = 0`` and ``x = -0.0``: a neuron whose charge equals its threshold fires.
"""

from __future__ import annotations

import pytest
import torch

from spikegrad import surrogate
from spikegrad.surrogate._base import _plain, heaviside

FAST = 1 << 16
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _with_zeros(n: int, dtype: torch.dtype) -> torch.Tensor:
    x = torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64).to(dtype)
    x[::7] = 0.0
    x[3::7] = -0.0
    x[5::11] = torch.finfo(dtype).tiny  # the smallest positive normal fires, its negative does not
    x[6::11] = -torch.finfo(dtype).tiny
    return x


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("n", [FAST - 1, FAST, FAST + 5], ids=["small", "at-threshold", "large"])
def test_zero_fires_on_both_paths(n, dtype):
    x = _with_zeros(n, dtype)
    assert _plain(x)  # so n >= 2^16 takes the one-pass path
    spikes = heaviside(x)
    assert spikes.dtype == dtype and spikes.shape == x.shape
    expected = (x.double() >= 0).to(dtype)
    assert torch.equal(spikes, expected)
    assert torch.all(spikes[x == 0] == 1) and torch.all(spikes[x.signbit() & (x == 0)] == 1)


@pytest.mark.parametrize("cls", [surrogate.Sigmoid, surrogate.ATan, surrogate.Rect], ids=lambda c: c.__name__)
def test_modules_fire_at_zero_on_large_inputs(cls):
    x = torch.zeros(2 * FAST)
    x[1::2] = -0.0
    assert torch.equal(cls()(x), torch.ones_like(x))
    assert torch.equal(cls.function.apply(x, *cls().param_values), torch.ones_like(x))
