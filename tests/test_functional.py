"""spikegrad.functional: reset_net, set_step_mode, detach_net, multi_step_forward, seq_to_ann_forward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikegrad import functional, layer, neuron


def test_reset_net_resets_every_memory_module_including_late_additions():
    net = nn.Sequential(neuron.LIFNode(), nn.ReLU())
    net(torch.ones(3) * 3)
    net.append(neuron.IFNode())  # added after a first reset would have cached the modules
    functional.reset_net(net)
    net(torch.ones(3) * 3)
    assert isinstance(net[2].v, torch.Tensor)
    functional.reset_net(net)
    assert net[0].v == 0.0 and net[2].v == 0.0


def test_reset_net_only_touches_this_network():
    a, b = neuron.LIFNode(), neuron.LIFNode()
    a(torch.ones(2))
    b(torch.ones(2))
    functional.reset_net(a)
    assert a.v == 0.0 and isinstance(b.v, torch.Tensor)


def test_detach_net():
    net = nn.Sequential(layer.Linear(2, 2), neuron.LIFNode())
    net(torch.ones(1, 2))
    functional.detach_net(net)
    assert not net[1].v.requires_grad


def test_set_step_mode_whole_network_but_not_inside_containers():
    net = nn.Sequential(
        layer.SeqToANNContainer(nn.Conv2d(1, 2, 3), layer.BatchNorm2d(2)),
        neuron.LIFNode(),
        layer.Flatten(),
        layer.Linear(2, 2),
        nn.ReLU(),
    )
    functional.set_step_mode(net, "m")
    assert [m.step_mode for m in (net[1], net[2], net[3])] == ["m", "m", "m"]
    assert net[0][1].step_mode == "s"
    assert net(torch.rand(3, 2, 1, 3, 3)).shape == (3, 2, 2)


def test_set_step_mode_errors():
    with pytest.raises(ValueError, match=r"step_mode must be 's' or 'm'.*got 'multi'"):
        functional.set_step_mode(neuron.IFNode(), "multi")


def test_set_step_mode_leaves_multi_step_only_containers_alone():
    # SpikingJelly's behaviour: a container fixed to 'm' stays 'm' in a network set to 's'.
    net = nn.Sequential(nn.Sequential(layer.SeqToANNContainer(nn.Identity())), neuron.IFNode(step_mode="m"))
    functional.set_step_mode(net, "s")
    assert net[0][0].step_mode == "m" and net[1].step_mode == "s"


def test_multi_step_forward_runs_each_step():
    node = neuron.IFNode()
    x_seq = torch.tensor([[0.6], [0.6], [0.6]])
    assert functional.multi_step_forward(x_seq, node).flatten().tolist() == [0.0, 1.0, 0.0]
    functional.reset_net(node)
    doubled = functional.multi_step_forward(x_seq, [lambda x: 2 * x, node])
    assert doubled.flatten().tolist() == [1.0, 1.0, 1.0]


def test_seq_to_ann_forward_merges_time_and_batch():
    seen = []

    def record(x):
        seen.append(x.shape)
        return x.sum(-1)

    out = functional.seq_to_ann_forward(torch.ones(4, 3, 5), record)
    assert seen == [(12, 5)] and out.shape == (4, 3)
    assert functional.seq_to_ann_forward(torch.ones(2, 3, 4), [nn.Linear(4, 6), nn.ReLU()]).shape == (2, 3, 6)


@pytest.mark.parametrize("fn", [functional.seq_to_ann_forward, functional.multi_step_forward])
def test_forward_helpers_reject_bad_layouts(fn):
    with pytest.raises(ValueError, match=r"time first"):
        fn(torch.tensor(1.0) if fn is functional.multi_step_forward else torch.ones(3), nn.Identity())
    with pytest.raises(TypeError, match=r"torch.Tensor"):
        fn([1.0], nn.Identity())


def test_multi_step_forward_needs_a_step():
    with pytest.raises(ValueError, match=r"T = 0"):
        functional.multi_step_forward(torch.ones(0, 3), nn.Identity())
