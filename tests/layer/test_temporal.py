"""SynapseFilter, Delay, SpikeCountToBinary, TemporalBinSum, VotingLayer, PrintShapeModule."""

from __future__ import annotations

import pytest
import torch

from spikegrad import functional, layer

from .helpers import N, T, assert_same_run, run, sync_weights

sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")
sj_functional = pytest.importorskip("spikingjelly.activation_based.functional")


def steps_then_sequence(ours, theirs, x_seq, step_mode):
    """'m': one call; 's': one call per step (state detached in between, as truncated BPTT)."""
    if step_mode == "m":
        assert_same_run(run(ours, [x_seq]), run(theirs, [x_seq]))
        return
    for x in x_seq:
        assert_same_run(run(ours, [x]), run(theirs, [x]))
        functional.detach_net(ours)
        for name, value in theirs._memories.items():
            if isinstance(value, torch.Tensor):
                theirs._memories[name] = value.detach()


@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_synapse_filter_as_spikingjelly(learnable, step_mode):
    ours = layer.SynapseFilter(5.0, learnable, step_mode).double()
    theirs = sj_layer.SynapseFilter(5.0, learnable, step_mode).double()
    sync_weights(ours, theirs)
    spikes = (torch.rand(T + 2, N, 4) < 0.4).double()
    steps_then_sequence(ours, theirs, spikes, step_mode)
    assert repr(ours).startswith("SynapseFilter(tau=")
    assert repr(ours).endswith(f"learnable={learnable}, step_mode={step_mode!r})")


def test_synapse_filter_current():
    syn = layer.SynapseFilter(tau=4.0, learnable=True)
    assert syn.rate().item() == pytest.approx(0.25)
    assert [syn(torch.tensor(s)).item() for s in (1.0, 0.0, 1.0)] == pytest.approx([1.0, 0.75, 1.75])
    with pytest.raises(ValueError, match=r"differs from the stored current \(\).*reset_net"):
        syn(torch.ones(2))
    functional.reset_net(syn)
    assert syn.out_i == 0.0
    for tau in (1.0, 0.5, float("inf"), "2"):
        with pytest.raises(ValueError, match=r"tau must be a finite number > 1"):
            layer.SynapseFilter(tau)


@pytest.mark.parametrize("delay_steps", [0, 1, 3, 7])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_delay_as_spikingjelly(delay_steps, step_mode):
    ours, theirs = layer.Delay(delay_steps, step_mode), sj_layer.Delay(delay_steps, step_mode)
    for _ in range(2):  # a sequence in two pieces: the pending inputs carry over
        x_seq = torch.randn(T + 1, N, 3, dtype=torch.float64)
        steps_then_sequence(ours, theirs, x_seq, step_mode)
    functional.reset_net(ours)
    sj_functional.reset_net(theirs)
    steps_then_sequence(ours, theirs, torch.randn(2, N, 3, dtype=torch.float64), step_mode)


def test_delay_in_pieces_equals_at_once():
    x = torch.arange(1.0, 9.0)
    whole = layer.Delay(3, "m")(x)
    assert whole.tolist() == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    pieces = layer.Delay(3, "m")
    assert torch.cat([pieces(x[:2]), pieces(x[2:3]), pieces(x[3:])]).tolist() == whole.tolist()
    with pytest.raises(ValueError, match=r"differs from the stored inputs \(\).*reset_net"):
        pieces(torch.ones(2, 2))
    with pytest.raises(AttributeError):
        pieces.delay_steps = 2  # read-only, as in SpikingJelly
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match=r"delay_steps must be an integer >= 0"):
            layer.Delay(bad)


@pytest.mark.parametrize("name", ["SpikeCountToBinary", "TemporalBinSum"])
@pytest.mark.parametrize("num_slots", [1, 2, 3])
@pytest.mark.parametrize("always_convert", [False, True])
def test_spike_count_conversions_as_spikingjelly(name, num_slots, always_convert):
    ours = getattr(layer, name)(num_slots, always_convert)
    theirs = getattr(sj_layer, name)(num_slots, always_convert)
    counts = torch.randint(0, num_slots + 1, (T + 2, N, 3)).double()
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        assert_same_run(run(ours, [counts]), run(theirs, [counts]), exact=True)


def test_spike_counts_round_trip():
    counts = torch.tensor([[2.0, 0.0], [1.0, 3.0]])
    spikes = layer.SpikeCountToBinary(3).eval()(counts)
    assert spikes.shape == (6, 2)
    assert torch.equal(layer.TemporalBinSum(3).eval()(spikes), counts)
    counts.requires_grad_()
    layer.SpikeCountToBinary(3, always_convert=True)(counts).sum().backward()
    assert torch.equal(counts.grad, torch.ones_like(counts))  # K slots x 1/K each
    for cls in (layer.SpikeCountToBinary, layer.TemporalBinSum):
        assert cls(2)(counts) is counts  # the identity in training
        with pytest.raises(ValueError, match=r"num_slots must be an integer >= 1, got 0"):
            cls(0)
        with pytest.raises(ValueError, match=r"expects a sequence \[T, N, \*shape\]"):
            cls(2).eval()(torch.ones(3))
        with pytest.raises(ValueError, match=r"needs at least one time step, got T = 0"):
            cls(2).eval()(torch.ones(0, 3))
        assert cls(2).step_mode == "m"


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_voting_layer_as_spikingjelly(step_mode):
    ours, theirs = layer.VotingLayer(4, step_mode), sj_layer.VotingLayer(4, step_mode)
    shape = (N, 12) if step_mode == "s" else (T, N, 12)
    x = torch.rand(shape, dtype=torch.float64)
    assert_same_run(run(ours, [x]), run(theirs, [x]), exact=True)
    assert layer.VotingLayer().voting_size == sj_layer.VotingLayer().voting_size == 10


def test_voting_layer_validation():
    with pytest.raises(ValueError, match=r"expects \[\.\.\., C \* 4\].*voting_size=4\), got shape \(2, 10\)"):
        layer.VotingLayer(4)(torch.rand(2, 10))
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        layer.VotingLayer(4)(torch.tensor(1.0))
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match=r"voting_size must be a positive integer"):
            layer.VotingLayer(bad)
    assert repr(layer.VotingLayer(4)) == "VotingLayer(voting_size=4, step_mode='s')"


def test_print_shape_module(capsys):
    x = torch.zeros(2, 3)
    assert layer.PrintShapeModule()(x) is x
    assert capsys.readouterr().out == "PrintShapeModule shape=torch.Size([2, 3])\n"
