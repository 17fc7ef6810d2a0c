"""spikegrad.encoding.PoissonEncoder."""

from __future__ import annotations

import pytest
import torch

from spikegrad import encoding


def test_rate_matches_probability():
    torch.manual_seed(0)
    encoder = encoding.PoissonEncoder()
    p = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0])
    spikes = torch.stack([encoder(p) for _ in range(4000)])
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    rate = spikes.mean(0)
    assert rate[0] == 0.0 and rate[-1] == 1.0
    torch.testing.assert_close(rate, p, atol=0.03, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_dtype_and_shape_preserved(dtype):
    encoder = encoding.PoissonEncoder(step_mode="m")
    out = encoder(torch.rand(3, 2, 4, dtype=dtype))
    assert out.dtype == dtype and out.shape == (3, 2, 4)


def test_bad_inputs():
    encoder = encoding.PoissonEncoder()
    with pytest.raises(ValueError, match=r"in \[0, 1\]; got 1.5"):
        encoder(torch.tensor([0.2, 1.5]))
    with pytest.raises(ValueError, match=r"nan"):
        encoder(torch.tensor([float("nan")]))
    with pytest.raises(TypeError, match=r"floating-point"):
        encoder(torch.tensor([1, 0]))
    with pytest.raises(ValueError, match=r"step_mode"):
        encoding.PoissonEncoder(step_mode="t")
