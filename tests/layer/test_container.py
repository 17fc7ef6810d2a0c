"""Containers against SpikingJelly 2.0 (same numbers, state_dict keys), their checks and step modes."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from spikegrad import functional, layer, neuron

from .helpers import N, T, assert_same_run, run, sync_weights

sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")
sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
sj_functional = pytest.importorskip("spikingjelly.activation_based.functional")


def block(lib, stateful):
    """Conv, batch norm (and a LIF neuron): the same modules from either library."""
    torch.manual_seed(0)
    layers = [nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3)]
    if stateful:
        layers.append((neuron if lib == "ours" else sj_neuron).LIFNode(detach_reset=True))
    return layers


def sj_detach(net):
    """SpikingJelly's detach_net, which fails on memories that are views (detach_ in place)."""
    for module in net.modules():
        memories = getattr(module, "_memories", {})
        for name, value in memories.items():
            if isinstance(value, torch.Tensor):
                memories[name] = value.detach()


def compare(ours, theirs, x, steps=2, exact=False):
    """Several calls (the state carries over, detached), then a reset; the same on both sides."""
    ours.double(), theirs.double()
    sync_weights(ours, theirs)
    for _ in range(steps):
        assert_same_run(run(ours, [x]), run(theirs, [x]), exact=exact)
        functional.detach_net(ours)
        sj_detach(theirs)
    functional.reset_net(ours)
    sj_functional.reset_net(theirs)


@pytest.mark.parametrize(
    ("name", "stateful", "layout"),
    [
        ("SeqToANNContainer", False, "time first"),
        ("MultiStepContainer", True, "time first"),
        ("TLastSeqToANNContainer", False, "time last"),
        ("TLastMultiStepContainer", True, "time last"),
    ],
)
def test_sequence_containers_as_spikingjelly(name, stateful, layout):
    ours = getattr(layer, name)(*block("ours", stateful))
    theirs = getattr(sj_layer, name)(*block("sj", stateful))
    if "TLastSeq" in name:  # SpikingJelly runs it under torch.vmap, which batch norm cannot
        ours, theirs = layer.TLastSeqToANNContainer(ours[0]), sj_layer.TLastSeqToANNContainer(theirs[0])
    shape = (T, N, 2, 4, 4) if layout == "time first" else (N, 2, 4, 4, T)
    x = torch.randn(shape, dtype=torch.float64) + 0.5
    compare(ours, theirs, x)
    assert ours.step_mode == "m"


@pytest.mark.parametrize("stateful", [False, True])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_step_mode_container_as_spikingjelly(stateful, step_mode):
    ours = layer.StepModeContainer(stateful, step_mode, *block("ours", stateful))
    theirs = sj_layer.StepModeContainer(stateful, step_mode, *block("sj", stateful))
    shape = (N, 2, 4, 4) if step_mode == "s" else (T, N, 2, 4, 4)
    compare(ours, theirs, torch.randn(shape, dtype=torch.float64) + 0.5)
    assert repr(ours).startswith(f"StepModeContainer(\n  stateful={stateful}, step_mode={step_mode!r}")


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_element_wise_recurrent_container_as_spikingjelly(step_mode):
    def plus(y, x):
        return x + 0.5 * y

    ours = layer.ElementWiseRecurrentContainer(neuron.LIFNode(), plus, step_mode)
    theirs = sj_layer.ElementWiseRecurrentContainer(sj_neuron.LIFNode(), plus, step_mode)
    shape = (N, 5) if step_mode == "s" else (T, N, 5)
    compare(ours, theirs, torch.rand(shape, dtype=torch.float64) * 2, steps=3)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_linear_recurrent_container_as_spikingjelly(bias, step_mode):
    ours = layer.LinearRecurrentContainer(neuron.IFNode(), 4, 4, bias, step_mode)
    theirs = sj_layer.LinearRecurrentContainer(sj_neuron.IFNode(), 4, 4, bias, step_mode)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    shape = (N, 4) if step_mode == "s" else (T, N, 4)
    compare(ours, theirs, torch.rand(shape, dtype=torch.float64) * 2, steps=3)


def test_linear_recurrent_container_with_another_output_size():
    """The wrapped module may change the size: rc maps [x, y] (in + out) back to in."""
    torch.manual_seed(0)
    ours = layer.LinearRecurrentContainer(nn.Sequential(nn.Linear(3, 2), neuron.IFNode()), 3, 2)
    theirs = sj_layer.LinearRecurrentContainer(nn.Sequential(nn.Linear(3, 2), sj_neuron.IFNode()), 3, 2)
    assert ours.rc.weight.shape == (3, 5)
    compare(ours, theirs, torch.rand(N, 3, dtype=torch.float64) * 3, steps=3)
    assert repr(ours).startswith("LinearRecurrentContainer(\n  in_features=3, out_features=2, bias=True")


def test_recurrent_state_resets_and_checks_the_batch():
    rnn = layer.LinearRecurrentContainer(neuron.IFNode(), 2, 2)
    rnn(torch.ones(3, 2))
    assert rnn.y.shape == (3, 2) and isinstance(rnn.sub_module.v, torch.Tensor)
    with pytest.raises(
        ValueError, match=r"needs a stored output y of shape \(4, 2\), got \(3, 2\).*reset_net"
    ):
        rnn(torch.ones(4, 2))
    functional.reset_net(rnn)
    assert rnn.y is None and rnn.sub_module.v == 0.0
    element_wise = layer.ElementWiseRecurrentContainer(neuron.IFNode(), torch.add)
    element_wise(torch.ones(3))
    with pytest.raises(ValueError, match=r"differs from the stored output y \(3,\).*reset_net"):
        element_wise(torch.ones(4))


def test_set_step_mode_sets_containers_but_not_what_they_wrap():
    rnn = layer.LinearRecurrentContainer(neuron.LIFNode(), 2, 2)
    mixed = layer.StepModeContainer(True, "s", nn.Linear(2, 2), neuron.LIFNode())
    net = nn.Sequential(rnn, mixed, layer.SeqToANNContainer(layer.Linear(2, 2)))
    functional.set_step_mode(net, "m")
    assert rnn.step_mode == mixed.step_mode == "m"
    assert rnn.sub_module.step_mode == mixed[1].step_mode == net[2][0].step_mode == "s"
    assert net(torch.rand(T, N, 2)).shape == (T, N, 2)


def test_containers_refuse_what_they_cannot_run():
    for name in ("SeqToANNContainer", "TLastSeqToANNContainer"):
        with pytest.raises(ValueError, match=rf"{name}: layer 1 contains the stateful LIFNode"):
            getattr(layer, name)(nn.Linear(2, 2), neuron.LIFNode())
    with pytest.raises(
        ValueError, match=r"contains the stateful Dropout.*StepModeContainer\(stateful=True\)"
    ):
        layer.StepModeContainer(False, "m", layer.Dropout())
    for name in ("SeqToANNContainer", "MultiStepContainer", "TLastMultiStepContainer"):
        with pytest.raises(ValueError, match=rf"{name}: layer 0 \(Linear\) has step_mode 'm'"):
            getattr(layer, name)(nn.Sequential(layer.Linear(2, 2, step_mode="m")))
    with pytest.raises(ValueError, match=r"LinearRecurrentContainer: layer 0 \(LIFNode\) has step_mode 'm'"):
        layer.LinearRecurrentContainer(neuron.LIFNode(step_mode="m"), 2, 2)
    with pytest.raises(
        ValueError, match=r"ElementWiseRecurrentContainer: layer 0 \(IFNode\) has step_mode 'm'"
    ):
        layer.ElementWiseRecurrentContainer(neuron.IFNode(step_mode="m"), torch.add)
    with pytest.raises(TypeError, match=r"element_wise_function must be callable, got int"):
        layer.ElementWiseRecurrentContainer(neuron.IFNode(), 3)
    with pytest.raises(TypeError, match=r"layer 0 must be a torch.nn.Module, got builtin_function_or_method"):
        layer.MultiStepContainer(torch.relu)
    with pytest.raises(TypeError, match=r"stateful must be a bool.*StepModeContainer\(stateful, step_mode"):
        layer.StepModeContainer(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"StepModeContainer: step_mode must be 's' or 'm'.*got Linear"):
        layer.StepModeContainer(False, nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"SeqToANNContainer: step_mode must be 'm'.*got 's'"):
        layer.SeqToANNContainer(nn.Identity()).step_mode = "s"


def test_containers_check_their_input():
    with pytest.raises(ValueError, match=r"SeqToANNContainer expects a sequence \[T, N, \*shape\].*\(4,\)"):
        layer.SeqToANNContainer(nn.Identity())(torch.ones(4))
    with pytest.raises(ValueError, match=r"TLastSeqToANNContainer expects a sequence \[N, \*shape, T\]"):
        layer.TLastSeqToANNContainer(nn.Identity())(torch.ones(4))
    with pytest.raises(ValueError, match=r"TLastMultiStepContainer expects a sequence \[N, \*shape, T\]"):
        layer.TLastMultiStepContainer(nn.Identity())(torch.ones(4))
    with pytest.raises(TypeError, match=r"StepModeContainer expects a torch.Tensor"):
        layer.StepModeContainer(False, "m", nn.Identity())([1.0])
    with pytest.raises(ValueError, match=r"needs at least one time step, got T = 0"):
        layer.MultiStepContainer(nn.Identity())(torch.ones(0, 2))


def test_time_last_batch_norm_takes_statistics_over_time_and_batch():
    """SpikingJelly's vmap cannot run batch norm in training; here it sees [T*N, ...]."""
    bn = nn.BatchNorm1d(3)
    x = torch.randn(N, 3, T) * 2 + 1
    out = layer.TLastSeqToANNContainer(bn)(x)
    torch.testing.assert_close(bn.running_mean, 0.1 * x.mean(dim=(0, 2)))
    torch.testing.assert_close(out.mean(dim=(0, 2)), torch.zeros(3), atol=1e-6, rtol=0)
    with pytest.raises(RuntimeError):
        sj_layer.TLastSeqToANNContainer(nn.BatchNorm1d(3))(x)


def test_containers_pickle_and_deepcopy_with_their_state():
    rnn = layer.LinearRecurrentContainer(neuron.IFNode(), 2, 2, step_mode="m")
    rnn(torch.ones(T, 1, 2))
    copy = pickle.loads(pickle.dumps(rnn))
    torch.testing.assert_close(copy.y, rnn.y)
    assert repr(copy) == repr(rnn)
