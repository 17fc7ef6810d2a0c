r"""SpikingJelly's surrogate API on spikegrad's machinery: ``SurrogateFunctionBase`` and the
``*_backward`` helpers.

A SpikingJelly user writes a surrogate as a subclass of ``SurrogateFunctionBase`` with two
static methods, ``spiking_function(x, alpha, ...)`` (the Heaviside step with a hand-written
backward, usually an ``autograd.Function``) and ``primitive_function(x, alpha, ...)`` (the
smooth step), and passes its parameters to ``super().__init__(spiking=spiking, alpha=alpha)``.
Here such a class becomes a regular registered spikegrad definition the moment it is
defined:

* its parameters are the arguments of ``spiking_function`` (or ``primitive_function``)
  after ``x``, with the defaults of the subclass's ``__init__``; an argument annotated
  ``int`` is an integer parameter, the others are real numbers (or tensors);
* the spiking forward is ``spiking_function`` itself (the Heaviside step for a class that
  defines only ``primitive_function``);
* the surrogate gradient ``g'`` is the derivative of ``primitive_function`` by autograd
  when the class has one (the hand-written backward of a correct subclass agrees with it:
  SpikingJelly's ``check_manual_grad`` tests exactly that), else the gradient of
  ``spiking_function`` by autograd, i.e. its hand-written backward;
* so the class runs in spikegrad's fused multi-step neurons, ``peak``/``area``, plots and
  the catalogue like any custom surrogate. (A class without ``primitive_function`` whose
  hand-written backward uses in-place ops runs fused one generated kernel per step, rather
  than one loop over all steps.)

Example:
    >>> import math, torch
    >>> from spikegrad import neuron, surrogate
    >>> class MyATan(surrogate.SurrogateFunctionBase):
    ...     def __init__(self, alpha=2.0, spiking=True):
    ...         super().__init__(spiking=spiking, alpha=alpha)
    ...     @staticmethod
    ...     def spiking_function(x, alpha):
    ...         return surrogate.heaviside(x)
    ...     @staticmethod
    ...     def primitive_function(x, alpha):
    ...         return torch.atan(math.pi / 2 * alpha * x) / math.pi + 0.5
    >>> sg = MyATan()
    >>> x = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    >>> sg(x).sum().backward()
    >>> x.grad  # (alpha/2) / (1 + (pi alpha x / 2)^2)
    tensor([0.0920, 1.0000, 0.0920])
    >>> sg, round(sg.peak, 4)
    (MyATan(alpha=2.0, spiking=True), 1.0)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ._base import Param, ParamValue, Surrogate, real
from .custom import _derivative_by_autograd, _numeric_peak_area, peak_and_area_numerically
from .shapes import (
    ATan,
    Erf,
    FakeNumericalGradient,
    LeakyKReLU,
    LogTailedReLU,
    NonzeroSignLogAbs,
    PiecewiseExp,
    PiecewiseLeakyReLU,
    PiecewiseQuadratic,
    Rect,
    Sigmoid,
    SoftSign,
    SuperSpike,
)

__all__ = [
    "SurrogateFunctionBase",
    "atan_backward",
    "erf_backward",
    "fake_numerical_gradient_backward",
    "leaky_k_relu_backward",
    "log_tailed_relu_backward",
    "nonzero_sign_log_abs_backward",
    "piecewise_exp_backward",
    "piecewise_leaky_relu_backward",
    "piecewise_quadratic_backward",
    "rect_backward",
    "sigmoid_backward",
    "soft_sign_backward",
    "super_spike_backward",
]


class SurrogateFunctionBase(Surrogate, register=False):
    """SpikingJelly's base class of surrogate functions; subclasses become registered surrogates.

    Subclass it as in SpikingJelly: define the static methods ``spiking_function(x, ...)``
    and/or ``primitive_function(x, ...)`` and pass the parameters to ``super().__init__``.
    The module then behaves like any spikegrad surrogate (validation, ``repr``, ``spiking``
    flag, ``peak``/``area``, fused neuron kernels); see the module docstring for how the
    definition is derived.

    The constructor takes the parameters by keyword (SpikingJelly 2.0:
    ``super().__init__(spiking=spiking, alpha=alpha)``) or positionally, with ``spiking`` as
    a bool first (``super().__init__(spiking, alpha=alpha)``) or last
    (SpikingJelly 0.0.0.0.14: ``super().__init__(alpha, spiking)``).

    Raises:
        TypeError: (at class definition) ``spiking_function``/``primitive_function`` is not a
            static method taking ``x`` first; (at construction) unknown or missing parameters,
            or ``spiking`` given twice.
        ValueError: a parameter that is not a finite number (NaN, inf), or the class's name
            is a built-in surrogate's.
    """

    #: The subclass defines spiking_function and/or primitive_function (set per class).
    _has_definition: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        shape_fns = {name: _static_shape_fn(cls, name) for name in ("spiking_function", "primitive_function")}
        cls._has_definition = any(fn is not None for fn in shape_fns.values())
        if cls._has_definition:
            _install_definition(cls, shape_fns["spiking_function"], shape_fns["primitive_function"])
        kwargs.setdefault("register", cls._has_definition)
        super().__init_subclass__(**kwargs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        spiking = kwargs.pop("spiking", None)
        positional = list(args)
        for index in (0, len(positional) - 1) if positional else ():
            if isinstance(positional[index], bool):
                if spiking is not None:
                    raise TypeError(f"{type(self).__name__} got spiking twice (positionally and by keyword)")
                spiking = positional.pop(index)
                break
        if self._has_definition:
            super().__init__(*positional, spiking=spiking, **kwargs)
            return
        # No definition: a subclass with a forward of its own (SpikingJelly allows it). Keep
        # its parameters as plain attributes, as SpikingJelly does; it runs unfused.
        if len(positional) > 1:
            raise TypeError(
                f"{type(self).__name__}: without spiking_function/primitive_function the base class takes "
                f"the parameters by keyword, got {len(positional)} positional values"
            )
        if positional:  # SpikingJelly 0.0.0.0.14's SurrogateFunctionBase(alpha, spiking)
            kwargs = {"alpha": positional[0], **kwargs}
        nn.Module.__init__(self)
        self._plain_params = tuple(kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)
        self.set_spiking_mode(True if spiking is None else spiking)

    def forward(self, x: Tensor) -> Tensor:
        if not self._has_definition:
            raise NotImplementedError(
                f"{type(self).__name__} defines neither spiking_function nor primitive_function (static "
                "methods taking x and the parameters) nor its own forward"
            )
        return super().forward(x)

    def extra_repr(self) -> str:
        if self._has_definition:
            return super().extra_repr()
        parts = [f"{key}={getattr(self, key)!r}" for key in getattr(self, "_plain_params", ())]
        return ", ".join([*parts, f"spiking={self.spiking}"])

    @staticmethod
    def spiking_function(x: Tensor, **params: Any) -> Tensor:
        """The spike ``H(x)`` with the surrogate gradient in backward (subclasses define it)."""
        raise NotImplementedError("subclasses of SurrogateFunctionBase define spiking_function")

    @staticmethod
    def primitive_function(x: Tensor, **params: Any) -> Tensor:
        """The smooth step ``g(x)`` (subclasses may define it)."""
        raise NotImplementedError("subclasses of SurrogateFunctionBase may define primitive_function")


# --------------------------------------------------------------------------- deriving the definition


def _static_shape_fn(cls: type, name: str) -> Callable[..., Tensor] | None:
    """The subclass's own ``spiking_function`` or ``primitive_function`` (``None``: the base's)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            if klass is SurrogateFunctionBase:
                return None
            raw = klass.__dict__[name]
            if not isinstance(raw, staticmethod):
                raise TypeError(
                    f"{cls.__name__}.{name} must be a @staticmethod taking (x, *parameters), as in "
                    f"SpikingJelly; got {type(raw).__name__}"
                )
            fn: Callable[..., Tensor] = raw.__func__
            return fn
    return None


def _install_definition(
    cls: type[Surrogate],
    spiking_function: Callable[..., Tensor] | None,
    primitive_function: Callable[..., Tensor] | None,
) -> None:
    """Give ``cls`` the definition block spikegrad's machinery reads (params, spike, primitive,
    derivative, peak/area), derived from its SpikingJelly-style static methods."""
    source = spiking_function or primitive_function
    assert source is not None  # the caller checked
    params = _params(cls, source)
    names = tuple(p.name for p in params)

    def by_name(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        # SpikingJelly calls the static methods with keyword parameters; spikegrad positionally.
        @functools.wraps(fn)
        def call(x: Tensor, *values: ParamValue) -> Tensor:
            return fn(x, **dict(zip(names, values, strict=True)))

        return call

    body: dict[str, Any] = {"params": params, "origin": "SpikingJelly-style subclass", "smooth": False}
    if spiking_function is not None:
        body["spike"] = staticmethod(by_name(spiking_function))
    if primitive_function is not None:
        body["primitive"] = staticmethod(by_name(primitive_function))
        # Functionalised, so that in-place ops in the user's primitive (SpikingJelly writes
        # ``.atan_()``) trace into out-of-place ones the fused loop kernels can translate.
        derivative = torch.func.functionalize(_derivative_by_autograd(by_name(primitive_function)))
    else:
        body["has_primitive"] = False
        derivative = _gradient_of(by_name(spiking_function))  # type: ignore[arg-type]
    body["derivative"] = staticmethod(derivative)

    @functools.lru_cache(maxsize=64)
    def at_point(*values: float) -> tuple[float, float]:
        return peak_and_area_numerically(lambda x: derivative(x, *values))

    body["peak_of"] = staticmethod(lambda *values: _numeric_peak_area(at_point, values)[0])
    body["area_of"] = staticmethod(lambda *values: _numeric_peak_area(at_point, values)[1])
    for key, value in body.items():
        setattr(cls, key, value)


def _params(cls: type, source: Callable[..., Tensor]) -> tuple[Param, ...]:
    """The parameters: ``source``'s arguments after ``x`` (or, if it takes ``**kwargs``, the
    subclass ``__init__``'s arguments besides ``spiking``), with ``__init__``'s defaults."""
    arguments = list(inspect.signature(source).parameters.values())
    if not arguments or arguments[0].kind not in (
        arguments[0].POSITIONAL_ONLY,
        arguments[0].POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(f"{cls.__name__}.{source.__name__} must take the input x as its first argument")
    init = next((k.__dict__["__init__"] for k in cls.__mro__ if "__init__" in k.__dict__), None)
    own_init = (
        init is not None and init is not SurrogateFunctionBase.__init__ and init is not Surrogate.__init__
    )
    init_arguments = list(inspect.signature(init).parameters.values())[1:] if own_init else []  # type: ignore[arg-type]
    defaults = {a.name: a.default for a in init_arguments if a.default is not inspect.Parameter.empty}
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    named = [a for a in arguments[1:] if a.kind not in variadic]
    if any(a.kind in variadic for a in arguments[1:]):
        named = [a for a in init_arguments if a.name != "spiking" and a.kind not in variadic]
    params = []
    for argument in named:
        default = defaults.get(argument.name, argument.default)
        default = None if default is inspect.Parameter.empty else default
        integer = argument.annotation in (int, "int")
        if integer:
            params.append(Param(argument.name, default, integer=True))
        else:
            params.append(real(argument.name, default))
    return tuple(params)


def _gradient_of(spiking_function: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``g'`` as the gradient of the spiking function by autograd: its hand-written backward.

    Plain reverse mode (``torch.autograd.grad``) rather than ``torch.func``: SpikingJelly
    subclasses often use old-style ``autograd.Function`` s (``forward(ctx, ...)``), which
    ``torch.func`` cannot differentiate.
    """

    def derivative(x: Tensor, *params: ParamValue) -> Tensor:
        with torch.enable_grad():
            # A fresh leaf: a clone when x needs no gradient (a plain copy the kernel translators
            # know), else a detached view.
            leaf = (x.detach() if x.requires_grad else x.clone()).requires_grad_(True)
            out = spiking_function(leaf, *params)
            (grad,) = torch.autograd.grad(out, leaf, torch.ones_like(out), allow_unused=True)
        return torch.zeros_like(x) if grad is None else grad

    return derivative


# --------------------------------------------------------------------------- the *_backward helpers


def _backward_helper(definition: type[Surrogate], name: str) -> Callable[..., tuple[Tensor | None, ...]]:
    """SpikingJelly's ``<name>_backward(grad_output, x, *params)``: ``(grad_output * g'(x), None, ...)``
    with one ``None`` per parameter, from the definition's own ``g'``."""
    arguments = ", ".join(p.name for p in definition.params)

    def backward(grad_output: Tensor, x: Tensor, *params: ParamValue) -> tuple[Tensor | None, ...]:
        if len(params) != len(definition.params):
            raise TypeError(
                f"{name}(grad_output, x, {arguments}) takes {len(definition.params)} parameter(s), "
                f"got {len(params)}"
            )
        return (grad_output * definition.derivative(x, *params), *(None,) * len(params))

    backward.__name__ = backward.__qualname__ = name
    backward.__module__ = __name__
    backward.__doc__ = (
        f"The backward of :class:`~spikegrad.surrogate.{definition.__name__}` as SpikingJelly's helper: "
        f"``{name}(grad_output, x, {arguments})`` returns ``(grad_output * g'(x), None, ...)``: the "
        "gradient and one ``None`` per parameter (what an ``autograd.Function.backward`` returns)."
    )
    return backward


piecewise_quadratic_backward = _backward_helper(PiecewiseQuadratic, "piecewise_quadratic_backward")
piecewise_exp_backward = _backward_helper(PiecewiseExp, "piecewise_exp_backward")
sigmoid_backward = _backward_helper(Sigmoid, "sigmoid_backward")
soft_sign_backward = _backward_helper(SoftSign, "soft_sign_backward")
super_spike_backward = _backward_helper(SuperSpike, "super_spike_backward")
atan_backward = _backward_helper(ATan, "atan_backward")
nonzero_sign_log_abs_backward = _backward_helper(NonzeroSignLogAbs, "nonzero_sign_log_abs_backward")
erf_backward = _backward_helper(Erf, "erf_backward")
piecewise_leaky_relu_backward = _backward_helper(PiecewiseLeakyReLU, "piecewise_leaky_relu_backward")
leaky_k_relu_backward = _backward_helper(LeakyKReLU, "leaky_k_relu_backward")
fake_numerical_gradient_backward = _backward_helper(FakeNumericalGradient, "fake_numerical_gradient_backward")
log_tailed_relu_backward = _backward_helper(LogTailedReLU, "log_tailed_relu_backward")
rect_backward = _backward_helper(Rect, "rect_backward")
