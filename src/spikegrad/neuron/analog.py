r"""The leaky integrate-and-analog-fire neuron (LIAF): LIF dynamics, analog output."""

from __future__ import annotations

import inspect
import itertools
import weakref
from collections.abc import Callable
from typing import Any, cast

from torch import Tensor, nn

from .nodes import LIFNode
from .params import REQUIRED, Param, flag

__all__ = ["LIAFNode"]


def _check_callable(owner: str, name: str, value: Any) -> Callable[[Tensor], Tensor]:
    if isinstance(value, type):
        raise TypeError(
            f"{owner}: {name} must be a function or a module instance, got the class "
            f"{value.__name__}; write {value.__name__}() instead"
        )
    if not callable(value):
        raise TypeError(
            f"{owner}: {name} must be a callable mapping a tensor to a tensor (torch.relu, nn.Tanh() ...), "
            f"got {value!r} ({type(value).__name__})"
        )
    return value  # type: ignore[no-any-return]


ACT = Param(
    "act",
    REQUIRED,
    _check_callable,
    "a callable: a function or an nn.Module",
    "the activation that makes the analog output from the potential",
    attribute=False,
)
THRESHOLD_RELATED = flag(
    "threshold_related", REQUIRED, "apply act to h - v_threshold (True) or to h itself (False)"
)


class LIAFNode(LIFNode):
    r"""Leaky integrate-and-analog-fire neuron: a LIF neuron whose output is ``act`` of its
    potential instead of its spikes.

    .. math::
        H_t = V_{t-1} + \frac{1}{\tau}\bigl(X_t - (V_{t-1} - V_{reset})\bigr), \qquad
        Y_t = \begin{cases} \mathrm{act}(H_t - \theta) & \text{threshold\_related} \\
                            \mathrm{act}(H_t) & \text{otherwise} \end{cases}

    (the charge as :class:`~spikegrad.neuron.LIFNode`, ``decay_input`` included). The
    neuron still fires ``S_t = Theta(H_t - theta)`` internally and resets ``V_t`` with it,
    but returns ``Y_t``: the output is not binary. The gradient reaches the input through
    ``act`` and, across steps, through the reset's surrogate.

    ``act`` is any elementwise function (``torch.relu``, ``nn.Tanh()`` ...); a module is a
    submodule, so its parameters are saved in ``state_dict`` under ``act.`` as in
    SpikingJelly. The fused kernels trace ``act`` into the step; an ``act`` with parameters
    of its own (``nn.PReLU()``) cannot be fused: use ``backend='reference'``.

    Args:
        act: the activation, a callable (required).
        threshold_related: apply ``act`` to ``H_t - v_threshold`` rather than to ``H_t``
            (required).
        tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset,
            step_mode, store_v_seq, backend: as :class:`~spikegrad.neuron.LIFNode`.

    Shape:
        as :class:`~spikegrad.neuron.LIFNode`; the output has the input's shape.

    Raises:
        TypeError: ``act`` is not callable (or is a class), ``threshold_related`` is not a
            bool, or either is missing.

    Reference:
        Z. Wu et al., "LIAF-Net: Leaky Integrate and Analog Fire Network for Lightweight and
        Efficient Spatiotemporal Information Processing", IEEE TNNLS 33(11), 2022.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.LIAFNode(torch.tanh, True, step_mode="m")
        >>> [round(y, 4) for y in node(torch.tensor([1.0, 1.0, 3.0])).tolist()]
        [-0.4621, -0.2449, 0.7039]
        >>> node.v  # it fired at the last step: reset to 0
        tensor(0.)
    """

    params = (ACT, THRESHOLD_RELATED, *LIFNode.params)
    act: Callable[[Tensor], Tensor]
    threshold_related: bool

    def setup(self, act: Any = REQUIRED) -> None:  # type: ignore[override]
        self.act = _check_callable(type(self).__name__, "act", act)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "act":
            # The fused kernels are cached by the structure of a neuron's attributes; the
            # function ``act`` is part of the step, so its identity must be part of that key.
            self.__dict__["_act_key"] = _identity(value)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.__dict__["_act_key"] = _identity(self.act)  # identities are per process

    def step(self, x: Tensor) -> Tensor:
        """Charge, analog output, fire, reset. Returns the analog output."""
        self.neuronal_charge(x)
        h = cast(Tensor, self.v)  # a tensor in every step: state is made one at the first call
        output = self.act(h - self.v_threshold if self.threshold_related else h)
        spike = self.neuronal_fire()
        self.neuronal_reset(spike)
        return output

    def extra_repr(self) -> str:
        if isinstance(self.act, nn.Module):
            return super().extra_repr()  # listed as the submodule (act)
        return f"act={getattr(self.act, '__name__', repr(self.act))}, {super().extra_repr()}"


# --------------------------------------------------------------------------- act's identity

#: Serial numbers of the callables that are not named uniquely (lambdas, closures, partials,
#: bound methods, modules of other packages). A serial is never reused, unlike ``id``.
_SERIALS: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
#: The same for callables that cannot be weakly referenced: kept alive, so their id stays theirs.
_PINNED: dict[int, tuple[Any, int]] = {}
_COUNTER = itertools.count()


def _identity(act: Any) -> str:
    """A string that identifies what ``act`` computes, within this process."""
    if isinstance(act, nn.Module):
        kind = type(act)
        stateless = next(itertools.chain(act.parameters(), act.buffers()), None) is None
        if kind.__module__.startswith("torch.nn.") and stateless:
            return f"{kind.__module__}.{kind.__qualname__}: {act!r}"  # the repr shows every argument
        return f"object {_serial(act)}"
    name = getattr(act, "__qualname__", None)
    module = getattr(act, "__module__", None)
    closure = getattr(act, "__closure__", None)
    if isinstance(name, str) and isinstance(module, str) and "<" not in name and closure is None:
        if not inspect.ismethod(act):
            return f"{module}.{name}"
    return f"object {_serial(act)}"


def _serial(act: Any) -> int:
    try:
        serial = _SERIALS.get(act)
        if serial is None:
            serial = _SERIALS[act] = next(_COUNTER)
        return serial
    except TypeError:  # not weakly referenceable, or not hashable
        return _PINNED.setdefault(id(act), (act, next(_COUNTER)))[1]
