"""The loops behind :mod:`.fused`: the step math with runtime constants, the surrogate
parameter plumbing, and the forward and backward passes over T that call the generated kernels.

See :mod:`.fused` for the design; this module holds no autograd or ``torch.library`` code."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from torch import Tensor

from ..surrogate._base import Surrogate, _cast, heaviside
from .codegen import compile_pointwise, trace

_HALF = (torch.float16, torch.bfloat16)
#: Surrogate classes whose derivative needs its float parameters as Python numbers
#: (e.g. ``math.exp(sigma)``); their values are baked into the kernel instead.
_BAKED: set[type[Surrogate]] = set()

# --------------------------------------------------------------------------- the math, once

# Runtime constants vector ``c`` (float64): indices of its entries. (A 1-D vector rather than
# 0-dim tensors: make_fx would turn a 0-dim input into a symbolic float inductor cannot take.)
_THETA, _V_REST, _LEAKY, _DECAY, _HARD, _DETACH, _K = range(7)


def _charge(x: Tensor, v: Tensor, c: Tensor) -> Tensor:
    # Each branch is the reference's expression in the reference's order, so results match
    # bit for bit; ``where`` picks one without compiling a kernel per neuron type.
    v_rest, k = c[_V_REST], c[_K]
    lif_decay_input = v + k * (x - (v - v_rest))
    lif = v - k * (v - v_rest) + x
    return torch.where(c[_LEAKY] != 0, torch.where(c[_DECAY] != 0, lif_decay_input, lif), v + x)


def _reset(h: Tensor, s: Tensor, c: Tensor) -> Tensor:
    hard = s * c[_V_REST] + (1 - s) * h
    return torch.where(c[_HARD] != 0, hard, h - s * c[_THETA])


def _grad_step(
    gs: Tensor, gv: Tensor, carry: Tensor, h: Tensor, s: Tensor, sg: Tensor, c: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """``(gh, gx, carry_prev)`` of one step."""
    detach = c[_DETACH] != 0
    one = torch.ones_like(h)
    dv_soft = torch.where(detach, one, 1 - c[_THETA] * sg)
    dv_hard = torch.where(detach, 1 - s, (1 - s) + (c[_V_REST] - h) * sg)
    dv_dh = torch.where(c[_HARD] != 0, dv_hard, dv_soft)
    gh = gs * sg + (gv + carry) * dv_dh
    leaky, k = c[_LEAKY] != 0, c[_K]
    gx = torch.where(leaky & (c[_DECAY] != 0), gh * k, gh)
    carry_prev = torch.where(leaky, gh * (1 - k), gh)
    return gh, gx, carry_prev


def _grad_k_term(gh: Tensor, x: Tensor, v_prev: Tensor, c: Tensor) -> Tensor:
    above = v_prev - c[_V_REST]
    return torch.where(c[_DECAY] != 0, gh * (x - above), gh * -above)


# --------------------------------------------------------------------------- surrogate plumbing


class _Params:
    """A surrogate's parameters as kernel inputs: ints (and, for a few shapes, floats) baked
    into the graph; floats in one float64 vector; tensors expanded to the step's shape."""

    def __init__(
        self,
        definition: type[Surrogate],
        floats: Sequence[float],
        tensor_slots: Sequence[int],
        tensors: Sequence[Tensor],
    ) -> None:
        bake = definition in _BAKED
        slots: list[tuple[str, Any]] = []
        runtime: list[float] = []
        tensor_of = dict(zip(tensor_slots, range(len(tensor_slots)), strict=True))
        for i, (param, value) in enumerate(zip(definition.params, floats, strict=True)):
            if i in tensor_of:
                slots.append(("tensor", tensor_of[i]))
            elif param.integer:
                slots.append(("value", int(value)))
            elif bake:
                slots.append(("value", float(value)))
            else:
                slots.append(("float", len(runtime)))
                runtime.append(float(value))
        self.definition = definition
        self.slots = tuple(slots)
        self.runtime = runtime
        self.tensors = list(tensors)

    @property
    def key(self) -> tuple[Any, ...]:
        return tuple((kind, where) if kind == "value" else (kind,) for kind, where in self.slots)

    def unpack(self, floats: Tensor, tensors: Sequence[Tensor]) -> list[Any]:
        """The definition's positional parameters inside a traced step."""
        out: list[Any] = []
        for kind, where in self.slots:
            out.append(where if kind == "value" else floats[where] if kind == "float" else tensors[where])
        return out

    def vector(self, device: torch.device) -> Tensor:
        # Never empty: a kernel argument needs storage even when unused.
        return torch.tensor(self.runtime or [0.0], dtype=torch.float64, device=device)

    @property
    def vector_length(self) -> int:
        return max(1, len(self.runtime))

    def flat_tensors(self, shape: torch.Size, dtype: torch.dtype) -> list[Tensor]:
        return [_flat(t, shape, dtype) for t in self.tensors]

    def eager(self, like: Tensor, shape: torch.Size) -> list[Any]:
        """The parameters as the definition takes them in eager code (reference semantics)."""
        values: list[Any] = []
        it = iter(self.tensors)
        floats = iter(self.runtime)
        for kind, where in self.slots:
            values.append(next(it) if kind == "tensor" else where if kind == "value" else next(floats))
        return list(_cast(values, like))


def _flat(t: Tensor, shape: torch.Size, dtype: torch.dtype) -> Tensor:
    """``t`` broadcast to the step's shape as a flat contiguous tensor (the kernels' layout)."""
    return t.to(dtype).expand(shape).contiguous().view(-1)


def _is_heaviside(definition: type[Surrogate]) -> bool:
    return definition.spike is Surrogate.spike


def _stochastic_spike(definition: type[Surrogate], spiking: bool) -> bool:
    """Spikes drawn at random: run eagerly and saved for backward."""
    return spiking and definition.stochastic and not _is_heaviside(definition)


def _fire_fn(definition: type[Surrogate], spiking: bool) -> Callable[..., Tensor]:
    return definition.spike if spiking else definition.primitive


def _kernel(
    kind: str,
    params: _Params | None,
    spiking: bool,
    dtype: torch.dtype,
    device: torch.device,
    build: Callable[[], tuple[Callable[..., object], list[tuple[Any, torch.dtype]]]],
    roles: Sequence[Any] | None = None,
    reverse: bool = False,
) -> Callable[..., object]:
    """The compiled step kernel; with ``roles``, the loop over T (Triton, or C++ on the CPU)
    translated from it (``None`` if its graph holds an op the translator does not know)."""
    definition = params.definition if params is not None else None
    key = (kind, definition, params.key if params is not None else None, spiking, dtype)
    fn, inputs = build()
    try:
        if roles is not None:
            return _loop((*key, tuple(roles), reverse), fn, inputs, device, roles, reverse)  # type: ignore[return-value]
        return compile_pointwise(key, fn, inputs, device)
    except Exception:
        if params is None or definition in _BAKED or not params.runtime:
            raise
        # The definition computes with its float parameters as Python numbers: bake them.
        _BAKED.add(definition)  # type: ignore[arg-type]
        raise _Retry from None


_LOOPS: dict[Any, Any] = {}


def _loop(
    key: Any,
    fn: Callable[..., object],
    inputs: list[tuple[Any, torch.dtype]],
    device: torch.device,
    roles: Sequence[Any],
    reverse: bool,
) -> Callable[..., None] | None:
    triton = use_triton(device)
    key = (*key, "triton" if triton else "cpp")
    if key not in _LOOPS:
        from . import cpp_codegen, triton_codegen

        graph = trace(fn, inputs, device)
        translator = triton_codegen if triton else cpp_codegen
        try:
            _LOOPS[key] = translator.sequence_kernel(graph, roles, [d for _, d in inputs], reverse)
        except triton_codegen.Untranslatable:
            _LOOPS[key] = None
    return _LOOPS[key]  # type: ignore[no-any-return]


def use_loop(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether one kernel per direction loops over T: the Triton loop (:func:`use_triton`),
    or on the CPU the C++ loop of :mod:`.cpp_codegen` for float32/float64
    (``SPIKEGRAD_CPP_LOOP=0`` keeps the CPU on the per-step kernels)."""
    if use_triton(device):
        return True
    from . import cpp_codegen

    return (
        device.type == "cpu" and cpp_codegen.supported(dtype) and os.environ.get("SPIKEGRAD_CPP_LOOP") != "0"
    )


def use_triton(device: torch.device) -> bool:
    """Whether whole-sequence Triton kernels run on ``device``: CUDA with ``triton`` installed,
    or the CPU under ``TRITON_INTERPRET=1`` when ``SPIKEGRAD_TRITON_ON_CPU=1`` (how CI tests them).
    ``SPIKEGRAD_TRITON=0`` keeps CUDA on the per-step inductor kernels."""
    from . import triton_codegen

    if not triton_codegen.available() or os.environ.get("SPIKEGRAD_TRITON") == "0":
        return False
    if device.type == "cuda":
        return True
    return (
        device.type == "cpu"
        and triton_codegen.interpreted()
        and os.environ.get("SPIKEGRAD_TRITON_ON_CPU") == "1"
    )


class _Retry(Exception):
    """The surrogate's float parameters must be baked into the kernel; rebuild the params."""


def _acc_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in _HALF else dtype


# --------------------------------------------------------------------------- forward


def _forward(
    x_seq: Tensor, v0: Tensor, k: Tensor, params: _Params, spiking: bool, c: Tensor, store_v_seq: bool
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    dtype, device = x_seq.dtype, x_seq.device
    T, shape = x_seq.shape[0], x_seq.shape[1:]
    n = math.prod(shape)
    x = x_seq.contiguous().view(T, n)
    h = torch.empty_like(x)
    s = torch.empty_like(x)
    v_seq = torch.empty_like(x) if store_v_seq else x.new_empty(0)
    v_prev = _flat(v0, shape, dtype)
    if T == 0 or n == 0:
        v_last = v_prev.clone() if T == 0 else x.new_empty(n)
        return (
            s.view(x_seq.shape),
            v_last.view(shape),
            _seq(v_seq, x_seq.shape, store_v_seq),
            h.view(x_seq.shape),
        )
    p = params.vector(device)
    tp = params.flat_tensors(shape, dtype)
    definition = params.definition
    # Per-step paths alternate v between two buffers; the loop kernels keep v in registers.
    ping = [] if store_v_seq else [torch.empty_like(v_prev), torch.empty_like(v_prev)]
    if _stochastic_spike(definition, spiking):
        charge, reset = _generic_forward_kernels(dtype, device)
        eager_params = params.eager(x, shape)
        theta = float(c[_THETA])
        for t in range(T):
            v_out = v_seq[t] if store_v_seq else ping[t % 2]
            charge(x[t], v_prev, c, h[t])
            spike = definition.spike(h[t].view(shape) - theta, *eager_params)
            s[t].copy_(spike.reshape(n))
            reset(h[t], s[t], c, v_out)
            v_prev = v_out
    elif (
        use_loop(device, dtype) and (loop := _forward_kernel(params, spiking, dtype, device, store_v_seq))[0]
    ):
        run: Any = loop[0]
        v_last = torch.empty_like(v_prev)
        extra = [] if loop[1] else [p, *tp]
        run([x, v_prev, v_last, c, *extra, h, s, v_seq if store_v_seq else v_last], n, T)
        return (
            s.view(x_seq.shape),
            v_last.view(shape),
            _seq(v_seq, x_seq.shape, store_v_seq),
            h.view(x_seq.shape),
        )
    else:
        step: Any
        step, shared = _forward_kernel(params, spiking, dtype, device)
        extra = [] if shared else [p, *tp]
        for t in range(T):
            v_out = v_seq[t] if store_v_seq else ping[t % 2]
            step(x[t], v_prev, c, *extra, h[t], s[t], v_out)
            v_prev = v_out
    v_last = v_prev.clone() if store_v_seq else v_prev
    return s.view(x_seq.shape), v_last.view(shape), _seq(v_seq, x_seq.shape, store_v_seq), h.view(x_seq.shape)


def _seq(v_seq: Tensor, shape: torch.Size, store: bool) -> Tensor:
    return v_seq.view(shape) if store else v_seq


def _forward_kernel(
    params: _Params,
    spiking: bool,
    dtype: torch.dtype,
    device: torch.device,
    loop_store_v_seq: bool | None = None,
) -> tuple[Callable[..., object] | None, bool]:
    """The forward step. Spiking with the Heaviside step, it does not depend on the surrogate:
    one kernel (which ignores the parameters) serves them all.

    With ``loop_store_v_seq`` set, the loop over T (Triton or C++) instead (or ``None``)."""
    fire = _fire_fn(params.definition, spiking)
    shared = spiking and _is_heaviside(params.definition)
    n_tensors = len(params.tensors)

    def build() -> tuple[Callable[..., object], list[tuple[Any, torch.dtype]]]:
        def step(x: Tensor, v: Tensor, c: Tensor, *rest: Tensor) -> None:
            h_out, s_out, v_out = rest[-3:]
            h = _charge(x, v, c)
            s = (
                heaviside(h - c[_THETA])
                if shared
                else fire(h - c[_THETA], *params.unpack(rest[0], rest[1:-3]))
            )
            h_out.copy_(h)
            s_out.copy_(s)
            v_out.copy_(_reset(h, s, c))

        f64 = torch.float64
        inputs = [("n", dtype), ("n", dtype), (7, f64)]
        if not shared:
            inputs += [(params.vector_length, f64)] + [("n", dtype)] * n_tensors
        inputs += [("n", dtype)] * 3
        return step, inputs

    roles = None
    if loop_store_v_seq is not None:
        from .triton_codegen import Role

        roles = [Role("step_in"), Role("state", "v"), Role("vector")]
        roles += [] if shared else [Role("vector")] + [Role("neuron")] * n_tensors
        roles += [Role("step_out"), Role("step_out"), Role("state_out", "v", also_step_out=loop_store_v_seq)]
    if shared:
        return _kernel("forward_heaviside", None, True, dtype, device, build, roles), True
    return _kernel("forward", params, spiking, dtype, device, build, roles), False


def _generic_forward_kernels(
    dtype: torch.dtype, device: torch.device
) -> tuple[Callable[..., object], Callable[..., object]]:
    f64 = torch.float64

    def build_charge() -> tuple[Callable[..., object], list[tuple[Any, torch.dtype]]]:
        def charge(x: Tensor, v: Tensor, c: Tensor, h_out: Tensor) -> None:
            h_out.copy_(_charge(x, v, c))

        return charge, [("n", dtype), ("n", dtype), (7, f64), ("n", dtype)]

    def build_reset() -> tuple[Callable[..., object], list[tuple[Any, torch.dtype]]]:
        def reset(h: Tensor, s: Tensor, c: Tensor, v_out: Tensor) -> None:
            v_out.copy_(_reset(h, s, c))

        return reset, [("n", dtype), ("n", dtype), (7, f64), ("n", dtype)]

    return (
        _kernel("charge", None, False, dtype, device, build_charge),
        _kernel("reset", None, False, dtype, device, build_reset),
    )


# --------------------------------------------------------------------------- backward


def _backward(
    grad_s: Tensor,
    grad_v: Tensor,
    grad_v_seq: Tensor | None,
    h_seq: Tensor,
    spikes: Tensor | None,
    x_seq: Tensor | None,
    v0: Tensor,
    k: Tensor,
    params: _Params,
    spiking: bool,
    c: Tensor,
    need_k: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    dtype, device = h_seq.dtype, h_seq.device
    T, shape = h_seq.shape[0], h_seq.shape[1:]
    n = math.prod(shape)
    h = h_seq.view(T, n)
    gs = grad_s.to(dtype).contiguous().view(T, n)
    gv_seq = grad_v_seq.to(dtype).contiguous().view(T, n) if grad_v_seq is not None else None
    gx = torch.empty_like(h)
    carry = _flat(grad_v, shape, dtype)
    acc = torch.zeros(n if need_k else 0, dtype=_acc_dtype(dtype), device=device)
    if T == 0 or n == 0:
        return gx.view(h_seq.shape), carry.clone().view(shape), acc.sum()
    p = params.vector(device)
    tp = params.flat_tensors(shape, dtype)
    v_first = _flat(v0, shape, dtype)
    # x is read only for PLIF's k gradient (saved then); h stands in, unread, otherwise.
    x = x_seq.contiguous().view(T, n) if need_k and x_seq is not None else h
    definition = params.definition
    eager = definition.stochastic
    if not eager and use_loop(device, dtype):
        run = _backward_kernel(params, spiking, need_k, dtype, device, loop_store_v_seq=gv_seq is not None)
        if run is not None:
            carry_last = torch.empty_like(carry)
            gv_all = gv_seq if gv_seq is not None else torch.zeros_like(carry)  # read as a per-neuron 0
            ptrs: list[Tensor] = [gs, gv_all, carry, carry_last, h]
            if need_k:
                ptrs += [x, h, v_first, acc, acc]
            ptrs += [c, p, *tp, gx, carry_last]
            run(ptrs, n, T)
            return gx.view(h_seq.shape), carry_last.view(shape), acc.sum()
    step = _backward_kernel(None if eager else params, spiking, need_k, dtype, device)
    if eager:
        s_all = spikes.contiguous().view(T, n) if spikes is not None else None
        eager_params = params.eager(h, shape)
        theta = float(c[_THETA])
        fire = _fire_fn(definition, spiking)
    zeros = torch.zeros_like(carry) if gv_seq is None else None
    ping = [torch.empty_like(carry), torch.empty_like(carry)]
    first, later = (torch.tensor(flag, device=device) for flag in (True, False))
    for t in reversed(range(T)):
        gv_t = gv_seq[t] if gv_seq is not None else cast(Tensor, zeros)
        out = ping[t % 2]
        args: list[Tensor] = [gs[t], gv_t, carry, h[t]]
        if eager:
            x_t = h[t].view(shape) - theta
            s_t = s_all[t] if s_all is not None else fire(x_t, *eager_params).reshape(n)
            sg = definition.derivative(x_t, *eager_params).reshape(n)
            args += [s_t, sg]
        if need_k:
            args += [x[t], h[t - 1] if t else h[0], v_first, first if t == 0 else later, acc]
            if eager:
                args.append(
                    s_all[t - 1]
                    if s_all is not None and t
                    else fire(h[max(t - 1, 0)].view(shape) - theta, *eager_params).reshape(n)
                )
        args.append(c)
        if not eager:
            args += [p, *tp]
        step(*args, gx[t], out)
        carry = out
    return gx.view(h_seq.shape), carry.clone().view(shape), acc.sum()


def _backward_kernel(
    params: _Params | None,
    spiking: bool,
    need_k: bool,
    dtype: torch.dtype,
    device: torch.device,
    loop_store_v_seq: bool | None = None,
) -> Any:
    """The backward step. ``params is None``: the generic kernel of stochastic surrogates,
    which takes ``s`` and ``sg`` (and ``s_prev``) as inputs instead of recomputing them.

    With ``loop_store_v_seq`` set, the loop over T (reversed) instead (or ``None``)."""
    eager = params is None
    n_tensors = 0 if params is None else len(params.tensors)

    def build() -> tuple[Callable[..., object], list[tuple[Any, torch.dtype]]]:
        def step(*args: Tensor) -> None:
            it = iter(args)
            gs, gv, carry, h = next(it), next(it), next(it), next(it)
            if eager:
                s, sg = next(it), next(it)
            if need_k:
                x, h_prev, v_first, first, acc = next(it), next(it), next(it), next(it), next(it)
                s_prev = next(it) if eager else None
            c = next(it)
            if not eager:
                p = next(it)
                values = cast(_Params, params).unpack(p, [next(it) for _ in range(n_tensors)])
                definition = cast(_Params, params).definition
                fire = _fire_fn(definition, spiking)
                s = fire(h - c[_THETA], *values)
                sg = definition.derivative(h - c[_THETA], *values)
            gx_out, carry_out = next(it), next(it)
            gh, gx, carry_prev = _grad_step(gs, gv, carry, h, s, sg, c)
            gx_out.copy_(gx)
            carry_out.copy_(carry_prev)
            if need_k:
                if s_prev is None:
                    s_prev = fire(h_prev - c[_THETA], *values)
                v_prev = torch.where(first, v_first, _reset(h_prev, s_prev, c))
                acc.copy_(acc + _grad_k_term(gh, x, v_prev, c).to(acc.dtype))

        f64 = torch.float64
        inputs: list[tuple[Any, torch.dtype]] = [("n", dtype)] * 4
        if eager:
            inputs += [("n", dtype)] * 2
        if need_k:
            inputs += [("n", dtype)] * 3 + [((), torch.bool), ("n", _acc_dtype(dtype))]
            if eager:
                inputs.append(("n", dtype))
        inputs.append((7, f64))
        if not eager:
            inputs += [(cast(_Params, params).vector_length, f64)] + [("n", dtype)] * n_tensors
        inputs += [("n", dtype)] * 2
        return step, inputs

    roles = None
    if loop_store_v_seq is not None:
        from .triton_codegen import Role

        roles = [
            Role("step_in"),
            Role("step_in" if loop_store_v_seq else "neuron"),
            Role("state", "carry"),
            Role("step_in"),
        ]
        if need_k:
            roles += [Role("step_in"), Role("prev_in"), Role("neuron"), Role("first"), Role("state", "acc")]
        roles += [Role("vector"), Role("vector")] + [Role("neuron")] * n_tensors
        roles += [Role("step_out"), Role("state_out", "carry")]
    return _kernel("backward" + "_k" * need_k, params, spiking, dtype, device, build, roles, reverse=True)
