r"""Fused neurons: all T steps, forward and backward, each in one generated kernel.

For a neuron configuration (its class, the attributes that select its equations, the
surrogate's class and mode, dtype, device, which inputs need gradients) a :class:`Plan` is
built once: the neuron's step is traced with its gradient (:mod:`.trace`) and the two loop
programs are compiled (:mod:`.cpp_loop` on the CPU, :mod:`.triton_loop` on CUDA). A call
then only allocates its outputs and launches one kernel per direction:

* numbers (``tau``, ``v_threshold``, the surrogate's ``alpha`` ...) go to the kernels as
  scalar arguments: no tensor is made of them, nothing is copied to the device, nothing
  is read back, so a training step has no host-device synchronisation;
* the forward keeps, per step, only what the backward needs (for IF and LIF the charge
  ``h_t``); the backward writes the input's gradient into that same storage when the
  graph is not kept for a second backward, so a forward and backward hold two ``[T, N]``
  buffers besides their inputs and outputs, not three.

Outside ``torch.compile`` a call is a plain ``autograd.Function``; under ``torch.compile``
it is the custom operator ``spikegrad::neuron_loop`` (:mod:`.compiled`).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from . import _TRITON_ON_CPU, cpp_loop, route
from .loopgen import Untranslatable
from .trace import Layout, LoopProgram, StepPrograms, UntraceableStep, cached_layout, layout_of, trace_step

__all__ = ["Plan", "clear_cache", "multi_step", "plan_count", "single_step"]


@dataclasses.dataclass
class Plan:
    """Everything about one neuron configuration that does not change from call to call."""

    layout: Layout
    programs: StepPrograms
    compile: Callable[[LoopProgram], Callable[[Sequence[Any], int, int], None]]
    forward: Callable[[Sequence[Any], int, int], None]
    backward: Callable[[Sequence[Any], int, int], None]
    dtype: torch.dtype
    grad_x: bool
    grad_tensors: tuple[bool, ...]
    store_v_seq: bool
    #: per kernel tensor: summed to the parameter's shape from a flat [N] (else it is 0-dim)
    flat_tensors: tuple[bool, ...]
    _forward_only: Callable[[Sequence[Any], int, int], None] | None = None

    @property
    def forward_only(self) -> Callable[[Sequence[Any], int, int], None]:
        """The forward without what only the backward reads (compiled on first use)."""
        if self._forward_only is None:
            self._forward_only = self.compile(_without_saved(self.programs.forward))
        return self._forward_only


_PLANS: dict[Any, Plan] = {}
_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every plan of this process (compiled libraries stay in the disk cache)."""
    with _LOCK:
        _PLANS.clear()


def plan_count() -> int:
    """How many neuron configurations this process has planned (tests check reuse)."""
    return len(_PLANS)


# --------------------------------------------------------------------------- per call


def _tensors(node: Any, layout: Layout, x: Tensor) -> list[Tensor]:
    """The node's parameters and buffers, then the surrogate's tensor parameters (in the
    input's dtype, as the surrogate computes with them)."""
    found = dict(node._parameters)
    found.update(node._buffers)
    tensors = [found[name] for name in layout.tensors]
    if layout.surrogate_tensors:
        values = node._modules["surrogate_function"].param_values
        tensors += [values[i].to(dtype=x.dtype, device=x.device) for i in layout.surrogate_tensors]
    return tensors


def _scalars(node: Any, layout: Layout) -> list[float]:
    values = [float(getattr(node, name)) for name in layout.scalars]
    if layout.surrogate_scalars:
        params = node._modules["surrogate_function"].param_values
        values += [float(params[i]) for i in layout.surrogate_scalars]
    return values


def _local(
    plans: dict[Any, Any], layout: Layout, node: Any, x: Tensor, store_v_seq: bool
) -> tuple[Any, Plan | None]:
    """The module's own cache: its plans under a key that is cheap to hash (the layout by
    identity, what changes the kernels about the inputs)."""
    grad_mode = torch.is_grad_enabled()
    tensors = (*node._parameters.values(), *node._buffers.values())
    key = (
        id(layout),
        x.dtype,
        x.device,
        grad_mode and x.requires_grad,
        tuple(
            (t.dtype, t.dim(), t.numel() == 1, grad_mode and t.requires_grad)
            for t in tensors
            if t is not None
        ),
        store_v_seq,
        _TRITON_ON_CPU[0],
    )
    found = plans.get(key)
    return key, (found[1] if found is not None else None)


def _plan(node: Any, x: Tensor, tensors: Sequence[Tensor], store_v_seq: bool, layout: Layout) -> Plan:
    plans = node.__dict__.setdefault("_kernel_plans", {})
    key, plan = _local(plans, layout, node, x, store_v_seq)
    if plan is not None:
        return plan
    grad_mode = torch.is_grad_enabled()
    grad_x = grad_mode and x.requires_grad
    grad_tensors = tuple(grad_mode and t.requires_grad for t in tensors)
    plan = _shared_plan(node, x, tensors, store_v_seq, layout, grad_x, grad_tensors)
    if len(plans) > 32:  # a module that keeps changing its structure: forget the oldest
        plans.pop(next(iter(plans)))
    plans[key] = (layout, plan)  # the layout stays alive, so its id is not reused
    return plan


def _shared_plan(
    node: Any,
    x: Tensor,
    tensors: Sequence[Tensor],
    store_v_seq: bool,
    layout: Layout,
    grad_x: bool,
    grad_tensors: tuple[bool, ...],
) -> Plan:
    flat = tuple(t.dim() > 0 for t in tensors)
    key = (
        type(node),
        node.step_method,
        layout.key,
        x.dtype,
        x.device.type,
        route(x.device),
        grad_x,
        grad_tensors,
        tuple(t.dtype for t in tensors),
        flat,
        tuple(t.numel() == 1 for t in tensors),
        store_v_seq,
    )
    plan = _PLANS.get(key)
    if plan is None:
        with _LOCK:
            plan = _PLANS.get(key)
            if plan is None:
                plan = _in_fresh_thread(
                    _build, node, x, tensors, layout, grad_x, grad_tensors, flat, store_v_seq
                )
                _PLANS[key] = plan
    return plan


def _in_fresh_thread(fn: Callable[..., Plan], *args: Any) -> Plan:
    """Run ``fn`` on a thread of its own: tracing needs the dispatcher's thread-local state
    as a plain call has it, and the first call may come from inside another operator (a
    compiled graph runs the fused operator below autograd and functionalization)."""
    result: list[Any] = []

    def target() -> None:
        try:
            result.append(fn(*args))
        except BaseException as exc:  # re-raised on the caller's thread
            result.append(exc)

    worker = threading.Thread(target=target, name="spikegrad-plan")
    worker.start()
    worker.join()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]  # type: ignore[no-any-return]


def _build(
    node: Any,
    x: Tensor,
    tensors: Sequence[Tensor],
    layout: Layout,
    grad_x: bool,
    grad_tensors: tuple[bool, ...],
    flat: tuple[bool, ...],
    store_v_seq: bool,
) -> Plan:
    step = getattr(node, node.step_method)

    def trace(layout: Layout) -> StepPrograms:
        return trace_step(
            node,
            step,
            layout,
            x.dtype,
            [t.dtype for t in tensors],
            [t.numel() == 1 for t in tensors],
            grad_x,
            grad_tensors,
            store_v_seq,
            x.device,
            flat,
        )

    try:
        programs = trace(layout)
    except UntraceableStep:
        if layout.baked or not (layout.scalars or layout.surrogate_scalars):
            raise
        # The step computes with its numbers in Python (math.exp(tau), an `if` on one):
        # they become constants of the kernel, which is then built per value.
        layout = layout_of(node, layout.state, bake=True)
        programs = trace(layout)
        node.__dict__["_kernel_bake"] = True
        node.__dict__["_kernel_layout"] = None
    compile_ = _compiler(x.device)
    try:
        forward = compile_(programs.forward)
        backward = compile_(programs.backward)
    except Untranslatable as exc:
        raise UntraceableStep(
            f"{type(node).__name__}: its step uses {exc}, which the fused kernels do not implement; "
            "use backend='reference' for this neuron (the plain loop over time)"
        ) from None
    return Plan(
        layout, programs, compile_, forward, backward, x.dtype, grad_x, grad_tensors, store_v_seq, flat
    )


def _compiler(device: torch.device) -> Callable[[LoopProgram], Callable[[Sequence[Any], int, int], None]]:
    if route(device) == "cpp":
        return cpp_loop.kernel
    from . import triton_loop

    return triton_loop.kernel


def _without_saved(program: LoopProgram) -> LoopProgram:
    """The forward without the outputs only the backward reads (inference, no grad)."""
    keep = [i for i, slot in enumerate(program.outputs) if not slot.name.startswith("saved:")]
    if len(keep) == len(program.outputs):
        return program
    graph = program.graph.graph
    (output,) = [n for n in graph.nodes if n.op == "output"]
    values = list(output.args[0])
    new_graph = torch.fx.Graph()
    env: dict[torch.fx.Node, torch.fx.Node] = {}
    for node in graph.nodes:
        if node.op == "output":
            new_graph.output(
                tuple(env[values[i]] if isinstance(values[i], torch.fx.Node) else values[i] for i in keep)
            )
        else:
            env[node] = new_graph.node_copy(node, lambda n: env[n])
    new_graph.eliminate_dead_code()
    module = torch.fx.GraphModule(torch.nn.Module(), new_graph)
    return LoopProgram(module, program.inputs, tuple(program.outputs[i] for i in keep), program.reverse)


def _kernel_tensor(t: Tensor, shape: torch.Size, flat: bool) -> Tensor:
    """A parameter as the kernel reads it: one element, or one value per neuron."""
    if t.numel() == 1:
        return t  # the kernel reads its one element through the pointer
    if not flat:
        raise ValueError("a 0-dim parameter with more than one element")  # cannot happen
    return t.detach().expand(shape).contiguous().view(-1)


# --------------------------------------------------------------------------- the calls


def lookup(node: Any, x_seq: Tensor, store_v_seq: bool) -> Plan | None:
    """The plan ``node`` already used for inputs like ``x_seq`` (``None`` before its first fused call)."""
    plans = node.__dict__.get("_kernel_plans")
    if plans is None:
        return None
    layout = cached_layout(node)
    return _local(plans, layout, node, x_seq, store_v_seq)[1]


def multi_step(
    node: Any, x_seq: Tensor, store_v_seq: bool = False, plan: Plan | None = None
) -> tuple[Tensor, Tensor | None]:
    """``T`` steps of ``node`` fused; updates its state. Returns ``(outputs, v_seq or None)``."""
    if plan is None:
        layout = cached_layout(node)
        plan = _plan(node, x_seq, _tensors(node, layout, x_seq), store_v_seq, layout)
    layout = plan.layout
    tensors = _tensors(node, layout, x_seq)
    d = node.__dict__
    state = layout.state
    states0 = [d[name] for name in state]
    scalars = _scalars(node, layout)
    if layout.surrogate is not None:
        # What every surrogate call checks (its parameters against the input's dtype), again
        # only when the parameters or the plan changed.
        seen = (plan, scalars, tuple(t._version for t in tensors))
        if d.get("_kernel_checked") != seen:
            node._modules["surrogate_function"].check_for(x_seq)
            d["_kernel_checked"] = seen
    if (
        plan.grad_x
        or any(plan.grad_tensors)
        or (torch.is_grad_enabled() and any(s.requires_grad for s in states0))
    ):
        results = _FusedNeuron.apply(plan, scalars, x_seq, len(states0), *states0, *tensors)
    else:
        results = _forward(plan, scalars, x_seq, states0, tensors, save=False)[0]
    for name, value in zip(state, results[1 : 1 + len(state)], strict=True):
        d[name] = value
    return results[0], (results[1 + len(state)] if store_v_seq else None)


def single_step(node: Any, x: Tensor, plan: Plan | None = None) -> Tensor:
    """One step of ``node`` fused (the loop kernels with ``T = 1``)."""
    out, _ = multi_step(node, x.unsqueeze(0), False, plan)
    return out[0]


def _forward(
    plan: Plan,
    scalars: Sequence[float],
    x_seq: Tensor,
    states0: Sequence[Tensor],
    tensors: Sequence[Tensor],
    save: bool,
) -> tuple[list[Tensor], list[Tensor]]:
    """Run the forward kernel. Returns ``(outputs, saved)``: outputs are the ``[T, *shape]``
    output, the final states and ``v_seq`` if stored; saved the per-step tensors the
    backward reads (``x`` among them by reference)."""
    steps, shape = x_seq.shape[0], x_seq.shape[1:]
    n = x_seq.numel() // steps if steps else math.prod(shape)
    x = x_seq if x_seq.is_contiguous() else x_seq.contiguous()
    # Outputs are made in their final shapes (the kernel only needs their storage).
    out = torch.empty(x_seq.shape, dtype=plan.dtype, device=x.device)
    finals = [torch.empty(shape, dtype=plan.dtype, device=x.device) for _ in states0]
    v_seq = [torch.empty(x_seq.shape, dtype=plan.dtype, device=x.device)] if plan.store_v_seq else []
    programs = plan.programs
    saved_out = (
        [
            torch.empty(x_seq.shape, dtype=d, device=x.device)
            for name, d in zip(programs.saved, programs.saved_dtypes, strict=True)
            if name != "x"
        ]
        if save
        else []
    )
    args: list[Any] = [x, *(s if s.is_contiguous() else s.contiguous() for s in states0), *scalars]
    args += [_kernel_tensor(t, shape, f) for t, f in zip(tensors, plan.flat_tensors, strict=True)]
    args += [out, *finals, *v_seq, *saved_out]
    (plan.forward if save else plan.forward_only)(args, n, steps)
    saved: list[Tensor] = []
    if save:
        it = iter(saved_out)
        saved = [x if name == "x" else next(it) for name in programs.saved]
    return [out, *finals, *v_seq], saved


def _keep_graph() -> bool:
    """Whether the running backward keeps the graph (``retain_graph=True``): then the
    saved buffers must survive it. Unknown on a torch without the query: assume kept."""
    query = getattr(torch._C._autograd, "_get_current_graph_task_keep_graph", None)
    return True if query is None else bool(query())


def _backward(
    plan: Plan,
    scalars: Sequence[float],
    saved: Sequence[Tensor],
    tensors: Sequence[Tensor],
    grads: tuple[Tensor | None, Sequence[Tensor | None], Tensor | None],
    step_shape: torch.Size,
    steps: int,
    device: torch.device,
    reuse: bool,
) -> tuple[Tensor | None, list[Tensor], list[Tensor]]:
    """Run the backward kernel on the gradients ``(of the output, of the final states, of
    v_seq)``. Returns ``(grad x [T, N] or None, grads of the initial states [N], per-neuron
    sums of the parameters' gradients [N])``."""
    g_out, g_finals, g_v_seq = grads
    dtype = plan.dtype
    n = math.prod(step_shape)

    def flat(g: Tensor | None, shape: tuple[int, ...]) -> Tensor:
        if g is None:
            return _zeros(shape, dtype, device)
        return g if g.dtype == dtype and g.is_contiguous() else g.to(dtype).contiguous()

    args: list[Any] = [*saved, *scalars]
    args += [_kernel_tensor(t, step_shape, f) for t, f in zip(tensors, plan.flat_tensors, strict=True)]
    args += [flat(g_out, (steps, n)), *(flat(g, (n,)) for g in g_finals)]
    if plan.store_v_seq:
        args.append(flat(g_v_seq, (steps, n)))
    g_x = None
    if plan.grad_x:
        g_x = _reusable(plan, saved) if reuse else None
        if g_x is None:
            g_x = torch.empty((steps, n), dtype=dtype, device=device)
        args.append(g_x)
    g_states = [torch.empty(n, dtype=dtype, device=device) for _ in g_finals]
    args += g_states
    sums = [
        torch.empty(n, dtype=slot.dtype, device=device)
        for slot in plan.programs.backward.outputs
        if slot.kind == "accumulate"
    ]
    args += sums
    plan.backward(args, n, steps)
    return g_x, g_states, sums


_ZEROS: dict[tuple[Any, ...], Tensor] = {}


def _zeros(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
    """Zeros the kernels only read (an unused gradient): kept, not made at every call."""
    key = (shape, dtype, device)
    zeros = _ZEROS.get(key)
    if zeros is None:
        if len(_ZEROS) >= 16:
            _ZEROS.pop(next(iter(_ZEROS)))
        zeros = _ZEROS[key] = torch.zeros(shape, dtype=dtype, device=device)
    return zeros


def _reusable(plan: Plan, saved: Sequence[Tensor]) -> Tensor | None:
    """A saved per-step buffer the input's gradient may overwrite: one the forward wrote
    (not the input itself), of the gradient's dtype, when the graph is freed after this backward."""
    for name, t in zip(plan.programs.saved, saved, strict=True):
        if name != "x" and t.dtype == plan.dtype:
            return t
    return None


class _FusedNeuron(torch.autograd.Function):
    """``T`` fused steps as one autograd node.

    The saved per-step buffers are intermediates of the kernel, not outputs, so this
    Function takes ``ctx`` in ``forward`` rather than a ``setup_context``.
    """

    @staticmethod
    def forward(
        ctx: Any, plan: Plan, scalars: list[float], x_seq: Tensor, n_states: int, *tensors: Tensor
    ) -> tuple[Tensor, ...]:  # type: ignore[override]
        states0, params = tensors[:n_states], tensors[n_states:]
        outputs, saved = _forward(plan, scalars, x_seq, states0, params, save=True)
        ctx.plan = plan
        ctx.scalars = scalars
        ctx.n_states = n_states
        ctx.shapes = [s.shape for s in states0] + [p.shape for p in params]
        ctx.x_shape = x_seq.shape
        ctx.device = x_seq.device
        ctx.save_for_backward(*saved, *params)
        ctx.set_materialize_grads(False)
        return tuple(outputs)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor | None) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        plan: Plan = ctx.plan
        try:
            unpacked = ctx.saved_tensors
        except RuntimeError as exc:
            raise RuntimeError(
                f"{exc} A neuron's state was carried over from a batch whose graph was already "
                "backpropagated: call spikegrad.functional.reset_net(net) after each batch (or "
                "functional.detach_net(net) for truncated backpropagation through time)."
            ) from None
        n_saved = len(plan.programs.saved)
        saved, params = list(unpacked[:n_saved]), list(unpacked[n_saved:])
        n_states = ctx.n_states
        g_out, g_finals = grads[0], list(grads[1 : 1 + n_states])
        g_v_seq = grads[1 + n_states] if plan.store_v_seq else None
        reuse = not torch.is_grad_enabled() and not _keep_graph()
        g_x, g_states, sums = _backward(
            plan,
            ctx.scalars,
            saved,
            params,
            (g_out, g_finals, g_v_seq),
            ctx.x_shape[1:],
            ctx.x_shape[0],
            ctx.device,
            reuse,
        )
        needs = ctx.needs_input_grad
        grad_x = g_x.view(ctx.x_shape) if g_x is not None and needs[2] else None
        result: list[Tensor | None] = [None, None, grad_x, None]
        for i, g_state in enumerate(g_states):
            result.append(g_state.view(ctx.shapes[i]) if needs[4 + i] else None)
        it = iter(sums)
        for j, need in enumerate(plan.grad_tensors):
            g: Tensor | None = next(it) if need else None
            shape = ctx.shapes[n_states + j]
            if g is not None and needs[4 + n_states + j]:
                g = g.sum().reshape(shape) if not plan.flat_tensors[j] else _sum_to(g, ctx.x_shape[1:], shape)
                result.append(g.to(params[j].dtype))
            else:
                result.append(None)
        return tuple(result)


def _sum_to(g: Tensor, step_shape: torch.Size, shape: torch.Size) -> Tensor:
    """Per-neuron gradient sums back to the parameter's shape (it was broadcast to the step)."""
    return g.view(step_shape).sum_to_size(shape)
