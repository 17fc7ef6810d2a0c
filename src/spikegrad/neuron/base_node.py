r"""The spiking neuron: one definition, from which everything else is derived.

A neuron class is its definition, and nothing else:

* ``params``: its constructor arguments (:class:`~.params.Param`: default, allowed values,
  doc), in SpikingJelly's positional order;
* ``state``: its state variables (:class:`~.params.State`: name, value at rest), kept as
  memories under SpikingJelly's names (``node.v``, ``node.w`` ...);
* its **step**, written once as plain torch code on its own attributes, in SpikingJelly's
  three parts: :meth:`BaseNode.neuronal_charge` (update ``self.v`` from the input),
  :meth:`BaseNode.neuronal_fire` (spikes from ``self.v``) and
  :meth:`BaseNode.neuronal_reset` (after a spike).

From it the base class derives the constructor and its signature, validation on
construction and on every later assignment, ``repr``, ``reset``, single-step and
multi-step modes, ``store_v_seq``, the multi-step reference loop (the step, T times), and
the fused kernels: :mod:`spikegrad.kernels` traces the step, its gradient included, into
one C++ (CPU) or Triton (CUDA) kernel per direction. A user's subclass that overrides
``neuronal_charge`` (SpikingJelly's pattern) runs through the same kernels.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .. import kernels
from ..base import MemoryModule
from ..kernels import compiled
from .params import (
    REQUIRED,
    Checked,
    Param,
    State,
    check_surrogate,
    choice,
    flag,
    number,
    optional_number,
)

__all__ = ["DEFAULT_BACKEND", "BaseNode"]

#: Multi-step (and single-step) neurons run the fused kernels where a C++ compiler (CPU) or
#: Triton (CUDA) can build them, else the reference loop with one warning (see :mod:`spikegrad.kernels`).
DEFAULT_BACKEND = "auto"


def _surrogate_or_default(owner: str, name: str, value: Any) -> nn.Module:
    if value is None:
        from ..surrogate import Sigmoid

        return Sigmoid()
    return check_surrogate(owner, name, value)


V_THRESHOLD = number("v_threshold", 1.0, "firing threshold: a spike when the potential reaches it")
V_RESET = optional_number(
    "v_reset", 0.0, "potential after a spike (hard reset); None: subtract v_threshold (soft reset)"
)
SURROGATE = Param(
    "surrogate_function",
    None,
    _surrogate_or_default,
    "a surrogate module; None: a fresh surrogate.Sigmoid()",
    "the spike function: Heaviside forward, its surrogate gradient backward",
)
DETACH_RESET = flag("detach_reset", False, "cut the gradient through the reset")
STEP_MODE = Param("step_mode", "s", None, "'s' or 'm'", "'s': one step per call; 'm': input [T, *shape]")
STORE_V_SEQ = flag("store_v_seq", False, "keep v after every step in v_seq")
BACKEND = choice("backend", DEFAULT_BACKEND, kernels.BACKENDS, "'auto', 'fused' or 'reference'")

#: Attributes whose changes are part of a definition's structure, never of its step.
_FRAMEWORK = frozenset({"step_mode", "store_v_seq", "backend"})


class BaseNode(MemoryModule):
    r"""A spiking neuron: charge, fire ``S = surrogate(H - v_threshold)``, reset.

    .. math::
        H_t = f(V_{t-1}, X_t), \quad S_t = \Theta(H_t - \theta), \quad
        V_t = \begin{cases} S_t V_{reset} + (1 - S_t) H_t & \text{hard reset} \\
                            H_t - S_t \theta & \text{soft reset (v\_reset=None)} \end{cases}

    A subclass defines ``f`` in :meth:`neuronal_charge` (and, where it differs,
    :meth:`neuronal_fire` / :meth:`neuronal_reset`, or the whole :meth:`step`), its extra
    parameters in ``params`` and extra state variables in ``state``.

    Args:
        v_threshold: firing threshold ``theta`` (default 1.0).
        v_reset: potential after a spike (hard reset, default 0.0), or ``None`` for a soft
            reset that subtracts ``theta``. Also the resting potential (0 if ``None``).
        surrogate_function: the spike function; ``None`` gives a fresh
            :class:`~spikegrad.surrogate.Sigmoid` for this neuron. Any surrogate of the
            catalogue, a custom one, or any ``nn.Module`` mapping ``H - theta`` to spikes
            (the fused kernels need a :class:`~spikegrad.surrogate.Surrogate`).
        detach_reset: cut the gradient through the reset (``S.detach()`` in the reset).
        step_mode: ``'s'`` (input ``[*shape]``, one step per call) or ``'m'``
            (input ``[T, *shape]``).
        store_v_seq: keep ``v_seq``, the post-reset potential of every step: the steps of
            the last call in ``'m'`` mode, all steps since the last reset in ``'s'`` mode.
        backend: ``'auto'`` (default: the fused kernels where they can be built, else the
            reference loop with one warning), ``'fused'`` or ``'reference'``.

    Shape:
        ``'s'``: input and output ``[*shape]``, state ``[*shape]``.
        ``'m'``: input and output ``[T, *shape]``, ``v_seq`` ``[T, *shape]``.

    Raises:
        ValueError: a parameter out of range, an unknown step mode or backend, or (when
            called) an input whose shape differs from the stored state: call
            :func:`spikegrad.functional.reset_net` between batches.
        TypeError: arguments of the wrong type, non-floating input.
    """

    params: ClassVar[tuple[Param, ...]] = (
        V_THRESHOLD,
        V_RESET,
        SURROGATE,
        DETACH_RESET,
        STEP_MODE,
        STORE_V_SEQ,
        BACKEND,
    )
    state: ClassVar[tuple[State, ...]] = (
        State("v", lambda node: node.v_rest, "membrane potential; rests at v_reset (0 for soft reset)"),
    )
    #: Where the neuron comes from (the docs' table of neurons).
    origin: ClassVar[str] = "SpikingJelly"
    #: The method that makes one step: ``step`` unless a subclass overrides
    #: ``single_step_forward`` itself (SpikingJelly 0.0.0.0.14's pattern), which is then traced.
    step_method: ClassVar[str] = "step"

    v: Tensor | float
    v_seq: Tensor | None
    surrogate_function: nn.Module
    v_threshold: float
    v_reset: float | None
    detach_reset: bool
    store_v_seq: bool
    backend: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _construct_from_arguments(BaseNode, self, args, kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _install(cls)

    # ---- construction (shared by every generated constructor) ----

    def _construct(self, cls: type[BaseNode], values: dict[str, Any]) -> None:
        if type(self).neuronal_charge is BaseNode.neuronal_charge and type(self).step is BaseNode.step:
            raise TypeError(
                f"{type(self).__name__} is the base of neurons and has no dynamics of its own: subclass "
                "it and define neuronal_charge(self, x), which updates self.v (or use IFNode, LIFNode ...)"
            )
        MemoryModule.__init__(self, values.get("step_mode", "s"))
        owner = type(self).__name__
        for param in cls.params:
            if not param.attribute or param.name == "step_mode":
                continue
            value = values[param.name]
            if param.name == "surrogate_function":
                self.surrogate_function = _surrogate_or_default(owner, param.name, value)
            else:
                setattr(self, param.name, value)
        self.setup(**{p.name: values[p.name] for p in cls.params if not p.attribute})
        for variable in type(self).state:
            self.register_memory(variable.name, variable.value(self))
        self.register_memory("v_seq", None)
        self._kernel_number = compiled.register(self)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name not in self.__dict__.get("_memory_initial", ()):
            # A parameter or a constant may now select other equations: look again next call.
            # (An assignment, not `pop`: dynamo of torch 2.9 cannot trace `__dict__.pop`.)
            self.__dict__["_kernel_layout"] = None

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        for cache in ("_kernel_plans", "_kernel_layout", "_kernel_checked"):  # rebuilt on demand
            state.pop(cache, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._kernel_number = compiled.register(self)  # a copy is another neuron

    def setup(self, **arguments: Any) -> None:
        """Called by the constructor with the arguments that are not attributes (a subclass
        declares them with ``Param(..., attribute=False)``, e.g. PLIF's ``init_tau``)."""
        if arguments:
            raise TypeError(f"{type(self).__name__} does not take {', '.join(arguments)}")

    # ---- state ----

    @property
    def v_rest(self) -> Any:
        """The resting potential: ``v_reset``, or 0 for a soft reset."""
        return 0.0 if self.v_reset is None else self.v_reset

    def reset(self) -> None:
        """Back to rest: every state variable at its resting value (read now: ``v_reset``
        may have changed), no ``v_seq``."""
        super().reset()
        for variable in type(self).state:
            self.__dict__[variable.name] = variable.value(self)

    def state_names(self) -> tuple[str, ...]:
        """The state variables of the step: every memory but the ``v_seq`` record."""
        return tuple(name for name in self._memory_initial if name != "v_seq")

    def v_float_to_tensor(self, x: Tensor) -> None:
        """SpikingJelly's helper: make every state that is still a number a tensor like ``x``."""
        for name in self.state_names():
            value = getattr(self, name)
            if not isinstance(value, Tensor):
                setattr(self, name, torch.full_like(x, float(value)))

    # ---- the definition: one step ----

    def neuronal_charge(self, x: Tensor) -> None:
        """Integrate one input step into ``self.v`` (the charge ``H_t``). Defined by each neuron."""
        raise NotImplementedError(
            f"{type(self).__name__} must define neuronal_charge(self, x), which updates self.v"
        )

    def neuronal_fire(self) -> Tensor:
        """Spikes where ``self.v`` reaches the threshold, with the surrogate's gradient."""
        return self.surrogate_function(self.v - self.v_threshold)

    def neuronal_reset(self, spike: Tensor) -> None:
        """After the spike: ``v`` to ``v_reset`` (hard) or ``v - v_threshold`` (soft)."""
        spike_d = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = self.v - spike_d * self.v_threshold
        else:
            self.v = spike_d * self.v_reset + (1 - spike_d) * self.v

    def step(self, x: Tensor) -> Tensor:
        """One time step on the state: charge, fire, reset. Returns the spikes."""
        self.neuronal_charge(x)
        spike = self.neuronal_fire()
        self.neuronal_reset(spike)
        return spike

    # ---- forward ----

    def single_step_forward(self, x: Tensor) -> Tensor:
        if self.__dict__.get("_binding"):
            # Inside a kernel's trace or the reference loop: just the step.
            return self.step(x)
        self._check_input(x)
        self._materialize(x, x.shape)
        out = kernels.single_step(self, x)
        if self.store_v_seq:
            v_step = self.v.unsqueeze(0)  # type: ignore[union-attr]
            self.v_seq = v_step if self.v_seq is None else torch.cat((self.v_seq, v_step))
        return out

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        self._check_input(x_seq)
        if x_seq.dim() == 0:
            raise ValueError(f"{type(self).__name__} in step_mode 'm' expects [T, *shape], got a 0-d tensor")
        self._materialize(x_seq, x_seq.shape[1:])
        if x_seq.shape[0] == 0:
            # No step: the state stays, the (empty) output still belongs to x_seq's graph.
            self.v_seq = x_seq * 0 if self.store_v_seq else None
            return x_seq * 0
        out, v_seq = kernels.multi_step(self, x_seq, self.store_v_seq)
        self.v_seq = v_seq
        return out

    def _check_input(self, x: Any) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{type(self).__name__} expects a floating-point input, got dtype {x.dtype}")

    def _materialize(self, like: Tensor, step_shape: torch.Size) -> None:
        """Every state variable as a tensor of one step's shape, in the input's dtype and on its device."""
        for name in self.state_names():
            value = getattr(self, name)
            if not isinstance(value, Tensor):
                self.__dict__[name] = like.new_full(step_shape, float(value))
                continue
            if value.shape != step_shape:
                raise ValueError(
                    f"{type(self).__name__}: the input's step shape {tuple(step_shape)} differs from the "
                    f"stored state {name} {tuple(value.shape)}; call spikegrad.functional.reset_net(net) "
                    "before a batch of another shape (state is kept across calls until reset)"
                )
            if value.dtype != like.dtype or value.device != like.device:
                setattr(self, name, value.to(dtype=like.dtype, device=like.device))

    def extra_repr(self) -> str:
        parts = []
        for param in type(self).params:
            if not param.attribute or param.name in ("surrogate_function", "step_mode"):
                continue
            if param.name in _FRAMEWORK and getattr(self, param.name) == param.default:
                continue
            parts.append(f"{param.name}={getattr(self, param.name)!r}")
        parts.append(f"step_mode={self.step_mode!r}")
        return ", ".join(parts)

    @classmethod
    def parameters_doc(cls) -> Iterator[tuple[Param, Any]]:
        """``(param, default)`` of every constructor argument, in order (the docs' table)."""
        for param in cls.params:
            yield param, param.default


def _install(cls: type[BaseNode]) -> None:
    """Derive what a definition implies: validated attributes, the constructor, and which
    method is the step."""
    for param in cls.params:
        if param.attribute and param.check is not None and param.name != "surrogate_function":
            existing = inspect.getattr_static(cls, param.name, None)
            if not isinstance(existing, Checked) or existing.param != param:
                setattr(cls, param.name, Checked(param))
    if "__init__" not in cls.__dict__:
        cls.__init__ = _constructor(cls)  # type: ignore[method-assign]
    if "single_step_forward" in cls.__dict__ and not cls.__module__.startswith("spikegrad."):
        cls.step_method = "single_step_forward"


def _signature(cls: type[BaseNode]) -> inspect.Signature:
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for param in cls.params:
        parameters.append(
            inspect.Parameter(param.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=param.default)
        )
    return inspect.Signature(parameters)


def _construct_from_arguments(cls: type[BaseNode], node: BaseNode, args: Any, kwargs: Any) -> None:
    """The body of ``cls``'s constructor: bind the arguments to ``cls.params``, then build."""
    signature: inspect.Signature = cls.__dict__["__init__"].__signature__
    try:
        bound = signature.bind(node, *args, **kwargs)
    except TypeError as exc:
        names = ", ".join(p.name for p in cls.params)
        raise TypeError(f"{type(node).__name__}: {exc}; its arguments are {names}") from None
    bound.apply_defaults()
    values = dict(bound.arguments)
    values.pop("self")
    missing = [name for name, value in values.items() if value is REQUIRED]
    if missing:
        raise TypeError(f"{type(node).__name__} needs {', '.join(missing)}")
    node._construct(cls, values)


def _constructor(cls: type[BaseNode]) -> Callable[..., None]:
    """``__init__`` taking ``cls.params`` in order, with their defaults."""

    def __init__(self: BaseNode, *args: Any, **kwargs: Any) -> None:
        _construct_from_arguments(cls, self, args, kwargs)

    __init__.__signature__ = _signature(cls)  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__doc__ = f"Build a {cls.__name__}; see the class docstring for the arguments."
    return __init__


BaseNode.__init__.__signature__ = _signature(BaseNode)  # type: ignore[attr-defined]
_install(BaseNode)
