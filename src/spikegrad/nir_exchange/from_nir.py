"""Import: a NIR graph as a spikegrad network (:func:`import_from_nir`).

The graph is read into plain spikegrad modules, so the result trains, resets
(:func:`~spikegrad.functional.reset_net`) and switches step mode like any spikegrad network:

1. nested subgraphs are inlined (snnTorch writes recurrent layers as subgraphs);
2. each cycle, a neuron node whose output comes back to it through a ``Linear``, ``Affine`` or
   ``Scale`` node (or directly), becomes one recurrent container; a square ``Linear``/``Affine``
   that feeds only that neuron is folded into the container's input weights, so a spikegrad
   ``LinearRecurrentContainer`` comes back as one;
3. every other node becomes one module, in topological order: an ``nn.Sequential`` when the
   graph is a chain, else a :class:`~spikegrad.nir_exchange.GraphNetwork`.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import functional, layer
from ..base import check_step_mode
from ._nir import nir
from .modules import GraphNetwork, Scale, ScaledFeedback
from .neurons import check_dt, importable_neuron_nodes, neuron_from_nir


def import_from_nir(
    graph_or_path: Any,
    dt: float = 1e-4,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    step_mode: str = "s",
) -> nn.Module:
    r"""Build a runnable spikegrad network from a NIR graph (SpikingJelly 2.0's function and arguments).

    ==========================================  ==================================================
    NIR node                                    spikegrad module
    ==========================================  ==================================================
    ``Affine`` / ``Linear``                     ``layer.Linear`` with / without bias
    ``Conv1d``, ``Conv2d``                      ``layer.Conv1d``, ``layer.Conv2d``
    ``AvgPool2d`` / ``SumPool2d``               ``layer.AvgPool2d`` (``divisor_override=1`` for a sum)
    ``Flatten``                                 ``layer.Flatten`` (batch dimension added)
    ``Scale``                                   :class:`~spikegrad.nir_exchange.Scale`
    ``IF``, ``LIF``, ``CubaLIF``                ``IFNode``, ``LIFNode``, ``CUBALIFNode``
    a neuron in a cycle with ``Linear`` /       ``layer.LinearRecurrentContainer``
    ``Affine``
    a neuron in a cycle with ``Scale`` (or      ``layer.ElementWiseRecurrentContainer`` with a
    with itself)                                :class:`~spikegrad.nir_exchange.ScaledFeedback`
    ==========================================  ==================================================

    Unlike SpikingJelly's importer, which returns an ``fx.GraphModule`` called as
    ``output, state = net(x, state)``, the network keeps its state like every spikegrad network:
    call it once per step (``'s'``) or once per sequence (``'m'``, recurrent graphs included)
    and :func:`~spikegrad.functional.reset_net` between sequences.

    Args:
        graph_or_path: a ``nir.NIRGraph``, or the path of a NIR HDF5 file.
        dt: the time step in seconds that the neurons' time constants are divided by
            (default ``1e-4``, SpikingJelly's and snnTorch's value).
        device: where the network's parameters go (default ``'cpu'``).
        dtype: their floating-point type (default ``torch.float32``).
        step_mode: ``'s'`` (default; input ``[N, *shape]`` per call) or ``'m'`` (input
            ``[T, N, *shape]``).

    Returns:
        The network: ``nn.Sequential`` for a chain of nodes, else a
        :class:`~spikegrad.nir_exchange.GraphNetwork`.

    Raises:
        ValueError: a node spikegrad has no module for, a neuron parameter that differs between
            the neurons of one node or does not fit spikegrad's discretisation at ``dt``, a
            cycle of another form, or a graph without exactly one input and one output.
        TypeError: ``graph_or_path`` is neither a graph nor a path, or ``dtype`` is not a
            floating-point dtype.
        ImportError: the ``nir`` package is missing (``pip install 'spikegrad[nir]'``).

    Example:
        >>> import torch
        >>> from spikegrad import functional, layer, neuron
        >>> from spikegrad.nir_exchange import export_to_nir, import_from_nir
        >>> net = torch.nn.Sequential(layer.Linear(4, 3), neuron.LIFNode(tau=2.0))
        >>> copy = import_from_nir(export_to_nir(net, torch.rand(1, 4)), step_mode="m")
        >>> x_seq = torch.rand(8, 2, 4)  # [T, N, features]
        >>> functional.set_step_mode(net, "m")
        >>> torch.equal(copy(x_seq), net(x_seq))
        True
    """
    dt = check_dt(dt)
    step_mode = check_step_mode(step_mode, owner="import_from_nir")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"import_from_nir: dtype must be a floating-point torch.dtype, got {dtype!r}")
    device = torch.device(device)
    graph = _read(graph_or_path)
    wiring = _Wiring.of(graph)
    wiring.collapse_cycles()
    modules = OrderedDict((name, wiring.module(name, dt, dtype)) for name in wiring.order())
    net = wiring.assemble(modules)
    functional.set_step_mode(net, step_mode)
    return net.to(device=device)


def _read(graph_or_path: Any) -> Any:
    ir = nir()
    if isinstance(graph_or_path, str | os.PathLike):
        path = Path(graph_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"import_from_nir: no NIR file at {path}")
        return ir.read(path)
    if not isinstance(graph_or_path, ir.NIRGraph):
        raise TypeError(
            f"import_from_nir expects a nir.NIRGraph or a file path, got {type(graph_or_path).__name__}"
        )
    return graph_or_path


@dataclass
class _Recurrence:
    """A neuron node whose output comes back to it through ``feedback`` (``None``: directly)."""

    feedback: str | None
    folded_input: str | None = None  # a Linear/Affine merged into the container's input weights


class _Wiring:
    """The graph as flat nodes and edges; cycles collapse into recurrences on their neuron.

    ``nodes`` keeps every NIR node by name; ``edges`` is the acyclic graph left once each
    feedback node (and each input layer folded into a recurrence) is taken out.
    """

    def __init__(self, nodes: dict[str, Any], edges: list[tuple[str, str]]) -> None:
        self.nodes = nodes
        self.edges = list(dict.fromkeys(edges))
        self.recurrences: dict[str, _Recurrence] = {}
        self.absorbed: set[str] = set()
        ir = nir()
        inputs = [n for n, node in nodes.items() if isinstance(node, ir.Input)]
        outputs = [n for n, node in nodes.items() if isinstance(node, ir.Output)]
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(
                f"import_from_nir: the graph must have one Input and one Output node, it has inputs "
                f"{inputs} and outputs {outputs}"
            )
        self.input, self.output = inputs[0], outputs[0]

    @classmethod
    def of(cls, graph: Any) -> _Wiring:
        nodes, edges = _flatten(graph)
        return cls(nodes, edges)

    def preds(self, name: str) -> list[str]:
        return [a for a, b in self.edges if b == name]

    def succs(self, name: str) -> list[str]:
        return [b for a, b in self.edges if a == name]

    # ---- cycles

    def collapse_cycles(self) -> None:
        ir = nir()
        neuron_nodes = importable_neuron_nodes()
        for component in _strongly_connected(list(self.nodes), self.edges):
            names = sorted(component)
            if len(names) == 1 and (names[0], names[0]) not in self.edges:
                continue
            neurons = [n for n in names if isinstance(self.nodes[n], neuron_nodes)]
            others = [n for n in names if n not in neurons]
            if len(neurons) != 1 or len(others) > 1:
                self._bad_cycle(names)
            name = neurons[0]
            feedback = others[0] if others else None
            if feedback is not None and not (
                isinstance(self.nodes[feedback], ir.Linear | ir.Affine | ir.Scale)
                and self.preds(feedback) == [name]
                and self.succs(feedback) == [name]
            ):
                self._bad_cycle(names)
            self.recurrences[name] = self._collapse(name, feedback)

    def _bad_cycle(self, names: list[str]) -> None:
        kinds = ", ".join(f"{n} ({type(self.nodes[n]).__name__})" for n in names)
        raise ValueError(
            f"import_from_nir: a cycle through {kinds}; spikegrad imports recurrence as one neuron node "
            "whose output comes back to it directly or through one Linear, Affine or Scale node"
        )

    def _collapse(self, name: str, feedback: str | None) -> _Recurrence:
        ir = nir()
        self.edges = [e for e in self.edges if e != (name, name)]
        if feedback is None:
            return _Recurrence(None)
        self.edges = [e for e in self.edges if feedback not in e]
        self.absorbed.add(feedback)
        recurrence = _Recurrence(feedback)
        weight_node = self.nodes[feedback]
        preds = self.preds(name)
        if isinstance(weight_node, ir.Linear | ir.Affine) and len(preds) == 1:
            candidate = self.nodes[preds[0]]
            if (
                isinstance(candidate, ir.Linear | ir.Affine)
                and np.shape(candidate.weight) == np.shape(weight_node.weight)
                and self.succs(preds[0]) == [name]
            ):
                folded = preds[0]
                recurrence.folded_input = folded
                self.absorbed.add(folded)
                self.edges = [(a, name if b == folded else b) for a, b in self.edges if a != folded]
        return recurrence

    # ---- order and modules

    def order(self) -> list[str]:
        """The module nodes, each after its inputs (Kahn's algorithm, ties in file order)."""
        names = [n for n in self.nodes if n not in self.absorbed and n not in (self.input, self.output)]
        pending = {n: set(self.preds(n)) - {self.input} for n in names}
        for name in pending:
            if not self.preds(name):
                raise ValueError(f"import_from_nir: node {name!r} has no input edge")
        done: list[str] = []
        while pending:
            ready = [n for n, preds in pending.items() if not preds]
            if not ready:  # cycles were collapsed, so this is a cycle through non-neuron nodes
                self._bad_cycle(sorted(pending))
            for name in ready:
                del pending[name]
                done.append(name)
                for preds in pending.values():
                    preds.discard(name)
        return done

    def module(self, name: str, dt: float, dtype: torch.dtype) -> nn.Module:
        node = self.nodes[name]
        if isinstance(node, importable_neuron_nodes()):
            cell = neuron_from_nir(node, name, dt)
            recurrence = self.recurrences.get(name)
            return cell if recurrence is None else self._container(cell, recurrence, dtype)
        return _layer(node, name, dtype)

    def _container(self, cell: nn.Module, recurrence: _Recurrence, dtype: torch.dtype) -> nn.Module:
        ir = nir()
        if recurrence.feedback is None:
            return layer.ElementWiseRecurrentContainer(cell, ScaledFeedback(torch.tensor(1.0, dtype=dtype)))
        feedback = self.nodes[recurrence.feedback]
        if isinstance(feedback, ir.Scale):
            return layer.ElementWiseRecurrentContainer(cell, ScaledFeedback(_tensor(feedback.scale, dtype)))
        w_rec = _tensor(feedback.weight, dtype)
        n = w_rec.shape[0]
        if w_rec.shape != (n, n):
            raise ValueError(
                f"import_from_nir: the feedback weight {recurrence.feedback!r} must be square, "
                f"got {tuple(w_rec.shape)}"
            )
        folded = self.nodes[recurrence.folded_input] if recurrence.folded_input is not None else None
        w_in = _tensor(folded.weight, dtype) if folded is not None else torch.eye(n, dtype=dtype)
        biases = [_tensor(node.bias, dtype) for node in (folded, feedback) if isinstance(node, ir.Affine)]
        container = layer.LinearRecurrentContainer(cell, n, n, bias=bool(biases))
        container.rc.weight = nn.Parameter(torch.cat((w_in, w_rec), dim=1))
        if biases:
            container.rc.bias = nn.Parameter(torch.stack(biases).sum(0))
        return container

    def module_name(self, name: str) -> str:
        """A recurrence is named after its layer: ``rnn`` for the neuron node ``rnn.neuron``
        (spikegrad's export) or ``rnn.lif`` (snnTorch's); other modules after their node."""
        layer_name = name.rpartition(".")[0]
        if name in self.recurrences and layer_name and layer_name not in self.nodes:
            return layer_name
        return name

    def assemble(self, modules: OrderedDict[str, nn.Module]) -> nn.Module:
        wanted = [self.module_name(n) for n in modules]
        names = dict(zip(modules, _module_names(wanted, reserved={GraphNetwork.INPUT}), strict=True))
        order = list(modules)
        chain = (
            all(
                self.preds(name) == [order[i - 1] if i else self.input]
                and self.succs(name) == [order[i + 1] if i + 1 < len(order) else self.output]
                for i, name in enumerate(order)
            )
            and self.succs(self.input) == order[:1]
        )
        if chain and order:
            return nn.Sequential(OrderedDict((names[n], m) for n, m in modules.items()))

        def renamed(sources: list[str]) -> list[str]:
            return [GraphNetwork.INPUT if s == self.input else names[s] for s in sources]

        return GraphNetwork(
            OrderedDict((names[n], m) for n, m in modules.items()),
            {names[n]: renamed(self.preds(n)) for n in order},
            renamed(self.preds(self.output)),
        )


# --------------------------------------------------------------------------- graph helpers


def _flatten(graph: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The graph's nodes and edges with nested subgraphs inlined (their inner nodes named
    ``subgraph.node``) and the inner Input/Output nodes bypassed."""
    ir = nir()
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = [(str(a), str(b)) for a, b in graph.edges]
    for name, node in graph.nodes.items():
        if not isinstance(node, ir.NIRGraph):
            nodes[name] = node
            continue
        inner_nodes, inner_edges = _flatten(node)
        entries = [f"{name}.{n}" for n, v in inner_nodes.items() if isinstance(v, ir.Input)]
        exits = [f"{name}.{n}" for n, v in inner_nodes.items() if isinstance(v, ir.Output)]
        nodes.update({f"{name}.{n}": v for n, v in inner_nodes.items()})
        outer: list[tuple[str, str]] = []
        for a, b in edges:
            sources = exits if a == name else [a]
            targets = entries if b == name else [b]
            outer.extend((s, t) for s in sources for t in targets)
        edges = outer + [(f"{name}.{a}", f"{name}.{b}") for a, b in inner_edges]
        for passthrough in entries + exits:  # the subgraph's own Input/Output: wires only
            preds = [a for a, b in edges if b == passthrough]
            succs = [b for a, b in edges if a == passthrough]
            edges = [e for e in edges if passthrough not in e] + [(a, b) for a in preds for b in succs]
            del nodes[passthrough]
    return nodes, edges


def _strongly_connected(names: list[str], edges: list[tuple[str, str]]) -> list[set[str]]:
    """Tarjan's strongly connected components."""
    succs: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        succs[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in succs[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            components.append(component)

    for name in names:
        if name not in index:
            visit(name)
    return components


def _module_names(names: list[str], reserved: set[str]) -> list[str]:
    """Names torch accepts for submodules: no dots, unique (in the same order)."""
    result: list[str] = []
    taken = set(reserved)
    for name in names:
        base = name.replace(".", "_") or "node"
        candidate, i = base, 1
        while candidate in taken:
            candidate, i = f"{base}_{i}", i + 1
        taken.add(candidate)
        result.append(candidate)
    return result


# --------------------------------------------------------------------------- layers


def _tensor(array: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=dtype)


def _ints(value: Any) -> Any:
    """A NIR size (a number or an array) as an int or a tuple of ints; strings stay."""
    if isinstance(value, str | bytes):
        return value.decode() if isinstance(value, bytes) else value
    array = np.asarray(value)
    return int(array) if array.ndim == 0 else tuple(int(v) for v in array.flat)


def _layer(node: Any, name: str, dtype: torch.dtype) -> nn.Module:
    ir = nir()
    module: nn.Module
    if isinstance(node, ir.Affine | ir.Linear):
        weight = _tensor(node.weight, dtype)
        bias = isinstance(node, ir.Affine)
        module = layer.Linear(weight.shape[1], weight.shape[0], bias=bias, dtype=dtype)
        module.weight = nn.Parameter(weight)
        if bias:
            module.bias = nn.Parameter(_tensor(node.bias, dtype))
        return module
    if isinstance(node, ir.Conv1d | ir.Conv2d):
        weight = _tensor(node.weight, dtype)
        groups = _ints(node.groups)
        conv = layer.Conv1d if isinstance(node, ir.Conv1d) else layer.Conv2d
        module = conv(
            weight.shape[1] * groups,
            weight.shape[0],
            tuple(weight.shape[2:]),  # type: ignore[arg-type]
            stride=_ints(node.stride),
            padding=_ints(node.padding),
            dilation=_ints(node.dilation),
            groups=groups,
            bias=True,
            dtype=dtype,
        )
        module.weight = nn.Parameter(weight)
        module.bias = nn.Parameter(_tensor(node.bias, dtype))
        return module
    if isinstance(node, ir.AvgPool2d | ir.SumPool2d):
        return layer.AvgPool2d(
            _ints(node.kernel_size),
            _ints(node.stride),
            _ints(node.padding),
            divisor_override=1 if isinstance(node, ir.SumPool2d) else None,
        )
    if isinstance(node, ir.Flatten):
        start, end = int(node.start_dim), int(node.end_dim)
        return layer.Flatten(start + 1 if start >= 0 else start, end + 1 if end >= 0 else end)
    if isinstance(node, ir.Scale):
        return Scale(_tensor(node.scale, dtype))
    raise ValueError(
        f"NIR node {name!r} ({type(node).__name__}) has no spikegrad module; import_from_nir reads Affine, "
        "Linear, Conv1d, Conv2d, AvgPool2d, SumPool2d, Flatten, Scale, IF, LIF and CubaLIF (and cycles of a "
        "neuron node with a Linear, Affine or Scale node)"
    )
