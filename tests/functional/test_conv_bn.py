"""fuse_conv_bn_eval_modules: same graph rewrite as SpikingJelly 2.0 on torch layers, same
outputs as the unfused network, spikegrad's multi-step layers stay multi-step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import sj
from spikegrad import functional, layer, neuron

sj_conv_bn = sj.module("functional.conv_bn_fusion")


def _trained_bn(bn: nn.Module) -> nn.Module:
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    return bn


def test_same_rewrite_as_spikingjelly_on_torch_layers():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3),
        _trained_bn(nn.BatchNorm2d(3)),
        nn.ReLU(),
        nn.Flatten(2),
        nn.Conv1d(3, 2, 1),
        _trained_bn(nn.BatchNorm1d(2)),
    ).eval()
    ours = functional.fuse_conv_bn_eval_modules(net)
    theirs = sj_conv_bn.fuse_conv_bn_eval_modules(net)
    assert [type(m) for m in ours.children()] == [type(m) for m in theirs.children()]
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in ours.modules())
    x = torch.randn(2, 1, 5, 5)
    torch.testing.assert_close(ours(x), theirs(x))
    torch.testing.assert_close(ours(x), net(x))
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())  # the original is untouched


def test_multi_step_spikegrad_layers_stay_multi_step():
    torch.manual_seed(1)
    net = nn.Sequential(
        layer.Conv2d(1, 4, 3, padding=1, step_mode="m"),
        _trained_bn(layer.BatchNorm2d(4, step_mode="m")),
        neuron.IFNode(step_mode="m", backend="reference"),
        layer.SeqToANNContainer(nn.Conv2d(4, 2, 3), _trained_bn(nn.BatchNorm2d(2))),
    ).eval()
    fused = functional.fuse_conv_bn_eval_modules(net)
    convs = [m for m in fused.modules() if isinstance(m, nn.Conv2d)]
    assert isinstance(convs[0], layer.Conv2d) and convs[0].step_mode == "m"
    assert sum(isinstance(m, nn.BatchNorm2d) for m in fused.modules()) == 1  # the container stays whole
    x = torch.rand(3, 2, 1, 6, 6) * 2
    expected = net(x)
    functional.reset_net(net)
    torch.testing.assert_close(fused(x), expected)


def test_shared_convolution_is_left_alone():
    conv, bn = nn.Conv2d(1, 1, 1), _trained_bn(nn.BatchNorm2d(1))

    class TwoUses(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.bn = conv, bn

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return self.bn(y) + y

    fused = functional.fuse_conv_bn_eval_modules(TwoUses().eval())
    assert isinstance(fused.bn, nn.BatchNorm2d)


def test_fusion_validation():
    net = nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1))
    with pytest.raises(ValueError, match=r"call net.eval\(\) first"):
        functional.fuse_conv_bn_eval_modules(net)
    without_stats = nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1, track_running_stats=False)).eval()
    with pytest.raises(ValueError, match=r"cannot fold '1' into '0'.*track_running_stats=False"):
        functional.fuse_conv_bn_eval_modules(without_stats)
    with pytest.raises(TypeError, match="expects a module, got function"):
        functional.fuse_conv_bn_eval_modules(lambda x: x)
