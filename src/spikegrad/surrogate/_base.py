"""The machinery that turns one surrogate definition into a module and a function.

A surrogate is defined once, as a subclass of :class:`Surrogate` that states its
parameters, its primitive ``g`` and its derivative ``g'`` (plus its peak and area).
Everything else is derived here: the module's constructor, validation, ``repr``,
buffers for tensor parameters, the ``torch.autograd.Function`` (functional style),
forward-mode AD, vmap support, and the registry that tests, plots, the CLI and the
fused neuron kernels read.
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch
from torch import Tensor, nn

ParamValue = float | int | Tensor

#: Every surrogate class by name, built-ins and custom ones, in definition order.
REGISTRY: dict[str, type[Surrogate]] = {}


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Param:
    """One named parameter of a surrogate: its default and the values it may take.

    Args:
        name: the keyword users pass (``alpha``, ``width`` ...).
        default: value used when the user gives none; ``None`` means required.
        low: smallest allowed value (``None``: unbounded).
        low_inclusive: whether ``low`` itself is allowed.
        high: largest allowed value (``None``: unbounded).
        high_inclusive: whether ``high`` itself is allowed.
        integer: the value must be a Python ``int`` (then tensors are refused).
        doc: one line for docs and ``--help``.
    """

    name: str
    default: float | int | None
    low: float | None = None
    low_inclusive: bool = False
    high: float | None = None
    high_inclusive: bool = False
    integer: bool = False
    doc: str = ""

    @property
    def rule(self) -> str:
        """The allowed range in words, e.g. ``a finite number > 0``."""
        kind = "an integer" if self.integer else "a finite number"
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>=' if self.low_inclusive else '>'} {self.low:g}")
        if self.high is not None:
            bounds.append(f"{'<=' if self.high_inclusive else '<'} {self.high:g}")
        return kind + (" " + " and ".join(bounds) if bounds else "")

    def validate(self, owner: str, value: Any) -> ParamValue:
        """Return ``value`` if it is allowed, else raise ``TypeError``/``ValueError``."""
        where = f"{owner}: parameter {self.name!r}"
        if isinstance(value, bool) or not isinstance(value, numbers.Real | Tensor):
            raise TypeError(f"{where} must be {self.rule}, got {value!r} ({type(value).__name__})")
        if isinstance(value, Tensor):
            if self.integer:
                raise TypeError(f"{where} must be a Python int, got a tensor")
            if not value.is_floating_point():
                raise TypeError(f"{where} must be a floating-point tensor, got dtype {value.dtype}")
            values = value.detach()
        else:
            if self.integer and not isinstance(value, numbers.Integral):
                raise TypeError(f"{where} must be {self.rule}, got {value!r}")
            value = operator.index(cast(numbers.Integral, value)) if self.integer else float(value)
            values = torch.tensor(float(value), dtype=torch.float64)
        ok = torch.isfinite(values)
        if self.low is not None:
            ok &= values >= self.low if self.low_inclusive else values > self.low
        if self.high is not None:
            ok &= values <= self.high if self.high_inclusive else values < self.high
        if not bool(ok.all()):
            bad = values[~ok].flatten()[0].item() if values.dim() else values.item()
            raise ValueError(f"{where} must be {self.rule}, got {bad!r}")
        return value


def positive(name: str, default: float | None, doc: str = "") -> Param:
    """A parameter that must be a finite number > 0."""
    return Param(name, default, low=0.0, doc=doc)


def real(name: str, default: float | None, doc: str = "") -> Param:
    """A parameter that may be any finite number."""
    return Param(name, default, doc=doc)


# --------------------------------------------------------------------------- helpers


def heaviside(x: Tensor) -> Tensor:
    """The spike: ``H(x) = 1`` for ``x >= 0`` (so ``H(0) = H(-0.0) = 1``), else 0, in x's dtype."""
    if x.numel() >= 1 << 16 and _plain(x):
        # One pass: the comparison writes x's dtype directly (``.to`` adds a second pass over memory).
        return torch.ge(x, 0, out=torch.empty_like(x))
    return (x >= 0).to(x.dtype)


def _plain(x: Tensor) -> bool:
    """Not traced, not a functorch/vmap wrapper, no forward-AD tangent: ``out=`` ops are allowed."""
    return not (torch.compiler.is_compiling() or torch._C._functorch.is_functorch_wrapped_tensor(x)
                or torch.autograd.forward_ad.unpack_dual(x).tangent is not None)


def check_input(owner: str, x: Any) -> None:
    """Refuse what a spike function cannot take: non-tensors and integer/bool tensors."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner} expects a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{owner} expects a floating-point tensor (a membrane potential), got dtype "
            f"{x.dtype}; convert it first, e.g. x.float()"
        )


def _cast(params: Sequence[ParamValue], like: Tensor) -> tuple[ParamValue, ...]:
    """Tensor parameters follow the input's dtype and device so the output dtype does too."""
    return tuple(p.to(like) if isinstance(p, Tensor) else p for p in params)


def _snake(name: str) -> str:
    """``PiecewiseLeakyReLU`` -> ``piecewise_leaky_relu``; ``ATan`` -> ``atan``; ``S2NN`` -> ``s2nn``."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name.replace("ReLU", "Relu"))
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s)
    return s.lower().replace("a_tan", "atan")


# --------------------------------------------------------------------------- the function


class SpikeFunction(torch.autograd.Function):
    """Functional style: ``H(x)`` forward, ``grad_out * g'(x)`` backward.

    Each surrogate gets a subclass (``sigmoid``, ``atan`` ...) made by :func:`_make_function`.
    ``apply(x, *params)`` takes the parameters positionally, in the order of the definition.
    The backward is written in differentiable torch ops, so double backward works where
    ``g'`` is smooth; ``jvp`` gives forward-mode AD; the vmap rule is generated.
    """

    generate_vmap_rule = True
    surrogate: ClassVar[type[Surrogate]]
    #: The same Function without ``jvp``. Dynamo cannot trace a custom ``jvp``, so code that is
    #: compiled uses this twin (the modules switch by themselves; functional code inside
    #: ``torch.compile`` calls ``sigmoid.traceable.apply``). Forward-mode AD is then unavailable.
    traceable: ClassVar[type[SpikeFunction]]


def _make_function(definition: type[Surrogate], name: str, with_jvp: bool = True) -> type[SpikeFunction]:
    """Build the autograd Function of one definition (static methods closing over it)."""

    def forward(x: Tensor, *params: ParamValue) -> Tensor:
        check_input(name, x)
        return definition.spike(x, *_cast(params, x))

    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        x, *params = inputs
        tensors = [x] + [p for p in params if isinstance(p, Tensor)]
        ctx.save_for_backward(*tensors)
        ctx.save_for_forward(*tensors)
        ctx.params = tuple(None if isinstance(p, Tensor) else p for p in params)

    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        x, params = _restore(ctx)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = _fused_grad(definition, grad_out, x, params)
            if grad_x is None:
                grad_x = grad_out * definition.derivative(x, *_cast(params, x))
        return (grad_x,) + (None,) * len(params)

    def jvp(ctx: Any, x_t: Tensor, *params_t: Any) -> Tensor:
        x, params = _restore(ctx)
        return x_t * definition.derivative(x, *_cast(params, x))

    methods: list[tuple[str, Callable[..., Any]]] = [
        ("forward", forward), ("setup_context", setup_context), ("backward", backward)]
    body: dict[str, Any] = {key: staticmethod(f) for key, f in methods + [("jvp", jvp)] * with_jvp}
    body.update(surrogate=definition, __module__=definition.__module__, __qualname__=name,
                __doc__=_function_doc(definition, name))
    function = cast(type[SpikeFunction], type(name, (SpikeFunction,), body))
    if with_jvp:
        function.traceable = _make_function(definition, name, with_jvp=False)
    return function


def _fused_grad(definition: type[Surrogate], grad_out: Tensor, x: Tensor,
                params: tuple[ParamValue, ...]) -> Tensor | None:
    """One generated kernel for ``grad_out * g'(x)`` (see :mod:`spikegrad.kernels.pointwise`), or
    ``None``: while double backward is recorded or code is being compiled the eager formula runs."""
    if torch.is_grad_enabled() or torch.compiler.is_compiling():
        return None
    from ..kernels.pointwise import surrogate_grad

    return surrogate_grad(definition, grad_out, x, params)


def _restore(ctx: Any) -> tuple[Tensor, tuple[ParamValue, ...]]:
    x, *tensors = ctx.saved_tensors
    it = iter(tensors)
    return x, tuple(next(it) if p is None else p for p in ctx.params)


# --------------------------------------------------------------------------- the module


class Surrogate(nn.Module):
    """Base of every surrogate: subclass it and write only the definition block.

    A definition sets ``params`` and implements ``primitive`` (``g``), ``derivative``
    (``g'``), ``peak_of`` and ``area_of`` as static functions of ``(x, *params)`` /
    ``(*params)`` written in torch ops. The constructor, validation, buffers, ``repr``,
    the functional form (``cls.function``) and registration are derived from it.

    Calling the module gives ``H(x)`` (``spiking=True``) with ``g'`` as its gradient,
    or the smooth ``g(x)`` (``spiking=False``).

    Class attributes a definition may set:
        params: the parameters, in functional-argument order.
        origin: where users know the shape from (shown in the catalogue table).
        smooth: ``g'`` is differentiable everywhere (double backward is meaningful).
        stochastic: the forward or ``g'`` draws random numbers.
        display_defaults: constructor defaults that are computed (``None`` in the signature),
            written out for the catalogue table, e.g. ``{"grad_window": "(0, max_spike_count)"}``.
    """

    params: ClassVar[tuple[Param, ...]] = ()
    origin: ClassVar[str] = ""
    smooth: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False
    has_primitive: ClassVar[bool] = True
    display_defaults: ClassVar[dict[str, str]] = {}
    function: ClassVar[type[SpikeFunction]]
    traceable_function: ClassVar[type[SpikeFunction]]
    builtin: ClassVar[bool] = False

    # ---- the definition block (overridden per surrogate) ----

    @staticmethod
    def spike(x: Tensor, *params: ParamValue) -> Tensor:
        """Spiking forward; the Heaviside step unless a definition says otherwise."""
        return heaviside(x)

    @staticmethod
    def primitive(x: Tensor, *params: ParamValue) -> Tensor:
        """The smooth step ``g`` (returned when ``spiking=False``)."""
        raise NotImplementedError

    @staticmethod
    def derivative(x: Tensor, *params: ParamValue) -> Tensor:
        """The surrogate gradient ``g'``."""
        raise NotImplementedError

    @staticmethod
    def peak_of(*params: ParamValue) -> ParamValue:
        """``max g'`` at these parameters."""
        raise NotImplementedError

    @staticmethod
    def area_of(*params: ParamValue) -> ParamValue:
        """``integral of g'`` over the real line at these parameters (``inf`` if unbounded)."""
        raise NotImplementedError

    @staticmethod
    def breakpoints(*params: ParamValue) -> list[float]:
        """Where ``g'`` has kinks or jumps (tests put grid points exactly there)."""
        return [0.0]

    # ---- derived ----

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__name__
        fn_name = _snake(name)
        cls.function = _make_function(cls, fn_name)
        cls.traceable_function = cls.function.traceable
        if "__init__" not in cls.__dict__:
            params = [
                inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                  default=inspect.Parameter.empty if p.default is None else p.default)
                for p in cls.params
            ]
            params.append(inspect.Parameter("spiking", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=True))
            cls.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        cls.builtin = cls.__module__.startswith("spikegrad.surrogate.shapes")
        if register:
            if name in REGISTRY and REGISTRY[name] is not cls and REGISTRY[name].builtin:
                raise ValueError(f"a built-in surrogate is already named {name!r}; choose another name")
            REGISTRY[name] = cls

    def __init__(self, *args: Any, spiking: bool | None = None, **kwargs: Any) -> None:
        super().__init__()
        name = type(self).__name__
        names = [p.name for p in self.params]
        if len(args) == len(names) + 1 and isinstance(args[-1], bool):
            # SpikingJelly's order, ``Sigmoid(4.0, False)``: spiking after the parameters
            # (no parameter takes a bool, so the position is unambiguous).
            if spiking is not None:
                raise TypeError(f"{name} got spiking twice (positionally and by keyword)")
            args, spiking = args[:-1], args[-1]
        if len(args) > len(names):
            raise TypeError(f"{name} takes at most {len(names)} positional parameters "
                            f"({', '.join(names) or 'none'}), got {len(args)}")
        given = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{name} got an unknown parameter {key!r}; its parameters are "
                                f"{', '.join(names) or 'none'} (and spiking)")
            if key in given:
                raise TypeError(f"{name} got parameter {key!r} twice")
            given[key] = value
        for p in self.params:
            if p.name not in given:
                if p.default is None:
                    raise TypeError(f"{name} needs parameter {p.name!r} ({p.rule})")
                given[p.name] = p.default
            value = p.validate(name, given[p.name])
            if isinstance(value, Tensor):
                self.register_buffer(p.name, value.detach().clone())
            else:
                setattr(self, p.name, value)
        self._check_params()
        self.set_spiking_mode(True if spiking is None else spiking)

    def _check_params(self) -> None:
        """Relations between parameters (a definition may override); raise ``ValueError``."""

    def set_spiking_mode(self, spiking: bool) -> None:
        """``True``: forward is the spike ``H(x)``; ``False``: forward is the primitive ``g(x)``."""
        if not isinstance(spiking, bool):
            raise TypeError(f"{type(self).__name__}: spiking must be True or False, got {spiking!r}")
        if not spiking and not self.has_primitive:
            raise ValueError(f"{type(self).__name__} has no primitive, so spiking=False is not available")
        self.spiking = spiking

    @property
    def param_values(self) -> tuple[ParamValue, ...]:
        """The current parameters, in functional-argument order (numbers or buffers)."""
        return tuple(getattr(self, p.name) for p in self.params)

    @property
    def peak(self) -> ParamValue:
        """``max g'`` at the current parameters (a tensor for tensor parameters)."""
        return self.peak_of(*self.param_values)

    @property
    def area(self) -> ParamValue:
        """``integral of g'`` at the current parameters; ``inf`` when it diverges, ``nan`` when undefined."""
        return self.area_of(*self.param_values)

    def grad(self, x: Tensor) -> Tensor:
        """``g'(x)`` at the current parameters, in x's dtype (what backward multiplies by)."""
        check_input(type(self).__name__, x)
        return self.derivative(x, *_cast(self.param_values, x))

    def forward(self, x: Tensor) -> Tensor:
        if self.spiking:
            fn = self.traceable_function if torch.compiler.is_compiling() else self.function
            return fn.apply(x, *self.param_values)
        check_input(type(self).__name__, x)
        return self.primitive(x, *_cast(self.param_values, x))

    def extra_repr(self) -> str:
        parts = [f"{p.name}={_fmt(getattr(self, p.name))}" for p in self.params]
        return ", ".join([*parts, f"spiking={self.spiking}"])


def _fmt(value: ParamValue) -> str:
    if isinstance(value, Tensor):
        return f"tensor(shape={list(value.shape)})" if value.numel() > 4 else repr(value.tolist())
    return repr(value)


def _function_doc(cls: type[Surrogate], fn_name: str) -> str:
    args = ", ".join(p.name for p in cls.params)
    call = f"{fn_name}.apply(x{', ' if args else ''}{args})"
    return (f"Functional form of :class:`{cls.__name__}`: ``{call}``.\n\n"
            "Forward: the spike (Heaviside step, H(0) = 1). Backward: ``grad_out * g'(x)``.")


def peak_and_area_numerically(derivative: Callable[[Tensor], Tensor], half_width: float = 1e3,
                              points: int = 2_000_001) -> tuple[float, float]:
    """Estimate ``max g'`` and ``integral g'`` of a shape with no closed form (custom surrogates).

    Uses a float64 grid on ``[-half_width, half_width]`` that is dense near 0 (a cubic
    stretch), and the trapezoid rule. Good to ~1e-6 relative for shapes of width 1e-3..1e2.
    """
    u = torch.linspace(-1.0, 1.0, points, dtype=torch.float64)
    x = half_width * u.abs().pow(3) * u.sign()
    g = derivative(x)
    area = torch.trapezoid(g, x).item()
    tail = g[0].abs().item() + g[-1].abs().item()
    return g.max().item(), (area if tail < 1e-9 else math.inf)
