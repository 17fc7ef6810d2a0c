"""spikegrad.monitor against SpikingJelly 2.0's monitors: the same records in both step modes
(spikegrad's neurons run fused in 'm' mode), inside a recurrent container, with the same
filters and switches; and the firing-rate monitor."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import sj
from spikegrad import base, functional, layer, monitor, neuron

sj_monitor = sj.module("monitor")
sj_neuron = sj.module("neuron")
sj_layer = sj.module("layer")
sj_functional = sj.module("functional")


def _nets(step_mode: str) -> tuple[nn.Module, nn.Module]:
    """The same two-layer LIF network in both libraries, same weights, in ``step_mode``."""
    torch.manual_seed(0)
    ours = nn.Sequential(
        layer.Linear(6, 5), neuron.LIFNode(store_v_seq=True), layer.Linear(5, 3), neuron.LIFNode()
    )
    theirs = nn.Sequential(
        sj_layer.Linear(6, 5), sj_neuron.LIFNode(store_v_seq=True), sj_layer.Linear(5, 3), sj_neuron.LIFNode()
    )
    theirs.load_state_dict(ours.state_dict())
    functional.set_step_mode(ours, step_mode)
    sj_functional.set_step_mode(theirs, step_mode)
    return ours, theirs


def _drive(net: nn.Module, step_mode: str, x_seq: torch.Tensor) -> None:
    x_seq = x_seq.clone().requires_grad_(True)
    out = net(x_seq) if step_mode == "m" else torch.stack([net(x) for x in x_seq])
    out.backward(torch.linspace(-1, 1, out.numel()).view_as(out))


def _assert_same_records(ours, theirs) -> None:
    assert ours.monitored_layers == theirs.monitored_layers
    assert ours.name_records_index == theirs.name_records_index
    assert len(ours.records) == len(theirs.records) > 0
    for a, b in zip(ours.records, theirs.records, strict=True):
        if a is None or b is None:
            assert a is b
        else:
            torch.testing.assert_close(a, b)


MONITORS = {
    "output": lambda m, net, node: m.OutputMonitor(net, node, lambda s: s.detach()),
    "input": lambda m, net, node: m.InputMonitor(net, node, lambda x: x.detach()),
    "v": lambda m, net, node: m.AttributeMonitor("v", False, net, node, lambda v: v.detach().clone()),
    "v before": lambda m, net, node: m.AttributeMonitor("v", True, net, node),
    "v_seq": lambda m, net, node: m.AttributeMonitor(
        "v_seq", False, net, node, lambda v: None if v is None else v.detach()
    ),
    "grad output": lambda m, net, node: m.GradOutputMonitor(net, node),
    "grad input": lambda m, net, node: m.GradInputMonitor(net, node),
}


@pytest.mark.parametrize("step_mode", ["s", "m"])
@pytest.mark.parametrize("kind", sorted(MONITORS))
def test_same_records_as_spikingjelly(kind, step_mode):
    ours_net, theirs_net = _nets(step_mode)
    ours = MONITORS[kind](monitor, ours_net, neuron.LIFNode)
    theirs = MONITORS[kind](sj_monitor, theirs_net, sj_neuron.LIFNode)
    x_seq = torch.rand(4, 2, 6) * 2
    for _ in range(2):  # two sequences, reset in between
        _drive(ours_net, step_mode, x_seq)
        _drive(theirs_net, step_mode, x_seq)
        functional.reset_net(ours_net)
        sj_functional.reset_net(theirs_net)
    _assert_same_records(ours, theirs)
    assert ours_net[1].backend == "auto"  # in 'm' mode the hooks saw the fused kernels' inputs and outputs


class ElementWiseRecurrent(base.MemoryModule):
    """A recurrent container as SpikingJelly defines it: y_t = sub_module(y_{t-1} + x_t), the
    single-step sub-module called once per time step."""

    def __init__(self, sub_module: nn.Module, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        self.sub_module = sub_module
        self.register_memory("y", None)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self.y = self.sub_module((torch.zeros_like(x) if self.y is None else self.y) + x)
        return self.y


def _recurrent_pairs():
    """(ours, theirs) recurrent networks: the container above, and spikegrad's own containers
    once the layer module has them."""
    yield (
        "element-wise (test container)",
        (
            lambda: ElementWiseRecurrent(neuron.LIFNode(store_v_seq=True), step_mode="m"),
            lambda: sj_layer.ElementWiseRecurrentContainer(
                sj_neuron.LIFNode(store_v_seq=True), lambda a, b: a + b, step_mode="m"
            ),
        ),
    )
    if hasattr(layer, "ElementWiseRecurrentContainer"):
        yield (
            "layer.ElementWiseRecurrentContainer",
            (
                lambda: layer.ElementWiseRecurrentContainer(
                    neuron.LIFNode(store_v_seq=True), lambda a, b: a + b, step_mode="m"
                ),
                lambda: sj_layer.ElementWiseRecurrentContainer(
                    sj_neuron.LIFNode(store_v_seq=True), lambda a, b: a + b, step_mode="m"
                ),
            ),
        )
    if hasattr(layer, "LinearRecurrentContainer"):
        yield (
            "layer.LinearRecurrentContainer",
            (
                lambda: layer.LinearRecurrentContainer(neuron.LIFNode(store_v_seq=True), 6, 6, step_mode="m"),
                lambda: sj_layer.LinearRecurrentContainer(
                    sj_neuron.LIFNode(store_v_seq=True), 6, 6, step_mode="m"
                ),
            ),
        )


RECURRENT = dict(_recurrent_pairs())


@pytest.mark.parametrize("container", sorted(RECURRENT))
def test_monitors_inside_recurrent_containers_same_as_spikingjelly(container):
    make_ours, make_theirs = RECURRENT[container]
    torch.manual_seed(1)
    ours_net, theirs_net = make_ours(), make_theirs()
    theirs_net.load_state_dict(ours_net.state_dict())
    monitors = [
        (factory(monitor, ours_net, neuron.LIFNode), factory(sj_monitor, theirs_net, sj_neuron.LIFNode))
        for factory in (MONITORS["output"], MONITORS["v_seq"], MONITORS["grad output"])
    ]
    x_seq = torch.rand(5, 2, 6) * 1.5
    _drive(ours_net, "m", x_seq)
    _drive(theirs_net, "m", x_seq)
    for ours, theirs in monitors:
        _assert_same_records(ours, theirs)
    spikes = monitors[0][0]
    assert len(spikes.records) == 5 and spikes.records[0].shape == (2, 6)  # one record per step
    assert monitors[1][0].records[-1].shape == (5, 2, 6)  # v_seq: every step since the reset


def test_filters_switches_and_indexing():
    net = nn.Sequential(layer.Linear(3, 3), neuron.IFNode(), nn.Sequential(neuron.LIFNode(), nn.ReLU()))
    default = monitor.OutputMonitor(net)  # instance=None: modules of net's own type, as in SpikingJelly
    assert default.monitored_layers == ["", "2"]
    both = monitor.OutputMonitor(net, (neuron.IFNode, nn.ReLU), lambda y: y.sum().item())
    assert both.monitored_layers == ["1", "2.1"]
    x = torch.ones(1, 3)
    net(x)
    assert len(both.records) == 2 and both[0] == both["1"][0] and len(both["2.1"]) == 1
    both.disable()
    net(x)
    assert not both.is_enable() and len(both.records) == 2
    both.enable()
    net(x)
    assert len(both.records) == 4 and both.name_records_index == {"1": [0, 2], "2.1": [1, 3]}
    both.clear_recorded_data()
    assert both.records == [] and both.name_records_index == {"1": [], "2.1": []}
    both.remove_hooks()
    net(x)
    assert both.records == [] and both.hooks == []
    with monitor.InputMonitor(net, neuron.IFNode) as inputs:
        net(x)
    net(x)
    assert len(inputs.records) == 1 and not inputs.is_enable() and inputs.hooks == []
    default.close()


def test_monitor_validation():
    net = nn.Sequential(neuron.IFNode())
    with pytest.raises(TypeError, match=r"OutputMonitor: net must be an nn\.Module, got function"):
        monitor.OutputMonitor(lambda x: x)
    with pytest.raises(
        TypeError, match=r"InputMonitor: instance must be a module class or a tuple of them, got 'IFNode'"
    ):
        monitor.InputMonitor(net, "IFNode")
    with pytest.raises(TypeError, match=r"instance must be a module class or a tuple of them, got \(\)"):
        monitor.OutputMonitor(net, ())
    with pytest.raises(TypeError, match="GradInputMonitor: function_on_grad_input must be callable, got 3"):
        monitor.GradInputMonitor(net, neuron.IFNode, 3)
    with pytest.raises(TypeError, match="AttributeMonitor: attribute_name must be a string, got 1"):
        monitor.AttributeMonitor(1, False, net, neuron.IFNode)
    with pytest.raises(TypeError, match="AttributeMonitor: pre_forward must be True or False, got 'no'"):
        monitor.AttributeMonitor("v", "no", net, neuron.IFNode)
    missing = monitor.AttributeMonitor("w", False, net, neuron.IFNode)
    with pytest.raises(AttributeError, match="IFNode at '0' has no attribute 'w'"):
        net(torch.ones(2))
    missing.remove_hooks()
    spikes = monitor.OutputMonitor(net, neuron.IFNode)
    with pytest.raises(KeyError, match=r"does not monitor a layer named 'fc'; it monitors \['0'\]"):
        spikes["fc"]
    with pytest.raises(TypeError, match="index by record number"):
        spikes[1.0]


# --------------------------------------------------------------------------- firing rates


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_firing_rates_equal_the_mean_spikes_spikingjelly_records(step_mode):
    ours_net, theirs_net = _nets(step_mode)
    rates = monitor.FiringRateMonitor(ours_net)
    spikes = sj_monitor.OutputMonitor(theirs_net, sj_neuron.LIFNode)
    for seed in range(3):  # several batches accumulate
        x_seq = torch.rand(4, 2 + seed, 6, generator=torch.Generator().manual_seed(seed)) * 2
        _drive(ours_net, step_mode, x_seq)
        _drive(theirs_net, step_mode, x_seq)
        functional.reset_net(ours_net)
        sj_functional.reset_net(theirs_net)
    expected = {name: torch.cat([s.flatten() for s in spikes[name]]).mean().item() for name in ("1", "3")}
    assert rates.rates() == pytest.approx(expected, abs=1e-12)
    per_neuron = rates.neuron_rates()
    assert per_neuron["1"].shape == (5,) and per_neuron["3"].shape == (3,)
    stacked = torch.cat([s.reshape(-1, 3) for s in spikes["3"]])
    torch.testing.assert_close(per_neuron["3"], stacked.double().mean(0))
    activity = rates.activity()["1"]
    assert activity.slots == 4 * (2 + 3 + 4) * 5 and activity.samples == 4 * (2 + 3 + 4)
    assert len(rates.records) == (2 if step_mode == "m" else 2 * 4) * 3


def test_firing_rates_in_one_call_leave_the_network_at_rest():
    net, _ = _nets("m")
    x_seq = torch.rand(6, 3, 6) * 2
    rates = monitor.firing_rates(net, x_seq)
    assert list(rates) == ["1", "3"] and net[1].v == 0.0 and net[1].v_seq is None
    with monitor.OutputMonitor(net, neuron.LIFNode) as spikes, torch.no_grad():
        net(x_seq)
    assert rates == pytest.approx(
        {name: s[0].mean().item() for name, s in (("1", spikes["1"]), ("3", spikes["3"]))}
    )
    assert monitor.firing_rates(net, x_seq, instance=nn.Linear, reset=False) != {}
    assert isinstance(net[1].v, torch.Tensor)  # reset=False keeps the state


def test_firing_rates_inside_a_recurrent_container_count_steps():
    net = ElementWiseRecurrent(neuron.IFNode(), step_mode="m")
    rates = monitor.FiringRateMonitor(net)
    net(torch.full((4, 2, 3), 0.6))  # each step is one call of the single-step neuron
    activity = rates.activity()["sub_module"]
    assert activity.samples == 8 and activity.slots == 24
    # inputs 0.6, 0.6 + 0, 0.6 + 1, 0.6 + 1 (the spike fed back): silent, then three spikes
    assert activity.rate == pytest.approx(0.75)
    assert [record.item() for record in rates.records] == [0.0, 1.0, 1.0, 1.0]


def test_firing_rate_monitor_switches_and_shape_changes():
    node = neuron.IFNode(step_mode="m")
    rates = monitor.FiringRateMonitor(node)
    node(torch.full((2, 1, 3), 0.6))
    functional.reset_net(node)
    node(torch.full((2, 1, 4), 0.6))  # another neuron count: per-neuron rates are undefined now
    assert rates.rates() == {"": pytest.approx(0.5)}
    with pytest.raises(ValueError, match="output shape changed between calls"):
        rates.neuron_rates()
    rates.clear_recorded_data()
    assert rates.rates() == {} and rates.records == []
    lstm = nn.LSTM(2, 2)
    monitor.FiringRateMonitor(lstm, nn.LSTM)
    with pytest.raises(TypeError, match=r"LSTM at '<root>' returned tuple, not a tensor of spikes"):
        lstm(torch.zeros(1, 1, 2))
    with pytest.raises(TypeError, match="reset must be True or False"):
        monitor.firing_rates(node, torch.zeros(1, 1, 3), reset=1)
