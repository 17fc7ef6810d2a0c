"""Attention layers against SpikingJelly 2.0: signatures, state_dict keys, outputs and gradients."""

from __future__ import annotations

import inspect

import pytest
import torch

from spikegrad import functional, layer, neuron, surrogate

from .helpers import N, T, assert_same_run, run, sync_weights

sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")
sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
sj_surrogate = pytest.importorskip("spikingjelly.activation_based.surrogate")
sj_functional = pytest.importorskip("spikingjelly.activation_based.functional")

SPIKING = {  # name -> (args, input shape)
    "SpikingSelfAttention": ((8, 2), (T, N, 8, 5)),
    "QKAttention": ((8, 2), (T, N, 8, 5)),
    "TokenQKAttention": ((8, 2), (T, N, 8, 5)),
    "ChannelQKAttention": ((8, 4), (T, N, 8, 5)),
    "SpikeDrivenSelfAttention": ((8, 2), (T, N, 8, 3, 3)),
}
GATES = {
    "TemporalWiseAttention-4": ((4, 2, 4), (4, N, 3, 3, 3)),
    "TemporalWiseAttention-2": ((4, 1, 2), (4, N, 6)),
    "MultiDimensionalAttention-all": ((4, 4, 2, 2, 3), (4, N, 4, 3, 3)),
    "MultiDimensionalAttention-7": ((4, 4, 1, 4, 7, False, True, True), (4, N, 4, 5, 5)),
    "MultiDimensionalAttention-time": ((4, 6, 4, 16, 3, True, False, False), (4, N, 5, 3, 3)),
}


def both_modes(ours, theirs, x):
    """Train (twice: batch norm statistics move) and eval, with a reset in between."""
    ours.double(), theirs.double()
    sync_weights(ours, theirs)
    for mode in ("train", "train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        assert_same_run(run(ours, [x]), run(theirs, [x]))
        functional.reset_net(ours)
        sj_functional.reset_net(theirs)


@pytest.mark.parametrize("name", list(SPIKING))
def test_spiking_attention_as_spikingjelly(name):
    args, shape = SPIKING[name]
    torch.manual_seed(0)
    ours = getattr(layer, name)(*args, backend="reference")  # the kernels are tested elsewhere
    theirs = getattr(sj_layer, name)(*args)
    x = torch.randn(shape, dtype=torch.float64) * 2
    both_modes(ours, theirs, x)
    out = ours(x)
    assert out.shape == x.shape and ((out == 0) | (out == 1) | ("Driven" in name)).all()


@pytest.mark.parametrize("qka_type", ["token", "channel"])
def test_custom_neuron_and_its_arguments(qka_type):
    """spiking_neuron and **kwargs reach every neuron, as in SpikingJelly (no defaults added)."""
    kwargs = {"v_threshold": 0.7, "detach_reset": False}
    ours = layer.QKAttention(
        8, 2, qka_type, neuron.IFNode, surrogate_function=surrogate.ATan(), backend="reference", **kwargs
    )
    theirs = sj_layer.QKAttention(
        8, 2, qka_type, sj_neuron.IFNode, surrogate_function=sj_surrogate.ATan(), **kwargs
    )
    for node in (ours.qk_lif, ours.attn_lif, ours.proj_lif):
        assert isinstance(node, neuron.IFNode) and node.v_threshold == 0.7 and node.step_mode == "m"
    assert ours.qk_lif.surrogate_function is not ours.attn_lif.surrogate_function  # deep copies
    both_modes(ours, theirs, torch.randn(T, N, 8, 5, dtype=torch.float64) * 2)


def test_default_neurons_are_spikegrad_lif_with_spikingjelly_defaults():
    attn = layer.SpikeDrivenSelfAttention(8, 2)
    assert isinstance(attn.q_lif, neuron.LIFNode)
    assert (attn.q_lif.tau, attn.q_lif.detach_reset, attn.q_lif.v_threshold) == (2.0, True, 1.0)
    assert attn.attn_lif.v_threshold == 0.5
    overridden = layer.SpikingSelfAttention(8, 2, tau=3.0)
    assert overridden.qkv_lif.tau == overridden.attn_lif.tau == 3.0
    assert overridden.attn_lif.v_threshold == 0.5


def test_default_fused_neurons_give_the_same_numbers():
    torch.manual_seed(0)
    ours, theirs = layer.SpikingSelfAttention(8, 2), sj_layer.SpikingSelfAttention(8, 2)
    assert ours.qkv_lif.backend == "auto"
    both_modes(ours, theirs, torch.randn(T, N, 8, 5, dtype=torch.float64) * 2)


@pytest.mark.parametrize("case", list(GATES))
def test_gates_as_spikingjelly(case):
    name = case.split("-")[0]
    args, shape = GATES[case]
    torch.manual_seed(0)
    ours, theirs = getattr(layer, name)(*args), getattr(sj_layer, name)(*args)
    both_modes(ours, theirs, torch.randn(shape, dtype=torch.float64))


@pytest.mark.parametrize("name", [*SPIKING, "TemporalWiseAttention", "MultiDimensionalAttention"])
def test_same_constructor_signature(name):
    def parameters(cls):
        return [(p.name, p.default, p.kind) for p in inspect.signature(cls.__init__).parameters.values()][1:]

    assert parameters(getattr(layer, name)) == parameters(getattr(sj_layer, name))


def test_attention_is_multi_step_and_keeps_its_neurons_in_multi_step():
    net = torch.nn.Sequential(layer.SpikingSelfAttention(8, 2), neuron.LIFNode())
    functional.set_step_mode(net, "m")
    assert net[0].qkv_lif.step_mode == "m" and net[1].step_mode == "m"
    assert net[0].step_modes == ("m",) and net[0].steps_its_children
    try:  # refused, or the attention left alone: either way its neurons stay multi-step
        functional.set_step_mode(net, "s")
    except ValueError as error:
        assert "only runs in step_mode ('m',)" in str(error)
    assert net[0].qkv_lif.step_mode == net[0].attn_lif.step_mode == "m"


def test_validation():
    with pytest.raises(ValueError, match=r"attention layer run in step_mode 'm', got 's'"):
        layer.SpikingSelfAttention(8, 2, step_mode="s")
    with pytest.raises(ValueError, match=r"dim 8 must be divisible by num_heads 3"):
        layer.SpikeDrivenSelfAttention(8, 3)
    with pytest.raises(ValueError, match=r"num_heads must be a positive integer, got 0"):
        layer.QKAttention(8, 0)
    with pytest.raises(ValueError, match=r"qka_type must be 'token' or 'channel', got 'space'"):
        layer.QKAttention(8, 2, "space")
    with pytest.raises(ValueError, match=r"expects \[T, N, C, L\] with C = 8, got shape \(3, 2, 4, 5\)"):
        layer.SpikingSelfAttention(8, 2)(torch.rand(3, 2, 4, 5))
    with pytest.raises(ValueError, match=r"expects \[T, N, C, H, W\] with C = 8, got shape \(3, 2, 8, 5\)"):
        layer.SpikeDrivenSelfAttention(8, 2)(torch.rand(3, 2, 8, 5))
    with pytest.raises(TypeError, match=r"expects a torch.Tensor \[T, N, C, L\], got list"):
        layer.TokenQKAttention(8, 2)([1.0])
    with pytest.raises(
        ValueError, match=r"dimension must be 4 \(\[T, N, C, H, W\]\) or 2 \(\[T, N, M\]\), got 3"
    ):
        layer.TemporalWiseAttention(4, 2, 3)
    with pytest.raises(ValueError, match=r"reduction \(16\) cannot be greater than T \(4\)"):
        layer.TemporalWiseAttention(4)
    with pytest.raises(ValueError, match=r"expects \[T, N, M\] with T = 4, got \(5, 2, 3\)"):
        layer.TemporalWiseAttention(4, 2, 2)(torch.rand(5, 2, 3))
    with pytest.raises(ValueError, match=r"at least one of use_temporal, use_channel and use_spatial"):
        layer.MultiDimensionalAttention(4, 4, 2, 2, 3, False, False, False)
    with pytest.raises(ValueError, match=r"reduction_c \(16\) cannot be greater than C \(4\)"):
        layer.MultiDimensionalAttention(4, 4, 2)
    with pytest.raises(ValueError, match=r"kernel_size must be 3 or 7, got 5"):
        layer.MultiDimensionalAttention(4, 4, 2, 2, 5)
    with pytest.raises(
        ValueError, match=r"expects \[T, N, C, H, W\] with T = 4 and C = 4, got \(4, 2, 5, 3, 3\)"
    ):
        layer.MultiDimensionalAttention(4, 4, 2, 2)(torch.rand(4, 2, 5, 3, 3))
