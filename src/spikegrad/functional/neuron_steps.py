r"""Neuron state transitions as functions: explicit state in, new state out.

SpikingJelly's step helpers, computed by the neurons themselves (:class:`~spikegrad.neuron.IFNode`,
:class:`~spikegrad.neuron.LIFNode`, :class:`~spikegrad.neuron.ParametricLIFNode`): each call
builds a neuron with the given constants and explicit state, so the equations are the ones
the neuron modules run, written once; nothing here touches a module of the caller. With
``theta = v_threshold``, ``v_r = v_reset`` (0 when ``v_reset is None``), ``k = 1/tau`` (LIF)
or ``sigmoid(w)`` (PLIF):

.. math::
    H_t = \begin{cases} V_{t-1} + X_t & \text{IF} \\
                        V_{t-1} + k (X_t - (V_{t-1} - v_r)) & \text{LIF, decay\_input} \\
                        V_{t-1} - k (V_{t-1} - v_r) + X_t & \text{LIF} \end{cases}, \quad
    S_t = \Theta(H_t - \theta), \quad
    V_t = \begin{cases} S_t v_r + (1 - S_t) H_t & \text{hard reset} \\
                        H_t - S_t \theta & \text{soft reset} \end{cases}

The ``*_multi_step`` functions run the fused kernels (CPU and GPU) unless told
``backend='reference'``.

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
from torch import Tensor, nn

from ..kernels import BACKENDS, reference
from ..neuron import BaseNode, IFNode, LIFNode, ParametricLIFNode
from ..neuron.params import check_bool, check_number

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


class _SpikeCallable(nn.Module):
    """A plain spike function (not a module) in a neuron's surrogate slot."""

    def __init__(self, fn: SpikeFn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)


def _neuron(owner: str, cls: type[BaseNode], surrogate_function: Any = None, **constants: Any) -> BaseNode:
    """A fresh neuron with these constants; errors name ``owner``."""
    if surrogate_function is not None:
        if isinstance(surrogate_function, type) or not callable(surrogate_function):
            raise TypeError(
                f"{owner}: surrogate_function must be a spike function such as surrogate.ATan() (an "
                f"instance), got {surrogate_function!r}"
            )
        if not isinstance(surrogate_function, nn.Module):
            surrogate_function = _SpikeCallable(surrogate_function)
    try:
        return cls(surrogate_function=surrogate_function, **constants)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{owner}: {str(exc).split(': ', 1)[-1]}") from None


def _with_w(node: BaseNode, owner: str, w: Any) -> BaseNode:
    """PLIF with the caller's ``w`` (any floating tensor broadcastable to a step, gradients flowing to it)."""
    if not isinstance(w, Tensor) or not w.is_floating_point():
        got = w.dtype if isinstance(w, Tensor) else type(w).__name__
        raise TypeError(f"{owner}: w must be a floating-point tensor (k = sigmoid(w)), got {got}")
    del node._parameters["w"]
    node._buffers["w"] = w
    return node


def _set_state(node: BaseNode, owner: str, v: Any, like: Tensor, step_shape: torch.Size) -> None:
    if isinstance(v, Tensor):
        if v.shape != step_shape:
            raise ValueError(
                f"{owner}: v must have the shape of one step {tuple(step_shape)}, got {tuple(v.shape)}"
            )
        node.v = v.to(like.dtype)
    else:
        node.v = like.new_full(step_shape, check_number(owner, "v", v))


# --------------------------------------------------------------------------- pieces of one step


def voltage_reset(
    v: Tensor, spike: Tensor, v_threshold: float, v_reset: float | None, detach_reset: bool
) -> Tensor:
    """The potential after a spike: hard reset to ``v_reset``, or soft reset (``v_reset=None``).

    ``v_reset * s + (1 - s) * v`` (hard) or ``v - s * v_threshold`` (soft), with
    ``s = spike.detach()`` when ``detach_reset``: :meth:`BaseNode.neuronal_reset
    <spikegrad.neuron.BaseNode.neuronal_reset>`.

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
    node = _neuron(
        "voltage_reset", IFNode, v_threshold=v_threshold, v_reset=v_reset, detach_reset=detach_reset
    )
    node.v = v
    node.neuronal_reset(spike)
    return node.v  # type: ignore[return-value]


def lif_charge(x: Tensor, v: Tensor | float, tau: float, decay_input: bool, v_reset: float | None) -> Tensor:
    """The LIF charge ``H`` of one step, before firing and reset: :meth:`LIFNode.neuronal_charge
    <spikegrad.neuron.LIFNode.neuronal_charge>`.

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
    node = _neuron("lif_charge", LIFNode, tau=tau, decay_input=decay_input, v_reset=v_reset)
    node.v = v
    node.neuronal_charge(x)
    return node.v  # type: ignore[return-value]


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
    node = _neuron(
        "if_step",
        IFNode,
        surrogate_function,
        v_threshold=v_threshold,
        v_reset=v_reset,
        detach_reset=detach_reset,
    )
    node.v = v
    return reference.single_step(node, x), node.v  # type: ignore[return-value]


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
    node = _neuron(
        "lif_step",
        LIFNode,
        surrogate_function,
        tau=tau,
        decay_input=decay_input,
        v_threshold=v_threshold,
        v_reset=v_reset,
        detach_reset=detach_reset,
    )
    node.v = v
    return reference.single_step(node, x), node.v  # type: ignore[return-value]


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
    node = _neuron(
        "plif_step",
        ParametricLIFNode,
        surrogate_function,
        decay_input=decay_input,
        v_threshold=v_threshold,
        v_reset=v_reset,
        detach_reset=detach_reset,
    )
    node = _with_w(node, "plif_step", w)
    node.v = v
    return reference.single_step(node, x), node.v  # type: ignore[return-value]


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
    backend: str = "auto",
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
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``, as for the neurons.

    Returns:
        ``(spike_seq [T, *shape], v_final [*shape], v_seq [T, *shape] or None)``;
        gradients flow to ``x_seq`` and ``v``.

    Raises:
        TypeError, ValueError: invalid constants, input or backend.
    """
    owner = "if_multi_step"
    node = _neuron(
        owner, IFNode, surrogate_function, v_threshold=v_threshold, v_reset=v_reset, detach_reset=detach_reset
    )
    return _run(owner, node, x_seq, v, store_v_seq, backend)


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
    backend: str = "auto",
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
    owner = "lif_multi_step"
    node = _neuron(
        owner,
        LIFNode,
        surrogate_function,
        tau=tau,
        decay_input=decay_input,
        v_threshold=v_threshold,
        v_reset=v_reset,
        detach_reset=detach_reset,
    )
    return _run(owner, node, x_seq, v, store_v_seq, backend)


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
    backend: str = "auto",
) -> SequenceResult:
    """T steps of a parametric LIF neuron (leak ``k = sigmoid(w)``) from the initial potential ``v``.

    Args:
        x_seq: inputs ``[T, *shape]``.
        v: the initial potential ``[*shape]`` (or a number); it is not modified.
        w: the learnable parameter: one element, or broadcast against a step (per channel).
        decay_input: scale the input by ``k`` too (default True).
        v_threshold, v_reset, surrogate_function, detach_reset, store_v_seq, backend: as
            :func:`if_multi_step`.

    Returns:
        ``(spike_seq, v_final, v_seq or None)`` as :func:`if_multi_step`; gradients also
        flow to ``w``.

    Raises:
        TypeError, ValueError: invalid constants, input or backend.
    """
    owner = "plif_multi_step"
    node = _neuron(
        owner,
        ParametricLIFNode,
        surrogate_function,
        decay_input=decay_input,
        v_threshold=v_threshold,
        v_reset=v_reset,
        detach_reset=detach_reset,
    )
    return _run(owner, _with_w(node, owner, w), x_seq, v, store_v_seq, backend)


# --------------------------------------------------------------------------- plumbing


def _run(owner: str, node: BaseNode, x_seq: Any, v: Any, store_v_seq: Any, backend: Any) -> SequenceResult:
    store_v_seq = check_bool(owner, "store_v_seq", store_v_seq)
    if not isinstance(x_seq, Tensor) or not x_seq.is_floating_point() or x_seq.dim() < 1:
        raise TypeError(f"{owner}: x_seq must be a floating-point tensor [T, *shape], got {_what(x_seq)}")
    if backend not in BACKENDS:
        raise ValueError(f"{owner}: backend must be one of {BACKENDS}, got {backend!r}")
    node.backend = backend
    node.store_v_seq = store_v_seq
    node.step_mode = "m"
    _set_state(node, owner, v, x_seq, x_seq.shape[1:])
    spikes = node(x_seq)
    return spikes, node.v, node.v_seq  # type: ignore[return-value]


def _what(value: object) -> str:
    if isinstance(value, Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__
