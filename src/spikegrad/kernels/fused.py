r"""Fused multi-step neurons: all T steps in one autograd node, for every surrogate.

Forward runs T generated *step kernels* (charge, fire, reset fused into one pass over the
neurons); it saves one tensor per step, the charge ``h``. Backward runs T step kernels in
reverse and recomputes spikes and ``g'(h - theta)`` from ``h``, following the Gradient
section of NEURONS.md:

    sg_t      = g'(h_t - theta)
    dv_t/dh_t = soft: 1 - theta sg_t (detach: 1);  hard: (1 - s_t) + (v_r - h_t) sg_t (detach: 1 - s_t)
    gh_t      = gS_t sg_t + (gV_t + carry_t) dv_t/dh_t
    gx_t      = k gh_t (leaky, decay_input) | gh_t
    carry_t-1 = (1 - k) gh_t (leaky) | gh_t;   grad of v_0 = carry_-1
    gk        = sum_t sum_n gh_t (x_t - (v_t-1 - v_r)) (decay_input) | gh_t (-(v_t-1 - v_r))

The kernels are derived from the surrogate's single definition (``spike``/``primitive`` and
``derivative`` are traced into the step graph), so every built-in and custom surrogate runs
fused with no kernel code of its own. The neuron's constants (threshold, reset, ``k``, the
IF/LIF, decay and reset switches) and the surrogate's float parameters are *runtime*
inputs, so one compiled kernel serves every neuron configuration and parameter value; a
kernel is compiled once per (surrogate class, spiking mode, dtype, device, variant).

Stochastic surrogates (``definition.stochastic``) keep their own random draws exactly as
the reference loop makes them: their ``spike`` (if it is not the Heaviside step) and
``derivative`` run as ordinary torch calls per step, in the same order as autograd would
call them, and the spikes are saved for backward since they cannot be recomputed.

Routes: on the CPU each step is one inductor-generated C++ kernel (~25 us per call). On
CUDA with ``triton`` installed, the same step graphs are translated into ONE Triton kernel
per direction that loops over T with the state in registers (:mod:`.triton_codegen`);
stochastic surrogates, and any graph the translator cannot read, use per-step inductor
(Triton) kernels there.

The op is registered with ``torch.library`` (``spikegrad::multi_step`` and its backward),
with fake kernels, so ``torch.compile(fullgraph=True)`` traces networks that use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..neuron.dynamics import Dynamics
from ..surrogate._base import REGISTRY, Surrogate
from .steps import _backward, _forward, _Params, _Retry, _stochastic_spike

__all__ = ["multi_step"]

# --------------------------------------------------------------------------- torch.library op


def _constants(
    v_threshold: float,
    v_reset: float | None,
    detach_reset: bool,
    leaky: bool,
    decay_input: bool,
    k: Tensor,
    device: torch.device,
) -> Tensor:
    values = [
        v_threshold,
        0.0 if v_reset is None else v_reset,
        leaky,
        decay_input,
        v_reset is not None,
        detach_reset,
    ]
    fixed = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    return torch.cat([fixed, k.detach().to(device=device, dtype=torch.float64).reshape(1)])


def _definition(name: str) -> type[Surrogate]:
    definition = REGISTRY.get(name)
    if definition is None:
        raise ValueError(f"fused kernels: no registered surrogate named {name!r}")
    return definition


def _with_params(
    run: Callable[[_Params], Any],
    definition: type[Surrogate],
    floats: Sequence[float],
    tensor_slots: Sequence[int],
    tensors: Sequence[Tensor],
) -> Any:
    try:
        return run(_Params(definition, floats, tensor_slots, tensors))
    except _Retry:
        return run(_Params(definition, floats, tensor_slots, tensors))


@torch.library.custom_op("spikegrad::multi_step", mutates_args=())
def _multi_step_op(
    x_seq: Tensor,
    v0: Tensor,
    k: Tensor,
    surrogate: str,
    spiking: bool,
    float_params: list[float],
    tensor_slots: list[int],
    tensor_params: list[Tensor],
    v_threshold: float,
    v_reset: float | None,
    detach_reset: bool,
    leaky: bool,
    decay_input: bool,
    store_v_seq: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(spikes, final v, v_seq or an empty tensor, h)`` of T fused steps."""
    c = _constants(v_threshold, v_reset, detach_reset, leaky, decay_input, k, x_seq.device)
    return _with_params(
        lambda params: _forward(x_seq, v0, k, params, spiking, c, store_v_seq),
        _definition(surrogate),
        float_params,
        tensor_slots,
        tensor_params,
    )


@_multi_step_op.register_fake
def _(
    x_seq: Tensor,
    v0: Tensor,
    k: Tensor,
    surrogate: str,
    spiking: bool,
    float_params: list[float],
    tensor_slots: list[int],
    tensor_params: list[Tensor],
    v_threshold: float,
    v_reset: float | None,
    detach_reset: bool,
    leaky: bool,
    decay_input: bool,
    store_v_seq: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    v_seq = torch.empty_like(x_seq) if store_v_seq else x_seq.new_empty(0)
    return torch.empty_like(x_seq), x_seq.new_empty(x_seq.shape[1:]), v_seq, torch.empty_like(x_seq)


@torch.library.custom_op("spikegrad::multi_step_backward", mutates_args=())
def _multi_step_backward_op(
    grad_s: Tensor,
    grad_v: Tensor,
    grad_v_seq: Tensor,
    h_seq: Tensor,
    spikes: Tensor,
    x_seq: Tensor,
    v0: Tensor,
    k: Tensor,
    surrogate: str,
    spiking: bool,
    float_params: list[float],
    tensor_slots: list[int],
    tensor_params: list[Tensor],
    v_threshold: float,
    v_reset: float | None,
    detach_reset: bool,
    leaky: bool,
    decay_input: bool,
    store_v_seq: bool,
    need_k: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """``(grad x_seq, grad v (step shape), grad k (0-dim))``; ``spikes``/``x_seq`` may be empty."""
    c = _constants(v_threshold, v_reset, detach_reset, leaky, decay_input, k, h_seq.device)
    definition = _definition(surrogate)
    saved_spikes = spikes if spikes.numel() or not h_seq.numel() else None
    gx, gv0, gk = _with_params(
        lambda params: _backward(
            grad_s,
            grad_v,
            grad_v_seq if store_v_seq and grad_v_seq.shape == h_seq.shape else None,
            h_seq,
            saved_spikes if _stochastic_spike(definition, spiking) else None,
            x_seq,
            v0,
            k,
            params,
            spiking,
            c,
            need_k,
        ),
        definition,
        float_params,
        tensor_slots,
        tensor_params,
    )
    return gx, gv0, gk.to(k.dtype)


@_multi_step_backward_op.register_fake
def _(
    grad_s: Tensor,
    grad_v: Tensor,
    grad_v_seq: Tensor,
    h_seq: Tensor,
    spikes: Tensor,
    x_seq: Tensor,
    v0: Tensor,
    k: Tensor,
    surrogate: str,
    spiking: bool,
    float_params: list[float],
    tensor_slots: list[int],
    tensor_params: list[Tensor],
    v_threshold: float,
    v_reset: float | None,
    detach_reset: bool,
    leaky: bool,
    decay_input: bool,
    store_v_seq: bool,
    need_k: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    return torch.empty_like(h_seq), h_seq.new_empty(h_seq.shape[1:]), k.new_empty(())


_SETTINGS = (
    "surrogate",
    "spiking",
    "float_params",
    "tensor_slots",
    "tensor_params",
    "v_threshold",
    "v_reset",
    "detach_reset",
    "leaky",
    "decay_input",
    "store_v_seq",
)


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
    x_seq, v0, k, *settings = inputs
    ctx.settings = dict(zip(_SETTINGS, settings, strict=True))
    spikes, _, _, h_seq = output
    definition = _definition(ctx.settings["surrogate"])
    need_k = bool(ctx.needs_input_grad[2]) and ctx.settings["leaky"]
    keep_spikes = _stochastic_spike(definition, ctx.settings["spiking"])
    ctx.need_k = need_k
    # Unused outputs (h always, often v and v_seq) get no zero-filled gradient tensors.
    ctx.set_materialize_grads(False)
    ctx.v0_meta = (v0.shape, v0.dtype)
    ctx.save_for_backward(
        h_seq,
        spikes if keep_spikes else None,
        x_seq if need_k else None,
        v0,
        k,
        *ctx.settings["tensor_params"],
    )


def _backward_autograd(
    ctx: Any, grad_s: Tensor | None, grad_v: Tensor | None, grad_v_seq: Tensor | None, _grad_h: Tensor | None
) -> tuple[Tensor | None, ...]:
    h_seq, spikes, x_seq, v0, k, *tensor_params = ctx.saved_tensors
    settings = dict(ctx.settings, tensor_params=tensor_params)
    empty = h_seq.new_empty(0)
    grad_s = torch.zeros_like(h_seq) if grad_s is None else grad_s
    grad_v = h_seq.new_zeros(()) if grad_v is None else grad_v
    if grad_v_seq is None or not settings["store_v_seq"]:
        grad_v_seq = empty
    gx, gv0, gk = torch.ops.spikegrad.multi_step_backward(
        grad_s,
        grad_v,
        grad_v_seq,
        h_seq,
        empty if spikes is None else spikes,
        empty if x_seq is None else x_seq,
        v0,
        k,
        *(settings[name] for name in _SETTINGS),
        ctx.need_k,
    )
    shape, dtype = ctx.v0_meta
    gv = gv0.sum_to_size(shape).to(dtype) if ctx.needs_input_grad[1] else None
    gk_out = gk if ctx.need_k else None
    # One entry per input, shaped as torch.library flattens them: a list that is empty or all
    # tensors gets a list of None, anything else one None.
    rest = [
        [None] * len(value) if isinstance(value, list) and all(isinstance(e, Tensor) for e in value) else None
        for value in (settings[name] for name in _SETTINGS)
    ]
    return (gx, gv, gk_out, *rest)


_multi_step_op.register_autograd(_backward_autograd, setup_context=_setup_context)


# --------------------------------------------------------------------------- public entry


def multi_step(
    dyn: Dynamics,
    surrogate: Callable[[Tensor], Tensor],
    x_seq: Tensor,
    v: Tensor | float,
    k: Tensor | float,
    store_v_seq: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Run ``T = x_seq.shape[0]`` steps fused; same contract as the reference loop.

    Args:
        dyn: the neuron's equations.
        surrogate: the spike function, a :class:`spikegrad.surrogate.Surrogate` module
            (any built-in or registered custom shape, spiking or not).
        x_seq: inputs, shape ``[T, *shape]``, a floating-point tensor on the CPU or CUDA.
        v: initial potential, a number or a tensor broadcastable to ``shape``.
        k: leak factor (``1/tau`` as a number, or ``sigmoid(w)`` as a 0-dim tensor), ignored for IF.
        store_v_seq: also return the post-reset potential of every step.

    Returns:
        ``(spikes [T, *shape], final v [*shape], v_seq [T, *shape] or None)``; gradients
        flow to ``x_seq``, ``v`` and ``k`` where they require grad.

    Raises:
        TypeError: ``surrogate`` is not a registered surrogate module, or ``x_seq`` is not a
            floating-point tensor with a time dimension.
    """
    if not isinstance(surrogate, Surrogate):
        raise TypeError(
            f"the fused backend needs a spikegrad.surrogate.Surrogate module, got "
            f"{type(surrogate).__name__}; use backend='reference' for other callables"
        )
    definition = type(surrogate)
    if REGISTRY.get(definition.__name__) is not definition:
        raise TypeError(
            f"the fused backend finds surrogates by name; {definition.__name__} is not the "
            f"registered class of that name (define it with register=True)"
        )
    if not isinstance(x_seq, Tensor) or not x_seq.is_floating_point() or x_seq.dim() < 1:
        raise TypeError(
            f"x_seq must be a floating-point tensor shaped [T, *shape], got "
            f"{getattr(x_seq, 'dtype', type(x_seq).__name__)} with shape "
            f"{tuple(getattr(x_seq, 'shape', ()))}"
        )
    v0 = v if isinstance(v, Tensor) else torch.tensor(float(v), dtype=x_seq.dtype, device=x_seq.device)
    k_t = k if isinstance(k, Tensor) else torch.tensor(float(k), dtype=torch.float64, device=x_seq.device)
    floats: list[float] = []
    slots: list[int] = []
    tensors: list[Tensor] = []
    for i, value in enumerate(surrogate.param_values):
        if isinstance(value, Tensor):
            slots.append(i)
            tensors.append(value)
            floats.append(0.0)
        else:
            floats.append(float(value))
    spikes, v_last, v_seq, _ = torch.ops.spikegrad.multi_step(
        x_seq,
        v0,
        k_t,
        definition.__name__,
        surrogate.spiking,
        floats,
        slots,
        tensors,
        float(dyn.v_threshold),
        None if dyn.v_reset is None else float(dyn.v_reset),
        dyn.detach_reset,
        dyn.leaky,
        dyn.decay_input,
        store_v_seq,
    )
    return spikes, v_last, (v_seq if store_v_seq else None)
