"""Spike-driven Transformer against SpikingJelly 2.0."""

from __future__ import annotations

import pytest
import torch

from spikegrad import neuron
from spikegrad.model import spike_driven_transformer

from .helpers import N, T, assert_same_init, compare, neuron_kwargs, sj_model, sj_neuron

sj_sdt = sj_model("spike_driven_transformer")

SMALL = {"in_channels": 3, "num_classes": 5, "embed_dims": 16, "num_heads": 2, "depths": 1}


@pytest.mark.parametrize(
    ("mlp_ratio", "pooling_stat", "spiking_neuron", "common"),
    [
        (2.0, "0101", None, {"v_threshold": 0.5}),
        (1.0, "1100", None, {"tau": 1.5}),  # the MLP with its inner shortcut
        (2.0, "0011", "IFNode", {"surrogate": "ATan", "detach_reset": True}),
    ],
    ids=["default", "mlp-shortcut", "IF"],
)
def test_as_spikingjelly(mlp_ratio, pooling_stat, spiking_neuron, common):
    ours_kw, theirs_kw = neuron_kwargs(**common)
    size = {"T": T, **SMALL, "mlp_ratio": mlp_ratio, "pooling_stat": pooling_stat}
    ours = spike_driven_transformer.SpikeDrivenTransformer(
        **size, spiking_neuron=spiking_neuron and getattr(neuron, spiking_neuron), **ours_kw
    )
    theirs = sj_sdt.SpikeDrivenTransformer(
        **size, spiking_neuron=spiking_neuron and getattr(sj_neuron, spiking_neuron), **theirs_kw
    )
    torch.manual_seed(0)
    compare(ours, theirs, torch.rand(N, 3, 16, 16) * 2, train_eval=("train",))  # an image, repeated
    compare(ours, theirs, torch.rand(T, N, 3, 16, 16) * 2, train_eval=("eval",))


def test_the_same_seed_gives_the_same_initial_weights():
    assert_same_init(
        lambda: spike_driven_transformer.SpikeDrivenTransformer(**SMALL),
        lambda: sj_sdt.SpikeDrivenTransformer(**SMALL),
    )


def test_default_neurons_and_errors():
    net = spike_driven_transformer.SpikeDrivenTransformer(**SMALL, tau=3.0)
    assert isinstance(net.head_lif, neuron.LIFNode) and not net.head_lif.detach_reset
    assert net.head_lif.tau == net.blocks[0].attn.q_lif.tau == 3.0
    assert net.blocks[0].attn.q_lif.detach_reset and net.blocks[0].attn.attn_lif.v_threshold == 0.5
    for bad in ("111", "1121", 1111):
        with pytest.raises(ValueError, match="pooling_stat"):
            spike_driven_transformer.SpikeDrivenTransformer(pooling_stat=bad)
    with pytest.raises(ValueError, match="divisible"):
        spike_driven_transformer.SpikeDrivenTransformer(embed_dims=12, num_heads=8)
    with pytest.raises(ValueError, match="embed_dims must be at least 8"):
        spike_driven_transformer.SpikeDrivenTransformer(embed_dims=4, num_heads=2)
