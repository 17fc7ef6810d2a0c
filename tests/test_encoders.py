"""SpikingJelly's encoders (latency, weighted phase, periodic, population, the base classes)
against SpikingJelly 2.0: same spikes in both step modes, same state, same gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import sj
from spikegrad import encoding, functional

sj_encoding = sj.module("encoding")
sj_functional = sj.module("functional")


def _steps(encoder: nn.Module, x: torch.Tensor, calls: int) -> torch.Tensor:
    return torch.stack([encoder(x) for _ in range(calls)])


def _both_modes(make_ours, make_theirs, x: torch.Tensor, calls: int) -> None:
    """``calls`` single steps, then the same as one multi-step call (twice, to cross the period)."""
    ours, theirs = make_ours(), make_theirs()
    assert torch.equal(_steps(ours, x, calls), _steps(theirs, x, calls))
    assert ours.t == theirs.t and torch.equal(ours.spike, theirs.spike)
    functional.reset_net(ours)
    sj_functional.reset_net(theirs)
    assert ours.spike is None and ours.t == 0
    ours.step_mode = theirs.step_mode = "m"
    x_seq = x.expand(calls, *x.shape)
    for _ in range(2):
        assert torch.equal(ours(x_seq), theirs(x_seq))


@pytest.mark.parametrize("enc_function", ["linear", "log"])
def test_latency_encoder_same_as_spikingjelly(enc_function):
    x = torch.rand(3, 5)
    x[0, :2] = torch.tensor([0.0, 1.0])
    _both_modes(
        lambda: encoding.LatencyEncoder(6, enc_function),
        lambda: sj_encoding.LatencyEncoder(6, enc_function),
        x,
        calls=8,
    )


def test_latency_encoder_fires_once_per_period():
    spikes = _steps(encoding.LatencyEncoder(5), torch.tensor([0.0, 0.3, 1.0]), 5)
    assert spikes.sum(0).tolist() == [1.0, 1.0, 1.0]
    assert spikes.argmax(0).tolist() == [4, 3, 0]  # t_f = round((T - 1)(1 - x))


def test_weighted_phase_encoder_same_as_spikingjelly():
    x = torch.randint(0, 2**4, (2, 6)) / 2**4  # multiples of 2^-K up to 1 - 2^-K
    _both_modes(
        lambda: encoding.WeightedPhaseEncoder(4), lambda: sj_encoding.WeightedPhaseEncoder(4), x, calls=6
    )
    spikes = _steps(encoding.WeightedPhaseEncoder(4), x, 4)
    weights = torch.tensor([0.5, 0.25, 0.125, 0.0625]).view(4, 1, 1)
    torch.testing.assert_close((spikes * weights).sum(0), x)  # the binary expansion, exactly


def test_weighted_phase_encoder_keeps_the_dtype():
    assert encoding.WeightedPhaseEncoder(2)(torch.tensor([0.5], dtype=torch.float64)).dtype == torch.float64


def test_periodic_encoder_same_as_spikingjelly():
    pattern = (torch.rand(3, 2, 4) > 0.5).float()
    _both_modes(
        lambda: encoding.PeriodicEncoder(pattern), lambda: sj_encoding.PeriodicEncoder(pattern), pattern, 7
    )


def test_poisson_encoder_same_spikes_as_spikingjelly_at_the_same_seed():
    x = torch.rand(4, 50)
    torch.manual_seed(5)
    ours = encoding.PoissonEncoder()(x)
    torch.manual_seed(5)
    assert torch.equal(ours, sj_encoding.PoissonEncoder()(x))  # U < x here, U <= x there: equal but at U == x


POPULATIONS = ["PopEncoder", "PopSpikeEncoderDeterministic", "PopSpikeEncoderRandom"]


@pytest.mark.parametrize("name", POPULATIONS)
def test_population_encoders_same_as_spikingjelly(name):
    args = (3, 5, 4, (-1.0, 1.0), 0.4)  # obs_dim, pop_dim, spike_ts, mean_range, std
    ours, theirs = getattr(encoding, name)(*args), getattr(sj_encoding, name)(*args)
    if name == "PopSpikeEncoderDeterministic":
        ours.neurons.backend = "reference"  # the fused kernels have their own tests; this keeps it fast
    assert ours.state_dict().keys() == theirs.state_dict().keys() == {"mean", "std"}
    theirs.load_state_dict(ours.state_dict(), strict=True)
    obs = torch.randn(2, 3)
    outputs, grads = [], []
    for encoder in (ours, theirs):
        torch.manual_seed(7)
        out = encoder(obs)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        outputs.append(out.detach())
        grads.append((encoder.mean.grad, encoder.std.grad))
    assert outputs[0].shape == (4, 2, 15)
    torch.testing.assert_close(outputs[0], outputs[1])
    for a, b in zip(grads[0], grads[1], strict=True):
        torch.testing.assert_close(a, b)


def test_population_encoder_keeps_its_neurons_multi_step():
    net = nn.Sequential(encoding.PopSpikeEncoderDeterministic(2, 3, 4, (0.0, 1.0), 0.5), nn.Flatten(0))
    functional.set_step_mode(net, "s")
    assert net[0].step_mode == "m" and net[0].neurons.step_mode == "m"


class ThresholdEncoder(encoding.StatelessEncoder):
    """A user encoder written for SpikingJelly: spike where x is above 0.5."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > 0.5).to(x)


class ReverseLatency(encoding.StatefulEncoder):
    """A user stateful encoder: one spike at t = round((T - 1) x)."""

    def single_step_encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(((self.T - 1) * x).round().long(), self.T).to(x).movedim(-1, 0)


def test_user_encoders_subclass_the_bases():
    x = torch.tensor([0.0, 0.6, 1.0])
    assert ThresholdEncoder(step_mode="m")(x).tolist() == [0.0, 1.0, 1.0]
    spikes = _steps(ReverseLatency(3), x, 3)
    assert spikes.argmax(0).tolist() == [0, 1, 2]


def test_encoder_validation():
    with pytest.raises(ValueError, match="T must be >= 1, got 0"):
        encoding.LatencyEncoder(0)
    with pytest.raises(TypeError, match=r"T must be an integer, got 4\.0"):
        encoding.LatencyEncoder(4.0)
    with pytest.raises(ValueError, match="enc_function must be 'linear' or 'log', got 'exp'"):
        encoding.LatencyEncoder(4, "exp")
    with pytest.raises(ValueError, match=r"inputs must lie in \[0, 1\]; got 1\.5"):
        encoding.LatencyEncoder(4)(torch.tensor([1.5]))
    with pytest.raises(TypeError, match="floating-point tensor"):
        encoding.LatencyEncoder(4)(torch.tensor([1]))
    with pytest.raises(ValueError, match=r"\[0, 1 - 2\^-K\] = \[0, 0\.75\]; got 0\.8"):
        encoding.WeightedPhaseEncoder(2)(torch.tensor([0.8]))
    with pytest.raises(TypeError, match=r"spike must be a pattern tensor \[T, \*shape\], got shape \(\)"):
        encoding.PeriodicEncoder(torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"needs its spike pattern \[T, \*shape\] \(T = 2\)"):
        encoding.PeriodicEncoder(torch.ones(2, 3))()
    with pytest.raises(
        ValueError, match=r"must return a spike train \[T, \*shape\] with T = 2, got \(3, 1\)"
    ):
        encoding.PeriodicEncoder(torch.ones(2, 1))(torch.ones(3, 1))
    with pytest.raises(NotImplementedError, match="must implement forward"):
        encoding.StatelessEncoder()(torch.ones(1))
    with pytest.raises(NotImplementedError, match="must implement single_step_encode"):
        encoding.StatefulEncoder(2)(torch.ones(1))
    with pytest.raises(ValueError, match=r"in step_mode 'm' expects the per-step input repeated over time"):
        encoding.LatencyEncoder(2, step_mode="m")()
    with pytest.raises(ValueError, match=r"pop_dim must be >= 1, got 0"):
        encoding.PopEncoder(2, 0, 4, (0, 1), 0.5)
    with pytest.raises(TypeError, match=r"PopSpikeEncoderRandom: obs_dim must be an integer, got '2'"):
        encoding.PopSpikeEncoderRandom("2", 3, 4, (0, 1), 0.5)
    with pytest.raises(ValueError, match="mean_range must be a pair of finite numbers"):
        encoding.PopEncoder(2, 3, 4, (0, float("inf")), 0.5)
    with pytest.raises(ValueError, match=r"std must be a finite number > 0, got -1"):
        encoding.PopEncoder(2, 3, 4, (0, 1), -1)
    with pytest.raises(ValueError, match=r"\[N, obs_dim\] with obs_dim = 2, got shape \(3,\)"):
        encoding.PopEncoder(2, 3, 4, (0, 1), 0.5)(torch.zeros(3))
    with pytest.raises(TypeError, match="floating-point tensor of observations"):
        encoding.PopEncoder(2, 3, 4, (0, 1), 0.5)(torch.zeros(2, dtype=torch.long))
