"""Spiking VGG against SpikingJelly 2.0.

The classifier's first layer has ``512 * 7 * 7 x 4096`` weights whatever the configuration
(SpikingJelly hard-codes 512 channels), 100 M numbers: too many for a fast test. The numeric
tests build both models on the meta device with the real constructor, give both the same
narrow classifier (same layer kinds, 16 instead of 4096 units) and then compare; the
full-size structure is compared in ``test_constructors.py``.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import sj
from spikegrad import layer, neuron
from spikegrad.model import spiking_vgg

from .helpers import N, T, compare, neuron_kwargs, sj_model, sj_neuron

sj_layer = sj.module("layer")
sj_spiking_vgg = sj_model("spiking_vgg")

CFG = [4, "M", 8, "M", 512]


def narrow_classifier(model: nn.Module, linear: type[nn.Module], classes: int) -> nn.Module:
    """Replace the classifier's linear layers by narrow ones on the CPU; allocate everything."""
    model.classifier[0] = linear(512 * 7 * 7, 16)
    model.classifier[3] = linear(16, 16)
    model.classifier[6] = linear(16, classes)
    return model.to_empty(device="cpu")


def build_pair(batch_norm: bool, spiking_neuron: str, **common) -> tuple[nn.Module, nn.Module]:
    ours_kw, theirs_kw = neuron_kwargs(**common)
    with torch.device("meta"):
        ours = spiking_vgg.SpikingVGG(
            CFG, batch_norm, num_classes=5, spiking_neuron=getattr(neuron, spiking_neuron), **ours_kw
        )
        theirs = sj_spiking_vgg.SpikingVGG(
            CFG, batch_norm, num_classes=5, spiking_neuron=getattr(sj_neuron, spiking_neuron), **theirs_kw
        )
    return narrow_classifier(ours, layer.Linear, 5), narrow_classifier(theirs, sj_layer.Linear, 5)


@pytest.mark.parametrize("batch_norm", [True, False], ids=["bn", "plain"])
def test_spiking_vgg_in_both_step_modes(batch_norm):
    ours, theirs = build_pair(batch_norm, "LIFNode", surrogate="ATan", tau=1.5)
    torch.manual_seed(0)
    x = torch.rand(T, N, 3, 16, 16) * 2
    compare(ours, theirs, x, step_modes=("m", "s"), train_eval=("train",) if batch_norm else ("eval",))


def test_the_same_seed_gives_the_same_initial_weights():
    torch.manual_seed(7)
    ours_features = spiking_vgg.SpikingVGG.make_layers(CFG, True, None, neuron.IFNode)
    torch.manual_seed(7)
    theirs_features = sj_spiking_vgg.SpikingVGG.make_layers(CFG, True, None, sj_neuron.IFNode)
    assert str(ours_features.state_dict()) == str(theirs_features.state_dict())
    ours, theirs = build_pair(True, "IFNode")
    torch.manual_seed(7)
    ours._initialize_weights()
    torch.manual_seed(7)
    theirs._initialize_weights()
    for key, value in ours.state_dict().items():
        if not key.endswith(("running_mean", "running_var", "num_batches_tracked")):  # left to to_empty
            torch.testing.assert_close(value, theirs.state_dict()[key], rtol=0, atol=0, msg=key)


def test_the_classifier_follows_the_last_convolution():
    net = spiking_vgg.SpikingVGG(
        [6, "M", 10, "M"], spiking_neuron=neuron.IFNode, num_classes=3, backend="reference"
    )
    assert net.classifier[0].in_features == 10 * 7 * 7
    assert net(torch.rand(1, 3, 16, 16)).shape == (1, 3)


def test_bad_configurations():
    for cfg in ([8, "P"], [0], "AB", [8, True]):
        with pytest.raises(ValueError, match="cfg must be a list"):
            spiking_vgg.SpikingVGG(cfg, spiking_neuron=neuron.IFNode)
    with pytest.raises(TypeError, match="needs spiking_neuron"):
        spiking_vgg.SpikingVGG.make_layers([4])
