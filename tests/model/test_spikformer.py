"""Spikformer against SpikingJelly 2.0: default and custom neurons, both patch sizes, images and sequences."""

from __future__ import annotations

import pytest
import torch

from spikegrad import functional, neuron, surrogate
from spikegrad.model import spikformer

from .helpers import N, T, assert_same_init, compare, neuron_kwargs, sj_model, sj_neuron

sj_spikformer = sj_model("spikformer")

SMALL = {"in_channels": 3, "num_classes": 5, "embed_dims": 16, "num_heads": 2, "mlp_ratio": 2.0, "depths": 1}


@pytest.mark.parametrize(
    ("patch_size", "image", "spiking_neuron", "common"),
    [
        (4, 16, None, {"v_threshold": 0.6}),  # the paper's LIF neurons, one default overridden
        (16, 32, "IFNode", {"surrogate": "ATan", "v_threshold": 0.5}),
        (4, 16, None, {"tau": 1.5, "detach_reset": False}),  # the attention keeps its own tau
    ],
    ids=["default", "IF", "default-tau"],
)
def test_spikformer(patch_size, image, spiking_neuron, common):
    ours_kw, theirs_kw = neuron_kwargs(**common)
    size = {"T": T, "img_size_h": image, "img_size_w": image, "patch_size": patch_size, **SMALL}
    ours = spikformer.Spikformer(
        **size, spiking_neuron=spiking_neuron and getattr(neuron, spiking_neuron), **ours_kw
    )
    theirs = sj_spikformer.Spikformer(
        **size, spiking_neuron=spiking_neuron and getattr(sj_neuron, spiking_neuron), **theirs_kw
    )
    torch.manual_seed(0)
    x = torch.rand(T, N, 3, image, image) * 2
    compare(ours, theirs, x, train_eval=("train",))
    compare(ours, theirs, x[0], train_eval=("eval",))  # an image, repeated over T steps


def test_default_neurons_are_the_papers():
    net = spikformer.Spikformer(T=2, img_size_h=16, img_size_w=16, patch_size=4, **SMALL, tau=3.0)
    nodes = [m for m in net.modules() if isinstance(m, neuron.LIFNode)]
    assert all(node.step_mode == "m" and node.detach_reset for node in nodes)
    attention = net.blocks[0].attn
    assert (attention.qkv_lif.tau, attention.attn_lif.v_threshold) == (2.0, 0.5)  # as in SpikingJelly
    assert net.blocks[0].mlp.neuron1.tau == net.patch_embed.stages[0].neuron.tau == 3.0


def test_the_same_seed_gives_the_same_initial_weights():
    size = {"T": 2, "img_size_h": 16, "img_size_w": 16, "patch_size": 4, **SMALL}
    assert_same_init(lambda: spikformer.Spikformer(**size), lambda: sj_spikformer.Spikformer(**size))


def test_multi_step_only():
    net = spikformer.Spikformer(T=2, img_size_h=16, img_size_w=16, patch_size=4, **SMALL, backend="reference")
    functional.set_step_mode(net, "s")  # a whole network set to single-step leaves the model alone
    assert net.step_mode == "m" and all(
        m.step_mode == "m" for m in net.modules() if isinstance(m, neuron.BaseNode)
    )
    assert net(torch.rand(N, 3, 16, 16)).shape == (2, N, 5)


def test_errors():
    with pytest.raises(ValueError, match="patch_size must be 4 or 16"):
        spikformer.Spikformer(patch_size=8)
    with pytest.raises(ValueError, match="embed_dims must be at least 8"):
        spikformer.Spikformer(embed_dims=4, num_heads=2)
    with pytest.raises(ValueError, match="T must be a positive integer"):
        spikformer.Spikformer(T=0, **SMALL)
    with pytest.raises(ValueError, match="step_mode 'm'"):
        spikformer.SpikformerMLP(4, 8, 4, step_mode="s")
    net = spikformer.Spikformer(T=2, img_size_h=16, img_size_w=16, patch_size=4, **SMALL)
    with pytest.raises(ValueError, match=r"image \[N, C, H, W\].*or a sequence"):
        net(torch.rand(3, 16, 16))
    with pytest.raises(ValueError, match=r"expects \[T, N, C, H, W\]"):
        net.blocks[0](torch.rand(2, 1, 16, 4))


def test_constructors_pass_their_arguments():
    with torch.device("meta"):
        net = spikformer.spikformer_cifar10(T=3, num_classes=7, spiking_neuron=neuron.IFNode, v_threshold=0.4)
    assert (net.T, net.num_classes, net.embed_dims, net.num_heads, net.depths) == (3, 7, 384, 12, 4)
    assert net.patch_embed.patch_size == 4 and net.patch_embed.grid_size == (8, 8)
    assert isinstance(net.blocks[0].attn.attn_lif, neuron.IFNode)
    assert net.blocks[0].attn.attn_lif.v_threshold == 0.4
    assert isinstance(net.blocks[0].attn.qkv_lif.surrogate_function, surrogate.Sigmoid)
