"""set_step_mode's rules for modules that are not plain StepModules, against SpikingJelly 2.0."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import sj
from spikegrad import base, functional, layer, neuron

sj_functional = sj.module("functional")
sj_layer = sj.module("layer")


class PlainStepMode(nn.Module):
    """A user module with a plain step_mode attribute (not a StepModule)."""

    def __init__(self) -> None:
        super().__init__()
        self.step_mode = "s"
        self.inner = nn.Linear(2, 2)


def test_plain_step_mode_attribute_is_set_with_a_warning_as_in_spikingjelly():
    ours, theirs = PlainStepMode(), PlainStepMode()
    with pytest.warns(UserWarning, match=r"PlainStepMode at '0' has a step_mode attribute but is not a"):
        functional.set_step_mode(nn.Sequential(ours), "m")
    sj_functional.set_step_mode(nn.Sequential(theirs), "m")
    assert ours.step_mode == theirs.step_mode == "m"


def test_seq_to_ann_container_left_alone_in_a_single_step_network_as_in_spikingjelly():
    ours = nn.Sequential(layer.SeqToANNContainer(nn.Conv2d(1, 2, 3)), neuron.IFNode(step_mode="m"))
    theirs = nn.Sequential(
        sj_layer.SeqToANNContainer(nn.Conv2d(1, 2, 3)), sj.module("neuron").IFNode(step_mode="m")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the container is a StepModule
        functional.set_step_mode(ours, "s")
    sj_functional.set_step_mode(theirs, "s")
    assert ours[1].step_mode == theirs[1].step_mode == "s"
    assert ours[0].step_mode == "m"  # SpikingJelly's container has no step_mode of its own to compare


def test_fixed_mode_modules_keep_their_mode_and_their_children_are_still_set():
    class Head(nn.Module, base.MultiStepModule):
        def __init__(self) -> None:
            super().__init__()
            self.node = neuron.IFNode()

    class Probe(nn.Module, base.SingleStepModule):
        pass

    net = nn.Sequential(Head(), Probe())
    functional.set_step_mode(net, "m")
    assert net[0].step_mode == "m" and net[0].node.step_mode == "m" and net[1].step_mode == "s"
    functional.set_step_mode(net, "s")
    assert net[0].step_mode == "m" and net[0].node.step_mode == "s"
    with pytest.raises(ValueError, match=r"Probe: step_mode must be 's'"):
        net[1].step_mode = "m"


def test_supported_step_mode_override_is_honoured():
    class OnlyMulti(nn.Module, base.StepModule):
        def __init__(self) -> None:
            super().__init__()
            self.step_mode = "m"

        def supported_step_mode(self) -> tuple[str, ...]:  # SpikingJelly's way to restrict
            return ("m",)

    module = OnlyMulti()
    functional.set_step_mode(module, "s")
    assert module.step_mode == "m"
    with pytest.raises(ValueError, match=r"OnlyMulti: step_mode must be 'm'"):
        module.step_mode = "s"


def test_set_step_mode_still_refuses_unknown_modes():
    with pytest.raises(ValueError, match=r"set_step_mode: step_mode must be 's' or 'm'.*got 'x'"):
        functional.set_step_mode(nn.Sequential(PlainStepMode()), "x")


def test_memory_helpers_follow_spikingjelly():
    sj_base, sj_neuron = sj.module("base"), sj.module("neuron")
    ours = nn.Sequential(nn.Linear(3, 3), neuron.LIFNode(), nn.Sequential(neuron.IFNode()))
    theirs = nn.Sequential(nn.Linear(3, 3), sj_neuron.LIFNode(), nn.Sequential(sj_neuron.IFNode()))
    names = [name for name, _ in base.named_memories(ours)]
    assert names == ["1.v", "1.v_seq", "2.0.v", "2.0.v_seq"]
    # SpikingJelly keeps v_seq as a plain attribute; its memories are ours without v_seq
    assert [n for n in names if not n.endswith("v_seq")] == [n for n, _ in sj_base.named_memories(theirs)]
    x = torch.rand(2, 3)
    ours(x)
    snapshot = [m.clone() if isinstance(m, torch.Tensor) else m for m in base.extract_memories(ours)]
    ours(x)
    base.load_memories(ours, snapshot)
    assert all(
        torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b
        for a, b in zip(base.memories(ours), snapshot, strict=True)
    )
    with pytest.raises(ValueError, match="has 4 memories but the list holds 1 values"):
        base.load_memories(ours, [0.0])
    with pytest.raises(TypeError, match="expects a list of memory values, got generator"):
        base.load_memories(ours, (m for m in snapshot))
