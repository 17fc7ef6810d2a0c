"""Each difference from SpikingJelly listed in docs/differences_spikingjelly.md (section
"Neurons: the zoo, part A"), asserted on both sides so that none appears or disappears
unnoticed. LIAF's analog output in step mode 'm' is in test_liaf.py."""

from __future__ import annotations

import pytest
import torch

import sj
from spikegrad import functional, neuron, surrogate

sj_neuron = sj.module("neuron")
X = torch.rand(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 1.6


def test_simple_neurons_rest_at_v_reset() -> None:
    ours, theirs = neuron.SimpleIFNode(v_reset=-0.2), sj_neuron.SimpleIFNode(v_reset=-0.2)
    assert ours.v == -0.2 and theirs.v == 0.0  # SpikingJelly's SimpleBaseNode always starts at 0
    ours(X[0])
    functional.reset_net(ours)
    assert ours.v == -0.2
    assert neuron.SimpleLIFNode(2.0, True, v_reset=0.3).v == sj_neuron.LIFNode(v_reset=0.3).v == 0.3


def test_simple_lif_soft_reset() -> None:
    theirs = sj_neuron.SimpleLIFNode(2.0, True, v_reset=None, step_mode="m")
    with pytest.raises(TypeError):
        theirs(X)  # v_reset - v with v_reset None
    ours = neuron.SimpleLIFNode(2.0, True, v_reset=None, step_mode="m", store_v_seq=True)
    lif = neuron.LIFNode(2.0, True, v_reset=None, step_mode="m", store_v_seq=True)
    torch.testing.assert_close(ours(X), lif(X), rtol=0, atol=0)
    torch.testing.assert_close(ours.v_seq, lif.v_seq, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("name", ["SimpleBaseNode", "AdaptBaseNode"])
def test_bases_without_dynamics_are_refused_at_construction(name: str) -> None:
    theirs = getattr(sj_neuron, name)()  # built; fails at its first step
    with pytest.raises(NotImplementedError):
        theirs(X[0])
    with pytest.raises(TypeError, match="subclass it and define neuronal_charge"):
        getattr(neuron, name)()


def test_half_threshold_reset_follows_the_current_threshold() -> None:
    ours, theirs = neuron.HalfThresholdIFNode(), sj_neuron.HalfThresholdIFNode()
    ours.v_threshold = theirs.v_threshold = 0.6
    ours.reset()
    theirs.reset()
    assert ours.v == 0.3 and theirs.v == 0.5  # SpikingJelly: half of the threshold at construction


def test_half_threshold_v_reset_cannot_be_set() -> None:
    theirs = sj_neuron.HalfThresholdIFNode(step_mode="m")
    theirs.v_reset = 0.0  # accepted and ignored: the step always passes None
    reference = sj_neuron.HalfThresholdIFNode(step_mode="m")
    torch.testing.assert_close(theirs(X), reference(X))
    with pytest.raises(ValueError, match="always resets softly"):
        neuron.HalfThresholdIFNode().v_reset = 0.0


def test_cuba_lif_takes_every_common_argument() -> None:
    with pytest.raises(TypeError):
        sj_neuron.CUBALIFNode(detach_reset=True)
    node = neuron.CUBALIFNode(detach_reset=True, step_mode="m", store_v_seq=True)
    assert node.detach_reset and node.step_mode == "m" and node.store_v_seq
    assert isinstance(node.surrogate_function, surrogate.Rect)  # SpikingJelly's default
    assert node.surrogate_function is not neuron.CUBALIFNode().surrogate_function  # a fresh one


def test_cuba_lif_decays_are_validated() -> None:
    sj_neuron.CUBALIFNode(c_decay=2.0)  # accepted: the current then grows without bound
    with pytest.raises(ValueError, match="c_decay"):
        neuron.CUBALIFNode(c_decay=2.0)


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("QIFNode", {"tau": 2}),
        ("EIFNode", {"tau": 2}),
        ("IzhikevichNode", {"tau": 3}),
        ("KLIFNode", {"tau": 2}),
    ],
)
def test_integer_numbers_are_accepted(name: str, arguments: dict[str, int]) -> None:
    with pytest.raises(AssertionError):
        getattr(sj_neuron, name)(**arguments)  # SpikingJelly asserts isinstance(tau, float)
    assert getattr(neuron, name)(**arguments).tau == float(next(iter(arguments.values())))


@pytest.mark.parametrize(
    ("name", "arguments", "sj_error"),
    [
        ("QIFNode", {"v_reset": 1.0}, AssertionError),
        ("EIFNode", {"delta_T": 0.0}, AssertionError),
        ("IzhikevichNode", {"a0": -1.0}, AssertionError),
        ("IzhikevichNode", {"tau_w": 0.0}, None),
        ("KLIFNode", {"tau": 0.5}, AssertionError),
    ],
)
def test_bad_numbers_are_value_errors(name: str, arguments: dict[str, float], sj_error: type | None) -> None:
    if sj_error is None:
        getattr(sj_neuron, name)(**arguments)  # accepted
    else:
        with pytest.raises(sj_error):
            getattr(sj_neuron, name)(**arguments)
    with pytest.raises(ValueError, match=name):
        getattr(neuron, name)(**arguments)


@pytest.mark.parametrize("name", ["IzhikevichNode", "CUBALIFNode", "KLIFNode"])
def test_state_of_another_shape_is_an_error(name: str) -> None:
    theirs = getattr(sj_neuron, name)()
    theirs(X[0])
    theirs(X[0, :2])  # silently restarts every state from rest
    ours = getattr(neuron, name)()
    ours(X[0])
    with pytest.raises(ValueError, match="reset_net"):
        ours(X[0, :2])
