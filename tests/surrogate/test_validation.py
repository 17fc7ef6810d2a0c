"""Every invalid parameter and input raises a ValueError / TypeError that names it and the rule."""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad import surrogate
from spikegrad.surrogate import Param

from .cases import CLASSES, build, params_of, sample_input


def invalid_values(p: Param) -> list[tuple[str, object, type[Exception]]]:
    """(label, value, expected error) for each way a value can break ``p``'s rule."""
    out: list[tuple[str, object, type[Exception]]] = []
    number_error = TypeError if p.integer else ValueError  # a float for an int parameter is a type error
    if p.low is not None:
        below = math.floor(p.low) - 1 if p.integer else p.low - 1.0
        out.append(("below_low", below, ValueError))
        if not p.low_inclusive:
            out.append(("at_low", int(p.low) if p.integer else float(p.low), ValueError))
    if p.high is not None:
        above = math.ceil(p.high) + 1 if p.integer else p.high + 1.0
        out.append(("above_high", above, ValueError))
        if not p.high_inclusive:
            out.append(("at_high", int(p.high) if p.integer else float(p.high), ValueError))
    out += [(label, value, number_error) for label, value in (("nan", math.nan), ("inf", math.inf),
                                                               ("-inf", -math.inf))]
    out += [("bool", True, TypeError), ("str", "1.0", TypeError), ("None", None, TypeError),
            ("list", [1.0], TypeError), ("complex", 1 + 0j, TypeError),
            ("int_tensor", torch.tensor([1, 2]), TypeError)]
    if p.integer:
        out += [("float", 2.5, TypeError), ("tensor", torch.tensor(2.0), TypeError)]
    else:
        out += [("tensor_nan", torch.tensor([1.0, math.nan]), ValueError),
                ("tensor_inf", torch.tensor([math.inf]), ValueError)]
        if p.low is not None:
            out.append(("tensor_below_low", torch.tensor([p.low + 1.0, p.low - 1.0]), ValueError))
    return out


def param_cases():
    out = []
    for cls in CLASSES:
        for p in cls.params:
            for label, value, error in invalid_values(p):
                out.append(pytest.param(cls, p, value, error, id=f"{cls.__name__}-{p.name}-{label}"))
    return out


@pytest.mark.parametrize(("cls", "param", "value", "error"), param_cases())
def test_invalid_parameter(cls, param, value, error):
    params = params_of(cls, "other")
    params[param.name] = value
    with pytest.raises(error) as info:
        build(cls, params)
    message = str(info.value)
    assert cls.__name__ in message and repr(param.name) in message
    if error is ValueError:
        assert param.rule in message


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_valid_edge_values_are_accepted(cls):
    """Inclusive bounds are allowed (and an int for a float parameter)."""
    for p in cls.params:
        edge = p.low if p.low is not None and p.low_inclusive else None
        if edge is None:
            continue
        params = params_of(cls, "other")
        params[p.name] = int(edge) if p.integer or float(edge).is_integer() else edge
        if cls is surrogate.MultiLevelSpikeCount and p.name == "max_spike_count":
            params = {"max_spike_count": int(edge)}
        build(cls, params)


BAD_INPUTS = [
    ("int64", torch.tensor([1, -1])),
    ("int8", torch.tensor([1, -1], dtype=torch.int8)),
    ("bool", torch.tensor([True, False])),
    ("list", [0.5, -0.5]),
    ("float", 0.5),
]


@pytest.mark.parametrize(("label", "x"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_non_floating_input_is_a_type_error(cls, label, x):
    sg = build(cls)
    calls = [lambda: sg(x), lambda: cls.function.apply(x, *sg.param_values), lambda: sg.grad(x)]
    if cls.has_primitive:
        calls.append(lambda: build(cls, spiking=False)(x))
    for call in calls:
        with pytest.raises(TypeError, match=r"(?i)tensor") as info:
            call()
        if isinstance(x, torch.Tensor):
            assert str(x.dtype) in str(info.value) and "floating" in str(info.value)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_bad_constructor_calls(cls):
    params = params_of(cls)
    with pytest.raises(TypeError, match="beta_typo"):
        build(cls, params, beta_typo=1.0)
    with pytest.raises(TypeError, match="spiking must be True or False"):
        build(cls, params, spiking="yes")
    if cls is surrogate.MultiLevelSpikeCount:
        return  # its own signature: (max_spike_count, spiking, grad_window)
    with pytest.raises(TypeError, match="positional"):
        cls(*([1.0] * (len(cls.params) + 1)))
    if cls.params:
        with pytest.raises(TypeError, match="twice"):
            cls(1.0, **{cls.params[0].name: 1.0})


def test_multi_level_spike_count_rules():
    with pytest.raises(TypeError, match="max_spike_count"):
        surrogate.MultiLevelSpikeCount()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="grad_min <= grad_max"):
        surrogate.MultiLevelSpikeCount(3, grad_window=(2.0, 1.0))
    with pytest.raises(ValueError, match="grad_min <= grad_max"):
        surrogate.MultiLevelSpikeCount(3, grad_window=(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 1.0])))
    with pytest.raises(TypeError, match="grad_window must be a pair"):
        surrogate.MultiLevelSpikeCount(3, grad_window=(1.0,))
    with pytest.raises(TypeError, match="max_spike_count"):
        surrogate.MultiLevelSpikeCount(True)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, -math.inf])
def test_poisson_pass_needs_probabilities(bad):
    x = torch.tensor([0.2, bad, 0.7])
    with pytest.raises(ValueError, match=r"0 <= x <= 1"):
        surrogate.PoissonPass()(x)
    with pytest.raises(ValueError, match=r"0 <= x <= 1"):
        surrogate.poisson_pass.apply(x)


def test_fake_numerical_gradient_has_no_primitive():
    with pytest.raises(ValueError, match="FakeNumericalGradient has no primitive"):
        surrogate.FakeNumericalGradient(spiking=False)


def test_custom_definition_errors():
    def shape(x, alpha=1.0):
        return torch.ones_like(x)

    with pytest.raises(ValueError, match="CamelCase"):
        surrogate.define("lower_case", derivative=shape)
    with pytest.raises(ValueError, match="needs a derivative, a primitive, or both"):
        surrogate.define("Nothing")
    with pytest.raises(ValueError, match="needs a numeric default"):
        surrogate.define("NoDefault", derivative=lambda x, alpha: x)
    with pytest.raises(ValueError, match="needs a numeric default"):
        surrogate.define("BoolDefault", derivative=lambda x, flag=True: x)
    with pytest.raises(ValueError, match="built-in surrogate is already named 'ATan'"):
        surrogate.define("ATan", derivative=shape)
    assert "ATan" in surrogate.REGISTRY and surrogate.REGISTRY["ATan"] is surrogate.ATan


def test_custom_parameters_are_validated():
    from .custom_shapes import SoftTanh, Triangle

    with pytest.raises(ValueError, match="'width' must be a finite number > 0"):
        Triangle(width=0.0)
    with pytest.raises(ValueError, match="'k' must be a finite number"):
        SoftTanh(k=math.nan)
    with pytest.raises(TypeError, match="unknown parameter 'alpha'"):
        SoftTanh(alpha=1.0)


def test_sample_inputs_are_valid():
    """The inputs the other tests use are accepted everywhere (guards the cases helper)."""
    for cls in CLASSES:
        build(cls)(sample_input(cls))
