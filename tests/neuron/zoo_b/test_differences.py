"""Each documented difference from SpikingJelly 2.0 of this package's neurons, asserted on
both sides (docs/differences_spikingjelly.md), so that none appears or disappears unnoticed."""

from __future__ import annotations

import pytest
import torch

import sj
from spikegrad import neuron, surrogate

sj_neuron = sj.module("neuron")
sj_surrogate = sj.module("surrogate")


def test_nonspiking_decode():
    x = torch.rand(3, 2)
    theirs = sj_neuron.NonSpikingIFNode()(x)
    ours = neuron.NonSpikingIFNode()(x)
    assert isinstance(theirs, list) and len(theirs) == 3
    torch.testing.assert_close(ours, torch.stack(theirs))
    assert isinstance(sj_neuron.NonSpikingIFNode(decode="max_mem")(x), list)  # silently undecoded
    with pytest.raises(ValueError, match="decode must be one of"):
        neuron.NonSpikingIFNode(decode="max_mem")
    with pytest.raises(IndexError):
        sj_neuron.NonSpikingIFNode(decode="mean-mem")(torch.rand(0, 2))
    with pytest.raises(ValueError, match="needs at least one time step"):
        neuron.NonSpikingIFNode(decode="mean-mem")(torch.rand(0, 2))
    sj_neuron.NonSpikingLIFNode(tau=0.5)
    with pytest.raises(ValueError, match="tau must be a finite number > 1"):
        neuron.NonSpikingLIFNode(tau=0.5)


def test_gated_lengths_and_shapes():
    assert sj_neuron.GatedLIFNode(4)(torch.rand(5, 2, 3, 4, 4)).shape[0] == 4  # the fifth step is lost
    with pytest.raises(IndexError):
        sj_neuron.GatedLIFNode(4)(torch.rand(3, 2, 3, 4, 4))
    for steps in (3, 5):
        with pytest.raises(ValueError, match=r"GatedLIFNode\(T=4\) expects inputs \[T=4"):
            neuron.GatedLIFNode(4)(torch.rand(steps, 2, 3, 4, 4))
    x = torch.rand(4, 2, 3)
    assert sj_neuron.GatedLIFNode(4)(x).shape == (4, 1, 1, 2, 3)
    assert neuron.GatedLIFNode(4)(x).shape == (4, 2, 3)
    assert neuron.GatedLIFNode(4, inplane=3)(x).shape == (4, 2, 3)
    with pytest.raises(ValueError, match="math domain error"):
        sj_neuron.GatedLIFNode(4, init_conduct=1.5)
    with pytest.raises(ZeroDivisionError):
        sj_neuron.GatedLIFNode(4, init_v_threshold=0.0)
    with pytest.raises(ValueError, match=r"init_conduct must be a finite number > 0 and < 1, got 1\.5"):
        neuron.GatedLIFNode(4, init_conduct=1.5)


@pytest.mark.parametrize("name", ["ComplementaryLIFNode", "OTTTLIFNode"])
def test_evaluation_mode_keeps_the_surrogate_gradient(name):
    def spike_grad(node):
        x = torch.tensor([0.9, 1.1, 2.0], dtype=torch.float64, requires_grad=True)
        out = node.eval()(x)
        if not out.requires_grad:  # a bare Heaviside step: no graph at all
            return out, torch.zeros_like(x)
        (grad,) = torch.autograd.grad(out.sum(), x)
        return out, grad

    sg = {"ComplementaryLIFNode": "Rect", "OTTTLIFNode": "Sigmoid"}[name]
    ours_out, ours_grad = spike_grad(getattr(neuron, name)(surrogate_function=surrogate.REGISTRY[sg]()))
    theirs_out, theirs_grad = spike_grad(
        getattr(sj_neuron, name)(surrogate_function=getattr(sj_surrogate, sg)())
    )
    torch.testing.assert_close(ours_out, theirs_out)
    assert torch.equal(theirs_grad, torch.zeros(3, dtype=torch.float64))
    assert ours_grad.abs().sum() > 0


def test_ottt_non_spiking_surrogate_in_evaluation():
    x = torch.tensor([0.9, 1.1])
    theirs = sj_neuron.OTTTLIFNode(surrogate_function=sj_surrogate.Sigmoid(spiking=False)).eval()(x)
    ours = neuron.OTTTLIFNode(surrogate_function=surrogate.Sigmoid(spiking=False)).eval()(x)
    assert theirs.tolist() == [0.0, 1.0]
    torch.testing.assert_close(ours, torch.sigmoid(4 * (x - 1)))


def test_ilif_surrogate_assigned_later():
    x = torch.rand(3, 2) * 3
    theirs = sj_neuron.ILIFNode(step_mode="m")
    theirs.surrogate_function = sj_surrogate.Sigmoid()
    with pytest.raises(TypeError):
        theirs(x)
    ours = neuron.ILIFNode(step_mode="m")
    ours.surrogate_function = surrogate.Sigmoid()
    assert ours(x).shape == (3, 2)


def test_psn_lengths_and_one_dimensional_inputs():
    with pytest.raises(RuntimeError):
        sj_neuron.PSN(4)(torch.rand(5, 3))
    with pytest.raises(AssertionError):
        sj_neuron.MaskedPSN(2, 4, step_mode="m")(torch.rand(5, 3))
    with pytest.raises(ValueError, match=r"PSN\(T=4\) expects inputs"):
        neuron.PSN(4)(torch.rand(5, 3))
    with pytest.raises(IndexError):
        sj_neuron.PSN(4)(torch.rand(4))
    assert neuron.PSN(4)(torch.rand(4)).shape == (4,)
    assert neuron.SlidingPSN(2, step_mode="m")(torch.rand(4)).shape == (4,)


def test_masked_psn_single_steps():
    with pytest.raises(ValueError, match="k < 1"):
        sj_neuron.MaskedPSN(2, 3)(torch.rand(5))
    with pytest.raises(ValueError, match="lambda_ >= 1"):
        neuron.MaskedPSN(2, 3)(torch.rand(5))
    theirs, ours = sj_neuron.MaskedPSN(2, 3, 1.0), neuron.MaskedPSN(2, 3, 1.0)
    inputs = [torch.rand(5) for _ in range(4)]
    for node in (theirs, ours):
        for x in inputs[:3]:
            node(x)
    with pytest.raises(OverflowError):
        theirs(inputs[3])
    assert torch.equal(theirs.queue[-1], inputs[3])  # pushed before the error
    with pytest.raises(ValueError, match="reset_net"):
        ours(inputs[3])
    assert torch.equal(ours.queue[-1], inputs[2]) and ours.time_step == 3  # unchanged


def test_masked_psn_integer_lambda():
    theirs, ours = sj_neuron.MaskedPSN(2, 3, 0), neuron.MaskedPSN(2, 3, 0)
    theirs.lambda_ = ours.lambda_ = 0.5
    assert theirs.lambda_.item() == 0 and ours.lambda_.item() == 0.5


def test_read_only_sizes():
    theirs, ours = sj_neuron.PSN(4), neuron.PSN(4)
    theirs.T = 5
    with pytest.raises(AttributeError):
        ours.T = 5
    for module, name in [
        (neuron.GatedLIFNode(4), "T"),
        (neuron.MaskedPSN(2, 4), "T"),
        (neuron.MaskedPSN(2, 4), "k"),
        (neuron.SlidingPSN(2), "k"),
    ]:
        with pytest.raises(AttributeError):
            setattr(module, name, 3)
