"""What NIR cannot represent, or spikegrad cannot read, fails with a message naming it."""

from __future__ import annotations

import doctest
import importlib
import itertools
import sys

import numpy as np
import pytest
import torch
from torch import nn

from spikegrad import layer, neuron, surrogate
from spikegrad.nir_exchange import export_to_nir, import_from_nir

nir = pytest.importorskip("nir", reason="NIR exchange needs the nir package (pip install 'spikegrad[nir]')")


class Adaptive(neuron.LIFNode):
    """A user's neuron with other dynamics than LIF's: it must not pass as a LIF node."""

    def neuronal_charge(self, x):  # type: ignore[no-untyped-def]
        self.v = self.v * 0.5 + x


@pytest.mark.parametrize(
    ("module", "x", "message"),
    [
        (
            layer.MaxPool2d(2),
            torch.rand(1, 1, 4, 4),
            r"^0 \(MaxPool2d\) has no NIR node: NIR has no max-pooling node .*AvgPool2d",
        ),
        (nn.MaxPool2d(2), torch.rand(1, 1, 4, 4), r"^0 \(MaxPool2d\) has no NIR node"),
        (
            layer.BatchNorm2d(1),
            torch.rand(1, 1, 4, 4),
            r"^0 \(BatchNorm2d\) has no NIR node: .*fuse_conv_bn_eval_modules",
        ),
        (
            layer.Conv3d(1, 1, 1),
            torch.rand(1, 1, 2, 2, 2),
            r"^0 \(Conv3d\) has no NIR node: NIR's convolution nodes are Conv1d and Conv2d",
        ),
        (
            layer.AvgPool1d(2),
            torch.rand(1, 1, 4),
            r"^0 \(AvgPool1d\) has no NIR node: NIR's pooling nodes are AvgPool2d and SumPool2d",
        ),
        (
            nn.ReLU(),
            torch.rand(1, 3),
            r"^0 \(ReLU\) has no NIR node: it would need a NIR node that represents ReLU; export_to_nir maps",
        ),
        (
            Adaptive(),
            torch.rand(1, 3),
            r"^0 \(Adaptive\) has no NIR node: NIR's spiking neurons are IF, LIF and CubaLIF.*"
            r"Adaptive would need",
        ),
        (
            neuron.IFNode(surrogate_function=surrogate.PoissonPass()),
            torch.rand(1, 3),
            r"fires through PoissonPass\(spiking=True\), whose forward is not the Heaviside step",
        ),
        (
            neuron.IFNode(surrogate_function=surrogate.Sigmoid(spiking=False)),
            torch.rand(1, 3),
            r"whose forward is not the Heaviside step",
        ),
        (
            layer.Conv2d(1, 1, 3, padding=1, padding_mode="circular"),
            torch.rand(1, 1, 4, 4),
            r"pads with 'circular'; NIR's convolutions pad with zeros",
        ),
        (layer.AvgPool2d(2, ceil_mode=True), torch.rand(1, 1, 5, 5), r"ceil_mode=True"),
        (
            layer.AvgPool2d(2, padding=1, count_include_pad=False),
            torch.rand(1, 1, 4, 4),
            r"count_include_pad=False",
        ),
        (
            layer.AvgPool2d(2, divisor_override=3),
            torch.rand(1, 1, 4, 4),
            r"divisor_override=3; NIR has AvgPool2d .* and SumPool2d",
        ),
        (layer.Flatten(0), torch.rand(2, 3), r"flattens the batch dimension"),
        (
            layer.Linear(3, 2),
            torch.rand(1, 4, 3),
            r"gets samples of shape \[4, 3\]; NIR's Affine and Linear take vectors",
        ),
        (
            layer.LinearRecurrentContainer(nn.Sequential(neuron.IFNode()), 3, 3),
            torch.rand(1, 3),
            r"wraps Sequential; NIR's recurrent form is one layer of neurons",
        ),
        (
            layer.ElementWiseRecurrentContainer(neuron.IFNode(), lambda y, x: x * y),
            torch.rand(1, 3),
            r"element_wise_function .* is not y \+ x",
        ),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else None,
)
def test_unsupported_modules_name_themselves_and_the_node_they_need(module, x, message):
    with pytest.raises(ValueError, match=message):
        export_to_nir(nn.Sequential(module), x)


class Doubling(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = layer.Linear(3, 3)

    def forward(self, x):  # type: ignore[no-untyped-def]
        return self.fc(x) * 2


class Branching(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = layer.Linear(3, 3)

    def forward(self, x):  # type: ignore[no-untyped-def]
        if x.sum() > 0:
            return self.fc(x)
        return x


class TwiceTheSame(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = layer.Linear(3, 3)

    def forward(self, x):  # type: ignore[no-untyped-def]
        y = self.fc(x)
        return y + y


@pytest.mark.parametrize(
    ("net", "message"),
    [
        (Doubling(), r"the operation 'mul' \(call_function\) in the forward has no NIR node"),
        (Branching(), r"could not trace Branching.forward with torch.fx"),
        (TwiceTheSame(), r"the output of fc reaches output twice"),
    ],
)
def test_operations_outside_nir(net, message):
    with pytest.raises(ValueError, match=message):
        export_to_nir(net, torch.rand(1, 3))


def test_export_arguments():
    net = nn.Sequential(layer.Linear(3, 3), neuron.IFNode())
    with pytest.raises(ValueError, match=r"dt must be a finite number > 0 .* got 0"):
        export_to_nir(net, torch.rand(1, 3), dt=0)
    with pytest.raises(TypeError, match="dt must be a number"):
        export_to_nir(net, torch.rand(1, 3), dt="1e-4")
    with pytest.raises(TypeError, match="example_input must be a floating-point tensor"):
        export_to_nir(net, torch.ones(1, 3, dtype=torch.long))
    with pytest.raises(TypeError, match=r"net must be a torch\.nn\.Module"):
        export_to_nir(lambda x: x, torch.rand(1, 3))
    multi = nn.Sequential(layer.Linear(3, 3, step_mode="m"), neuron.IFNode(step_mode="m"))
    with pytest.raises(
        ValueError, match=r"example_input must be \[T, N, \*shape\] for this multi-step network"
    ):
        export_to_nir(multi, torch.rand(4, 3))


# --------------------------------------------------------------------------- import


def graph_of(*nodes, edges=None):  # type: ignore[no-untyped-def]
    """A chain input -> nodes -> output (or the given edges)."""
    names = {f"n{i}": node for i, node in enumerate(nodes)}
    size = np.array([2])
    all_nodes = {"input": nir.Input(input_type=size), **names, "output": nir.Output(output_type=size)}
    if edges is None:
        chain = ["input", *names, "output"]
        edges = list(itertools.pairwise(chain))
    return nir.NIRGraph(nodes=all_nodes, edges=edges, type_check=False)


def lif(**overrides):  # type: ignore[no-untyped-def]
    values = {"tau": np.full(2, 2e-4), "r": np.ones(2), "v_leak": np.zeros(2), "v_threshold": np.ones(2)}
    values.update(overrides)
    return nir.LIF(**values)


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (
            lif(v_threshold=np.array([1.0, 2.0])),
            r"'n0' \(LIF\): v_threshold differs between neurons \(1 to 2\)",
        ),
        (
            lif(r=np.full(2, 3.0)),
            r"'n0' \(LIF\): r = 3; LIFNode takes r = 1 \(decay_input=True\) or r = tau/dt = 2",
        ),
        (lif(tau=np.full(2, 1e-4)), r"tau / dt = 1 steps at dt = 0.0001; LIFNode needs more than 1 step"),
        (lif(v_leak=np.full(2, 0.5)), r"v_leak = 0.5, expected 0 \(LIFNode leaks towards v_reset"),
        (
            nir.IF(r=np.ones(2), v_threshold=np.ones(2)),
            r"'n0' \(IF\): r = 1, expected 10000 \(IFNode adds its input once per step",
        ),
        (
            nir.LI(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2)),
            r"'n0' \(LI\) has no spikegrad module; import_from_nir reads Affine",
        ),
        (nir.Threshold(threshold=np.ones(2)), r"'n0' \(Threshold\) has no spikegrad module"),
        (
            lif(metadata={"reset": "exponential"}),
            r"metadata 'reset' = 'exponential'; spikegrad knows 'subtract'",
        ),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else None,
)
def test_nodes_spikegrad_cannot_read(node, message):
    with pytest.raises(ValueError, match=message):
        import_from_nir(graph_of(node))


def test_cycles_of_another_form():
    lif_a, lif_b = lif(), lif()
    graph = graph_of(lif_a, lif_b, edges=[("input", "n0"), ("n0", "n1"), ("n1", "n0"), ("n1", "output")])
    with pytest.raises(
        ValueError, match=r"a cycle through n0 \(LIF\), n1 \(LIF\); spikegrad imports recurrence"
    ):
        import_from_nir(graph)


def test_import_arguments(tmp_path):
    graph = graph_of(lif())
    with pytest.raises(ValueError, match="step_mode must be 's' or 'm'"):
        import_from_nir(graph, step_mode="x")
    with pytest.raises(TypeError, match=r"dtype must be a floating-point torch\.dtype"):
        import_from_nir(graph, dtype=torch.int32)
    with pytest.raises(ValueError, match="dt must be a finite number > 0"):
        import_from_nir(graph, dt=float("nan"))
    with pytest.raises(FileNotFoundError, match="no NIR file at"):
        import_from_nir(tmp_path / "missing.nir")
    with pytest.raises(TypeError, match=r"expects a nir\.NIRGraph or a file path, got dict"):
        import_from_nir({})
    two_outputs = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2])),
            "a": nir.Output(output_type=np.array([2])),
            "b": nir.Output(output_type=np.array([2])),
        },
        edges=[("input", "a"), ("input", "b")],
        type_check=False,
    )
    with pytest.raises(
        ValueError, match=r"one Input and one Output node, it has inputs \['input'\] and outputs \['a', 'b'\]"
    ):
        import_from_nir(two_outputs)


def test_missing_nir_package_says_how_to_install(monkeypatch):
    from spikegrad.nir_exchange import _nir

    monkeypatch.setitem(sys.modules, "nir", None)  # what an uninstalled package looks like to import
    with pytest.raises(ImportError, match=r"pip install 'spikegrad\[nir\]'"):
        _nir.nir()


@pytest.mark.parametrize("name", ["__init__", "modules", "to_nir", "from_nir"])
def test_docstring_examples(name):
    module = importlib.import_module(
        f"spikegrad.nir_exchange.{name}" if name != "__init__" else "spikegrad.nir_exchange"
    )
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
