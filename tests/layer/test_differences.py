"""Each intended difference from SpikingJelly 2.0's layers, asserted on both sides.

docs/differences_spikingjelly.md ("Layers and containers") lists them with the reasons; a
difference cannot appear or disappear without one of these tests noticing.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikegrad import layer, neuron

sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")
sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
sj_functional = pytest.importorskip("spikingjelly.activation_based.functional")


def test_merging_containers_refuse_stateful_modules():
    sj_layer.SeqToANNContainer(nn.Linear(2, 2), sj_neuron.LIFNode())  # accepted, mixes time steps
    with pytest.raises(ValueError, match=r"stateful LIFNode"):
        layer.SeqToANNContainer(nn.Linear(2, 2), neuron.LIFNode())


def test_containers_check_nested_step_modes():
    sj_layer.MultiStepContainer(nn.Sequential(sj_layer.Linear(2, 2, step_mode="m")))  # only children checked
    with pytest.raises(ValueError, match=r"has step_mode 'm'"):
        layer.MultiStepContainer(nn.Sequential(layer.Linear(2, 2, step_mode="m")))


def test_multi_step_only_modules_say_so():
    sj_container = sj_layer.SeqToANNContainer(nn.Identity())
    assert not hasattr(sj_container, "step_mode")  # SpikingJelly: no step_mode at all
    assert layer.SeqToANNContainer(nn.Identity()).step_mode == "m"
    assert not hasattr(sj_layer.MultiDimensionalAttention(4, 4, 2, 2), "step_mode")
    assert layer.MultiDimensionalAttention(4, 4, 2, 2).step_mode == "m"
    sj_attention = sj_layer.SpikingSelfAttention(8, 2)
    sj_functional.set_step_mode(sj_attention, "s")  # SpikingJelly switches the inner neurons
    assert sj_attention.qkv_lif.step_mode == "s"
    assert layer.SpikingSelfAttention(8, 2).steps_its_children  # spikegrad's stay multi-step


def test_time_last_merging_container_runs_batch_norm():
    x = torch.rand(2, 3, 4)
    with pytest.raises(RuntimeError):
        sj_layer.TLastSeqToANNContainer(nn.BatchNorm1d(3))(x)  # under torch.vmap
    assert layer.TLastSeqToANNContainer(nn.BatchNorm1d(3))(x).shape == x.shape


def test_state_of_another_shape_is_an_error():
    sj_syn, syn = sj_layer.SynapseFilter(2.0), layer.SynapseFilter(2.0)
    sj_syn(torch.ones(3)), syn(torch.ones(3))
    assert sj_syn(torch.ones(4)).shape == (4,)  # SpikingJelly silently restarts from zero
    with pytest.raises(ValueError, match=r"reset_net"):
        syn(torch.ones(4))
    sj_drop, drop = sj_layer.Dropout(0.5), layer.Dropout(0.5)
    sj_drop(torch.ones(2, 3)), drop(torch.ones(2, 3))
    assert sj_drop(torch.ones(1, 3)).shape == (2, 3)  # SpikingJelly broadcasts the old mask
    with pytest.raises(ValueError, match=r"reset_net"):
        drop(torch.ones(1, 3))


def test_batch_norm_through_time_past_its_steps():
    sj_bn, bn = sj_layer.BatchNormThroughTime1d(1, 2), layer.BatchNormThroughTime1d(1, 2)
    sj_bn(torch.rand(3, 2)), bn(torch.rand(3, 2))
    with pytest.raises(IndexError):
        sj_bn(torch.rand(3, 2))
    with pytest.raises(ValueError, match=r"T=1 steps and got step 2; call spikegrad.functional.reset_net"):
        bn(torch.rand(3, 2))


def test_voting_layer_refuses_a_remainder():
    assert sj_layer.VotingLayer(4)(torch.ones(1, 10)).shape == (1, 2)  # the last 2 silently dropped
    with pytest.raises(ValueError, match=r"multiple of voting_size=4"):
        layer.VotingLayer(4)(torch.ones(1, 10))
    assert layer.VotingLayer(2)(torch.ones(3, 1, 4)).shape == (3, 1, 2)  # any leading dimensions


def test_ws_conv2d_uses_its_padding_mode():
    torch.manual_seed(0)
    sj_conv = sj_layer.WSConv2d(1, 1, 3, padding=1, padding_mode="circular")
    conv = layer.WSConv2d(1, 1, 3, padding=1, padding_mode="circular")
    conv.load_state_dict(sj_conv.state_dict())
    x = torch.rand(1, 1, 4, 4)
    zeros = layer.WSConv2d(1, 1, 3, padding=1)
    zeros.load_state_dict(sj_conv.state_dict())
    torch.testing.assert_close(sj_conv(x), zeros(x))  # SpikingJelly pads with zeros
    assert not torch.allclose(conv(x), zeros(x))


def test_drop_connect_keeps_masks_and_has_its_own_activation():
    assert sj_layer.DropConnectLinear(2, 2).activation is sj_layer.DropConnectLinear(2, 2).activation
    assert layer.DropConnectLinear(2, 2).activation is not layer.DropConnectLinear(2, 2).activation
    sj_fc, fc = (
        sj_layer.DropConnectLinear(2, 2, invariant=True),
        layer.DropConnectLinear(2, 2, invariant=True),
    )
    sj_fc(torch.ones(1, 2)), fc(torch.ones(1, 2))
    assert sj_fc.dropped_w.requires_grad  # the masked weights, with their graph
    assert fc.weight_mask.dtype == torch.bool  # the mask only


def test_delay_keeps_a_tensor_of_pending_inputs():
    sj_delay, delay = sj_layer.Delay(2), layer.Delay(2)
    sj_delay(torch.ones(3)), delay(torch.ones(3))
    assert isinstance(sj_delay.queue, list) and len(sj_delay.queue) == 1
    assert delay.queue.shape == (2, 3)  # zero-padded to d entries: the same outputs


def test_print_shape_module_prints(capsys):
    layer.PrintShapeModule()(torch.zeros(1))
    assert capsys.readouterr().out  # SpikingJelly logs at DEBUG level through loguru


def test_keyword_device_dtype_and_output_size_are_extras():
    with pytest.raises(TypeError):
        sj_layer.Conv2d(1, 1, 3, dtype=torch.float64)
    assert layer.Conv2d(1, 1, 3, dtype=torch.float64).weight.dtype == torch.float64
    x = torch.rand(2, 1, 1, 3, 3)
    with pytest.raises(TypeError):
        sj_layer.ConvTranspose2d(1, 1, 3, stride=2, step_mode="m")(x, [8, 8])
    assert layer.ConvTranspose2d(1, 1, 3, stride=2, step_mode="m")(x, [8, 8]).shape == (2, 1, 1, 8, 8)


def test_layout_checks_where_spikingjelly_has_none():
    x = torch.rand(6, 4)
    with pytest.raises(RuntimeError, match=r"Expected at least 2 dimensions"):  # from inside torch
        sj_layer.GroupNorm(1, 4, step_mode="m")(x)
    with pytest.raises(ValueError, match=r"GroupNorm in step_mode 'm' expects \[T, N, C, \*\]"):
        layer.GroupNorm(1, 4, step_mode="m")(x)


def test_validation_errors_instead_of_asserts():
    with pytest.raises(AssertionError):
        sj_layer.SynapseFilter(0.5)
    with pytest.raises(ValueError, match=r"tau must be a finite number > 1"):
        layer.SynapseFilter(0.5)
    with pytest.raises(AssertionError):
        sj_layer.Delay(-1)
    with pytest.raises(ValueError, match=r"delay_steps must be an integer >= 0"):
        layer.Delay(-1)
    with pytest.raises(AssertionError):
        sj_layer.TemporalWiseAttention(4)
    with pytest.raises(ValueError, match=r"reduction \(16\) cannot be greater than T \(4\)"):
        layer.TemporalWiseAttention(4)
    sj_layer.DropConnectLinear(2, 2, p=1.5)  # accepted
    with pytest.raises(ValueError, match=r"0 <= p < 1"):
        layer.DropConnectLinear(2, 2, p=1.5)


def test_reprs_quote_the_step_mode():
    assert repr(sj_layer.Linear(2, 2, step_mode="m")).endswith("bias=True)")  # no step_mode shown
    assert repr(layer.Linear(2, 2, step_mode="m")).endswith("bias=True, step_mode='m')")
    assert repr(sj_layer.Conv1d(1, 1, 1, step_mode="m")).endswith("step_mode=m)")
    assert repr(layer.Conv1d(1, 1, 1, step_mode="m")).endswith("step_mode='m')")
