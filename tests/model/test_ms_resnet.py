"""MS-ResNet and Max-ResNet against SpikingJelly 2.0."""

from __future__ import annotations

import pytest
import torch

from spikegrad import functional, neuron, surrogate
from spikegrad.model import ms_resnet

from .helpers import N, T, assert_same_init, compare, neuron_kwargs, sj_model, sj_neuron

sj_ms_resnet = sj_model("ms_resnet")

CONFIGS = {  # name -> (class, arguments, image size)
    "ms-3-stages": ("MSResNet", {"layers": (1, 2, 1), "base_channels": 4}, 16),
    "ms-4-stages-pool": (
        "MSResNet",
        {"layers": (1, 1, 1, 1), "base_channels": 4, "stem_pool": True, "stem_kernel_size": 3},
        16,
    ),
    "max": (
        "MaxResNet",
        {"layers": (2, 1, 1), "stage_channels": (4, 8, 8), "stem_kernel_size": 3, "stem_stride": 1},
        8,
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("spiking_neuron", [None, "IFNode"])
def test_as_spikingjelly(name, spiking_neuron):
    cls, arguments, image = CONFIGS[name]
    common = {"v_threshold": 0.4} if spiking_neuron is None else {"surrogate": "ATan", "v_threshold": 0.5}
    ours_kw, theirs_kw = neuron_kwargs(**common)
    ours = getattr(ms_resnet, cls)(
        T, 3, 5, **arguments, spiking_neuron=spiking_neuron and getattr(neuron, spiking_neuron), **ours_kw
    )
    theirs = getattr(sj_ms_resnet, cls)(
        T,
        3,
        5,
        **arguments,
        spiking_neuron=spiking_neuron and getattr(sj_neuron, spiking_neuron),
        **theirs_kw,
    )
    torch.manual_seed(0)
    x = torch.rand(N, 3, image, image) * 2
    compare(ours, theirs, x, train_eval=("train",))  # an image, repeated over T steps
    if name == "ms-3-stages":
        compare(ours, theirs, torch.rand(T + 1, N, 3, image, image) * 2, train_eval=("eval",))


@pytest.mark.parametrize("cls", ["MSResNet", "MaxResNet"])
def test_the_same_seed_gives_the_same_initial_weights(cls):
    arguments = {"layers": (1, 1, 1, 1), "base_channels": 4, "stem_pool": True}
    assert_same_init(
        lambda: getattr(ms_resnet, cls)(**arguments), lambda: getattr(sj_ms_resnet, cls)(**arguments)
    )


def test_default_neurons_are_the_papers():
    net = ms_resnet.MSResNet(T=2, layers=(1, 1, 1), base_channels=4)
    lif = net.layer1[0].spike1
    assert isinstance(lif, neuron.LIFNode) and isinstance(lif.surrogate_function, surrogate.Rect)
    assert (lif.tau, lif.v_threshold, lif.decay_input, lif.detach_reset) == (4 / 3, 0.5, False, True)
    assert lif.surrogate_function.alpha == 2.0 and lif.step_mode == "m"
    assert lif.surrogate_function is not net.layer1[0].spike2.surrogate_function
    maxnet = ms_resnet.MaxResNet(T=2, layers=(1, 1, 1), base_channels=4, tau=3.0)
    assert (maxnet.head_lif.tau, maxnet.head_lif.v_threshold) == (3.0, 1.0)
    assert isinstance(maxnet.layer2[0].max_pool, torch.nn.Module)


def test_multi_step_only_and_errors():
    net = ms_resnet.MSResNet(T=2, layers=(1, 1, 1), base_channels=4, backend="reference")
    functional.set_step_mode(net, "s")
    assert all(m.step_mode == "m" for m in net.modules() if isinstance(m, neuron.BaseNode))
    assert net(torch.rand(N, 3, 16, 16)).shape == (N, 1000)
    with pytest.raises(ValueError, match="3 or 4 stages"):
        ms_resnet.MSResNet(layers=(1, 1))
    with pytest.raises(ValueError, match="stage_channels"):
        ms_resnet.MSResNet(layers=(1, 1, 1), stage_channels=(4, 8))
    with pytest.raises(ValueError, match="step_mode 'm'"):
        ms_resnet.MSResNet(layers=(1, 1, 1), base_channels=4, step_mode="s")
    with pytest.raises(ValueError, match="image"):
        net(torch.rand(3, 16, 16))
