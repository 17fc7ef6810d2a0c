"""delay_step, synapse_filter_step and neunorm_step against SpikingJelly 2.0."""

from __future__ import annotations

import pytest
import torch

import sj
from spikegrad import functional

sj_functional = sj.module("functional")


@pytest.mark.parametrize("delay_steps", [0, 1, 3])
def test_delay_step_same_as_spikingjelly_and_as_delay(delay_steps):
    x_seq = torch.randn(6, 2)
    queue: tuple[torch.Tensor, ...] = ()
    sj_queue: tuple[torch.Tensor, ...] = ()
    outputs = []
    for x in x_seq:
        y, queue = functional.delay_step(x, queue, delay_steps)
        sj_y, sj_queue = sj_functional.delay_step(x, sj_queue, delay_steps)
        assert torch.equal(y, sj_y) and len(queue) == len(sj_queue)
        outputs.append(y)
    assert torch.equal(torch.stack(outputs), functional.delay(x_seq, delay_steps))


def test_delay_step_does_not_modify_the_queue():
    queue = (torch.zeros(2),)
    functional.delay_step(torch.ones(2), queue, 2)
    assert len(queue) == 1


@pytest.mark.parametrize("reciprocal_tau", [0.25, torch.tensor(0.6)])
def test_synapse_filter_step_same_as_spikingjelly(reciprocal_tau):
    spikes = (torch.rand(5, 3) > 0.5).float()
    current = torch.zeros(3, requires_grad=True)
    ours, theirs = current, current
    for x in spikes:
        ours = functional.synapse_filter_step(x, ours, reciprocal_tau)
        theirs = sj_functional.synapse_filter_step(x, theirs, reciprocal_tau)
    assert torch.equal(ours, theirs)
    torch.testing.assert_close(*(torch.autograd.grad(o.sum(), current)[0] for o in (ours, theirs)))


def test_neunorm_step_same_as_spikingjelly():
    spikes = (torch.rand(2, 4, 3, 3) > 0.5).float()
    state, weight = torch.rand(2, 1, 3, 3), torch.rand(4, 3, 3)
    ours = functional.neunorm_step(spikes, state, weight, 0.9, 0.1)
    theirs = sj_functional.neunorm_step(spikes, state, weight, 0.9, 0.1)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_layer_step_validation():
    with pytest.raises(ValueError, match="delay_steps must be >= 0, got -2"):
        functional.delay_step(torch.zeros(2), (), -2)
    with pytest.raises(TypeError, match=r"delay_steps must be an integer, got 1\.0"):
        functional.delay_step(torch.zeros(2), (), 1.0)
    with pytest.raises(TypeError, match="queue must be a tuple of tensors"):
        functional.delay_step(torch.zeros(2), None, 1)
    with pytest.raises(ValueError, match=r"in_spikes \[N, C, H, W\], got \(2, 3\)"):
        functional.neunorm_step(torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(3), 0.9, 0.1)
