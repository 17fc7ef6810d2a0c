"""Firing rates, synaptic operations and energy of tiny networks whose numbers are computed by hand."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from spikegrad import activity, functional, layer, neuron
from spikegrad.activity import ENERGY_MODELS, ActivityMonitor, EnergyModel, activity_report


def _ones(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        for name, param in module.named_parameters():
            param.fill_(1.0 if name.endswith("weight") else 0.0)
    return module


def _two_layer() -> nn.Sequential:
    net = nn.Sequential(_ones(layer.Linear(4, 3)), neuron.IFNode(), _ones(layer.Linear(3, 2)))
    functional.set_step_mode(net, "m")
    return net


# T=2 steps, 2 samples: sample 0 spikes on inputs 0 and 2 at step 0, sample 1 on all four at step 1.
X = torch.tensor([[[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
                  [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]])


def test_linear_network_by_hand() -> None:
    report = activity_report(_two_layer(), X)
    assert report.samples == 2
    # every IF neuron gets 2 (sample 0, step 0) or 4 (sample 1, step 1) and fires once per sample
    assert report.firing_rates == {"1": 0.5}
    assert report.spikes == {"1": 3.0} and report.neuron_steps == {"1": 6.0}
    first, second = report.synapses["0"], report.synapses["2"]
    assert (first.inputs, first.active, first.spiking) == (8.0, 3.0, True)  # 6 spikes / 2 samples
    assert first.sops == 3 * 3 and first.fan_out == 3 and first.input_rate == 3 / 8
    assert (second.inputs, second.active, second.sops) == (6.0, 3.0, 3 * 2)
    assert first.dense_ops == 2 * 4 * 3 and second.dense_ops == 2 * 3 * 2  # every input, every step
    assert report.sops == 15 and report.macs == 0
    assert report.energy_pj == pytest.approx(15 * 0.9)
    assert report.dense_energy_pj == pytest.approx((24 + 12) * 4.6)
    assert report.firing_rate == 0.5


def test_analog_and_graded_inputs_are_macs() -> None:
    net = _two_layer()
    analog = activity_report(net, X * 0.5)  # the direct encoding: values that must be multiplied
    first = analog.synapses["0"]
    assert not first.spiking and first.sops == 0 and first.macs == first.dense_ops == 24
    assert analog.synapses["2"].spiking  # the neurons still emit spikes
    graded = activity_report(net, X * 2).synapses["0"]  # event counts: 2 is not a spike
    assert not graded.spiking and graded.macs == 24
    assert analog.energy_pj == pytest.approx(24 * 4.6 + analog.synapses["2"].sops * 0.9)


@pytest.mark.parametrize(("row", "col", "fan_out"), [(0, 0, 4), (0, 1, 6), (1, 1, 9), (2, 2, 4)])
def test_conv_fan_out_counts_the_borders(row: int, col: int, fan_out: int) -> None:
    conv = layer.Conv2d(1, 2, 3, padding=1, step_mode="m")
    x = torch.zeros(1, 1, 1, 3, 3)
    x[0, 0, 0, row, col] = 1.0
    report = activity_report(conv, x)
    synapse = report.synapses[""]
    assert synapse.sops == 2 * fan_out  # a spike reaches each output position whose window covers it
    assert synapse.dense_ops == 9 * 2 * 9  # 9 positions x 2 channels x 9 weights


def test_conv_stride_groups_and_circular_padding() -> None:
    strided = nn.Conv2d(1, 3, 2, stride=2)
    assert activity_report(strided, torch.ones(1, 1, 4, 4)).synapses[""].sops == 16 * 3  # each covered once
    grouped = nn.Conv2d(2, 4, 1, groups=2)
    x = torch.zeros(1, 2, 2, 2)
    x[0, 1, 0, 0] = 1.0
    assert activity_report(grouped, x).synapses[""].sops == 2  # reaches only its group's 2 outputs
    circular = nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 0, 0] = 1.0
    assert activity_report(circular, x).synapses[""].sops == 9  # the corner wraps into every window
    conv1d = nn.Conv1d(1, 1, 3)
    assert activity_report(conv1d, torch.ones(1, 1, 5)).synapses[""].sops == 9  # 1+2+3+2+1


def test_recurrent_container_counts_its_own_spikes() -> None:
    torch.manual_seed(0)
    rnn = layer.LinearRecurrentContainer(neuron.IFNode(), 3, 3, step_mode="m")
    with torch.no_grad():
        rnn.rc.weight.fill_(0.6)
        rnn.rc.bias.zero_()
    x = torch.tensor([[[1.0, 0.0, 0.0]], [[1.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]])
    functional.reset_net(rnn)
    with torch.no_grad():
        y = rnn(x)
    report = activity_report(rnn, x)
    synapse = report.synapses["rc"]
    # the rc layer sees [x[t]; y[t-1]] at each of the 4 steps: 6 values a step
    assert synapse.inputs == 4 * 6
    assert synapse.active == x.sum() + y[:-1].sum()
    assert synapse.sops == synapse.active * 3
    assert report.firing_rates["sub_module"] == pytest.approx(float(y.mean()))


def test_single_step_networks_count_samples_from_the_first_dimension() -> None:
    net = nn.Sequential(_ones(nn.Linear(4, 3)), neuron.IFNode())
    report = activity_report(net, X[1])  # one step of 2 samples
    assert report.samples == 2 and report.sops == 4 * 3 / 2
    assert report.firing_rates == {"1": 0.5}  # sample 1 fires all 3, sample 0 none


def test_the_monitor_accumulates_and_reduces() -> None:
    net = _two_layer()
    with ActivityMonitor(net) as monitor:
        for _ in range(3):
            functional.reset_net(net)
            net(X)
        once = activity_report(_two_layer(), X)
        three = monitor.report(samples=6)
        assert three.sops == once.sops and three.firing_rates == once.firing_rates
        # two processes holding the same counts: twice the counts over twice the samples
        doubled = monitor.report(samples=12, reduce=lambda t: 2 * t)
        assert doubled.sops == once.sops and doubled.energy_pj == pytest.approx(once.energy_pj)
        monitor.clear()
        assert monitor.report(samples=1).synapses == {}
    assert not monitor.hooks and not net[0]._forward_pre_hooks  # removed on exit


def test_energy_models_and_outputs() -> None:
    report = activity_report(_two_layer(), X, energy=ENERGY_MODELS["45nm-int8"])
    assert report.energy_pj == pytest.approx(15 * 0.03) and report.dense_energy_pj == pytest.approx(36 * 0.23)
    assert ENERGY_MODELS["45nm-fp32"].mac_pj == pytest.approx(4.6)
    assert "Horowitz" in ENERGY_MODELS["45nm-fp32"].source and "ISSCC 2014" in activity.DEFAULT_ENERGY.source
    with pytest.raises(ValueError, match=r"accumulate_pj must be a finite number >= 0, got -1"):
        EnergyModel("x", -1, 1, "")
    metrics = report.metrics()
    assert metrics == {"firing_rate": 0.5, "sops": 15.0, "macs": 0.0,
                       "energy_uj": pytest.approx(15 * 0.03e-6), "firing_rate:1": 0.5}
    assert json.loads(json.dumps(report.to_dict()))["synapses"]["0"]["fan_out"] == 3
    table = report.table().splitlines()
    assert [line.split()[0] for line in table[1:4]] == ["0", "1", "2"]  # module order
    assert "15 SOPs + 0 MACs = 0.45 pJ" in table[4]


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match=r"net must be an nn\.Module"):
        ActivityMonitor("net")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"synapses must be a tuple of nn\.Linear / nn\.ConvNd classes"):
        ActivityMonitor(nn.Linear(2, 2), synapses=(nn.ReLU,))
    with pytest.raises(ValueError, match="samples must be an integer >= 1, got 0"):
        ActivityMonitor(nn.Linear(2, 2)).report(samples=0)
    with pytest.raises(TypeError, match=r"pass samples="):
        activity_report(nn.Linear(2, 2), [1.0, 2.0])
    silent = activity_report(_two_layer(), torch.zeros(2, 1, 4))
    assert silent.sops == 0 and math.isnan(silent.synapses["0"].fan_out) and silent.firing_rate == 0.0


def test_docstring_examples() -> None:
    import doctest

    result = doctest.testmod(activity, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
