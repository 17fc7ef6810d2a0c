r"""From a neuron's step, written once in torch code, to the two loop programs of its kernels.

A neuron defines one time step as ordinary Python on its own attributes (SpikingJelly's
pattern: ``neuronal_charge`` / ``neuronal_fire`` / ``neuronal_reset`` update ``self.v``).
This module turns that step into what the fused kernels run, without a second copy of the
equations:

1. **Bind.** The step runs on the module itself, with its state (``v``, and any other
   memory) replaced by traced tensors of one step's neurons, its float attributes
   (``tau``, ``v_threshold`` ...) by traced scalars, its tensor parameters and buffers by
   traced tensors, and its surrogate by a stand-in that fires with the surrogate's own
   ``spike`` (or ``primitive``) and differentiates with its own ``derivative``. Attributes
   that are not floats (``decay_input``, ``v_reset is None``, ``detach_reset`` ...) stay
   Python values: they select the equations, so they are part of the kernel's key.
2. **Trace the joint step.** ``make_fx`` records, over flat tensors of a symbolic length,
   the step *and* its vector-Jacobian product computed by autograd: the backward is
   whatever autograd does for the reference loop, op for op, never hand-written.
3. **Partition.** The forward keeps the step; the backward keeps the gradient. What the
   backward needs from the forward is chosen as a minimum vertex cut between the step's
   per-step inputs (``x_t`` and the state) and the forward values the gradient reads,
   weighted by bytes: for IF and LIF it is the charge ``h_t`` alone, one tensor per step;
   values the cut does not keep are recomputed in the backward from the saved ones.

The result is a :class:`StepPrograms`: the forward and backward :class:`LoopProgram`, each
a graph of pointwise aten ops whose inputs and outputs say how they meet the sequence
(:class:`Slot`). :mod:`.cpp_loop` and :mod:`.triton_loop` translate a program into one
kernel that loops over time with the state in registers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor, fx, nn

__all__ = [
    "Layout",
    "LoopProgram",
    "Slot",
    "StepPrograms",
    "UntraceableStep",
    "cached_layout",
    "layout_of",
    "trace_step",
]

#: Example length of the flat tensors while tracing: distinct from every other size that
#: occurs, so that symbolic tracing gives all per-neuron tensors one shared size.
_TRACE_N = 37


class UntraceableStep(RuntimeError):
    """A neuron's step cannot become a fused kernel (data-dependent Python control flow,
    an operation that is not elementwise, state that is not per neuron ...)."""


# --------------------------------------------------------------------------- programs


@dataclasses.dataclass(frozen=True)
class Slot:
    """How one input or output of a step graph meets the whole sequence.

    Input kinds: ``"step"`` (``[T, N]``, row ``t`` read at step ``t``), ``"state"`` (kept
    in registers across steps; its initial value is read from an ``[N]`` tensor and the
    output slot of the same name gives the next value), ``"neuron"`` (``[N]``, read once),
    ``"broadcast"`` (one element, read once), ``"scalar"`` (a host number, an argument).

    Output kinds: ``"step"`` (``[T, N]``, row ``t`` written at step ``t``), ``"state"`` (the
    next value of the state input of that name; the last one is written to an ``[N]``
    tensor), ``"accumulate"`` (a per-neuron running sum over the steps, written to ``[N]``).
    """

    kind: str
    name: str
    dtype: torch.dtype


@dataclasses.dataclass(frozen=True)
class LoopProgram:
    """One direction of a fused neuron: a pointwise graph run at every step of a loop.

    ``graph``'s placeholders correspond one to one to ``inputs``, its output tuple to
    ``outputs``. ``reverse`` runs the steps from ``T - 1`` down to 0 (the backward).
    """

    graph: fx.GraphModule
    inputs: tuple[Slot, ...]
    outputs: tuple[Slot, ...]
    reverse: bool = False

    def placeholders(self) -> list[fx.Node]:
        return [n for n in self.graph.graph.nodes if n.op == "placeholder"]

    def output_nodes(self) -> list[Any]:
        (out,) = [n for n in self.graph.graph.nodes if n.op == "output"]
        return list(out.args[0])


@dataclasses.dataclass(frozen=True)
class StepPrograms:
    """The forward and backward loop programs of one neuron configuration.

    ``saved`` names, in order, the per-step tensors the forward keeps for the backward:
    ``"x"`` is the input sequence itself (kept by reference, never copied), a state name
    is that state *before* each step, ``"saved<i>"`` an intermediate value of the step.
    """

    forward: LoopProgram
    backward: LoopProgram
    saved: tuple[str, ...]
    saved_dtypes: tuple[torch.dtype, ...]


# --------------------------------------------------------------------------- binding


@dataclasses.dataclass(frozen=True)
class Layout:
    """What of a neuron module becomes which kind of kernel input, and the key parts that
    select its equations.

    ``scalars``: float attributes (runtime numbers). ``tensors``: parameters and buffers.
    ``surrogate_*``: the surrogate's class, mode and parameters by kind. ``structure``:
    every other plain attribute (``bool``, ``int``, ``str``, ``None``), by value.
    """

    state: tuple[str, ...]
    scalars: tuple[str, ...]
    tensors: tuple[str, ...]
    structure: tuple[tuple[str, Any], ...]
    surrogate: type | None
    spiking: bool
    surrogate_scalars: tuple[int, ...]
    surrogate_tensors: tuple[int, ...]
    surrogate_structure: tuple[tuple[int, Any], ...]
    baked: tuple[tuple[str, float], ...] = ()

    @property
    def key(self) -> tuple[Any, ...]:
        return (
            self.state,
            self.scalars,
            self.tensors,
            self.structure,
            self.surrogate,
            self.spiking,
            self.surrogate_scalars,
            self.surrogate_tensors,
            self.surrogate_structure,
            self.baked,
        )


#: Attributes of every ``nn.Module`` (and of spikegrad's memory modules) that never enter a step.
_MODULE_INTERNALS = frozenset(
    {
        "_is_full_backward_hook",
        "_memory_initial",
        "_step_mode",
        "_backend",
        "_store_v_seq",
        "_binding",
    }
)
#: spikegrad's own bookkeeping on a neuron (its number, kept layout and plans) starts so.
_KERNEL_PREFIX = "_kernel"
#: Memories that are bookkeeping, not state of the dynamics.
NOT_STATE = frozenset({"v_seq"})
_STRUCTURAL = (bool, int, str, type(None))


def _surrogate_module(node: nn.Module) -> nn.Module | None:
    return node._modules.get("surrogate_function")


def layout_of(node: nn.Module, state: Sequence[str], bake: bool = False) -> Layout:
    """Classify ``node``'s attributes for a kernel: see :class:`Layout`."""
    scalars: list[str] = []
    structure: list[tuple[str, Any]] = []
    baked: list[tuple[str, float]] = []
    skip = set(state) | NOT_STATE | _MODULE_INTERNALS
    for name, value in node.__dict__.items():
        if name in skip or name.startswith(_KERNEL_PREFIX):
            continue
        if isinstance(value, float):
            (baked.append((name, value)) if bake else scalars.append(name))
        elif isinstance(value, _STRUCTURAL):
            structure.append((name, value))
        elif callable(value) and not isinstance(value, type):
            # A function the step may call (an activation): the kernel is the function's.
            structure.append((name, _identity(value)))
    for name, module in node._modules.items():
        if name != "surrogate_function" and module is not None:
            # Another module the step may call: its class and its numbers shape the kernel
            # (its parameters, if it has any, cannot enter a kernel: tracing refuses them).
            structure.append((f"module:{name}", (type(module), _plain(module))))
    tensors = [name for name, t in (*node._parameters.items(), *node._buffers.items()) if t is not None]
    sg = _surrogate_module(node)
    surrogate: type | None = None
    spiking = True
    sg_scalars: list[int] = []
    sg_tensors: list[int] = []
    sg_structure: list[tuple[int, Any]] = []
    from ..surrogate import Surrogate

    if sg is not None and not isinstance(sg, Surrogate):
        # Any other spike module is traced as written: its numbers are constants of the kernel.
        for name, value in sg.__dict__.items():
            if isinstance(value, (float, *_STRUCTURAL)) and name not in _MODULE_INTERNALS:
                structure.append((f"surrogate_function.{name}", value))
        structure.append(("surrogate_function", type(sg)))
    if isinstance(sg, Surrogate):
        surrogate, spiking = type(sg), sg.spiking
        for i, value in enumerate(sg.param_values):
            if isinstance(value, Tensor):
                sg_tensors.append(i)
            elif isinstance(value, float) and not bake and not _needs_baking(type(sg)):
                sg_scalars.append(i)
            else:
                sg_structure.append((i, value))
    return Layout(
        tuple(state),
        tuple(scalars),
        tuple(tensors),
        tuple(structure),
        surrogate,
        spiking,
        tuple(sg_scalars),
        tuple(sg_tensors),
        tuple(sg_structure),
        tuple(baked),
    )


def _identity(fn: Any) -> Any:
    """A key for a callable: the object itself (kept alive by the key), or a hashable stand-in."""
    try:
        hash(fn)
    except TypeError:
        return _Unhashable(fn)
    return fn


class _Unhashable:
    """Keys an unhashable callable (a ``functools.partial``) by identity, keeping it alive."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Unhashable) and other.obj is self.obj


def _plain(module: nn.Module) -> tuple[tuple[str, Any], ...]:
    """A module's own plain attributes (numbers, flags, strings)."""
    return tuple(
        (k, v) for k, v in module.__dict__.items() if isinstance(v, (float, *_STRUCTURAL)) and k != "training"
    )


def cached_layout(node: nn.Module) -> Layout:
    """:func:`layout_of` for ``node``, recomputed only when something it depends on changed.

    The layout is kept on the module with a *probe*. Assigning an attribute of a neuron
    (other than its state) drops the kept layout (see ``BaseNode.__setattr__``); the probe
    covers the rest: the surrogate's class, mode and parameter kinds, the numbers of
    parameters and buffers, and (for a spike module that is not a spikegrad surrogate) its
    own attributes. A call compares the probe instead of classifying every attribute again.
    """
    d = node.__dict__
    cached = d.get("_kernel_layout")
    if cached is not None and cached[0] == _probe(node, cached[1]):
        return cached[1]  # type: ignore[no-any-return]
    layout = layout_of(node, node.state_names(), bake=d.get("_kernel_bake", False))  # type: ignore[operator]
    d["_kernel_layout"] = (_probe(node, layout), layout)
    return layout


def _kind(value: Any) -> Any:
    """What of a surrogate parameter shapes a kernel: an int's value, a tensor's layout, a type."""
    if isinstance(value, int):
        return value
    if isinstance(value, Tensor):
        return (value.dim(), value.numel() == 1)
    return type(value)


def _probe(node: nn.Module, layout: Layout) -> tuple[Any, ...]:
    sg = node._modules.get("surrogate_function")
    if layout.surrogate is not None:
        # A spikegrad surrogate counts its assignments (mode, parameters): that is enough.
        sg_part: tuple[Any, ...] = (id(sg), sg.__dict__.get("_assignments"))  # type: ignore[union-attr]
    else:
        prefix = "surrogate_function."
        sg_dict = sg.__dict__ if sg is not None else {}
        sg_part = (
            type(sg),
            *(sg_dict.get(name[len(prefix) :]) for name, _ in layout.structure if name.startswith(prefix)),
        )
    others = tuple(
        _plain(m) for name, m in node._modules.items() if name != "surrogate_function" and m is not None
    )
    return (sg_part, len(node._parameters), len(node._buffers), others)


#: Surrogate classes whose definitions compute with their parameters as Python numbers
#: (``math.exp(sigma)``): their float parameters are baked into the kernel.
_BAKED_SURROGATES: set[type] = set()


def _needs_baking(definition: type) -> bool:
    return definition in _BAKED_SURROGATES


class _SpikeOfDefinition(torch.autograd.Function):
    """The surrogate inside a traced step: ``spike`` forward, ``grad * derivative`` backward.

    Its parameters arrive as traced float64 scalars (or tensors), used as they are: a
    definition then computes with them exactly as with the Python numbers of the
    reference loop (double precision, cast to the input's dtype where they meet it).
    """

    @staticmethod
    def forward(definition: Any, x: Tensor, *params: Any) -> Tensor:
        return definition.spike(x, *params)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        definition, x, *params = inputs
        ctx.definition = definition
        ctx.params = params
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        (x,) = ctx.saved_tensors
        params = ctx.params
        grads: list[Tensor | None] = [None] * len(params)
        wanted = [i for i, need in enumerate(ctx.needs_input_grad[2:]) if need]
        if wanted:
            # A learnable width: the gradient of the primitive g with respect to it, as the
            # reference surrogate defines it (spikegrad.surrogate._base.param_partials).
            from ..surrogate._base import param_partials

            for i, partial in zip(wanted, param_partials(ctx.definition, x, params, wanted), strict=True):
                g = grad * partial
                grads[i] = g.sum() if params[i].dim() == 0 else g
        return (None, grad * ctx.definition.derivative(x, *params), *grads)


class _SurrogateStandIn(nn.Module):
    """Takes the place of a neuron's surrogate while its step is traced."""

    def __init__(self, definition: Any, spiking: bool, params: Sequence[Any]) -> None:
        super().__init__()
        self.definition = definition
        self.spiking = spiking
        self.params = list(params)

    def forward(self, x: Tensor) -> Tensor:
        if self.spiking:
            return _SpikeOfDefinition.apply(self.definition, x, *self.params)
        return self.definition.primitive(x, *self.params)


def _slot_of(node: nn.Module, name: str) -> str:
    """The ``__dict__`` key that holds attribute ``name`` (a validating descriptor keeps
    its value under ``_name``)."""
    descriptor = getattr(type(node), name, None)
    if descriptor is not None and hasattr(descriptor, "__set__") and hasattr(descriptor, "slot"):
        return descriptor.slot  # type: ignore[no-any-return]
    return name


@contextlib.contextmanager
def bound(
    node: nn.Module,
    values: dict[str, Any],
    tensors: dict[str, Tensor],
    surrogate: nn.Module | None,
) -> Iterator[None]:
    """Run code on ``node`` with attributes (``values``: state and numbers, written to its
    ``__dict__`` without validation), parameters/buffers (``tensors``) and surrogate
    replaced; everything is restored afterwards, also on error."""
    saved_dict = {key: node.__dict__[key] for key in values if key in node.__dict__}
    saved_params = dict(node._parameters)
    saved_buffers = dict(node._buffers)
    saved_modules = dict(node._modules)
    node.__dict__["_binding"] = True
    try:
        node.__dict__.update(values)
        for name, t in tensors.items():
            (node._parameters if name in node._parameters else node._buffers)[name] = t  # type: ignore[assignment]
        if surrogate is not None:
            node._modules["surrogate_function"] = surrogate
        yield
    finally:
        for key in values:
            node.__dict__.pop(key, None)
        node.__dict__.update(saved_dict)
        node._parameters.clear()
        node._parameters.update(saved_params)
        node._buffers.clear()
        node._buffers.update(saved_buffers)
        node._modules.clear()
        node._modules.update(saved_modules)
        del node.__dict__["_binding"]


# --------------------------------------------------------------------------- tracing


@dataclasses.dataclass(frozen=True)
class _Signature:
    """The placeholders of the joint graph, in order, and how many of each kind."""

    n_state: int
    n_scalar: int
    n_tensor: int
    grad_x: bool
    grad_state: tuple[bool, ...]
    grad_tensor: tuple[bool, ...]
    store_v_seq: bool


def trace_step(
    node: nn.Module,
    step: Callable[[Tensor], Tensor],
    layout: Layout,
    dtype: torch.dtype,
    tensor_dtypes: Sequence[torch.dtype],
    tensor_broadcast: Sequence[bool],
    grad_x: bool,
    grad_tensor: Sequence[bool],
    store_v_seq: bool,
    device: torch.device,
    tensor_flat: Sequence[bool],
) -> StepPrograms:
    """Trace ``step`` (a bound method of ``node``) into forward and backward loop programs.

    Args:
        node: the neuron module; its attributes are replaced as described in the module
            docstring while ``step`` runs, then restored.
        step: one time step on ``node``'s current attributes: reads and updates the state
            memories named in ``layout.state``, returns the step's output.
        layout: see :func:`layout_of`.
        dtype: the dtype of the input and the state.
        tensor_dtypes: dtype of each of ``layout.tensors`` then each surrogate tensor parameter.
        tensor_broadcast: whether each of those is one element (read once, broadcast).
        grad_x: whether the backward computes the input's gradient.
        grad_tensor: whether it computes each tensor's gradient (summed over the neurons it
            is broadcast to, by the caller).
        store_v_seq: the forward also emits ``v`` after every step (and the backward takes
            its gradient).
        device: where the kernels will run (tracing itself uses fake tensors).
        tensor_flat: whether each tensor is traced per neuron (broadcast to the step's
            shape by the caller); otherwise it is 0-dim, as the step sees it.

    Raises:
        UntraceableStep: the step cannot be traced into pointwise kernels; the message
            names the neuron, the construct and the way out (``backend='reference'``).
    """
    sig = _Signature(
        len(layout.state),
        len(layout.scalars) + len(layout.surrogate_scalars),
        len(layout.tensors) + len(layout.surrogate_tensors),
        grad_x,
        tuple(True for _ in layout.state),
        tuple(grad_tensor),
        store_v_seq,
    )
    if store_v_seq and "v" not in layout.state:
        raise UntraceableStep(f"{type(node).__name__}: store_v_seq needs a state named 'v'")
    from torch.fx.experimental.proxy_tensor import make_fx

    examples = _examples(sig, dtype, tensor_dtypes, tensor_flat, device)
    joint = _joint_function(node, step, layout, sig)
    try:
        with torch.no_grad():
            graph = make_fx(joint, tracing_mode="symbolic", decomposition_table=_decompositions())(*examples)
            # Once more through functionalization: in-place updates (``self.v += x``) and
            # views become plain ops, so the graph is pure dataflow.
            graph = make_fx(
                torch.func.functionalize(graph, remove="mutations_and_views"), tracing_mode="symbolic"
            )(*examples)
    except UntraceableStep:
        raise
    except Exception as exc:
        raise _untraceable(node, exc) from exc
    return _partition(graph, layout, sig, dtype, tensor_dtypes, tensor_broadcast)


@functools.cache
def _decompositions() -> dict[Any, Callable[..., Any]]:
    """Activations (and their backwards) as the elementwise ops the translators know: a
    step may call torch.relu, F.gelu, F.silu, F.softplus ... (torch's own decompositions)."""
    try:
        from torch._decomp import get_decompositions
    except ImportError:  # pragma: no cover - every supported torch has it
        return {}
    aten = torch.ops.aten
    names = (
        "threshold_backward",
        "leaky_relu",
        "leaky_relu_backward",
        "hardtanh",
        "hardtanh_backward",
        "elu",
        "elu_backward",
        "celu",
        "selu",
        "silu",
        "silu_backward",
        "softplus",
        "softplus_backward",
        "gelu",
        "gelu_backward",
        "hardsigmoid",
        "hardsigmoid_backward",
        "hardswish",
        "hardswish_backward",
        "mish",
        "mish_backward",
        "relu6",
        "softshrink",
        "hardshrink",
        "logit",
        "xlogy",
    )
    return get_decompositions([getattr(aten, name) for name in names if hasattr(aten, name)])


def _examples(
    sig: _Signature,
    dtype: torch.dtype,
    tensor_dtypes: Sequence[torch.dtype],
    tensor_flat: Sequence[bool],
    device: torch.device,
) -> list[Tensor]:
    flat = torch.zeros(_TRACE_N, dtype=dtype, device=device)
    scalar = torch.zeros((), dtype=torch.float64, device=device)
    examples = [flat.clone()]
    examples += [flat.clone() for _ in range(sig.n_state)]
    examples += [scalar.clone() for _ in range(sig.n_scalar)]
    # A 0-dim tensor stays 0-dim (type promotion treats it apart); any other is traced per
    # neuron, so that its gradient is pointwise, and summed back by the caller.
    examples += [
        torch.zeros(_TRACE_N if f else (), dtype=d, device=device)
        for d, f in zip(tensor_dtypes, tensor_flat, strict=True)
    ]
    examples += [flat.clone()]  # gradient of the output
    examples += [flat.clone() for _ in range(sig.n_state)]  # gradient of the next state
    if sig.store_v_seq:
        examples.append(flat.clone())  # gradient of v_seq at this step
    return examples


def _joint_function(
    node: nn.Module, step: Callable[[Tensor], Tensor], layout: Layout, sig: _Signature
) -> Callable[..., tuple[Tensor, ...]]:
    """The step and its vector-Jacobian product as one function of flat tensors."""
    sg = _surrogate_module(node)
    n_node_scalars = len(layout.scalars)
    n_node_tensors = len(layout.tensors)

    def joint(*args: Tensor) -> tuple[Tensor, ...]:
        it = iter(args)
        x = next(it)
        states = [next(it) for _ in range(sig.n_state)]
        scalars = [next(it) for _ in range(sig.n_scalar)]
        tensors = [next(it) for _ in range(sig.n_tensor)]
        g_out = next(it)
        g_next = [next(it) for _ in range(sig.n_state)]
        g_vseq = next(it) if sig.store_v_seq else None

        with torch.enable_grad():
            x_leaf = x.detach().requires_grad_(sig.grad_x)
            state_leaves = [s.detach().requires_grad_() for s in states]
            # A copy is what the step sees, so that it may update its state in place.
            state_values = [leaf.clone() for leaf in state_leaves]
            tensor_leaves = [
                t.detach().requires_grad_(need) for t, need in zip(tensors, sig.grad_tensor, strict=True)
            ]
            values: dict[str, Any] = {}
            for name, state_value in zip(layout.state, state_values, strict=True):
                values[_slot_of(node, name)] = state_value
            for name, scalar in zip(layout.scalars, scalars[:n_node_scalars], strict=True):
                values[_slot_of(node, name)] = scalar
            for name, number in layout.baked:
                values[_slot_of(node, name)] = number
            stand_in = None
            if layout.surrogate is not None:
                assert sg is not None
                params: list[Any] = list(sg.param_values)  # type: ignore[arg-type]
                for slot, value in zip(layout.surrogate_scalars, scalars[n_node_scalars:], strict=True):
                    params[slot] = value
                for slot, value in zip(layout.surrogate_tensors, tensor_leaves[n_node_tensors:], strict=True):
                    params[slot] = value
                stand_in = _SurrogateStandIn(layout.surrogate, layout.spiking, params)
            node_tensors = dict(zip(layout.tensors, tensor_leaves[:n_node_tensors], strict=True))
            with bound(node, values, node_tensors, stand_in):
                out = step(x_leaf)
                new_states = [node.__dict__[_slot_of(node, name)] for name in layout.state]
            if not isinstance(out, Tensor):
                raise UntraceableStep(
                    f"{type(node).__name__}: its step returned {type(out).__name__}, not one tensor"
                )
            for name, value in zip(layout.state, new_states, strict=True):
                if not isinstance(value, Tensor):
                    raise UntraceableStep(
                        f"{type(node).__name__}: after a step its state {name!r} is "
                        f"{type(value).__name__}, not a tensor of the step's shape"
                    )
            cot_next = list(g_next)
            if g_vseq is not None:
                index = layout.state.index("v")
                cot_next[index] = cot_next[index] + g_vseq
            outputs = [out, *new_states]
            cotangents = [g_out, *cot_next]
            pairs = [(o, c) for o, c in zip(outputs, cotangents, strict=True) if o.requires_grad]
            leaves = ([x_leaf] if sig.grad_x else []) + state_leaves
            leaves += [t for t, need in zip(tensor_leaves, sig.grad_tensor, strict=True) if need]
            grads: Sequence[Tensor | None] = [None] * len(leaves)
            if pairs:
                grads = torch.autograd.grad(
                    [o for o, _ in pairs], leaves, [c for _, c in pairs], allow_unused=True
                )
        filled = [torch.zeros_like(leaf) if g is None else g for g, leaf in zip(grads, leaves, strict=True)]
        shaped = [_same_shape(t, x) for t in (out, *new_states)]
        return (*shaped, *(g.detach() for g in filled))

    return joint


def _same_shape(t: Tensor, like: Tensor) -> Tensor:
    """An output that does not depend on the input's shape (a constant) made per neuron."""
    t = t.detach()
    if t.shape != like.shape:
        t = t.expand(like.shape)
    return t


def _untraceable(node: nn.Module, exc: BaseException) -> UntraceableStep:
    """The error for a step that could not be traced: the neuron, the user's line, the fix."""
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        path = frame.filename.replace("\\", "/")
        if "/torch/" in path or "/spikegrad/kernels/" in path:
            continue
        where = f" at {frame.filename}:{frame.lineno} ({(frame.line or '').strip()})"
        break
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "data-dependent" in reason or "GuardOnDataDependent" in type(exc).__name__:
        reason = (
            "the step takes a Python decision on a tensor's value (an `if`, `bool()`, `.item()` "
            "or a math.* call on a tensor); write it with torch.where / torch ops instead"
        )
    return UntraceableStep(
        f"{type(node).__name__}: its step cannot be fused into one kernel{where}: {reason}. "
        "Use backend='reference' for this neuron (the plain loop over time), or express the "
        "step in elementwise torch operations."
    )


# --------------------------------------------------------------------------- partition


def _inputs_of(node: fx.Node) -> list[fx.Node]:
    """The nodes whose *values* ``node`` reads: ``*_like`` creations and size queries read
    only a shape (every per-neuron tensor has the same one), and a shape argument is no value."""
    if node.op == "call_function" and (
        getattr(node.target, "__name__", "").split(".")[0]
        in ("zeros_like", "ones_like", "empty_like", "full_like")
        or not isinstance(node.meta.get("val"), Tensor)
    ):
        return []
    return [n for n in node.all_input_nodes if isinstance(n.meta.get("val"), Tensor)]


def _itemsize(node: fx.Node) -> float:
    val = node.meta.get("val")
    if isinstance(val, Tensor):
        return float(val.element_size())
    return 0.0


_FULL_SUMS = (torch.ops.aten.sum.default,)


def _min_cut(
    nodes: Sequence[fx.Node],
    sources: Sequence[fx.Node],
    sinks: Sequence[fx.Node],
    cost: Callable[[fx.Node], float],
) -> list[fx.Node]:
    """A minimum-weight set of ``nodes`` separating ``sources`` from ``sinks`` (vertex cut
    by max-flow on the node-split graph; the graphs are tens of nodes, so a plain
    augmenting-path search is plenty)."""
    inf = math.inf
    index = {n: i for i, n in enumerate(nodes)}
    size = 2 * len(nodes) + 2
    source, sink = size - 2, size - 1
    capacity: dict[tuple[int, int], float] = {}
    adjacent: list[set[int]] = [set() for _ in range(size)]

    def edge(a: int, b: int, c: float) -> None:
        capacity[(a, b)] = capacity.get((a, b), 0.0) + c
        capacity.setdefault((b, a), 0.0)
        adjacent[a].add(b)
        adjacent[b].add(a)

    for n, i in index.items():
        edge(2 * i, 2 * i + 1, cost(n))
        for user in n.users:
            if user in index and n in _inputs_of(user):
                edge(2 * i + 1, 2 * index[user], inf)
    for n in sources:
        edge(source, 2 * index[n], inf)
    for n in sinks:
        edge(2 * index[n] + 1, sink, inf)

    def augment() -> float:
        parent = {source: source}
        queue = [source]
        for a in queue:
            for b in adjacent[a]:
                if b not in parent and capacity[(a, b)] > 1e-12:
                    parent[b] = a
                    queue.append(b)
        if sink not in parent:
            return 0.0
        flow, b = inf, sink
        while b != source:
            flow = min(flow, capacity[(parent[b], b)])
            b = parent[b]
        b = sink
        while b != source:
            capacity[(parent[b], b)] -= flow
            capacity[(b, parent[b])] += flow
            b = parent[b]
        return flow

    while augment() > 0:
        pass
    reachable = {source}
    queue = [source]
    for a in queue:
        for b in adjacent[a]:
            if b not in reachable and capacity[(a, b)] > 1e-12:
                reachable.add(b)
                queue.append(b)
    return [n for n, i in index.items() if 2 * i in reachable and 2 * i + 1 not in reachable]


def _partition(
    joint: fx.GraphModule,
    layout: Layout,
    sig: _Signature,
    dtype: torch.dtype,
    tensor_dtypes: Sequence[torch.dtype],
    tensor_broadcast: Sequence[bool],
) -> StepPrograms:
    graph = joint.graph
    _inline_constants(joint)
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    it = iter(placeholders)
    x = next(it)
    states = [next(it) for _ in range(sig.n_state)]
    scalars = [next(it) for _ in range(sig.n_scalar)]
    tensors = [next(it) for _ in range(sig.n_tensor)]
    g_out = next(it)
    g_next = [next(it) for _ in range(sig.n_state)]
    g_vseq = next(it) if sig.store_v_seq else None
    cotangents = {g_out, *g_next} | ({g_vseq} if g_vseq is not None else set())
    (output,) = [n for n in graph.nodes if n.op == "output"]
    results = list(output.args[0])
    n_fwd = 1 + sig.n_state
    fwd_results, grad_results = results[:n_fwd], results[n_fwd:]

    # Which nodes depend on a cotangent (backward), on a per-step input (dynamic), or on
    # neither (computable from parameters alone: free in either direction).
    tangent: set[fx.Node] = set()
    dynamic: set[fx.Node] = set()
    for n in graph.nodes:
        if n in cotangents:
            tangent.add(n)
        elif n is x or n in states:
            dynamic.add(n)
        elif n.op == "call_function":
            reads = _inputs_of(n)
            if any(r in tangent for r in reads):
                tangent.add(n)
            elif any(r in dynamic for r in reads):
                dynamic.add(n)
    # The gradient of a 0-dim tensor (``w`` of PLIF) is a sum over the neurons, taken
    # where the broadcast is undone and followed by ops that are linear in it (a VJP is
    # linear in the cotangents). Moved past them, the sum becomes the per-neuron sums the
    # kernel accumulates anyway, and the caller adds those up.
    for n in list(graph.nodes):
        if n in tangent and n.op == "call_function" and n.target in _FULL_SUMS:
            term = n.args[0]
            n.replace_all_uses_with(term)
            tangent.discard(n)
            graph.erase_node(n)
            results = [term if r is n else r for r in results]
    fwd_results, grad_results = results[:n_fwd], results[n_fwd:]
    needed = [r for n in graph.nodes if n in tangent for r in _inputs_of(n) if r in dynamic]
    needed += [r for r in grad_results if isinstance(r, fx.Node) and r in dynamic]
    primal_dynamic = [n for n in graph.nodes if n in dynamic]

    def cost(n: fx.Node) -> float:
        # The input is kept by reference (nothing written), so it costs less than a copy.
        return _itemsize(n) * (0.5 if n is x else 1.0)

    cut = _min_cut(primal_dynamic, [x, *states], list(dict.fromkeys(needed)), cost) if needed else []
    cut.sort(key=lambda n: (n is not x, n not in states, list(graph.nodes).index(n)))

    saved_names: list[str] = []
    for n in cut:
        if n is x:
            saved_names.append("x")
        elif n in states:
            saved_names.append(layout.state[states.index(n)])
        else:
            saved_names.append(f"saved{len(saved_names)}")
    saved_dtypes = tuple(n.meta["val"].dtype for n in cut)

    scalar_names = [*layout.scalars, *(f"surrogate.{i}" for i in layout.surrogate_scalars)]
    tensor_names = [*layout.tensors, *(f"surrogate.{i}" for i in layout.surrogate_tensors)]
    tensor_slots = [
        Slot("broadcast" if b else "neuron", name, d)
        for name, d, b in zip(tensor_names, tensor_dtypes, tensor_broadcast, strict=True)
    ]
    scalar_slots = [Slot("scalar", name, torch.float64) for name in scalar_names]

    # ---- forward: the step, plus what the backward keeps
    fwd_inputs = [
        (x, Slot("step", "x", dtype)),
        *((s, Slot("state", name, dtype)) for s, name in zip(states, layout.state, strict=True)),
        *zip(scalars, scalar_slots, strict=True),
        *zip(tensors, tensor_slots, strict=True),
    ]
    fwd_outputs: list[tuple[Any, Slot]] = [(fwd_results[0], Slot("step", "out", dtype))]
    for value, name in zip(fwd_results[1:], layout.state, strict=True):
        fwd_outputs.append((value, Slot("state", name, dtype)))
    if sig.store_v_seq:
        fwd_outputs.append((fwd_results[1 + layout.state.index("v")], Slot("step", "v_seq", dtype)))
    for n, name, d in zip(cut, saved_names, saved_dtypes, strict=True):
        if name != "x":
            fwd_outputs.append((n, Slot("step", f"saved:{name}", d)))
    forward = _subprogram(graph, fwd_inputs, fwd_outputs, reverse=False)

    # ---- backward: from what was kept, the cotangents and the parameters, the gradients
    bwd_inputs: list[tuple[fx.Node, Slot]] = [
        (n, Slot("step", f"saved:{name}", d))
        for n, name, d in zip(cut, saved_names, saved_dtypes, strict=True)
    ]
    bwd_inputs += [*zip(scalars, scalar_slots, strict=True), *zip(tensors, tensor_slots, strict=True)]
    bwd_inputs.append((g_out, Slot("step", "g_out", dtype)))
    bwd_inputs += [
        (g, Slot("state", f"g:{name}", dtype)) for g, name in zip(g_next, layout.state, strict=True)
    ]
    if g_vseq is not None:
        bwd_inputs.append((g_vseq, Slot("step", "g_v_seq", dtype)))
    grads = iter(grad_results)
    bwd_outputs: list[tuple[Any, Slot]] = []
    if sig.grad_x:
        bwd_outputs.append((next(grads), Slot("step", "g_x", dtype)))
    for name in layout.state:
        bwd_outputs.append((next(grads), Slot("state", f"g:{name}", dtype)))
    for name, need, d in zip(tensor_names, sig.grad_tensor, tensor_dtypes, strict=True):
        if need:
            grad = next(grads)
            bwd_outputs.append((grad, Slot("accumulate", f"g:{name}", _accumulator(d))))
    backward = _subprogram(graph, bwd_inputs, bwd_outputs, reverse=True)
    return StepPrograms(forward, backward, tuple(saved_names), saved_dtypes)


def _inline_constants(module: fx.GraphModule) -> None:
    """A one-element tensor the step made from a number (``torch.as_tensor(0.5)``) becomes that
    number in the graph; a larger constant tensor cannot be fused (it would be baked in)."""
    for node in list(module.graph.nodes):
        if node.op != "get_attr":
            continue
        value = getattr(module, str(node.target))
        if not isinstance(value, Tensor) or value.numel() != 1:
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise UntraceableStep(
                f"the step uses a constant tensor of shape {shape}: register it as a buffer or parameter "
                "of the neuron (then it is a kernel input), or use backend='reference'"
            )
        number = value.item()
        for user in list(node.users):
            if user.op == "call_function" and op_target_name(user) in ("lift_fresh_copy", "clone", "detach"):
                # the number's own copy: its users take the number too
                for inner in list(user.users):
                    inner.args = tuple(number if a is user else a for a in inner.args)
                    inner.kwargs = {k: (number if v is user else v) for k, v in inner.kwargs.items()}
                module.graph.erase_node(user)
                continue
            user.args = tuple(number if a is node else a for a in user.args)
            user.kwargs = {k: (number if v is node else v) for k, v in user.kwargs.items()}
        module.graph.erase_node(node)


def op_target_name(node: fx.Node) -> str:
    packet = getattr(node.target, "overloadpacket", None)
    return getattr(packet, "__name__", str(node.target))


def _accumulator(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _subprogram(
    graph: fx.Graph,
    inputs: Sequence[tuple[fx.Node, Slot]],
    outputs: Sequence[tuple[Any, Slot]],
    reverse: bool,
) -> LoopProgram:
    """A new graph holding exactly what computes ``outputs`` from ``inputs``."""
    new = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for old, slot in inputs:
        placeholder = new.placeholder(slot.name.replace(":", "_").replace(".", "_"))
        placeholder.meta = dict(old.meta)
        env[old] = placeholder

    per_neuron = [env[old] for old, slot in inputs if slot.kind in ("step", "state")]

    def copy(node: fx.Node) -> fx.Node:
        if node in env:
            return env[node]
        if node.op == "placeholder":
            raise UntraceableStep(f"internal: the program needs {node.name}, which is not one of its inputs")
        if not _inputs_of(node) and node.all_input_nodes and per_neuron:
            # A constant in the shape of a tensor this program does not have: any per-neuron
            # input has that shape; the dtype is stated.
            like = node.all_input_nodes[0]
            stand_in = like if like in env else per_neuron[0]
            val = node.meta["val"]
            kwargs = {**node.kwargs, "dtype": val.dtype} if isinstance(val, Tensor) else dict(node.kwargs)
            env[node] = new.call_function(
                node.target,  # type: ignore[arg-type]
                (copy(stand_in) if stand_in is like else stand_in, *node.args[1:]),
                kwargs,
            )
            env[node].meta = dict(node.meta)
            return env[node]
        for arg in node.all_input_nodes:
            copy(arg)
        env[node] = new.node_copy(node, lambda n: env[n])
        return env[node]

    results = [copy(value) if isinstance(value, fx.Node) else value for value, _ in outputs]
    new.output(tuple(results))
    new.eliminate_dead_code()
    module = fx.GraphModule(torch.nn.Module(), new)
    return LoopProgram(module, tuple(s for _, s in inputs), tuple(s for _, s in outputs), reverse)
