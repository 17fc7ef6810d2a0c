"""pickle, deepcopy and state_dict of neurons and networks: parameters are saved, v is state."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
from torch import nn

from spikegrad import functional, layer, neuron, surrogate

from .helpers import KINDS, make_node


def network() -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Linear(4, 6),
        neuron.LIFNode(tau=3.0, surrogate_function=surrogate.ATan(alpha=3.0)),
        layer.Linear(6, 5),
        neuron.ParametricLIFNode(init_tau=2.5, v_reset=None),
        layer.Linear(5, 2),
        neuron.IFNode(detach_reset=True),
    )
    functional.set_step_mode(net, "m")
    return net


def test_state_dict_holds_parameters_not_state():
    plif = neuron.ParametricLIFNode()
    plif(torch.rand(3))
    assert list(plif.state_dict()) == ["w"]  # PLIF's w is saved; v is state
    assert list(neuron.LIFNode().state_dict()) == []
    # a surrogate's tensor parameters are buffers: saved with the neuron
    wide = neuron.IFNode(surrogate_function=surrogate.Sigmoid(alpha=torch.tensor([2.0, 4.0])))
    assert list(wide.state_dict()) == ["surrogate_function.alpha"]


def test_state_dict_round_trip_of_a_network():
    net = network()
    x = torch.rand(5, 3, 4)
    with torch.no_grad():
        net[3].w.fill_(0.4)
    expected = net(x)
    keys_after_forward = list(net.state_dict())
    fresh = network()
    assert list(fresh.state_dict()) == keys_after_forward  # running it adds no keys
    fresh.load_state_dict(net.state_dict())
    assert torch.equal(fresh(x), expected)


@pytest.mark.parametrize("copier", ["pickle", "deepcopy", "torch.save"])
def test_copies_of_a_network_mid_sequence(copier):
    net = network()
    x = torch.rand(5, 3, 4)
    net(x)  # state now holds autograd history
    if copier == "pickle":
        twin = pickle.loads(pickle.dumps(net))
    elif copier == "deepcopy":
        twin = copy.deepcopy(net)
    else:
        buffer = io.BytesIO()
        torch.save(net, buffer)
        buffer.seek(0)
        twin = torch.load(buffer, weights_only=False)
    assert repr(twin) == repr(net)
    assert torch.equal(twin[1].v, net[1].v) and not twin[1].v.requires_grad
    # the copy continues the sequence exactly like the original, and has its own state
    assert torch.equal(twin(x), net(x))
    functional.reset_net(twin)
    assert twin[1].v == 0.0 and isinstance(net[1].v, torch.Tensor)
    assert twin[1].surrogate_function is not net[1].surrogate_function


@pytest.mark.parametrize("kind", KINDS)
def test_pickle_fresh_neuron(kind):
    node = make_node(kind, v_reset=None, detach_reset=True, step_mode="m", store_v_seq=True)
    twin = pickle.loads(pickle.dumps(node))
    assert repr(twin) == repr(node)
    x = torch.rand(4, 3) * 2
    assert torch.equal(twin(x), node(x))
    assert torch.equal(twin.v_seq, node.v_seq)


def test_to_moves_state_and_dtype():
    node = neuron.LIFNode(step_mode="m")
    node(torch.rand(2, 3))
    node.double()
    assert node.v.dtype == torch.float64
    plif = neuron.ParametricLIFNode().double()
    assert plif.w.dtype == torch.float64
