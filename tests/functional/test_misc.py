"""first_spike_index, redundant_one_hot, delay, Kaiming initialisation and threshold margins,
against SpikingJelly 2.0."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import sj
from spikegrad import functional, layer, neuron

sj_functional = sj.module("functional")


def test_first_spike_index_same_as_spikingjelly_for_binary_spikes():
    torch.manual_seed(0)
    spikes = (torch.rand(3, 4, 8) > 0.7).float()
    assert torch.equal(functional.first_spike_index(spikes), sj_functional.first_spike_index(spikes))


def test_first_spike_index_for_graded_spikes():
    counts = torch.tensor([[0.0, 2.0, 1.0], [0.0, 0.0, 3.0], [-1.0, 1.0, 0.0]])
    expected = torch.tensor([[False, True, False], [False, False, True], [True, False, False]])
    assert torch.equal(functional.first_spike_index(counts), expected)


def test_redundant_one_hot_same_as_spikingjelly():
    labels = torch.tensor([2, 0, 1, 2])
    ours = functional.redundant_one_hot(labels, 3, 4)
    theirs = sj_functional.redundant_one_hot(labels, 3, 4)
    assert torch.equal(ours, theirs) and ours.dtype == theirs.dtype == torch.float32


@pytest.mark.parametrize("steps", [0, 1, 3, 5, 9])
def test_delay_same_as_spikingjelly(steps):
    x = torch.randn(5, 2, requires_grad=True)
    ours = functional.delay(x, steps)
    theirs = sj_functional.delay(x, steps)
    assert torch.equal(ours, theirs)
    assert ours.requires_grad == theirs.requires_grad == (steps < 5)  # all zeros once the delay is >= T
    if steps < 5:
        weights = torch.arange(10.0).view(5, 2)
        (grad,) = torch.autograd.grad((ours * weights).sum(), x)
        (sj_grad,) = torch.autograd.grad((theirs * weights).sum(), x)
        assert torch.equal(grad, sj_grad)


def test_kaiming_normal_same_weights_as_spikingjelly_at_the_same_seed():
    def build():
        return nn.Sequential(
            layer.Conv2d(1, 4, 3), nn.Conv1d(2, 3, 2), nn.Conv3d(1, 1, 2), layer.Linear(5, 2)
        )

    ours, theirs = build(), build()
    theirs.load_state_dict(ours.state_dict())
    torch.manual_seed(3)
    functional.kaiming_normal_conv_linear_weight(ours)
    torch.manual_seed(3)
    sj_functional.kaiming_normal_conv_linear_weight(theirs)
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


class Margins(nn.Module):
    """A neuron stand-in whose threshold may be a tensor (what training-mode margins need)."""

    def __init__(self) -> None:
        super().__init__()
        self.v_threshold: float | torch.Tensor = 1.0


def test_set_threshold_margin_same_as_spikingjelly():
    labels = torch.nn.functional.one_hot(torch.tensor([1, 0, 2]), 3).float()
    ours, theirs = Margins(), Margins()
    functional.set_threshold_margin(ours, labels, 1.0, 0.8, 1.2)
    sj_functional.set_threshold_margin(theirs, labels, 1.0, 0.8, 1.2)
    assert torch.equal(ours.v_threshold, theirs.v_threshold)
    ours.eval()
    theirs.eval()
    functional.set_threshold_margin(ours, labels, eval_threshold=0.95)
    sj_functional.set_threshold_margin(theirs, labels, eval_threshold=0.95)
    assert ours.v_threshold == theirs.v_threshold == 0.95


def test_set_threshold_margin_on_spikegrad_neurons():
    node = neuron.LIFNode().eval()
    functional.set_threshold_margin(node, torch.eye(2), eval_threshold=0.9)
    assert node.v_threshold == 0.9
    with pytest.raises(TypeError, match=r"LIFNode\.v_threshold takes only a number"):
        functional.set_threshold_margin(node.train(), torch.eye(2))


def test_misc_validation():
    with pytest.raises(TypeError, match="first_spike_index expects a tensor"):
        functional.first_spike_index([0, 1])
    with pytest.raises(ValueError, match="0-d tensor"):
        functional.first_spike_index(torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got 3"):
        functional.redundant_one_hot(torch.tensor([0, 3]), 3, 2)
    with pytest.raises(TypeError, match="labels must be an integer tensor"):
        functional.redundant_one_hot(torch.tensor([0.0]), 3, 2)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        functional.redundant_one_hot(torch.tensor([0]), 3, 0)
    with pytest.raises(TypeError, match="num_classes must be an integer"):
        functional.redundant_one_hot(torch.tensor([0]), 3.0, 1)
    with pytest.raises(ValueError, match="delay_steps must be >= 0, got -1"):
        functional.delay(torch.zeros(3), -1)
    with pytest.raises(TypeError, match="delay_steps must be an integer"):
        functional.delay(torch.zeros(3), 1.5)
    with pytest.raises(TypeError, match="output_layer must be a module"):
        functional.set_threshold_margin("fc", torch.eye(2))
    with pytest.raises(TypeError, match="label_one_hot must be a tensor"):
        functional.set_threshold_margin(Margins(), [[1, 0]])
