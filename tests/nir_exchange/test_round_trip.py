"""spikegrad -> NIR -> spikegrad: the imported network gives the same outputs over T steps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from spikegrad import functional, layer, neuron
from spikegrad.nir_exchange import GraphNetwork, Scale, ScaledFeedback, export_to_nir, import_from_nir

from .helpers import assert_spiking, excite, reference, run_sequence, run_steps

nir = pytest.importorskip("nir", reason="NIR exchange needs the nir package (pip install 'spikegrad[nir]')")

T = 12
CUBA = getattr(neuron, "CUBALIFNode", None)
needs_cuba = pytest.mark.skipif(CUBA is None, reason="spikegrad.neuron.CUBALIFNode is not in this version")


def mlp(v_reset: float | None) -> nn.Module:
    return nn.Sequential(
        layer.Linear(6, 10),
        neuron.IFNode(v_reset=v_reset),
        layer.Linear(10, 8, bias=False),
        neuron.LIFNode(tau=3.0, decay_input=False, v_reset=v_reset),
        layer.Linear(8, 5),
        neuron.ParametricLIFNode(init_tau=2.5, v_reset=v_reset),
        layer.Linear(5, 4),
        neuron.LIFNode(tau=1.5, v_threshold=0.5, v_reset=v_reset),
    )


def conv() -> nn.Module:
    return nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1),
        neuron.IFNode(),
        layer.AvgPool2d(2),
        layer.Conv2d(4, 4, 3, stride=1, padding=(1, 0), groups=2, bias=False),
        neuron.LIFNode(tau=2.0),
        layer.AvgPool2d(2, divisor_override=1),
        layer.Flatten(),
        layer.Linear(8, 6),
        neuron.LIFNode(v_reset=None),
        Scale(torch.linspace(0.5, 2.0, 6)),
        neuron.IFNode(v_threshold=0.8),
    )


def conv1d() -> nn.Module:
    return nn.Sequential(
        layer.Conv1d(3, 4, 3, padding=1),
        neuron.LIFNode(tau=2.0),
        layer.Conv1d(4, 2, 3, stride=2, dilation=1),
        neuron.IFNode(),
        layer.Flatten(),
        layer.Linear(6, 4),
        neuron.LIFNode(),
    )


def recurrent() -> nn.Module:
    return nn.Sequential(
        layer.Linear(6, 8),
        layer.LinearRecurrentContainer(neuron.LIFNode(tau=2.0), 8, 8),
        layer.Linear(8, 5, bias=False),
        layer.LinearRecurrentContainer(neuron.IFNode(v_reset=None), 5, 5, bias=False),
        layer.Linear(5, 4),
        layer.ElementWiseRecurrentContainer(neuron.LIFNode(tau=3.0), lambda y, x: x + y),
    )


def recurrent_conv() -> nn.Module:
    return nn.Sequential(
        layer.Conv2d(2, 3, 3, padding=1),
        layer.ElementWiseRecurrentContainer(neuron.IFNode(), ScaledFeedback(torch.rand(3, 1, 1) - 0.5)),
        layer.Flatten(),
        layer.Linear(3 * 4 * 4, 4),
        neuron.LIFNode(),
    )


class Skip(nn.Module):
    """A residual block: a graph that is not a chain."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.lif1 = layer.Linear(6, 6), neuron.LIFNode()
        self.fc2, self.lif2 = layer.Linear(6, 6), neuron.IFNode()
        self.out = layer.Linear(6, 3)
        self.lif3 = neuron.LIFNode(tau=4.0)

    def forward(self, x):  # type: ignore[no-untyped-def]
        h = self.lif1(self.fc1(x))
        return self.lif3(self.out(self.lif2(self.fc2(h)) + h))


NETWORKS = {
    "mlp-hard": (lambda: mlp(0.0), (6,)),
    "mlp-hard-nonzero": (lambda: mlp(-0.3), (6,)),
    "mlp-soft": (lambda: mlp(None), (6,)),
    "conv2d": (conv, (2, 8, 8)),
    "conv1d": (conv1d, (3, 7)),
    "recurrent": (recurrent, (6,)),
    "recurrent-conv": (recurrent_conv, (2, 4, 4)),
    "skip": (Skip, (6,)),
}


def build(name: str, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    make, shape = NETWORKS[name]
    torch.manual_seed(seed)
    return reference(excite(make())), shape


def export_quietly(net: nn.Module, x: torch.Tensor, **kwargs) -> object:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # soft reset: tested on its own below
        return export_to_nir(net, x, **kwargs)


@pytest.mark.parametrize("name", list(NETWORKS))
@pytest.mark.parametrize("dt", [1e-4, 1e-3])
def test_multi_step_round_trip(name, dt):
    net, shape = build(name)
    functional.set_step_mode(net, "m")
    x_seq = torch.rand(T, 3, *shape)
    graph = export_quietly(net, x_seq, dt=dt)
    copy = reference(import_from_nir(graph, dt=dt, step_mode="m"))
    expected = run_sequence(net, x_seq)
    assert_spiking(expected)
    assert torch.equal(run_sequence(copy, x_seq), expected)
    assert torch.equal(run_sequence(copy, x_seq), expected)  # reset between sequences works


@pytest.mark.parametrize("name", list(NETWORKS))
def test_single_step_round_trip_through_a_file(name, tmp_path):
    net, shape = build(name, seed=1)
    x_seq = torch.rand(T, 2, *shape)
    path = tmp_path / "net.nir"
    export_quietly(net, x_seq[0], save_path=path)
    copy = reference(import_from_nir(path))
    expected = run_steps(net, x_seq)
    assert_spiking(expected)
    assert torch.equal(run_steps(copy, x_seq), expected)


def test_imported_network_runs_in_the_other_step_mode():
    net, shape = build("recurrent")
    x_seq = torch.rand(T, 2, *shape)
    graph = export_quietly(net, x_seq[0])
    as_sequence = reference(import_from_nir(graph, step_mode="m"))
    assert torch.equal(run_sequence(as_sequence, x_seq), run_steps(net, x_seq))


def test_structure_comes_back():
    net, shape = build("recurrent")
    copy = import_from_nir(export_quietly(net, torch.rand(1, *shape)))
    assert isinstance(copy, nn.Sequential)
    # a vector fed back element-wise is a diagonal Linear in NIR: it comes back as a Linear recurrence
    kinds = [type(m).__name__.replace("ElementWise", "Linear") for m in net]
    assert [type(m).__name__ for m in copy] == kinds
    assert list(dict(copy.named_children())) == [str(i) for i in range(len(net))]
    for key, value in net.state_dict().items():
        assert torch.equal(copy.state_dict()[key], value)
    assert torch.equal(copy[5].rc.weight, torch.cat((torch.eye(4), torch.eye(4)), dim=1))


def test_graph_network_for_a_graph_that_is_not_a_chain():
    net, shape = build("skip")
    graph = export_quietly(net, torch.rand(1, *shape))
    assert ("lif2", "out") in graph.edges and ("lif1", "out") in graph.edges  # the sum: two edges in
    copy = import_from_nir(graph)
    assert isinstance(copy, GraphNetwork)
    assert copy.inputs["out"] == ("lif2", "lif1") or copy.inputs["out"] == ("lif1", "lif2")
    again = export_quietly(copy, torch.rand(1, *shape))  # a GraphNetwork exports too
    assert set(again.edges) == set(graph.edges)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_dtype_and_state_of_the_original_are_untouched(dtype):
    net, shape = build("mlp-hard")
    net = net.to(dtype)
    x = torch.rand(2, *shape, dtype=dtype)
    net(x)
    v_before = net[1].v.clone()
    graph = export_quietly(net, x)
    assert torch.equal(net[1].v, v_before)  # export ran a copy
    copy = import_from_nir(graph, dtype=dtype)
    assert all(p.dtype == dtype for p in copy.parameters())
    assert graph.nodes["0"].weight.dtype == (np.float64 if dtype == torch.float64 else np.float32)


# --------------------------------------------------------------------------- the node values


def test_neuron_parameters_at_dt():
    net = nn.Sequential(
        layer.Linear(3, 3),
        neuron.IFNode(v_threshold=0.7, v_reset=-0.2),
        layer.Linear(3, 3),
        neuron.LIFNode(tau=4.0, decay_input=True, v_reset=0.1),
        layer.Linear(3, 3),
        neuron.LIFNode(tau=5.0, decay_input=False),
        layer.Linear(3, 3),
        neuron.ParametricLIFNode(init_tau=3.0),
    )
    graph = export_to_nir(net, torch.rand(1, 3), dt=1e-3)
    nodes = graph.nodes
    assert isinstance(nodes["1"], nir.IF)
    np.testing.assert_allclose(nodes["1"].r, [1e3] * 3)
    np.testing.assert_allclose(nodes["1"].v_threshold, [0.7] * 3)
    np.testing.assert_allclose(nodes["1"].v_reset, [-0.2] * 3)
    lif = nodes["3"]
    np.testing.assert_allclose(lif.tau, [4e-3] * 3)
    np.testing.assert_allclose(lif.r, [1.0] * 3)  # decay_input: the input is divided by tau too
    np.testing.assert_allclose(lif.v_leak, [0.1] * 3)  # leaks towards v_reset
    np.testing.assert_allclose(nodes["5"].r, [5.0] * 3)  # r = tau / dt without decay_input
    np.testing.assert_allclose(nodes["7"].tau, [3e-3] * 3)  # PLIF: its current tau
    assert nodes["1"].metadata == {}


def test_importing_at_another_dt_rescales_time_constants():
    net = nn.Sequential(layer.Linear(3, 3), neuron.LIFNode(tau=4.0, decay_input=True))
    graph = export_to_nir(net, torch.rand(1, 3), dt=1e-4)
    copy = import_from_nir(graph, dt=2e-4)
    assert copy[1].tau == pytest.approx(2.0)
    assert copy[1].decay_input is True


def test_importing_at_another_dt_needs_an_input_scale_lif_does_not_have():
    # Without decay_input, r = tau / dt holds at the export's dt only: at twice the step the
    # continuous-time neuron takes twice the input, which LIFNode cannot do.
    net = nn.Sequential(layer.Linear(3, 3), neuron.LIFNode(tau=4.0, decay_input=False))
    graph = export_to_nir(net, torch.rand(1, 3), dt=1e-4)
    with pytest.raises(ValueError, match=r"'1' \(LIF\): r = 4; LIFNode takes r = 1 .* or r = tau/dt = 2"):
        import_from_nir(graph, dt=2e-4)


def test_soft_reset_is_kept_in_metadata_with_a_warning(tmp_path):
    net = nn.Sequential(layer.Linear(3, 3), neuron.LIFNode(v_reset=None), layer.Linear(3, 3), neuron.IFNode())
    with pytest.warns(UserWarning, match=r"^1: soft reset .* other NIR readers ignore"):
        graph = export_to_nir(net, torch.rand(1, 3), save_path=tmp_path / "soft.nir")
    assert graph.nodes["1"].metadata == {"reset": "subtract"}
    np.testing.assert_allclose(graph.nodes["1"].v_reset, [0.0] * 3)
    assert graph.nodes["3"].metadata == {}
    read_back = nir.read(tmp_path / "soft.nir")  # metadata comes back as bytes from HDF5
    copy = import_from_nir(read_back)
    assert copy[1].v_reset is None and copy[3].v_reset == 0.0


def test_no_warning_without_soft_reset():
    net = nn.Sequential(layer.Linear(3, 3), neuron.LIFNode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export_to_nir(net, torch.rand(1, 3))


def test_recurrent_container_as_a_cycle():
    torch.manual_seed(0)
    rnn = layer.LinearRecurrentContainer(neuron.LIFNode(), 4, 4)
    graph = export_to_nir(nn.Sequential(rnn), torch.rand(1, 4))
    assert {
        ("0.input_weight", "0.neuron"),
        ("0.neuron", "0.recurrent_weight"),
        ("0.recurrent_weight", "0.neuron"),
    } <= set(graph.edges)
    w = rnn.rc.weight.detach().numpy()
    np.testing.assert_array_equal(graph.nodes["0.input_weight"].weight, w[:, :4])
    np.testing.assert_array_equal(graph.nodes["0.recurrent_weight"].weight, w[:, 4:])
    np.testing.assert_array_equal(graph.nodes["0.input_weight"].bias, rnn.rc.bias.detach().numpy())


def test_element_wise_feedback_nodes():
    vector = nn.Sequential(layer.ElementWiseRecurrentContainer(neuron.IFNode(), lambda y, x: x + y))
    graph = export_to_nir(vector, torch.rand(1, 3))
    np.testing.assert_array_equal(graph.nodes["0.recurrent_weight"].weight, np.eye(3))
    maps = nn.Sequential(
        layer.ElementWiseRecurrentContainer(neuron.IFNode(), ScaledFeedback(torch.tensor(0.5)))
    )
    graph = export_to_nir(maps, torch.rand(1, 2, 3))
    assert isinstance(graph.nodes["0.recurrent_weight"], nir.Scale)
    np.testing.assert_array_equal(graph.nodes["0.recurrent_weight"].scale, np.full((2, 3), 0.5, np.float32))


def test_self_loop_imports_as_element_wise_recurrence():
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2])),
            "lif": nir.IF(r=np.full(2, 1e4), v_threshold=np.ones(2), v_reset=np.zeros(2)),
            "output": nir.Output(output_type=np.array([2])),
        },
        edges=[("input", "lif"), ("lif", "lif"), ("lif", "output")],
    )
    net = import_from_nir(graph)
    assert isinstance(net[0], layer.ElementWiseRecurrentContainer)
    x = torch.tensor([[0.6, 0.2]])
    assert [net(x).tolist() for _ in range(3)] == [[[0.0, 0.0]], [[1.0, 0.0]], [[1.0, 0.0]]]


def test_identity_modules_are_left_out():
    net = nn.Sequential(
        layer.Linear(3, 3), nn.Dropout(0.5), layer.Dropout(0.2), nn.Identity(), neuron.IFNode()
    )
    graph = export_to_nir(net, torch.rand(1, 3))
    assert ("0", "4") in graph.edges and len(graph.nodes) == 4


def test_nested_subgraphs_are_inlined():
    inner = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2])),
            "lif": nir.LIF(tau=np.full(2, 2e-4), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
            "output": nir.Output(output_type=np.array([2])),
        },
        edges=[("input", "lif"), ("lif", "output")],
    )
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2])),
            "fc": nir.Linear(weight=np.eye(2) * 3),
            "block": inner,
            "output": nir.Output(output_type=np.array([2])),
        },
        edges=[("input", "fc"), ("fc", "block"), ("block", "output")],
    )
    net = import_from_nir(graph)
    assert [type(m).__name__ for m in net] == ["Linear", "LIFNode"]
    assert list(dict(net.named_children())) == ["fc", "block_lif"]


@needs_cuba
@pytest.mark.parametrize("v_reset", [0.0, -0.2, None])
@pytest.mark.parametrize("dt", [1e-4, 5e-4])
def test_cuba_lif_round_trip(v_reset, dt):
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Linear(5, 6),
        CUBA(c_decay=0.6, v_decay=0.8, v_reset=v_reset),
        layer.Linear(6, 4),
        layer.LinearRecurrentContainer(CUBA(c_decay=0.3, v_decay=0.5, v_threshold=1.0), 4, 4),
    )
    reference(excite(net, mean=1.0, std=1.0))  # current-based: milder weights
    x_seq = torch.rand(T, 3, 5)
    graph = export_quietly(net, x_seq[0], dt=dt)
    node = graph.nodes["1"]
    np.testing.assert_allclose(node.tau_syn, dt / 0.4)
    np.testing.assert_allclose(node.tau_mem, dt / 0.2)
    np.testing.assert_allclose(node.w_in, 1 / 0.4)
    np.testing.assert_allclose(node.r, 1 / 0.2)
    copy = reference(import_from_nir(graph, dt=dt))
    assert copy[1].c_decay == pytest.approx(0.6) and copy[1].v_decay == pytest.approx(0.8)
    expected = run_steps(net, x_seq)
    assert_spiking(expected)
    assert torch.equal(run_steps(copy, x_seq), expected)
