"""Constructors, defaults, repr, copies, step modes and networks of this package's neurons."""

from __future__ import annotations

import copy
import inspect
import io
import pickle

import pytest
import torch
from torch import nn

import sj
from spikegrad import functional, layer, neuron, surrogate
from spikegrad.neuron.nonspiking import decode_potential

sj_neuron = sj.module("neuron")
sj_surrogate = sj.module("surrogate")
sj_layer = sj.module("layer")

#: name -> the arguments both libraries need
CLASSES = {
    "NonSpikingBaseNode": (),
    "NonSpikingIFNode": (),
    "NonSpikingLIFNode": (),
    "GatedLIFNode": (4,),
    "TernaryIFNode": (),
    "ComplementaryLIFNode": (),
    "RAFNode": (),
    "ILIFNode": (),
    "OTTTLIFNode": (),
    "PSN": (4,),
    "MaskedPSN": (2, 4),
    "SlidingPSN": (2,),
}


@pytest.mark.parametrize("name", list(CLASSES))
def test_constructor_as_spikingjelly(name):
    """SpikingJelly's arguments in its positional order with its defaults; extra ones at the end."""
    theirs = list(inspect.signature(getattr(sj_neuron, name)).parameters.values())
    ours = list(inspect.signature(getattr(neuron, name)).parameters.values())
    ours = [p for p in ours if p.name != "self"]
    assert [p.name for p in ours[: len(theirs)]] == [p.name for p in theirs]
    assert [p.name for p in ours[len(theirs) :]] in ([], ["backend"], ["step_mode", "backend"])
    for a, b in zip(ours, theirs, strict=False):
        if a.name == "surrogate_function":
            assert a.default is None  # a fresh instance per neuron, the same shape as SpikingJelly's
        else:
            assert a.default == b.default, a.name


def probe(sg: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.linspace(-3, 3, 61, dtype=torch.float64, requires_grad=True)
    y = sg(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    return y, grad


@pytest.mark.parametrize("name", [n for n in CLASSES if not n.startswith("NonSpiking")])
def test_default_surrogate_as_spikingjelly(name):
    ours = getattr(neuron, name)(*CLASSES[name])
    theirs = getattr(sj_neuron, name)(*CLASSES[name])
    assert type(ours.surrogate_function).__name__ == type(theirs.surrogate_function).__name__
    for a, b in zip(probe(ours.surrogate_function), probe(theirs.surrogate_function), strict=True):
        torch.testing.assert_close(a, b)
    other = getattr(neuron, name)(*CLASSES[name])
    assert other.surrogate_function is not ours.surrogate_function  # never one shared default


def test_reprs():
    assert (
        repr(neuron.NonSpikingLIFNode(3.0, "max-mem"))
        == "NonSpikingLIFNode(tau=3.0, decode='max-mem', step_mode='m')"
    )
    assert repr(neuron.TernaryIFNode(v_reset=None)).startswith(
        "TernaryIFNode(\n  v_threshold=1.0, v_reset=None, detach_reset=False, step_mode='s'"
    )
    assert "b=-0.2, omega=1.0, dt=1.0, v_threshold=1.0" in repr(neuron.RAFNode())
    assert "tau=1.3333333333333333, v_threshold=1.0, detach_reset=False, step_mode='s'" in repr(
        neuron.ILIFNode()
    )
    assert "(surrogate_function): MultiLevelSpikeCount(max_spike_count=4" in repr(neuron.ILIFNode())
    assert "tau=2.0, v_threshold=1.0, store_state_seqs=False, step_mode='s'" in repr(
        neuron.ComplementaryLIFNode()
    )
    assert "(surrogate_function): Rect(alpha=1.0, spiking=True)" in repr(neuron.ComplementaryLIFNode())
    assert repr(neuron.GatedLIFNode(4, 3, backend="reference")).startswith(
        "GatedLIFNode(\n  T=4, inplane=3, step_mode='m', backend='reference'"
    )
    assert repr(neuron.PSN(4)).startswith("PSN(\n  T=4, step_mode='m'")
    assert repr(neuron.MaskedPSN(2, 4)).startswith("MaskedPSN(\n  k=2, T=4, lambda_=0.0, step_mode='s'")
    assert repr(neuron.SlidingPSN(3, step_mode="m")).startswith("SlidingPSN(\n  k=3, step_mode='m'")


def test_step_modes_of_a_network():
    net = nn.Sequential(
        neuron.NonSpikingIFNode(),
        neuron.GatedLIFNode(4),
        neuron.PSN(4),
        neuron.MaskedPSN(2, 4),
        neuron.SlidingPSN(2),
        neuron.RAFNode(),
        neuron.OTTTLIFNode(),
    )
    functional.set_step_mode(net, "s")
    assert [m.step_mode for m in net] == ["m", "m", "m", "s", "s", "s", "s"]
    functional.set_step_mode(net, "m")
    assert [m.step_mode for m in net] == ["m", "m", "m", "m", "m", "m", "s"]


# --------------------------------------------------------------------------- state


def test_gated_state_copies_and_devices():
    torch.manual_seed(0)
    gated = neuron.GatedLIFNode(4, 3)
    x = torch.rand(4, 2, 3, 5) * 2
    gated(x)
    assert isinstance(gated.v, torch.Tensor) and gated.u is gated.v and gated.v.requires_grad
    clones = [copy.deepcopy(gated), pickle.loads(pickle.dumps(gated))]
    expected = gated(x)
    for clone in clones:
        assert clone._dynamics.surrogate_function is clone.surrogate_function
        assert clone._dynamics is not gated._dynamics
        torch.testing.assert_close(clone(x), expected)  # same parameters, same state
    buffer = io.BytesIO()
    torch.save(gated.state_dict(), buffer)
    assert sorted(torch.load(io.BytesIO(buffer.getvalue()))) == [
        "alpha", "beta", "conduct", "gamma", "linear_decay", "tau", "v_subreset", "v_threshold",
    ]  # fmt: skip
    functional.reset_net(gated)
    assert gated.v == 0.0 and gated.u == 0.0
    double = gated.double()(x.double())
    assert double.dtype == torch.float64 and gated.v.dtype == torch.float64
    gated.backend = "reference"
    assert gated.backend == gated._dynamics.backend == "reference"
    assert all(b.shape == () and not b.requires_grad for b in gated._dynamics.buffers())  # placeholders


def test_gated_shapes_beyond_four_dimensions():
    """Per-channel gates act on dimension 1 of a step of any rank >= 2 (SpikingJelly: [N, C, H, W])."""
    for shape in [(4, 2, 3), (4, 2, 3, 5), (4, 2, 3, 2, 2, 2)]:
        gated = neuron.GatedLIFNode(4, 3)
        x = torch.rand(shape) * 3
        assert gated(x).shape == shape
        per_layer = neuron.GatedLIFNode(4)
        assert per_layer(x).shape == shape  # SpikingJelly's [1, 1, 1, 1] view changes the shape here


def test_complementary_state_seqs():
    node = neuron.ComplementaryLIFNode(step_mode="m", store_state_seqs=True)
    x = torch.rand(5, 3) * 2
    out = node(x)
    assert node.state_seqs is not None
    v_seq, m_seq = node.state_seqs
    assert v_seq.shape == m_seq.shape == (5, 3)
    torch.testing.assert_close(v_seq[-1], node.v)
    torch.testing.assert_close(m_seq[-1], node.m)
    fused = neuron.ComplementaryLIFNode(step_mode="m")
    torch.testing.assert_close(fused(x), out)
    assert fused.state_seqs is None
    functional.reset_net(node)
    assert node.state_seqs is None and node.v == 0.0 and node.m == 0.0
    node.step_mode = "s"
    node(x[0])
    assert node.state_seqs is None  # single steps keep no trajectories, as in SpikingJelly


def test_nonspiking_decodes():
    v_seq = torch.tensor([[1.0, -1.0, 0.5], [-2.0, 0.5, 0.5], [0.5, 0.0, -0.25]])
    torch.testing.assert_close(decode_potential(v_seq, "max-mem"), torch.tensor([1.0, 0.5, 0.5]))
    torch.testing.assert_close(decode_potential(v_seq, "max-abs-mem"), torch.tensor([-2.0, -1.0, 0.5]))
    torch.testing.assert_close(decode_potential(v_seq, "mean-mem"), v_seq.mean(0))
    torch.testing.assert_close(decode_potential(v_seq, "last_mem"), v_seq[-1])
    assert decode_potential(v_seq, None) is v_seq
    with pytest.raises(ValueError, match="decode must be one of"):
        decode_potential(v_seq, "first_mem")
    node = neuron.NonSpikingLIFNode(decode="last_mem")
    node.v = torch.full((3,), 5.0)  # ignored: every call starts from 0
    torch.testing.assert_close(node(torch.ones(1, 3)), torch.full((3,), 0.5))


# --------------------------------------------------------------------------- parallel neurons


def test_parallel_single_steps_equal_the_sequence():
    x = torch.rand(6, 2, 3) * 4
    for psn in (neuron.MaskedPSN(3, 6, lambda_init=1.0, step_mode="m"), neuron.SlidingPSN(3, exp_init=False)):
        psn.step_mode = "m"
        whole = psn(x)
        psn.step_mode = "s"
        steps = torch.stack([psn(x_t) for x_t in x])
        assert 0 < whole.sum() < whole.numel()
        torch.testing.assert_close(steps, whole)
        functional.reset_net(psn)


def test_masked_psn_becomes_causal():
    psn = neuron.MaskedPSN(2, 5, step_mode="m")
    x = torch.rand(5, 4)
    later = x.clone()
    later[3:] += 10.0  # changes after step 2
    assert not torch.equal(psn.masked_weight(), psn.weight * psn.mask0)
    psn.lambda_ = 1.0
    torch.testing.assert_close(psn.masked_weight(), psn.weight * psn.mask0, rtol=0, atol=0)
    torch.testing.assert_close(psn(later)[:3], psn(x)[:3], rtol=0, atol=0)  # the past ignores the future


def test_sliding_psn_any_length_and_grad():
    psn = neuron.SlidingPSN(3, step_mode="m")
    for steps in (1, 2, 7):
        w = psn.gen_gemm_weight(steps)
        assert w.shape == (steps, steps) and torch.equal(w, w.tril())
    w = psn.gen_gemm_weight(5)
    (grad,) = torch.autograd.grad(w.sum(), psn.weight)
    torch.testing.assert_close(grad, torch.tensor([3.0, 4.0, 5.0]))  # each tap appears on one diagonal


# --------------------------------------------------------------------------- OTTT in a network


def ottt_block(neuron_module, sg):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), neuron_module.OTTTLIFNode(surrogate_function=sg), nn.Linear(4, 2))


def test_ottt_network_as_spikingjelly():
    """Online training: one backward per step, weight gradients from the traces."""
    ours = layer.OTTTSequential(*ottt_block(neuron, surrogate.ATan())).double()
    theirs = sj_layer.OTTTSequential(*ottt_block(sj_neuron, sj_surrogate.ATan())).double()
    theirs.load_state_dict(ours.state_dict())
    x_seq = torch.rand(5, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    for net in (ours, theirs):
        for x in x_seq:
            out = net(x)
            (out * torch.tensor([1.0, -2.0], dtype=torch.float64)).sum().backward()
    assert ours[1].trace is not None and ours[1].trace.abs().sum() > 0
    torch.testing.assert_close(ours[1].trace, theirs[1].trace)
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        assert a.grad is not None and a.grad.abs().sum() > 0, name
        torch.testing.assert_close(a.grad, b.grad, msg=name)
