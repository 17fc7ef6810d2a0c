"""Export: a spikegrad network as a NIR graph (:func:`export_to_nir`).

The network is traced with :mod:`torch.fx`, its layers, neurons and recurrent containers
kept as leaves, so any module whose ``forward`` chains modules and adds their outputs
exports (``nn.Sequential``, a :class:`~spikegrad.nir_exchange.GraphNetwork`, a custom module
with skip connections). Each leaf becomes one NIR node, or a few for a container. The shapes
NIR needs (convolution inputs, neuron counts) come from one run of a copy of the network on
``example_input``, with the reference loop, so the network's own state is left untouched.
"""

from __future__ import annotations

import copy
import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, fx, nn

from .. import functional, layer
from ..base import StepModule
from ..layer.container import MultiStepContainer, SeqToANNContainer, StepModeContainer
from ..neuron import BaseNode
from ._nir import nir
from .modules import GraphNetwork, Scale, ScaledFeedback
from .neurons import check_dt, check_neuron, is_neuron, neuron_to_nir, warn_soft_reset

#: Containers that only run their children in order: exported as the chain of the children.
_SEQUENTIAL_CONTAINERS = (SeqToANNContainer, MultiStepContainer, StepModeContainer)
#: Modules that are the identity at inference (NIR graphs describe inference): left out.
_IDENTITY_AT_INFERENCE = (nn.Identity, nn.modules.dropout._DropoutNd, layer.Dropout)


def export_to_nir(
    net: nn.Module,
    example_input: Tensor,
    save_path: str | Path | None = None,
    dt: float = 1e-4,
) -> Any:
    r"""Convert a spikegrad network into a NIR graph (SpikingJelly 2.0's function and arguments).

    `NIR <https://neuroir.org>`_ (the Neuromorphic Intermediate Representation) is read by
    SpikingJelly, snnTorch, Norse, Sinabs, Lava and neuromorphic chips. Nodes written:

    ==========================================  ==================================================
    spikegrad / torch module                    NIR node
    ==========================================  ==================================================
    ``Linear`` (with / without bias)            ``Affine`` / ``Linear``
    ``Conv1d``, ``Conv2d`` (zero padding)       ``Conv1d``, ``Conv2d`` (grouped: as the dense weight)
    ``AvgPool2d`` (``divisor_override=1``)      ``AvgPool2d`` (``SumPool2d``)
    ``Flatten``                                 ``Flatten`` (dimensions without the batch)
    :class:`~spikegrad.nir_exchange.Scale`      ``Scale``
    ``IFNode``                                  ``IF``
    ``LIFNode``, ``ParametricLIFNode``          ``LIF``
    ``CUBALIFNode``                             ``CubaLIF``
    ``LinearRecurrentContainer(neuron)``        ``Affine`` into the neuron, ``Linear`` from its
                                                output back to it (a cycle)
    ``ElementWiseRecurrentContainer(neuron)``   the neuron and a ``Linear`` (vectors) or
                                                ``Scale`` feeding its output back (a cycle)
    ``Identity``, ``Dropout``                   nothing (the identity at inference)
    ==========================================  ==================================================

    Sums of module outputs in ``forward`` become a node with several incoming edges.
    :mod:`spikegrad.nir_exchange.neurons` has the neuron parameters' conversion at ``dt``.

    Args:
        net: the network; a copy is traced and run, ``net`` itself is not changed.
        example_input: one input, ``[N, *shape]`` for a single-step network or
            ``[T, N, *shape]`` for a multi-step one (a network is multi-step when any of its
            step-mode aware modules is in ``'m'`` mode); it sets the shapes NIR records.
        save_path: also write the graph to this HDF5 file (``nir.write``); ``None`` (default)
            writes nothing.
        dt: the time step in seconds that the neurons' time constants are measured against
            (default ``1e-4``, the value SpikingJelly and snnTorch use).

    Returns:
        The ``nir.NIRGraph`` with an ``input`` and an ``output`` node.

    Raises:
        ValueError: a module or operation NIR cannot represent (the message names it and the
            NIR node it would need), a neuron whose spike function is not the Heaviside step,
            or a forward that :mod:`torch.fx` cannot trace.
        TypeError: ``net`` is not a module or ``example_input`` not a floating-point tensor.
        ImportError: the ``nir`` package is missing (``pip install 'spikegrad[nir]'``).

    Warns:
        UserWarning: a neuron with a soft reset, which only spikegrad reads back as such.

    Example:
        >>> import torch
        >>> from spikegrad import layer, neuron
        >>> from spikegrad.nir_exchange import export_to_nir
        >>> net = torch.nn.Sequential(layer.Linear(4, 3), neuron.LIFNode(tau=2.0))
        >>> graph = export_to_nir(net, torch.rand(1, 4))
        >>> sorted(graph.nodes), float(graph.nodes["1"].tau[0])
        (['0', '1', 'input', 'output'], 0.0002)
    """
    dt = check_dt(dt)
    if not isinstance(net, nn.Module):
        raise TypeError(f"export_to_nir: net must be a torch.nn.Module, got {type(net).__name__}")
    if not isinstance(example_input, Tensor) or not example_input.is_floating_point():
        raise TypeError(
            f"export_to_nir: example_input must be a floating-point tensor, got {example_input!r}"
        )
    ir = nir()
    work = _inference_copy(net)
    multi_step = any(isinstance(m, StepModule) and m.step_mode == "m" for m in work.modules())
    leading = 2 if multi_step else 1
    if example_input.dim() <= leading:
        layout = "[T, N, *shape]" if multi_step else "[N, *shape]"
        raise ValueError(
            f"export_to_nir: example_input must be {layout} for this {'multi' if multi_step else 'single'}"
            f"-step network, got shape {tuple(example_input.shape)}"
        )
    for path, module in work.named_modules():
        if is_neuron(module):
            check_neuron(module, path)  # before the run: a stochastic spike function may not run at all
    traced = _trace(work)
    shapes = _record_shapes(traced, example_input)
    builder = _GraphBuilder(traced, work, shapes, leading, dt)
    graph = builder.build(tuple(example_input.shape[leading:]))
    warn_soft_reset(builder.soft_reset)
    if save_path is not None:
        ir.write(str(save_path), graph)
    return graph


# --------------------------------------------------------------------------- trace and shapes


def _inference_copy(net: nn.Module) -> nn.Module:
    """A copy in eval mode, at rest, whose neurons run the reference loop (nothing to compile)."""
    work = copy.deepcopy(net).eval()
    functional.reset_net(work)
    for module in work.modules():
        if isinstance(module, BaseNode):
            module.backend = "reference"
    return work


class _Tracer(fx.Tracer):
    """torch.fx's tracer with spikegrad's modules as leaves (plain ``nn.Sequential`` and
    user modules are traced through)."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if isinstance(m, StepModule | Scale):
            return True
        return super().is_leaf_module(m, module_qualified_name)


def _trace(net: nn.Module) -> fx.GraphModule:
    tracer = _Tracer()
    try:
        graph = tracer.trace(net)
    except Exception as exc:  # fx raises several types for untraceable code
        raise ValueError(
            f"export_to_nir could not trace {type(net).__name__}.forward with torch.fx ({exc}); a NIR "
            "graph is made of modules and sums of their outputs: export the part of the network that "
            "runs one time step (e.g. an nn.Sequential of its layers)"
        ) from exc
    return fx.GraphModule(tracer.root, graph)


@dataclass
class _Shapes:
    """Input and output shapes of each module at its first call on the example input."""

    by_module: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)

    def of(self, module: nn.Module, path: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        if id(module) not in self.by_module:
            raise ValueError(f"export_to_nir: {path} ({type(module).__name__}) did not run on example_input")
        return self.by_module[id(module)]


def _record_shapes(traced: fx.GraphModule, example_input: Tensor) -> _Shapes:
    shapes = _Shapes()

    def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        if (
            id(module) not in shapes.by_module
            and args
            and isinstance(args[0], Tensor)
            and isinstance(output, Tensor)
        ):
            shapes.by_module[id(module)] = (tuple(args[0].shape), tuple(output.shape))

    handles = [m.register_forward_hook(hook) for m in traced.modules() if m is not traced]
    try:
        with torch.no_grad():
            traced(example_input)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


# --------------------------------------------------------------------------- the graph


@dataclass
class _Fragment:
    """The NIR nodes of one module: edges arrive at ``entry`` and leave from ``exit``."""

    nodes: dict[str, Any]
    edges: list[tuple[str, str]]
    entry: str
    exit: str


class _GraphBuilder:
    """Turns the traced network into NIR nodes and edges."""

    def __init__(
        self, traced: fx.GraphModule, root: nn.Module, shapes: _Shapes, leading: int, dt: float
    ) -> None:
        self.traced, self.traced_root, self.shapes, self.leading, self.dt = traced, root, shapes, leading, dt
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.soft_reset: list[str] = []

    def build(self, input_shape: tuple[int, ...]) -> Any:
        ir = nir()
        self.nodes["input"] = ir.Input(input_type=np.array(input_shape))
        self.nodes["output"] = ir.Output(output_type=None)  # NIR infers it from the input's type
        placeholders = [n for n in self.traced.graph.nodes if n.op == "placeholder"]
        used = [n for n in placeholders if n.users]
        if len(used) != 1:
            raise ValueError(
                f"export_to_nir: the forward must use exactly one input tensor, it uses {len(used)} "
                f"({', '.join(n.name for n in used) or 'none'})"
            )
        sources: dict[fx.Node, list[str]] = {used[0]: ["input"]}
        for node in self.traced.graph.nodes:
            if node.op == "placeholder":
                continue
            if node.op == "output":
                self._connect(self._sources_of_output(node, sources), "output")
            elif node.op == "call_module":
                module = self.traced.get_submodule(node.target)
                inputs = self._inputs(node, sources)
                path = str(node.target)
                fragment = self._fragment(module, path, self._name(self._short(path)), inside=False)
                if fragment is None:
                    sources[node] = inputs
                    continue
                self._add(fragment)
                self._connect(inputs, fragment.entry)
                sources[node] = [fragment.exit]
            elif _is_tensor_sum(node):
                sources[node] = [s for arg in node.args for s in self._inputs_of_arg(arg, node, sources)]
            else:
                raise ValueError(_operation_message(node))
        return ir.NIRGraph(nodes=self.nodes, edges=self.edges, type_check=True)

    # ---- edges

    def _inputs(self, node: fx.Node, sources: dict[fx.Node, list[str]]) -> list[str]:
        if len(node.args) != 1 or node.kwargs:
            raise ValueError(
                f"export_to_nir: {node.target} is called with {len(node.args)} arguments"
                f"{' and keywords' if node.kwargs else ''}; NIR nodes take one input"
            )
        return self._inputs_of_arg(node.args[0], node, sources)

    @staticmethod
    def _inputs_of_arg(arg: Any, node: fx.Node, sources: dict[fx.Node, list[str]]) -> list[str]:
        if not isinstance(arg, fx.Node):
            raise ValueError(
                f"export_to_nir: {node.format_node()} uses the constant {arg!r}; NIR graphs pass tensors "
                "between nodes (multiply by a constant with nir_exchange.Scale)"
            )
        return sources[arg]

    def _sources_of_output(self, node: fx.Node, sources: dict[fx.Node, list[str]]) -> list[str]:
        result = node.args[0]
        if not isinstance(result, fx.Node):
            raise ValueError(
                "export_to_nir: the forward must return one tensor (NIR graphs have one output here)"
            )
        return sources[result]

    def _connect(self, sources: list[str], target: str) -> None:
        for source in sources:
            edge = (source, target)
            if edge in self.edges:
                raise ValueError(
                    f"export_to_nir: the output of {source} reaches {target} twice (x + x); NIR sums "
                    "distinct edges only: multiply by 2 with nir_exchange.Scale instead"
                )
            self.edges.append(edge)

    def _short(self, path: str) -> str:
        """A GraphNetwork's nodes keep their NIR names (``fc1``, not ``nodes.fc1``)."""
        if isinstance(self.traced_root, GraphNetwork) and path.startswith("nodes."):
            return path[len("nodes.") :]
        return path

    def _name(self, path: str) -> str:
        """The module's path with ``_`` for ``.`` (``features_0``), unique in the graph.

        No dots: readers such as snnTorch take the part before the first dot of a recurrent
        node's name as the name of its layer.
        """
        base = path.replace(".", "_")
        name, i = base, 1
        while any(n == name or n.startswith(f"{name}.") for n in self.nodes):
            name, i = f"{base}_{i}", i + 1
        return name

    def _add(self, fragment: _Fragment) -> None:
        for name, node in fragment.nodes.items():
            if name in self.nodes:
                raise ValueError(f"export_to_nir: two NIR nodes would be named {name!r}")
            self.nodes[name] = node
        self.edges.extend(fragment.edges)

    # ---- nodes

    def _sample(self, shape: tuple[int, ...], module: nn.Module, inside: bool) -> tuple[int, ...]:
        """One sample's shape: without the time and batch dimensions of this module's calls."""
        if isinstance(module, StepModule):
            leading = 2 if module.step_mode == "m" else 1
        else:
            leading = 1 if inside else self.leading
        return shape[leading:]

    def _fragment(self, module: nn.Module, path: str, name: str, inside: bool) -> _Fragment | None:
        if isinstance(module, _IDENTITY_AT_INFERENCE):
            return None
        if isinstance(module, _SEQUENTIAL_CONTAINERS):
            return self._chain(module, path, name)
        if isinstance(module, layer.LinearRecurrentContainer):
            return self._linear_recurrent(module, path, name)
        if isinstance(module, layer.ElementWiseRecurrentContainer):
            return self._element_wise_recurrent(module, path, name)
        in_shape, out_shape = self.shapes.of(module, path)
        sample_in = self._sample(in_shape, module, inside)
        sample_out = self._sample(out_shape, module, inside)
        node = self._node(module, path, sample_in, sample_out)
        if is_neuron(module) and module.v_reset is None:
            self.soft_reset.append(path)
        return _Fragment({name: node}, [], name, name)

    def _chain(self, container: nn.Module, path: str, name: str) -> _Fragment | None:
        fragments = []
        for child_name, child in container.named_children():
            fragment = self._fragment(child, f"{path}.{child_name}", f"{name}_{child_name}", inside=True)
            if fragment is not None:
                fragments.append(fragment)
        if not fragments:
            return None
        nodes: dict[str, Any] = {}
        edges: list[tuple[str, str]] = []
        for i, fragment in enumerate(fragments):
            nodes.update(fragment.nodes)
            edges.extend(fragment.edges)
            if i:
                edges.append((fragments[i - 1].exit, fragment.entry))
        return _Fragment(nodes, edges, fragments[0].entry, fragments[-1].exit)

    def _recurrent_neuron(self, container: Any, path: str, name: str) -> tuple[Any, tuple[int, ...], str]:
        sub = container.sub_module
        sub_path = f"{path}.sub_module"
        if not is_neuron(sub):
            raise ValueError(
                f"{path} ({type(container).__name__}) wraps {type(sub).__name__}; NIR's recurrent form "
                "is one layer of neurons (IF, LIF, CubaLIF) whose output comes back through a weight node"
            )
        _, out_shape = self.shapes.of(sub, sub_path)
        shape = out_shape[1:]  # the container runs its neurons one step at a time: [N, *shape]
        if sub.v_reset is None:
            self.soft_reset.append(sub_path)
        return neuron_to_nir(sub, sub_path, shape, self.dt), shape, f"{name}.neuron"

    def _linear_recurrent(self, container: Any, path: str, name: str) -> _Fragment:
        ir = nir()
        neuron_node, _, neuron_name = self._recurrent_neuron(container, path, name)
        n_in = container.rc.out_features
        weight = container.rc.weight
        w_in, w_rec = weight[:, :n_in], weight[:, n_in:]
        if container.rc.bias is None:
            input_node = ir.Linear(weight=_array(w_in))
        else:
            input_node = ir.Affine(weight=_array(w_in), bias=_array(container.rc.bias))
        input_name, rec_name = f"{name}.input_weight", f"{name}.recurrent_weight"
        nodes = {input_name: input_node, neuron_name: neuron_node, rec_name: ir.Linear(weight=_array(w_rec))}
        edges = [(input_name, neuron_name), (neuron_name, rec_name), (rec_name, neuron_name)]
        return _Fragment(nodes, edges, input_name, neuron_name)

    def _element_wise_recurrent(self, container: Any, path: str, name: str) -> _Fragment:
        ir = nir()
        neuron_node, shape, neuron_name = self._recurrent_neuron(container, path, name)
        function = container.element_wise_function
        if isinstance(function, ScaledFeedback):
            scale = torch.broadcast_to(function.scale.detach(), shape)
        else:
            y, x = torch.randn(2, *shape, dtype=torch.float64), torch.randn(2, *shape, dtype=torch.float64)
            try:
                additive = torch.allclose(function(y, x), x + y)
            except Exception:  # any failure means it is not the plain sum
                additive = False
            if not additive:
                raise ValueError(
                    f"{path} (ElementWiseRecurrentContainer): element_wise_function {function!r} is not "
                    "y + x; NIR's recurrent form adds the fed-back output to the input (use lambda y, x: "
                    "x + y, or nir_exchange.ScaledFeedback for x + s * y)"
                )
            scale = torch.ones(shape, dtype=torch.float64)
        rec_name = f"{name}.recurrent_weight"
        # Vectors: a diagonal Linear, which every NIR reader takes in a cycle; else a Scale.
        feedback = (
            ir.Linear(weight=np.diag(_array(scale))) if len(shape) == 1 else ir.Scale(scale=_array(scale))
        )
        nodes = {neuron_name: neuron_node, rec_name: feedback}
        return _Fragment(nodes, [(neuron_name, rec_name), (rec_name, neuron_name)], neuron_name, neuron_name)

    def _node(
        self, module: nn.Module, path: str, sample_in: tuple[int, ...], sample_out: tuple[int, ...]
    ) -> Any:
        ir = nir()
        if is_neuron(module):
            return neuron_to_nir(module, path, sample_out, self.dt)
        if isinstance(module, Scale):
            return ir.Scale(scale=_array(torch.broadcast_to(module.scale, sample_out)))
        if isinstance(module, nn.Linear):
            if len(sample_in) != 1:
                raise ValueError(
                    f"{path} ({type(module).__name__}) gets samples of shape {list(sample_in)}; NIR's Affine "
                    "and Linear take vectors: flatten before it (layer.Flatten)"
                )
            weight = _effective_weight(module)
            if module.bias is None:
                return ir.Linear(weight=weight)
            return ir.Affine(weight=weight, bias=_array(module.bias))
        if isinstance(module, nn.Conv1d | nn.Conv2d):
            return _conv(module, path, sample_in)
        if isinstance(module, nn.AvgPool2d):
            return _avg_pool(module, path)
        if isinstance(module, nn.Flatten):
            return _flatten(module, path, sample_in)
        raise ValueError(_unsupported_message(module, path))


# --------------------------------------------------------------------------- layers


def _array(tensor: Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.float()
    return tensor.numpy().copy()


def _effective_weight(module: nn.Module) -> np.ndarray:
    """The weight the layer uses (a weight-standardised layer's standardised weight)."""
    get_weight = getattr(module, "get_weight", None)
    return _array(get_weight() if callable(get_weight) else module.weight)  # type: ignore[arg-type]


def _conv(module: nn.Conv1d | nn.Conv2d, path: str, sample_in: tuple[int, ...]) -> Any:
    ir = nir()
    if module.padding_mode != "zeros":
        raise ValueError(
            f"{path} ({type(module).__name__}) pads with {module.padding_mode!r}; NIR's convolutions "
            "pad with zeros"
        )
    weight = _dense(_effective_weight(module), int(module.groups))
    bias = _array(module.bias) if module.bias is not None else np.zeros(weight.shape[0], dtype=weight.dtype)
    padding: Any = module.padding if isinstance(module.padding, str) else tuple(module.padding)
    if isinstance(module, nn.Conv1d):
        return ir.Conv1d(
            input_shape=int(sample_in[-1]),
            weight=weight,
            stride=int(module.stride[0]),
            padding=padding if isinstance(padding, str) else int(padding[0]),
            dilation=int(module.dilation[0]),
            groups=1,
            bias=bias,
        )
    return ir.Conv2d(
        input_shape=tuple(int(n) for n in sample_in[-2:]),
        weight=weight,
        stride=tuple(module.stride),
        padding=padding,
        dilation=tuple(module.dilation),
        groups=1,
        bias=bias,
    )


def _dense(weight: np.ndarray, groups: int) -> np.ndarray:
    """A grouped convolution's weight ``[out, in/groups, *k]`` as the equivalent dense one
    ``[out, in, *k]`` (zeros between groups): NIR types a convolution's input by the weight's
    second dimension, so only dense weights type-check in other readers."""
    if groups == 1:
        return weight
    out_channels, per_group = weight.shape[:2]
    dense = np.zeros((out_channels, per_group * groups, *weight.shape[2:]), dtype=weight.dtype)
    out_per_group = out_channels // groups
    for g in range(groups):
        rows = slice(g * out_per_group, (g + 1) * out_per_group)
        dense[rows, g * per_group : (g + 1) * per_group] = weight[rows]
    return dense


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _avg_pool(module: nn.AvgPool2d, path: str) -> Any:
    ir = nir()
    kernel, stride, padding = _pair(module.kernel_size), _pair(module.stride), _pair(module.padding)
    if module.ceil_mode:
        raise ValueError(f"{path} (AvgPool2d) has ceil_mode=True; NIR's pooling windows fit inside the input")
    if any(padding) and not module.count_include_pad:
        raise ValueError(
            f"{path} (AvgPool2d) has count_include_pad=False; NIR's AvgPool2d divides by the kernel area"
        )
    arrays = {"kernel_size": np.array(kernel), "stride": np.array(stride), "padding": np.array(padding)}
    if module.divisor_override is None:
        return ir.AvgPool2d(**arrays)
    if module.divisor_override == 1:
        return ir.SumPool2d(**arrays)
    raise ValueError(
        f"{path} (AvgPool2d) has divisor_override={module.divisor_override}; NIR has AvgPool2d (the kernel "
        "area) and SumPool2d (divisor_override=1)"
    )


def _flatten(module: nn.Flatten, path: str, sample_in: tuple[int, ...]) -> Any:
    ir = nir()
    if module.start_dim == 0:
        raise ValueError(
            f"{path} (Flatten) flattens the batch dimension (start_dim=0); NIR flattens within a sample"
        )
    # torch counts the batch dimension, NIR does not.
    start = module.start_dim - 1 if module.start_dim > 0 else module.start_dim
    end = module.end_dim - 1 if module.end_dim > 0 else module.end_dim
    return ir.Flatten(input_type={"input": np.array(sample_in)}, start_dim=start, end_dim=end)


# --------------------------------------------------------------------------- messages

_MAPPED = (
    "export_to_nir maps Linear (NIR Affine/Linear), Conv1d/Conv2d, AvgPool2d (AvgPool2d/SumPool2d), "
    "Flatten, nir_exchange.Scale, IFNode (IF), LIFNode/ParametricLIFNode (LIF), CUBALIFNode (CubaLIF) "
    "and the recurrent containers around one neuron layer"
)


def _unsupported_message(module: nn.Module, path: str) -> str:
    kind = type(module).__name__
    if isinstance(module, nn.modules.pooling._MaxPoolNd):
        need = (
            "NIR has no max-pooling node (its pooling nodes are AvgPool2d and SumPool2d): use layer.AvgPool2d"
        )
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        need = (
            "NIR has no batch-norm node: fold it into the convolution before it "
            "(functional.fuse_conv_bn_eval_modules) before exporting"
        )
    elif isinstance(module, nn.modules.conv._ConvNd):
        need = "NIR's convolution nodes are Conv1d and Conv2d (no 3-d or transposed convolution)"
    elif isinstance(module, nn.modules.pooling._AvgPoolNd | nn.modules.pooling._AdaptiveAvgPoolNd):
        need = "NIR's pooling nodes are AvgPool2d and SumPool2d with a fixed kernel"
    else:
        need = f"it would need a NIR node that represents {kind}; {_MAPPED}"
    return f"{path} ({kind}) has no NIR node: {need}"


def _operation_message(node: fx.Node) -> str:
    what = getattr(node.target, "__name__", str(node.target))
    return (
        f"export_to_nir: the operation {what!r} ({node.op}) in the forward has no NIR node; NIR graphs "
        f"connect modules and add their outputs: {_MAPPED}"
    )


def _is_tensor_sum(node: fx.Node) -> bool:
    if node.kwargs or len(node.args) != 2:
        return False
    if node.op == "call_function":
        return node.target in (operator.add, torch.add)
    return node.op == "call_method" and node.target == "add"
