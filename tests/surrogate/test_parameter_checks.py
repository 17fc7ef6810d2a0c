"""Parameters are checked wherever they enter, with the constructor's messages, and cheaply.

Assignment (``sg.alpha = nan``), the functional form (``atan.apply(x, -1.)``) and
``load_state_dict`` refuse what the constructor refuses; repeated calls do not check again
(a cache hit for numbers, a version check for tensors: no device sync).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from spikegrad import surrogate
from spikegrad.surrogate import _params

from .cases import CLASSES, build, params_of
from .test_validation import invalid_values


def _assignment_cases():
    out = []
    for cls in CLASSES:
        for p in cls.params:
            for label, value, error in invalid_values(p):
                out.append(pytest.param(cls, p, value, error, id=f"{cls.__name__}-{p.name}-{label}"))
    return out


def _constructor_error(cls, name, value):
    params = params_of(cls, "other")
    params[name] = value
    with pytest.raises((ValueError, TypeError)) as info:
        build(cls, params)
    return info.value


@pytest.mark.parametrize(("cls", "param", "value", "error"), _assignment_cases())
def test_assignment_is_checked_like_the_constructor(cls, param, value, error):
    sg = build(cls, params_of(cls, "other"))
    before = sg.param_values
    with pytest.raises(error) as info:
        setattr(sg, param.name, value)
    assert str(info.value) == str(_constructor_error(cls, param.name, value))
    assert all(a is b for a, b in zip(sg.param_values, before, strict=True)), "a refused value was kept"


@pytest.mark.parametrize(("cls", "param", "value", "error"), _assignment_cases())
def test_functional_form_is_checked_like_the_constructor(cls, param, value, error):
    params = params_of(cls, "other")
    sg = build(cls, params)
    values = [value if p.name == param.name else v for p, v in zip(cls.params, sg.param_values, strict=True)]
    with pytest.raises(error) as info:
        cls.function.apply(torch.randn(3, 2), *values)
    expected = str(_constructor_error(cls, param.name, value)).replace(cls.__name__, cls.function.__name__, 1)
    assert str(info.value) == expected


def test_the_reported_cases():
    x = torch.randn(6, requires_grad=True)
    sg = surrogate.ATan()
    with pytest.raises(ValueError, match=r"ATan: parameter 'alpha' must be a finite number > 0, got nan"):
        sg.alpha = float("nan")
    with pytest.raises(ValueError, match=r"ATan: parameter 'alpha' must be a finite number > 0, got -1.0"):
        sg.alpha = -1
    with pytest.raises(ValueError, match=r"atan: parameter 'alpha' must be a finite number > 0, got -1.0"):
        surrogate.atan.apply(x, -1.0)
    with pytest.raises(ValueError, match=r"rect: parameter 'alpha' must be a finite number > 0, got 0.0"):
        surrogate.rect.apply(x, 0.0)
    with pytest.raises(ValueError, match=r"'max_spike_count' must be an integer >= 1, got -1"):
        surrogate.multi_level_spike_count.apply(x, -1, 0.0, 2.0)
    with pytest.raises(TypeError, match=r"atan takes 1 parameter\(s\) after x \(alpha\), got 2"):
        surrogate.atan.apply(x, 1.0, 2.0)


def test_relations_are_checked_on_assignment_and_in_the_functional_form():
    sg = surrogate.MultiLevelSpikeCount(3)
    with pytest.raises(ValueError, match="grad_min <= grad_max"):
        sg.grad_min = 4.0
    assert sg.grad_min == 0.0
    with pytest.raises(ValueError, match=r"multi_level_spike_count: grad_window must satisfy"):
        surrogate.multi_level_spike_count.apply(torch.randn(3), 3, 2.0, 1.0)


def test_assignment_moves_values_between_numbers_buffers_and_parameters():
    sg = surrogate.Sigmoid()
    sg.alpha = torch.tensor([1.0, 2.0])
    assert dict(sg.named_buffers()).keys() == {"alpha"} and "alpha" in sg.state_dict()
    sg.alpha = 3
    assert sg.alpha == 3.0 and type(sg.alpha) is float and not dict(sg.named_buffers())
    width = nn.Parameter(torch.tensor(2.0))
    sg.alpha = width
    assert sg.alpha is width and [n for n, _ in sg.named_parameters()] == ["alpha"]
    sg.alpha = 4.0
    assert not list(sg.parameters()) and sg.alpha == 4.0


def test_a_tensor_that_requires_grad_is_refused_unless_it_is_a_parameter():
    alpha = torch.tensor(2.0, requires_grad=True) * 1.0
    with pytest.raises(TypeError, match=r"'alpha' got a tensor that requires grad.*nn.Parameter"):
        surrogate.ATan(alpha=alpha)
    with pytest.raises(TypeError, match=r"requires grad"):
        surrogate.ATan().alpha = alpha


def test_load_state_dict_checks_values_and_shapes():
    sg = surrogate.Sigmoid(alpha=torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"Sigmoid.load_state_dict: parameter 'alpha' must be a finite "
                                         r"number > 0, got -1.0"):
        sg.load_state_dict({"alpha": torch.tensor([1.0, -1.0])})
    with pytest.raises(ValueError, match=r"'alpha' has shape \(2,\) here, the state_dict holds shape \(3,\)"):
        sg.load_state_dict({"alpha": torch.ones(3)})
    assert sg.alpha.tolist() == [1.0, 2.0]
    sg.load_state_dict({"alpha": torch.tensor([3.0, 4.0])})
    assert sg.alpha.tolist() == [3.0, 4.0]
    window = surrogate.MultiLevelSpikeCount(3, grad_window=(torch.tensor(0.0), torch.tensor(3.0)))
    with pytest.raises(ValueError, match="grad_min <= grad_max"):
        window.load_state_dict({"grad_min": torch.tensor(5.0), "grad_max": torch.tensor(3.0)})


def test_numbers_are_checked_once_per_value_and_dtype(monkeypatch):
    calls = []
    original = _params._check_values
    monkeypatch.setattr(_params, "_check_values", lambda *a: calls.append(a) or original(*a))
    monkeypatch.setattr(surrogate.ATan, "_checked_calls", {})  # other tests' calls are not counted
    x = torch.randn(8)
    for _ in range(50):
        surrogate.atan.apply(x, 1.25)
        surrogate.ATan(alpha=1.25)(x)
    assert len(calls) == 1
    surrogate.atan.apply(x.double(), 1.25)
    surrogate.atan.apply(x, 1.5)
    assert len(calls) == 3


def test_tensors_are_checked_once_per_version_without_reading_them_again(monkeypatch):
    reads = []
    original = _params._check_values
    monkeypatch.setattr(_params, "_check_values", lambda *a: reads.append(a) or original(*a))
    alpha = torch.tensor([1.0, 2.0])
    x = torch.randn(4, 2)
    for _ in range(20):
        surrogate.atan.apply(x, alpha)
    assert len(reads) == 1
    alpha.fill_(-1.0)  # an in-place change moves the version counter: the next call checks again
    with pytest.raises(ValueError, match=r"atan: parameter 'alpha' must be a finite number > 0, got -1.0"):
        surrogate.atan.apply(x, alpha)


def test_an_in_place_change_of_a_buffer_is_caught_at_the_next_call():
    sg = surrogate.Sigmoid(alpha=torch.tensor([1.0, 2.0]))
    x = torch.randn(3, 2)
    sg(x)
    sg.alpha.fill_(math.nan)
    with pytest.raises(ValueError, match=r"parameter 'alpha' must be a finite number > 0, got nan"):
        sg(x)


def test_learnable_parameters_are_not_read_again_after_optimizer_steps(monkeypatch):
    """Documented: checking them at every step would cost a device sync per step."""
    sg = surrogate.Sigmoid(alpha=nn.Parameter(torch.tensor([4.0, 4.0])))
    x = torch.randn(3, 2)
    sg(x)
    reads = []
    monkeypatch.setattr(_params, "_check_values", lambda *a: reads.append(a))
    with torch.no_grad():
        sg.alpha.add_(1.0)
    sg(x)
    assert not reads


def test_a_tensor_parameter_must_broadcast_to_the_input():
    sg = surrogate.ATan(alpha=torch.tensor([1.0, 2.0, 3.0]))
    message = r"'alpha' has shape \(3,\), which does not broadcast to the input's shape \(2, 5\)"
    with pytest.raises(ValueError, match=message):
        sg(torch.randn(2, 5))
    with pytest.raises(ValueError, match=message.replace("'alpha'", "'alpha'")):
        surrogate.atan.apply(torch.randn(2, 5), torch.ones(3))
    # a broadcast that would grow the output beyond the input's shape is refused too
    with pytest.raises(ValueError, match=r"\(2, 1\), which does not broadcast to the input's shape \(5,\)"):
        surrogate.atan.apply(torch.randn(5), torch.ones(2, 1))
    per_channel = surrogate.ATan(alpha=torch.tensor([[1.0], [2.0]]))
    assert per_channel(torch.randn(3, 2, 4)).shape == (3, 2, 4)


def test_the_abstract_base_cannot_be_instantiated():
    with pytest.raises(TypeError, match=r"Surrogate is the abstract base of the surrogates"):
        surrogate.Surrogate()

    class NoDerivative(surrogate.Surrogate, register=False):
        pass

    with pytest.raises(TypeError, match=r"NoDerivative does not define derivative"):
        NoDerivative()


def test_integers_too_large_for_a_float_are_a_value_error():
    with pytest.raises(ValueError, match=r"ATan: parameter 'alpha' must be a finite number > 0, got 1000"):
        surrogate.ATan(alpha=10**400)
    with pytest.raises(ValueError, match=r"atan: parameter 'alpha' must be a finite number > 0"):
        surrogate.atan.apply(torch.randn(3), 10**400)


def test_numbers_of_other_kinds_are_coerced_for_the_formulas():
    from fractions import Fraction

    x = torch.randn(5, requires_grad=True)
    surrogate.atan.apply(x, Fraction(3, 2)).sum().backward()
    torch.testing.assert_close(x.grad, surrogate.ATan(alpha=1.5).grad(x.detach()))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
def test_bernoulli_sigmoid_on_nan_never_spikes_and_propagates_nan_gradients(dtype):
    """Was torch's opaque "Expected p_in >= 0 && p_in <= 1" from inside the sampler."""
    torch.manual_seed(0)
    x = torch.tensor([float("nan"), 10.0, -10.0, 0.0], dtype=dtype, requires_grad=True)
    spikes = surrogate.BernoulliSigmoid()(x)
    assert spikes[0] == 0 and spikes[1] == 1 and spikes[2] == 0
    spikes.sum().backward()
    assert torch.isnan(x.grad[0]) and torch.isfinite(x.grad[1:]).all()
    assert surrogate.bernoulli_sigmoid.apply(x.detach(), 4.0)[0] == 0
