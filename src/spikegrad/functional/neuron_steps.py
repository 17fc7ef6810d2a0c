r"""Neuron state transitions as functions: explicit state in, new state out.

SpikingJelly's step helpers, on spikegrad's single definition of the dynamics
(:mod:`spikegrad.neuron.dynamics`): nothing here reads or writes a module's memory, and the
equations are those the neurons run. With ``theta = v_threshold``, ``v_r = v_reset`` (0 when
``v_reset is None``), ``k = 1/tau`` (LIF) or ``sigmoid(w)`` (PLIF):

.. math::
    H_t = \begin{cases} V_{t-1} + X_t & \text{IF} \\
                        V_{t-1} + k (X_t - (V_{t-1} - v_r)) & \text{LIF, decay\_input} \\
                        V_{t-1} - k (V_{t-1} - v_r) + X_t & \text{LIF} \end{cases}, \quad
    S_t = \Theta(H_t - \theta), \quad
    V_t = \begin{cases} S_t v_r + (1 - S_t) H_t & \text{hard reset} \\
                        H_t - S_t \theta & \text{soft reset} \end{cases}

The ``*_multi_step`` functions run the fused kernels (every registered surrogate, CPU and
GPU) when the surrogate is a spikegrad surrogate module, and the plain loop otherwise.

Example:
    >>> import torch
    >>> from spikegrad import functional, surrogate
    >>> x_seq = torch.tensor([[0.6], [0.6], [1.5], [-0.3], [2.5]])
    >>> spikes, v, v_seq = functional.lif_multi_step(x_seq, torch.zeros(1), 2.0, store_v_seq=True,
    ...                                              backend="reference")
    >>> spikes.flatten()
    tensor([0., 0., 0., 0., 1.])
    >>> [round(value, 4) for value in v_seq.flatten().tolist()]
    [0.3, 0.45, 0.975, 0.3375, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .. import kernels
from ..neuron import dynamics
from ..neuron.base_node import check_bool, check_number, check_time_constant
from ..neuron.dynamics import Dynamics
from ..surrogate import Sigmoid
from ..surrogate._base import REGISTRY, Surrogate

__all__ = [
    "if_multi_step",
    "if_step",
    "lif_charge",
    "lif_multi_step",
    "lif_step",
    "plif_multi_step",
    "plif_step",
    "voltage_reset",
]

SpikeFn = Callable[[Tensor], Tensor]
StepResult = tuple[Tensor, Tensor]
SequenceResult = tuple[Tensor, Tensor, Tensor | None]


# --------------------------------------------------------------------------- pieces of one step


def voltage_reset(
    v: Tensor, spike: Tensor, v_threshold: float, v_reset: float | None, detach_reset: bool
) -> Tensor:
    """The potential after a spike: hard reset to ``v_reset``, or soft reset (``v_reset=None``).

    ``v_reset * s + (1 - s) * v`` (hard) or ``v - s * v_threshold`` (soft), with
    ``s = spike.detach()`` when ``detach_reset``.

    Args:
        v: the charge before the reset.
        spike: the spikes of this step (or the smooth primitive).
        v_threshold: the threshold a soft reset subtracts.
        v_reset: the hard-reset potential, or ``None`` for a soft reset.
        detach_reset: cut the gradient through the reset.

    Returns:
        The potential after the reset.

    Raises:
        TypeError, ValueError: a constant that is not a finite number (or a bool).

    Example:
        >>> import torch
        >>> from spikegrad import functional
        >>> functional.voltage_reset(torch.tensor([1.2, 0.4]), torch.tensor([1.0, 0.0]), 1.0, None, False)
        tensor([0.2000, 0.4000])
    """
    dyn = _dynamics("voltage_reset", v_threshold, v_reset, detach_reset)
    return dynamics.reset(dyn, v, spike)


def lif_charge(x: Tensor, v: Tensor | float, tau: float, decay_input: bool, v_reset: float | None) -> Tensor:
    """The LIF charge ``H`` of one step, before firing and reset.

    ``v + (x - (v - v_r)) / tau`` with ``decay_input``, else ``v - (v - v_r) / tau + x``;
    ``v_r`` is ``v_reset``, or 0 when it is ``None``.

    Args:
        x: this step's input.
        v: the potential after the previous step (a tensor or a number).
        tau: the membrane time constant, a finite number > 1.
        decay_input: scale the input by ``1/tau`` too.
        v_reset: the resting potential (``None``: 0).

    Returns:
        The charge, shaped like ``x`` (broadcast with ``v``).

    Raises:
        TypeError, ValueError: a constant of the wrong type, or ``tau <= 1``.

    Example:
        >>> import torch
        >>> from spikegrad import functional
        >>> functional.lif_charge(torch.tensor([0.6]), torch.tensor([0.3]), 2.0, True, 0.0)
        tensor([0.4500])
    """
    k = 1.0 / check_time_constant("lif_charge", "tau", tau)
    dyn = _dynamics("lif_charge", 1.0, v_reset, False, leaky=True, decay_input=decay_input)
    return dynamics.charge(dyn, v, x, k)


# --------------------------------------------------------------------------- one step


def if_step(
    x: Tensor,
    v: Tensor | float,
    v_threshold: float,
    v_reset: float | None,
    surrogate_function: SpikeFn,
    detach_reset: bool = False,
) -> StepResult:
    """One step of an integrate-and-fire neuron: ``(spike, v_next)``.

    Args:
        x: this step's input.
        v: the potential after the previous step (a tensor or a number).
        v_threshold: the threshold.
        v_reset: the hard-reset potential, or ``None`` for a soft reset.
        surrogate_function: the spike function (e.g. ``surrogate.ATan()``).
        detach_reset: cut the gradient through the reset (default False).

    Returns:
        ``(spike, v_next)``, shaped like ``x``.

    Raises:
        TypeError, ValueError: invalid constants or a surrogate that is not callable.

    Example:
        >>> import torch
        >>> from spikegrad import functional, surrogate
        >>> functional.if_step(torch.tensor([0.6]), torch.tensor([0.6]), 1.0, 0.0, surrogate.ATan())
        (tensor([1.]), tensor([0.]))
    """
    dyn = _dynamics("if_step", v_threshold, v_reset, detach_reset)
    spike, _, v_next = dynamics.step(dyn, _spike_fn("if_step", surrogate_function), x, v, 0.0)
    return spike, v_next


def lif_step(
    x: Tensor,
    v: Tensor | float,
    tau: float,
    decay_input: bool,
    v_threshold: float,
    v_reset: float | None,
    surrogate_function: SpikeFn,
    detach_reset: bool = False,
) -> StepResult:
    """One step of a leaky integrate-and-fire neuron: ``(spike, v_next)``.

    Args:
        x: this step's input.
        v: the potential after the previous step (a tensor or a number).
        tau: the membrane time constant, a finite number > 1.
        decay_input: scale the input by ``1/tau`` too.
        v_threshold, v_reset, surrogate_function, detach_reset: as :func:`if_step`.

    Returns:
        ``(spike, v_next)``, shaped like ``x``.

    Raises:
        TypeError, ValueError: invalid constants or a surrogate that is not callable.

    Example:
        >>> import torch
        >>> from spikegrad import functional, surrogate
        >>> x, v = torch.tensor([1.5]), torch.tensor([0.45])
        >>> functional.lif_step(x, v, 2.0, True, 1.0, 0.0, surrogate.ATan())
        (tensor([0.]), tensor([0.9750]))
    """
    k = 1.0 / check_time_constant("lif_step", "tau", tau)
    dyn = _dynamics("lif_step", v_threshold, v_reset, detach_reset, leaky=True, decay_input=decay_input)
    spike, _, v_next = dynamics.step(dyn, _spike_fn("lif_step", surrogate_function), x, v, k)
    return spike, v_next


def plif_step(
    x: Tensor,
    v: Tensor | float,
    w: Tensor,
    decay_input: bool,
    v_threshold: float,
    v_reset: float | None,
    surrogate_function: SpikeFn,
    detach_reset: bool = False,
) -> StepResult:
    """One step of a parametric LIF neuron (leak ``k = sigmoid(w)``): ``(spike, v_next)``.

    Args:
        x: this step's input.
        v: the potential after the previous step (a tensor or a number).
        w: the learnable parameter (a tensor; gradients flow into it).
        decay_input: scale the input by ``k`` too.
        v_threshold, v_reset, surrogate_function, detach_reset: as :func:`if_step`.

    Returns:
        ``(spike, v_next)``, shaped like ``x``.

    Raises:
        TypeError, ValueError: invalid constants, ``w`` not a floating tensor, or a
            surrogate that is not callable.
    """
    k = torch.sigmoid(_check_w("plif_step", w))
    dyn = _dynamics("plif_step", v_threshold, v_reset, detach_reset, leaky=True, decay_input=decay_input)
    spike, _, v_next = dynamics.step(dyn, _spike_fn("plif_step", surrogate_function), x, v, k)
    return spike, v_next


# --------------------------------------------------------------------------- whole sequences


def if_multi_step(
    x_seq: Tensor,
    v: Tensor | float,
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    surrogate_function: SpikeFn | None = None,
    detach_reset: bool = False,
    store_v_seq: bool = False,
    *,
    backend: str | None = None,
) -> SequenceResult:
    """T steps of an integrate-and-fire neuron from the explicit initial potential ``v``.

    Args:
        x_seq: inputs ``[T, *shape]``.
        v: the initial potential ``[*shape]`` (or a number); it is not modified.
        v_threshold: the threshold (default 1.0).
        v_reset: the hard-reset potential (default 0.0), or ``None`` for a soft reset.
        surrogate_function: the spike function; ``None`` gives ``surrogate.Sigmoid()``.
        detach_reset: cut the gradient through the reset (default False).
        store_v_seq: also return the potential after every step.
        backend: ``'fused'``, ``'reference'``, or ``None`` (default): fused for a
            spikegrad surrogate module, the reference loop for any other callable.

    Returns:
        ``(spike_seq [T, *shape], v_final [*shape], v_seq [T, *shape] or None)``;
        gradients flow to ``x_seq`` and ``v``.

    Raises:
        TypeError, ValueError: invalid constants, input or backend.
    """
    dyn = _dynamics("if_multi_step", v_threshold, v_reset, detach_reset)
    return _run("if_multi_step", dyn, surrogate_function, x_seq, v, 0.0, store_v_seq, backend)


def lif_multi_step(
    x_seq: Tensor,
    v: Tensor | float,
    tau: float = 2.0,
    decay_input: bool = True,
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    surrogate_function: SpikeFn | None = None,
    detach_reset: bool = False,
    store_v_seq: bool = False,
    *,
    backend: str | None = None,
) -> SequenceResult:
    """T steps of a leaky integrate-and-fire neuron from the explicit initial potential ``v``.

    Args:
        x_seq: inputs ``[T, *shape]``.
        v: the initial potential ``[*shape]`` (or a number); it is not modified.
        tau: the membrane time constant, a finite number > 1 (default 2.0).
        decay_input: scale the input by ``1/tau`` too (default True).
        v_threshold, v_reset, surrogate_function, detach_reset, store_v_seq, backend: as
            :func:`if_multi_step`.

    Returns:
        ``(spike_seq, v_final, v_seq or None)`` as :func:`if_multi_step`.

    Raises:
        TypeError, ValueError: invalid constants, input or backend.
    """
    k = 1.0 / check_time_constant("lif_multi_step", "tau", tau)
    dyn = _dynamics("lif_multi_step", v_threshold, v_reset, detach_reset, leaky=True, decay_input=decay_input)
    return _run("lif_multi_step", dyn, surrogate_function, x_seq, v, k, store_v_seq, backend)


def plif_multi_step(
    x_seq: Tensor,
    v: Tensor | float,
    w: Tensor,
    decay_input: bool = True,
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    surrogate_function: SpikeFn | None = None,
    detach_reset: bool = False,
    store_v_seq: bool = False,
    *,
    backend: str | None = None,
) -> SequenceResult:
    """T steps of a parametric LIF neuron (leak ``k = sigmoid(w)``) from the initial potential ``v``.

    Args:
        x_seq: inputs ``[T, *shape]``.
        v: the initial potential ``[*shape]`` (or a number); it is not modified.
        w: the learnable parameter; a one-element ``w`` runs fused, a ``w`` of several
            elements (broadcast against a step) runs the reference loop.
        decay_input: scale the input by ``k`` too (default True).
        v_threshold, v_reset, surrogate_function, detach_reset, store_v_seq, backend: as
            :func:`if_multi_step`.

    Returns:
        ``(spike_seq, v_final, v_seq or None)`` as :func:`if_multi_step`; gradients also
        flow to ``w``.

    Raises:
        TypeError, ValueError: invalid constants, input or backend.
    """
    w = _check_w("plif_multi_step", w)
    dyn = _dynamics(
        "plif_multi_step", v_threshold, v_reset, detach_reset, leaky=True, decay_input=decay_input
    )
    k = torch.sigmoid(w)
    if w.numel() == 1:
        k = k.reshape(())
    elif backend == "fused":
        raise ValueError(
            f"plif_multi_step: the fused backend takes a one-element w, got shape {tuple(w.shape)}"
        )
    else:
        backend = "reference"
    return _run("plif_multi_step", dyn, surrogate_function, x_seq, v, k, store_v_seq, backend)


# --------------------------------------------------------------------------- plumbing


def _dynamics(
    owner: str,
    v_threshold: Any,
    v_reset: Any,
    detach_reset: Any,
    leaky: bool = False,
    decay_input: Any = True,
) -> Dynamics:
    return Dynamics(
        v_threshold=check_number(owner, "v_threshold", v_threshold),
        v_reset=None if v_reset is None else check_number(owner, "v_reset", v_reset),
        detach_reset=check_bool(owner, "detach_reset", detach_reset),
        leaky=leaky,
        decay_input=check_bool(owner, "decay_input", decay_input),
    )


def _spike_fn(owner: str, surrogate_function: Any) -> SpikeFn:
    if surrogate_function is None:
        return Sigmoid()
    if isinstance(surrogate_function, type) or not callable(surrogate_function):
        raise TypeError(
            f"{owner}: surrogate_function must be a spike function such as surrogate.ATan() (an "
            f"instance), got {surrogate_function!r}"
        )
    return surrogate_function  # type: ignore[no-any-return]


def _check_w(owner: str, w: Any) -> Tensor:
    if not isinstance(w, Tensor) or not w.is_floating_point():
        got = w.dtype if isinstance(w, Tensor) else type(w).__name__
        raise TypeError(f"{owner}: w must be a floating-point tensor (k = sigmoid(w)), got {got}")
    return w


def _run(
    owner: str,
    dyn: Dynamics,
    surrogate_function: Any,
    x_seq: Any,
    v: Any,
    k: Tensor | float,
    store_v_seq: Any,
    backend: str | None,
) -> SequenceResult:
    spike_fn = _spike_fn(owner, surrogate_function)
    store_v_seq = check_bool(owner, "store_v_seq", store_v_seq)
    if not isinstance(x_seq, Tensor) or not x_seq.is_floating_point() or x_seq.dim() < 1:
        raise TypeError(f"{owner}: x_seq must be a floating-point tensor [T, *shape], got {_what(x_seq)}")
    if isinstance(v, Tensor):
        if v.shape != x_seq.shape[1:]:
            raise ValueError(
                f"{owner}: v must have the shape of one step {tuple(x_seq.shape[1:])}, got {tuple(v.shape)}"
            )
    else:
        v = check_number(owner, "v", v)
    if backend is None:
        fusable = isinstance(spike_fn, Surrogate) and REGISTRY.get(type(spike_fn).__name__) is type(spike_fn)
        backend = "fused" if fusable else "reference"
    elif backend not in kernels.BACKENDS:
        raise ValueError(f"{owner}: backend must be one of {kernels.BACKENDS} or None, got {backend!r}")
    return kernels.multi_step(backend, dyn, spike_fn, x_seq, v, k, store_v_seq)


def _what(value: object) -> str:
    if isinstance(value, Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__
