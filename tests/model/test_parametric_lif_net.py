"""The PLIF paper's networks against SpikingJelly 2.0, with ParametricLIFNode as in the paper."""

from __future__ import annotations

import pytest
import torch

from spikegrad import neuron
from spikegrad.model import parametric_lif_net

from .helpers import N, T, assert_same_init, compare, neuron_kwargs, sj_model, sj_neuron

sj_parametric_lif_net = sj_model("parametric_lif_net")

NETS = {  # name -> one input step [C, H, W]
    "MNISTNet": (1, 28, 28),
    "FashionMNISTNet": (1, 28, 28),
    "NMNISTNet": (2, 34, 34),
    "CIFAR10Net": (3, 32, 32),
    "CIFAR10DVSNet": (2, 128, 128),
    "DVSGestureNet": (2, 128, 128),
}


def build_pair(name: str, channels: int = 4, **common):
    ours_kw, theirs_kw = neuron_kwargs(surrogate="ATan", detach_reset=True, **common)
    ours = getattr(parametric_lif_net, name)(channels, neuron.ParametricLIFNode, **ours_kw)
    theirs = getattr(sj_parametric_lif_net, name)(channels, sj_neuron.ParametricLIFNode, **theirs_kw)
    return ours, theirs


@pytest.mark.parametrize("name", list(NETS))
def test_as_spikingjelly(name):
    ours, theirs = build_pair(name, init_tau=1.5, v_threshold=0.3)
    torch.manual_seed(0)
    x = torch.rand(T, N, *NETS[name]) * 3
    if name == "MNISTNet":  # dropout's masks (train) and batch norm's statistics (eval) in both step modes
        compare(ours, theirs, x, step_modes=("m", "s"), train_eval=("train", "eval"))
    else:
        compare(ours, theirs, x, train_eval=("train",))


@pytest.mark.parametrize("name", list(NETS))
def test_the_same_seed_gives_the_same_initial_weights(name):
    assert_same_init(
        lambda: getattr(parametric_lif_net, name)(4, neuron.ParametricLIFNode, init_tau=2.5),
        lambda: getattr(sj_parametric_lif_net, name)(4, sj_neuron.ParametricLIFNode, init_tau=2.5),
    )


def test_any_neuron_and_a_clear_error_without_one():
    net = parametric_lif_net.MNISTNet(4, neuron.IFNode, v_threshold=0.5, backend="reference")
    nodes = [m for m in net.modules() if isinstance(m, neuron.IFNode)]
    assert len(nodes) == 4 and all(node.v_threshold == 0.5 for node in nodes)
    assert net(torch.rand(N, 1, 28, 28)).shape == (N, 10)
    with pytest.raises(TypeError, match="MNISTNet needs spiking_neuron"):
        parametric_lif_net.MNISTNet(4)
