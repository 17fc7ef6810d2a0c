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
import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

import torch
from torch import Tensor, nn

from ._params import Param, ParamValue, check_call, positive, real

#: Every surrogate class by name, built-ins and custom ones, in definition order.
REGISTRY: dict[str, type[Surrogate]] = {}

__all__ = ["REGISTRY", "Param", "ParamValue", "SpikeFunction", "Surrogate", "check_input", "heaviside",
           "param_partials", "peak_and_area_numerically", "positive", "real"]


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


def _coerced(definition: type[Surrogate], params: Sequence[Any]) -> tuple[ParamValue, ...]:
    """Checked number parameters as the formulas take them (a ``Fraction`` or numpy number: a float)."""
    if torch.compiler.is_compiling() or all(type(p) in (float, int) or isinstance(p, Tensor) for p in params):
        return tuple(params)
    return tuple(spec.coerce(p) for spec, p in zip(definition.params, params, strict=True))


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
    ``apply(x, *params)`` takes the parameters positionally, in the order of the definition,
    and checks them as the constructor does (see :func:`~spikegrad.surrogate._params.check_call`:
    a cache lookup once a set of values has passed). The backward is written in
    differentiable torch ops, so double backward works where ``g'`` is smooth; ``jvp`` gives
    forward-mode AD; the vmap rule is generated.

    A tensor parameter that requires grad gets the gradient the surrogate principle gives
    it: backward acts as if the forward were the primitive ``g``, so
    ``grad_theta = sum(grad_out * dg/dtheta(x))`` over the dimensions ``theta`` was broadcast
    along (see :func:`param_partials`). Shapes without a primitive refuse such parameters.
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
        check_call(definition, name, params, x)
        return definition.spike(x, *_cast(_coerced(definition, params), x))

    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        x, *params = inputs
        tensors = [x] + [p for p in params if isinstance(p, Tensor)]
        ctx.save_for_backward(*tensors)
        ctx.save_for_forward(*tensors)
        ctx.params = tuple(None if isinstance(p, Tensor) else p for p in _coerced(definition, params))

    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        x, params = _restore(ctx)
        grads: list[Tensor | None] = [None] * (1 + len(params))
        if ctx.needs_input_grad[0]:
            grad_x = _fused_grad(definition, grad_out, x, params)
            if grad_x is None:
                grad_x = grad_out * definition.derivative(x, *_cast(params, x))
            grads[0] = grad_x
        wanted = [i for i in range(len(params)) if ctx.needs_input_grad[1 + i]]
        if wanted:
            for i, partial in zip(wanted, param_partials(definition, x, params, wanted), strict=True):
                theta = cast(Tensor, params[i])
                grads[1 + i] = (grad_out * partial).sum_to_size(theta.shape).to(theta.dtype)
        return tuple(grads)

    def jvp(ctx: Any, x_t: Tensor, *params_t: Any) -> Tensor:
        x, params = _restore(ctx)
        out = x_t * definition.derivative(x, *_cast(params, x))
        wanted = [i for i, t in enumerate(params_t) if isinstance(t, Tensor)]
        if wanted:
            for i, partial in zip(wanted, param_partials(definition, x, params, wanted), strict=True):
                out = out + partial * params_t[i].to(x)
        return out

    methods: list[tuple[str, Callable[..., Any]]] = [
        ("forward", forward), ("setup_context", setup_context), ("backward", backward)]
    body: dict[str, Any] = {key: staticmethod(f) for key, f in methods + [("jvp", jvp)] * with_jvp}
    body.update(surrogate=definition, __module__=definition.__module__, __qualname__=name,
                __doc__=_function_doc(definition, name))
    function = cast(type[SpikeFunction], type(name, (SpikeFunction,), body))
    if with_jvp:
        function.traceable = _make_function(definition, name, with_jvp=False)
    return function


def param_partials(definition: type[Surrogate], x: Tensor, params: Sequence[ParamValue],
                   wanted: Sequence[int]) -> list[Tensor]:
    r"""Elementwise ``dg/dtheta_i(x)`` of the primitive for each parameter index in ``wanted``.

    The gradient of a learnable surrogate parameter, in both modes, is
    ``dL/dtheta = sum(dL/ds * dg/dtheta(x))`` summed over the dimensions ``theta`` is broadcast
    along: with ``spiking=False`` that is plain autograd through ``g``; with ``spiking=True`` the
    forward ``H(x)`` does not depend on ``theta`` and backward acts, as it does for ``x``, as if
    the forward were ``g`` (for :class:`BernoulliSigmoid`, ``g`` is the expected spike, so this
    is the gradient of the expected output). Computed by one reverse-mode pass through
    ``definition.primitive`` with ``theta`` expanded to ``x``'s shape, so it composes with
    double backward and ``torch.func``. At ``x = +-inf`` the partials are 0, as ``g'`` is there
    (the limit for every bounded shape; ``0 * inf`` would otherwise give NaN).

    Args:
        definition: the surrogate class (it must have a primitive).
        x: the input ``h - v_threshold``.
        params: all parameters, in definition order; those in ``wanted`` are tensors.
        wanted: indices into ``params``.

    Returns:
        One tensor per index, shaped and typed like ``x``.
    """
    if not definition.has_primitive:
        raise TypeError(f"{definition.__name__} has no primitive, so a parameter has no gradient")
    values = list(_cast(params, x))
    leaves = [torch.as_tensor(values[i]).to(x).expand(x.shape) for i in wanted]

    def primitive_of(*thetas: Tensor) -> Tensor:
        args = list(values)
        for i, theta in zip(wanted, thetas, strict=True):
            args[i] = theta
        return definition.primitive(x, *args)

    g, pull_back = torch.func.vjp(primitive_of, *leaves)[:2]
    finite = torch.isfinite(x)
    partials = pull_back(torch.ones_like(g))
    return [torch.where(finite, partial, torch.zeros_like(partial)) for partial in partials]


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

    Parameters are checked wherever they enter: in the constructor, on assignment
    (``sg.alpha = 0.5``), in ``load_state_dict``, and at each call for what depends on the
    input (the value must fit the input's dtype, the peak gradient must not overflow it, a
    tensor must broadcast to the input's shape); the call-time checks are cached. A parameter
    may be a number, a tensor (copied into a buffer: it follows ``.to()`` and ``state_dict``)
    or an ``nn.Parameter`` (registered as given, so an optimizer learns it; see
    :func:`param_partials` for its gradient).

    Class attributes a definition may set:
        params: the parameters, in functional-argument order.
        origin: where users know the shape from (shown in the catalogue table).
        smooth: ``g'`` is differentiable everywhere (double backward is meaningful).
        stochastic: the forward or ``g'`` draws random numbers.
        numeric_peak: ``peak_of`` is estimated numerically (custom shapes); the call-time
            check that the peak fits the dtype is then skipped.
        display_defaults: constructor defaults that are computed (``None`` in the signature),
            written out for the catalogue table, e.g. ``{"grad_window": "(0, max_spike_count)"}``.

    Raises:
        TypeError: instantiating the base itself, or a definition without a ``derivative``.
    """

    params: ClassVar[tuple[Param, ...]] = ()
    origin: ClassVar[str] = ""
    smooth: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False
    has_primitive: ClassVar[bool] = True
    numeric_peak: ClassVar[bool] = False
    display_defaults: ClassVar[dict[str, str]] = {}
    function: ClassVar[type[SpikeFunction]]
    traceable_function: ClassVar[type[SpikeFunction]]
    builtin: ClassVar[bool] = False
    #: The parameters by name (derived from ``params``).
    _specs: ClassVar[dict[str, Param]] = {}
    #: Number-parameter calls that passed :func:`check_call`, per class.
    _checked_calls: ClassVar[dict[Any, None]] = {}

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

    @classmethod
    def gradient_bound(cls, *params: ParamValue) -> ParamValue:
        """``max |g'|`` at these parameters: the peak, unless ``g'`` also goes negative further.

        Calls refuse parameters whose bound the input's dtype cannot hold (``g'`` would overflow).
        """
        return cls.peak_of(*params)

    @staticmethod
    def check_relations(owner: str, *params: ParamValue) -> None:
        """Rules that tie parameters together (each already valid on its own); raise ``ValueError``."""

    # ---- derived ----

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__name__
        fn_name = _snake(name)
        cls.function = _make_function(cls, fn_name)
        cls.traceable_function = cls.function.traceable
        cls._specs = {p.name: p for p in cls.params}
        cls._checked_calls = {}
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
        cls = type(self)
        name = cls.__name__
        if cls.derivative is Surrogate.derivative:
            if cls is Surrogate:
                raise TypeError(
                    "Surrogate is the abstract base of the surrogates: instantiate a shape (e.g. "
                    "surrogate.ATan()) or define one with surrogate.define, from_derivative or from_primitive"
                )
            raise TypeError(f"{name} does not define derivative(x, *params), the surrogate gradient g' "
                            "that every surrogate needs (see surrogate.define)")
        super().__init__()
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
            self._store(p.name, self._checked(p, given[p.name]))
        self.check_relations(name, *self.param_values)
        self.set_spiking_mode(True if spiking is None else spiking)

    # ---- parameters: checked wherever they are set ----

    def __setattr__(self, name: str, value: Any) -> None:
        # Counts assignments: the fused neuron kernels look again at a surrogate that changed.
        self.__dict__["_assignments"] = self.__dict__.get("_assignments", 0) + 1
        spec = type(self)._specs.get(name)
        if spec is None or "spiking" not in self.__dict__:  # not a parameter, or still in __init__
            super().__setattr__(name, value)
            return
        value = self._checked(spec, value)
        values = [value if p.name == name else getattr(self, p.name) for p in self.params]
        self.check_relations(type(self).__name__, *values)
        self._store(name, value)

    def _checked(self, spec: Param, value: Any) -> ParamValue:
        """``value`` validated for parameter ``spec`` (the constructor's rules and messages)."""
        owner = type(self).__name__
        if isinstance(value, Tensor) and value.requires_grad and not isinstance(value, nn.Parameter):
            raise TypeError(
                f"{owner}: parameter {spec.name!r} got a tensor that requires grad; it would be "
                "copied into a buffer and never learned. Pass an nn.Parameter to learn it, or a "
                "detached tensor (.detach()) for fixed values"
            )
        if isinstance(value, nn.Parameter) and value.requires_grad and not self.has_primitive:
            raise TypeError(
                f"{owner}: parameter {spec.name!r} is learnable, but {type(self).__name__} has no "
                f"primitive g, so dg/d{spec.name} (its gradient) is not defined; pass a number or a "
                "tensor that does not require grad"
            )
        return spec.validate(owner, value)

    def _store(self, name: str, value: ParamValue) -> None:
        """Keep a number as an attribute, a tensor as a buffer (a copy), an ``nn.Parameter`` as itself."""
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self.__dict__.pop(name, None)
        if isinstance(value, nn.Parameter):
            self.register_parameter(name, value)
        elif isinstance(value, Tensor):
            self.register_buffer(name, value.detach().clone())
        else:
            object.__setattr__(self, name, value)  # no longer a parameter or buffer: a plain attribute

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        # The loaded values meet the same rules as assigned ones, before anything is copied.
        owner = f"{type(self).__name__}.load_state_dict"
        values = []
        for p in self.params:
            current = getattr(self, p.name)
            loaded = state_dict.get(prefix + p.name)
            if isinstance(current, Tensor) and isinstance(loaded, Tensor):
                if loaded.shape != current.shape:
                    raise ValueError(
                        f"{owner}: parameter {p.name!r} has shape {tuple(current.shape)} here, the "
                        f"state_dict holds shape {tuple(loaded.shape)}; assign the new value instead "
                        f"(sg.{p.name} = tensor) to change its shape"
                    )
                values.append(p.validate(owner, loaded.detach()))
            else:
                values.append(current)
        self.check_relations(owner, *values)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def learnable_params(self) -> tuple[str, ...]:
        """Names of the parameters that require grad: ``nn.Parameter`` values an optimizer learns."""
        return tuple(p.name for p in self.params
                     if isinstance(getattr(self, p.name), Tensor) and getattr(self, p.name).requires_grad)

    # ---- behaviour ----

    def set_spiking_mode(self, spiking: bool) -> None:
        """``True``: forward is the spike ``H(x)``; ``False``: forward is the primitive ``g(x)``."""
        if not isinstance(spiking, bool):
            raise TypeError(f"{type(self).__name__}: spiking must be True or False, got {spiking!r}")
        if not spiking and not self.has_primitive:
            raise ValueError(f"{type(self).__name__} has no primitive, so spiking=False is not available")
        self.spiking = spiking

    @property
    def param_values(self) -> tuple[ParamValue, ...]:
        """The current parameters, in functional-argument order (numbers, buffers or nn.Parameters)."""
        return tuple(getattr(self, p.name) for p in self.params)

    @property
    def peak(self) -> ParamValue:
        """``max g'`` at the current parameters (a tensor for tensor parameters)."""
        return self.peak_of(*self.param_values)

    @property
    def area(self) -> ParamValue:
        """``integral of g'`` at the current parameters; ``inf`` when it diverges, ``nan`` when undefined."""
        return self.area_of(*self.param_values)

    def check_for(self, x: Tensor) -> None:
        """Raise if ``x`` or the current parameters cannot be used together (see :class:`Surrogate`).

        Every call checks this itself; code that evaluates the definition directly (the fused
        neuron kernels) calls it once per input. Cached: a dictionary lookup after the first time.

        Raises:
            TypeError: ``x`` is not a floating-point tensor.
            ValueError: a parameter does not fit ``x``'s dtype, the gradient would overflow it,
                or a tensor parameter does not broadcast to ``x``'s shape.
        """
        name = type(self).__name__
        check_input(name, x)
        check_call(type(self), name, self.param_values, x)

    def grad(self, x: Tensor) -> Tensor:
        """``g'(x)`` at the current parameters, in x's dtype (what backward multiplies by)."""
        self.check_for(x)
        return self.derivative(x, *_cast(self.param_values, x))

    def forward(self, x: Tensor) -> Tensor:
        if self.spiking:
            fn = self.traceable_function if torch.compiler.is_compiling() else self.function
            return fn.apply(x, *self.param_values)
        self.check_for(x)
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
