"""Spiking ResNet and SEW ResNet against SpikingJelly 2.0: weights, outputs, gradients, both step modes."""

from __future__ import annotations

import pytest
import torch

import sj
from spikegrad import functional, layer, neuron
from spikegrad.model import sew_resnet, spiking_resnet

from .helpers import N, T, assert_same_init, compare, neuron_kwargs, sj_model, sj_neuron

sj_layer = sj.module("layer")
sj_spiking_resnet = sj_model("spiking_resnet")
sj_sew_resnet = sj_model("sew_resnet")


def images(size: int = 16) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(T, N, 3, size, size) * 2


def test_spiking_resnet18_in_both_step_modes():
    ours_kw, theirs_kw = neuron_kwargs(surrogate="ATan", detach_reset=True)
    ours = spiking_resnet.spiking_resnet18(spiking_neuron=neuron.IFNode, num_classes=5, **ours_kw)
    theirs = sj_spiking_resnet.spiking_resnet18(spiking_neuron=sj_neuron.IFNode, num_classes=5, **theirs_kw)
    compare(ours, theirs, images(), step_modes=("m", "s"), train_eval=("train",))


def test_sew_resnet18():
    ours_kw, theirs_kw = neuron_kwargs(surrogate="Sigmoid", tau=1.5)
    ours = sew_resnet.sew_resnet18(cnf="ADD", spiking_neuron=neuron.LIFNode, num_classes=5, **ours_kw)
    theirs = sj_sew_resnet.sew_resnet18(
        cnf="ADD", spiking_neuron=sj_neuron.LIFNode, num_classes=5, **theirs_kw
    )
    compare(ours, theirs, images(), train_eval=("eval",))


# the blocks at small widths: every kind of block and join in both step modes, cheaply
BLOCKS = {  # name -> (ours, theirs, extra arguments)
    "spiking-basic": (spiking_resnet.BasicBlock, sj_spiking_resnet.BasicBlock, {}),
    "spiking-bottleneck": (
        spiking_resnet.Bottleneck,
        sj_spiking_resnet.Bottleneck,
        {"groups": 2, "dilation": 2},
    ),
    **{
        f"sew-basic-{cnf}": (sew_resnet.BasicBlock, sj_sew_resnet.BasicBlock, {"cnf": cnf})
        for cnf in ("ADD", "AND", "IAND")
    },
    **{
        f"sew-bottleneck-{cnf}": (sew_resnet.Bottleneck, sj_sew_resnet.Bottleneck, {"cnf": cnf, "groups": 2})
        for cnf in ("ADD", "AND", "IAND")
    },
}


def _downsample(family, batch_norm, inplanes: int, planes: int, stride: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(family.conv1x1(inplanes, planes, stride), batch_norm(planes))


@pytest.mark.parametrize("downsample", [False, True], ids=["identity", "downsample"])
@pytest.mark.parametrize("name", list(BLOCKS))
def test_blocks(name, downsample):
    ours_cls, theirs_cls, extra = BLOCKS[name]
    expansion = ours_cls.expansion
    inplanes, planes, stride = (6, 8, 2) if downsample else (8 * expansion, 8, 1)
    ours_kw, theirs_kw = neuron_kwargs(surrogate="ATan", v_threshold=0.8)
    shortcut = (inplanes, planes * expansion, stride)
    ours_ds = _downsample(spiking_resnet, layer.BatchNorm2d, *shortcut) if downsample else None
    theirs_ds = _downsample(sj_spiking_resnet, sj_layer.BatchNorm2d, *shortcut) if downsample else None
    args = (inplanes, planes, stride)
    ours = ours_cls(*args, ours_ds, base_width=64, **extra, spiking_neuron=neuron.IFNode, **ours_kw)
    theirs = theirs_cls(
        *args, theirs_ds, base_width=64, **extra, spiking_neuron=sj_neuron.IFNode, **theirs_kw
    )
    torch.manual_seed(0)
    compare(ours, theirs, torch.rand(T, N, inplanes, 6, 6) * 2, step_modes=("m", "s"), train_eval=("train",))


def test_the_same_seed_gives_the_same_initial_weights():
    for zero_init in (False, True):
        assert_same_init(
            lambda z=zero_init: sew_resnet.SEWResNet(
                sew_resnet.Bottleneck,
                [1, 1, 1, 1],
                cnf="ADD",
                spiking_neuron=neuron.IFNode,
                zero_init_residual=z,
            ),
            lambda z=zero_init: sj_sew_resnet.SEWResNet(
                sj_sew_resnet.Bottleneck,
                [1, 1, 1, 1],
                cnf="ADD",
                spiking_neuron=sj_neuron.IFNode,
                zero_init_residual=z,
            ),
        )
    assert_same_init(
        lambda: spiking_resnet.spiking_resnet18(spiking_neuron=neuron.IFNode, zero_init_residual=True),
        lambda: sj_spiking_resnet.spiking_resnet18(spiking_neuron=sj_neuron.IFNode, zero_init_residual=True),
    )


def test_neurons_get_their_own_copy_of_the_arguments():
    from spikegrad import surrogate

    net = sew_resnet.sew_resnet18(
        cnf="ADD", spiking_neuron=neuron.LIFNode, tau=3.0, surrogate_function=surrogate.ATan()
    )
    nodes = [m for m in net.modules() if isinstance(m, neuron.LIFNode)]
    assert len(nodes) == 1 + 8 * 2 + 3  # stem, two per block, one per down-sampling shortcut
    assert all(node.tau == 3.0 for node in nodes)
    assert len({id(node.surrogate_function) for node in nodes}) == len(nodes)
    assert net.layer2[0].downsample_sn is not None and not hasattr(net.layer1[0], "downsample_sn")


def test_sew_function():
    x = torch.tensor([0.0, 0.0, 1.0, 1.0])
    y = torch.tensor([0.0, 1.0, 0.0, 1.0])
    for cnf in ("ADD", "AND", "IAND"):
        torch.testing.assert_close(sew_resnet.sew_function(x, y, cnf), sj_sew_resnet.sew_function(x, y, cnf))
    with pytest.raises(ValueError, match="cnf must be 'ADD'"):
        sew_resnet.sew_function(x, y, "OR")


def test_errors_are_raised_at_construction():
    with pytest.raises(ValueError, match=r"cnf must be 'ADD'.*got None"):
        sew_resnet.sew_resnet18(spiking_neuron=neuron.IFNode)
    with pytest.raises(ValueError, match="cnf must be"):
        sew_resnet.BasicBlock(64, 64, cnf="add", spiking_neuron=neuron.IFNode)
    with pytest.raises(TypeError, match=r"needs spiking_neuron.*neuron\.IFNode"):
        spiking_resnet.spiking_resnet18()
    with pytest.raises(TypeError, match="needs spiking_neuron"):
        spiking_resnet.BasicBlock(64, 64)
    with pytest.raises(ValueError, match="groups=1 and base_width=64"):
        spiking_resnet.BasicBlock(64, 64, groups=2, spiking_neuron=neuron.IFNode)
    with pytest.raises(NotImplementedError, match="dilation"):
        sew_resnet.BasicBlock(64, 64, dilation=2, cnf="ADD", spiking_neuron=neuron.IFNode)
    with pytest.raises(ValueError, match="replace_stride_with_dilation"):
        spiking_resnet.spiking_resnet18(spiking_neuron=neuron.IFNode, replace_stride_with_dilation=[True])
    with pytest.raises(ValueError, match="4 stages"):
        spiking_resnet.SpikingResNet(spiking_resnet.BasicBlock, [1, 1, 1], spiking_neuron=neuron.IFNode)


def test_multi_step_output_is_per_step():
    net = spiking_resnet.spiking_resnet18(spiking_neuron=neuron.IFNode, num_classes=3)
    functional.set_step_mode(net, "m")
    assert net(torch.rand(3, 1, 3, 16, 16)).shape == (3, 1, 3)
