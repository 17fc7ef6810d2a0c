"""Fuzz cases for every surrogate: constructor, assignment, functional form, primitive, ``grad``
and ``load_state_dict``, each with drawn parameters and inputs.

What a surrogate promises when the call goes through (see SURROGATES.md and the docstrings):

* the spike has the input's shape and dtype and is ``H(x)`` in {0, 1} (``MultiLevelSpikeCount``:
  integer counts in ``[0, K]``) wherever ``x`` is not NaN;
* the gradient with respect to ``x`` is finite wherever ``x`` is not NaN, ``+-inf`` included;
* the primitive and its autograd gradient have no NaN that ``x`` did not hold;
* a learnable parameter gets a finite gradient when ``x`` holds no NaN.

Shapes whose parameters come from a function's signature (any finite number) run the same
calls, but their numbers are the author's formula: only the machinery (validation, errors,
shapes, dtypes) is held to the contract there.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import torch
from hypothesis import strategies as st
from torch import Tensor

from spikegrad import surrogate
from spikegrad.surrogate import Surrogate

from .contract import Case, assert_finite_where, assert_no_new_nan, describe
from .custom import CUSTOM
from .values import any_value, inputs, moderate, param_tensors

CLASSES: list[type[Surrogate]] = [*surrogate.builtins(), *CUSTOM]
#: Custom shapes whose parameter rules come from a signature: their numerics are the author's.
AUTHOR_NUMERICS = {"FuzzTent", "FuzzSoftStep"}

FORMS = ("module", "function", "assign", "primitive", "grad", "load_state_dict")
#: Words an input error names.
INPUT_WORDS = ("tensor", "Tensor", "0 <= x <= 1", "input", "probabilit")


def _constructor_kwargs(cls: type[Surrogate], params: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as the constructor takes them (MultiLevelSpikeCount takes a window)."""
    if cls is surrogate.MultiLevelSpikeCount:
        return {"max_spike_count": params["max_spike_count"],
                "grad_window": (params["grad_min"], params["grad_max"])}
    return dict(params)


@st.composite
def surrogate_cases(draw: st.DrawFn, cls: type[Surrogate]) -> Case:
    """One call of ``cls`` in one of its forms, with drawn (mostly plausible, often broken) values."""
    floats = [p.name for p in cls.params if not p.integer]
    unavailable = {"primitive": not cls.has_primitive, "assign": not cls.params,
                   "load_state_dict": not floats}
    form = draw(st.sampled_from([f for f in FORMS if not unavailable.get(f)]))
    valid = draw(st.integers(0, 3)) == 0  # a quarter of the cases: documented-valid values only
    params = {p.name: draw(moderate(p) if valid else st.one_of(moderate(p), any_value(p)))
              for p in cls.params}
    if cls is surrogate.MultiLevelSpikeCount and valid:
        k = params["max_spike_count"]
        params["grad_min"], params["grad_max"] = sorted([draw(st.floats(-1, k + 1)) for _ in range(2)])
    x = draw(inputs(probabilities=cls is surrogate.PoissonPass, valid=valid))
    if isinstance(x, Tensor) and x.is_floating_point() and draw(st.booleans()):
        x.requires_grad_()
    names = (*(p.name for p in cls.params), "grad_window", "spiking", *INPUT_WORDS)
    check = _checker(cls)
    shown = ", ".join(f"{k}={describe(v)}" for k, v in params.items())
    label = f"{cls.__name__}[{form}]({shown})(x={describe(x)})"

    if form == "module":
        choices = [True, False] if cls.has_primitive else [True]
        spiking = draw(st.sampled_from(choices if valid else [*choices, "yes", 1]))
        label = label.replace("](", f", spiking={spiking!r}](", 1)

        def call() -> None:
            sg = cls(**_constructor_kwargs(cls, params), spiking=spiking)
            check(label, sg, x)
    elif form == "assign":
        fresh = {p.name: draw(moderate(p)) for p in cls.params}
        if cls is surrogate.MultiLevelSpikeCount:
            fresh["grad_min"], fresh["grad_max"] = 0.0, float(fresh["max_spike_count"])
        name = draw(st.sampled_from([p.name for p in cls.params]))
        label = f"{cls.__name__}(...).{name} = {describe(params[name])}; x={describe(x)}"

        def call() -> None:
            sg = cls(**_constructor_kwargs(cls, fresh))
            setattr(sg, name, params[name])
            check(label, sg, x)
    elif form == "function":
        values = list(params.values())

        def call() -> None:
            y = cls.function.apply(x, *values)
            _check_spikes(label, cls, y, x, values)
            _backward(label, cls, y, x, values)
    elif form == "primitive":
        def call() -> None:
            sg = cls(**_constructor_kwargs(cls, params), spiking=False)
            check(label, sg, x)
    elif form == "grad":
        def call() -> None:
            sg = cls(**_constructor_kwargs(cls, params))
            g = sg.grad(x)
            assert g.shape == x.shape and g.dtype == x.dtype, f"{label}: grad has {g.shape}, {g.dtype}"
            if cls.__name__ not in AUTHOR_NUMERICS:
                assert_finite_where(label, "g'(x)", g, x)
    else:  # load_state_dict: a state_dict whose tensor parameter holds the drawn value
        name = draw(st.sampled_from(floats))
        loaded = draw(param_tensors())
        label = f"{cls.__name__}(tensor params).load_state_dict({name}={describe(loaded)}); x={describe(x)}"

        def call() -> None:
            base = cls(**_constructor_kwargs(cls, _defaults_with_tensor(cls, name)))
            buffer = io.BytesIO()
            torch.save({name: loaded}, buffer)
            buffer.seek(0)
            base.load_state_dict(torch.load(buffer, weights_only=True), strict=False)
            check(label, base, x)

    return Case(label, call, names=names, expect_ok=valid and form != "load_state_dict")


def _defaults_with_tensor(cls: type[Surrogate], name: str) -> dict[str, Any]:
    """The defaults, with parameter ``name`` held in a tensor (a buffer to load a state_dict into)."""
    values: dict[str, Any] = {p.name: p.default for p in cls.params}
    if cls is surrogate.MultiLevelSpikeCount:
        values.update(max_spike_count=3, grad_min=0.0, grad_max=3.0)
    values[name] = torch.tensor(float(values[name]))
    return values


def _checker(cls: type[Surrogate]) -> Callable[[str, Surrogate, Any], None]:
    def check(label: str, sg: Surrogate, x: Any) -> None:
        y = sg(x)
        if sg.spiking:
            _check_spikes(label, cls, y, x, list(sg.param_values))
        else:
            assert y.shape == x.shape and y.dtype == x.dtype, f"{label}: g(x) has {y.shape}, {y.dtype}"
            if cls.__name__ not in AUTHOR_NUMERICS:
                assert_no_new_nan(label, "g(x)", y, x)
        _backward(label, cls, y, x, list(sg.param_values))

    return check


def _check_spikes(label: str, cls: type[Surrogate], y: Tensor, x: Tensor, params: list[Any]) -> None:
    assert y.shape == x.shape and y.dtype == x.dtype, f"{label}: spikes have {y.shape}, {y.dtype}"
    seen = ~torch.isnan(x.detach())
    values = y.detach()[seen]
    if cls is surrogate.MultiLevelSpikeCount:
        k = params[0]
        ok = (values == values.round()) & (values >= 0) & (values <= k)
    else:
        ok = (values == 0) | (values == 1)
    assert bool(ok.all()), f"{label}: spikes {values[~ok][:4].tolist()} break the promise"
    if not cls.stochastic and cls is not surrogate.MultiLevelSpikeCount:
        assert torch.equal(values, (x.detach()[seen] >= 0).to(y.dtype)), f"{label}: spikes are not H(x)"


def _backward(label: str, cls: type[Surrogate], y: Tensor, x: Tensor, params: list[Any]) -> None:
    learnable = [p for p in params if isinstance(p, Tensor) and p.requires_grad]
    if not y.requires_grad:
        return
    for p in learnable:
        p.grad = None
    y.backward(torch.ones_like(y))
    if cls.__name__ in AUTHOR_NUMERICS:
        return
    if x.requires_grad:
        assert x.grad is not None and x.grad.shape == x.shape, f"{label}: no gradient for x"
        assert_finite_where(label, "the gradient for x", x.grad, x)
    if not bool(torch.isnan(x.detach()).any()):
        for p in learnable:
            assert p.grad is not None and p.grad.shape == p.shape, f"{label}: no gradient for a parameter"
            assert bool(torch.isfinite(p.grad).all()), f"{label}: parameter gradient {p.grad.tolist()}"
