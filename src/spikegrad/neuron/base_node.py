"""The stateful neuron module shared by IF, LIF and PLIF.

The equations live in :mod:`spikegrad.neuron.dynamics`; a node holds the constants, the
surrogate and the state ``v``, and hands a whole sequence to :func:`spikegrad.kernels.multi_step`.
"""

from __future__ import annotations

import abc
import math
import numbers
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from .. import kernels
from ..base import MemoryModule
from ..surrogate import Sigmoid
from . import dynamics
from .dynamics import Dynamics

#: Multi-step neurons run the fused kernels unless told otherwise; 'reference' is the plain loop.
DEFAULT_BACKEND = "fused"


# --------------------------------------------------------------------------- validation


def check_number(owner: str, name: str, value: Any, low: float | None = None) -> float:
    """A finite real number (``> low`` when given), returned as ``float``.

    Raises:
        TypeError: not a real number (bools and tensors are refused).
        ValueError: NaN, infinite, or not above ``low``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value) or (low is not None and not value > low):
        rule = "a finite number" + (f" > {low:g}" if low is not None else "")
        raise ValueError(f"{owner}: {name} must be {rule}, got {value!r}")
    return value


def check_bool(owner: str, name: str, value: Any) -> bool:
    """``True`` or ``False``; anything else is a ``TypeError``."""
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return value


def check_surrogate(owner: str, value: Any) -> nn.Module:
    """A surrogate module instance (any ``nn.Module`` mapping ``h - v_threshold`` to spikes)."""
    if isinstance(value, type) and issubclass(value, nn.Module):
        raise TypeError(
            f"{owner}: surrogate_function must be an instance, got the class {value.__name__}; "
            f"write {value.__name__}() instead"
        )
    if not isinstance(value, nn.Module):
        raise TypeError(
            f"{owner}: surrogate_function must be a surrogate module (e.g. surrogate.ATan(), or a "
            f"custom one from surrogate.from_derivative), got {value!r} ({type(value).__name__})"
        )
    return value


class Checked:
    """An attribute validated on every assignment, so ``node.v_threshold = x`` is as strict
    as the constructor. ``check(owner_name, attribute_name, value)`` returns the stored value."""

    def __init__(self, check: Callable[[str, str, Any], Any]) -> None:
        self.check = check

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.slot = "_" + name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        return self if obj is None else obj.__dict__[self.slot]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = self.check(type(obj).__name__, self.name, value)


def check_time_constant(owner: str, name: str, value: Any) -> float:
    """A finite number > 1 (a leak of ``1/tau`` per step must lie in (0, 1))."""
    return check_number(owner, name, value, low=1.0)


def _check_backend(owner: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or value not in kernels.BACKENDS:
        raise ValueError(f"{owner}: {name} must be one of {kernels.BACKENDS}, got {value!r}")
    return value


def _check_v_reset(owner: str, name: str, value: Any) -> float | None:
    return None if value is None else check_number(owner, name, value)


# --------------------------------------------------------------------------- the node


class BaseNode(MemoryModule, abc.ABC):
    r"""A spiking neuron: charge, fire ``S = surrogate(H - v_threshold)``, reset.

    Subclasses say how the neuron charges (:meth:`charge_equation`); everything else,
    state, step modes, validation and the choice of kernel, lives here.

    Per step (see :mod:`spikegrad.neuron.dynamics`), with ``theta = v_threshold``:

    .. math::
        H_t = f(V_{t-1}, X_t), \quad S_t = \Theta(H_t - \theta), \quad
        V_t = \begin{cases} S_t V_{reset} + (1 - S_t) H_t & \text{hard reset} \\
                            H_t - S_t \theta & \text{soft reset (v\_reset=None)} \end{cases}

    Args:
        v_threshold: firing threshold ``theta`` (default 1.0).
        v_reset: potential after a spike (hard reset, default 0.0), or ``None`` for a soft
            reset that subtracts ``theta``. Also the initial and resting potential (0 if None).
        surrogate_function: the spike function; ``None`` gives a fresh
            :class:`~spikegrad.surrogate.Sigmoid` for this neuron. Any surrogate of the
            catalogue, a custom one, or any ``nn.Module`` mapping ``H - theta`` to spikes.
        detach_reset: cut the gradient through the reset (``r = S.detach()``).
        step_mode: ``'s'`` (input ``[*shape]``, one step per call) or ``'m'``
            (input ``[T, *shape]``).
        store_v_seq: keep ``v_seq``, the post-reset potential of every step: the steps of
            the last call in ``'m'`` mode, all steps since the last reset in ``'s'`` mode.
        backend: multi-step kernel, one of :data:`spikegrad.kernels.BACKENDS`.

    Shape:
        ``'s'``: input and output ``[*shape]``, state ``v`` ``[*shape]``.
        ``'m'``: input and output ``[T, *shape]``, ``v_seq`` ``[T, *shape]``.

    Raises:
        ValueError: a threshold is NaN/infinite, an unknown step mode or backend, or (when
            called) an input whose shape differs from the stored state: call
            :func:`spikegrad.functional.reset_net` between batches.
        TypeError: arguments of the wrong type, non-floating input.
    """

    v: Tensor | float  # memories
    v_seq: Tensor | None
    v_threshold = Checked(check_number)
    v_reset = Checked(_check_v_reset)
    detach_reset = Checked(check_bool)
    store_v_seq = Checked(check_bool)
    backend = Checked(_check_backend)

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module | None = None,
        detach_reset: bool = False,
        step_mode: str = "s",
        store_v_seq: bool = False,
        backend: str = DEFAULT_BACKEND,
    ) -> None:
        super().__init__(step_mode)
        name = type(self).__name__
        self.v_threshold = v_threshold
        self.v_reset = v_reset
        self.surrogate_function = check_surrogate(
            name, Sigmoid() if surrogate_function is None else surrogate_function
        )
        self.detach_reset = detach_reset
        self.store_v_seq = store_v_seq
        self.backend = backend
        self.register_memory("v", 0.0 if self.v_reset is None else self.v_reset)
        self.register_memory("v_seq", None)

    def reset(self) -> None:
        """Back to rest: ``v = v_reset`` (0 for a soft reset, read now: it may have changed), no ``v_seq``."""
        super().reset()
        self.v = 0.0 if self.v_reset is None else self.v_reset

    # ---- what subclasses define ----

    @abc.abstractmethod
    def charge_equation(self) -> tuple[bool, bool, Tensor | float]:
        """``(leaky, decay_input, k)``: IF or LIF-type charge, and its leak factor ``k``."""

    # ---- the equations, read from the current attributes ----

    @property
    def dynamics(self) -> Dynamics:
        """The neuron's equations with its current constants (attributes may change between calls)."""
        return self._equations()[0]

    def _equations(self) -> tuple[Dynamics, Tensor | float]:
        leaky, decay_input, k = self.charge_equation()
        return Dynamics(self.v_threshold, self.v_reset, self.detach_reset, leaky, decay_input), k

    # ---- forward ----

    def single_step_forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        dyn, k = self._equations()
        spike, _, self.v = dynamics.step(dyn, self.surrogate_function, x, self._state(x, x.shape), k)
        if self.store_v_seq:
            v_step = self.v.unsqueeze(0)
            self.v_seq = v_step if self.v_seq is None else torch.cat((self.v_seq, v_step))
        return spike

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        self._check_input(x_seq)
        if x_seq.dim() == 0:
            raise ValueError(f"{type(self).__name__} in step_mode 'm' expects [T, *shape], got a 0-d tensor")
        dyn, k = self._equations()
        v = self._state(x_seq, x_seq.shape[1:])
        spikes, self.v, v_seq = kernels.multi_step(
            self.backend, dyn, self.surrogate_function, x_seq, v, k, self.store_v_seq
        )
        self.v_seq = v_seq
        return spikes

    def _check_input(self, x: Any) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{type(self).__name__} expects a floating-point input, got dtype {x.dtype}")

    def _state(self, like: Tensor, step_shape: torch.Size) -> Tensor:
        """``v`` as a tensor of one step's shape, in the input's dtype and on its device."""
        v = self.v
        if not isinstance(v, Tensor):
            return like.new_full(step_shape, float(v))
        if v.shape != step_shape:
            raise ValueError(
                f"{type(self).__name__}: the input's step shape {tuple(step_shape)} differs from the "
                f"stored state v {tuple(v.shape)}; call spikegrad.functional.reset_net(net) before "
                "a batch of another shape (state is kept across calls until reset)"
            )
        if v.dtype != like.dtype or v.device != like.device:
            v = v.to(dtype=like.dtype, device=like.device)
        return v

    def extra_repr(self) -> str:
        parts = [
            f"v_threshold={self.v_threshold}",
            f"v_reset={self.v_reset}",
            f"detach_reset={self.detach_reset}",
            f"step_mode={self.step_mode!r}",
            f"backend={self.backend!r}",
        ]
        if self.store_v_seq:
            parts.append("store_v_seq=True")
        return ", ".join(parts)
