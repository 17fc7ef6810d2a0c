"""spikegrad.encoding.PoissonEncoder.

The rate test is a real statistical test: every probability is checked with a z-score over
200,000 draws (at most 5 standard deviations off), so a bias of 2 % (absolute, or relative
at the larger rates) stands out by 9 standard deviations or more; a fixed seed makes it
deterministic. ``test_the_rate_check_catches_a_two_percent_bias`` shows that it does.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from spikegrad import encoding

PROBABILITIES = (0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
DRAWS = 200_000
#: The largest |z| a correct encoder may show (a 5-sigma event: about 1 in 1.7 million).
Z_LIMIT = 5.0

Encoder = Callable[[Tensor], Tensor]


def rate_z_scores(encode: Encoder, dtype: torch.dtype = torch.float32) -> Tensor:
    """z-score of each probability's spike rate over :data:`DRAWS` independent draws."""
    torch.manual_seed(0)
    p = torch.tensor(PROBABILITIES).to(dtype)
    spikes = encode(p[:, None].expand(len(PROBABILITIES), DRAWS).contiguous())
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    exact = p.double()  # the probability the encoder was given, as the dtype rounds it
    rate = spikes.double().mean(1)
    return (rate - exact) / torch.sqrt(exact * (1 - exact) / DRAWS)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
def test_rate_matches_probability(dtype):
    z = rate_z_scores(encoding.PoissonEncoder(), dtype)
    assert z.abs().max() <= Z_LIMIT, f"rates off by {z.tolist()} standard deviations"


@pytest.mark.parametrize(
    "biased",
    [
        lambda p: (torch.rand_like(p) < p * 1.02).to(p.dtype),  # 2 % more spikes
        lambda p: (torch.rand_like(p) < p * 0.98).to(p.dtype),  # 2 % fewer
        lambda p: (torch.rand_like(p) < p + 0.02).to(p.dtype),  # 2 points more
    ],
    ids=["plus-2-percent", "minus-2-percent", "plus-2-points"],
)
def test_the_rate_check_catches_a_two_percent_bias(biased):
    assert rate_z_scores(biased).abs().max() > 2 * Z_LIMIT


def test_zero_never_spikes_and_one_always_does():
    torch.manual_seed(0)
    spikes = encoding.PoissonEncoder()(torch.tensor([0.0, 1.0]).repeat(50_000))
    assert spikes[0::2].sum() == 0 and spikes[1::2].sum() == 50_000


def test_each_call_draws_afresh():
    """Two calls agree as often as independent draws would: P(both spike) = p^2."""
    torch.manual_seed(1)
    encoder, p = encoding.PoissonEncoder(), 0.5
    x = torch.full((DRAWS,), p)
    both = (encoder(x) * encoder(x)).double().mean().item()
    expected = p * p
    assert abs(both - expected) <= Z_LIMIT * (expected * (1 - expected) / DRAWS) ** 0.5


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
