"""Module style vs functional style, repr, pickle, state_dict, dtype moves, per-channel parameters."""

from __future__ import annotations

import io
import math
import pickle

import pytest
import torch

from spikegrad import surrogate

from .cases import CLASSES, as_float, build, cases, params_of, sample_input

FLOAT_PARAM_CLASSES = [cls for cls in CLASSES if any(not p.integer for p in cls.params)]


@pytest.mark.parametrize(("cls", "params"), cases())
def test_module_equals_function(cls, params):
    sg = build(cls, params)
    x1 = sample_input(cls, 64).requires_grad_()
    x2 = x1.detach().clone().requires_grad_()
    grad_out = torch.randn(64, dtype=torch.float64)
    torch.manual_seed(0)
    y1 = sg(x1)
    y1.backward(grad_out)
    torch.manual_seed(0)
    y2 = cls.function.apply(x2, *sg.param_values)
    y2.backward(grad_out)
    assert torch.equal(y1, y2)
    assert torch.equal(x1.grad, x2.grad)


@pytest.mark.parametrize("cls", surrogate.builtins(), ids=lambda c: c.__name__)
def test_functional_names(cls):
    """Each built-in's function is exported under SpikingJelly's snake_case name."""
    name = cls.function.__name__
    assert getattr(surrogate, name) is cls.function
    assert getattr(surrogate, cls.__name__) is cls
    assert cls.traceable_function.surrogate is cls
    assert surrogate.get(name) is cls
    assert surrogate.get(cls.__name__) is cls
    assert name in surrogate.__all__ and cls.__name__ in surrogate.__all__


def test_get_unknown_name_lists_the_known():
    with pytest.raises(ValueError, match=r"unknown surrogate 'nope'.*atan"):
        surrogate.get("nope")


def test_catalogue_is_complete():
    names = [cls.__name__ for cls in surrogate.builtins()]
    assert len(names) == 27 == len(set(names))
    assert names[:19] == [
        "Sigmoid", "SoftSign", "ATan", "PiecewiseQuadratic", "PiecewiseExp", "LeakyKReLU",
        "PiecewiseLeakyReLU", "SquarewaveFourierSeries", "S2NN", "QPseudoSpike", "LogTailedReLU",
        "NonzeroSignLogAbs", "Erf", "SuperSpike", "Rect", "DeterministicPass", "PoissonPass",
        "FakeNumericalGradient", "MultiLevelSpikeCount",
    ]
    for cls in surrogate.builtins():
        assert cls.__doc__ and cls.origin


@pytest.mark.parametrize(("cls", "params"), cases())
def test_repr_shows_every_parameter_and_evaluates_back(cls, params):
    sg = build(cls, params)
    text = repr(sg)
    assert text.startswith(f"{cls.__name__}(") and text.endswith("spiking=True)" if cls is not
                                                                   surrogate.MultiLevelSpikeCount else ")")
    for p in cls.params:
        if cls is surrogate.MultiLevelSpikeCount and p.name != "max_spike_count":
            continue
        assert f"{p.name}={getattr(sg, p.name)!r}" in text
    namespace = {cls.__name__: cls}
    again = eval(text, namespace)
    assert type(again) is cls and again.param_values == sg.param_values and again.spiking == sg.spiking


def test_repr_examples():
    assert repr(surrogate.Sigmoid()) == "Sigmoid(alpha=4.0, spiking=True)"
    assert repr(surrogate.LeakyKReLU(0.1, spiking=False)) == "LeakyKReLU(leak=0.1, k=1.0, spiking=False)"
    assert repr(surrogate.DeterministicPass()) == "DeterministicPass(spiking=True)"
    assert repr(surrogate.MultiLevelSpikeCount(2)) == (
        "MultiLevelSpikeCount(max_spike_count=2, spiking=True, grad_window=(0.0, 2.0))")
    assert repr(surrogate.ATan(alpha=torch.tensor([1.0, 2.0]))) == "ATan(alpha=[1.0, 2.0], spiking=True)"
    assert repr(surrogate.ATan(alpha=torch.ones(8, 1))) == "ATan(alpha=tensor(shape=[8, 1]), spiking=True)"


def _round_trips(sg: surrogate.Surrogate) -> list[surrogate.Surrogate]:
    buffer = io.BytesIO()
    torch.save(sg, buffer)
    buffer.seek(0)
    return [pickle.loads(pickle.dumps(sg)), torch.load(buffer, weights_only=False)]


@pytest.mark.parametrize(("cls", "params"), cases())
def test_pickle_and_torch_save(cls, params):
    sg = build(cls, params)
    if cls.has_primitive:
        sg.set_spiking_mode(False)
    x = sample_input(cls, 32)
    for copy in _round_trips(sg):
        assert type(copy) is cls
        assert copy.param_values == sg.param_values
        assert copy.spiking == sg.spiking
        torch.manual_seed(0)
        a = copy(x)
        torch.manual_seed(0)
        assert torch.equal(a, sg(x))


def tensor_params(cls: type[surrogate.Surrogate], channels: int = 3) -> dict[str, object]:
    """Each float parameter as a [C, 1, 1] tensor spanning its default and its 'other' value."""
    default, other = build(cls), build(cls, params_of(cls, "other"))
    out: dict[str, object] = {}
    for p in cls.params:
        a, b = getattr(default, p.name), getattr(other, p.name)
        if p.integer:
            out[p.name] = b
        else:
            out[p.name] = torch.linspace(float(a), float(b), channels, dtype=torch.float32).reshape(-1, 1, 1)
    return out


@pytest.mark.parametrize("cls", FLOAT_PARAM_CLASSES, ids=lambda c: c.__name__)
def test_state_dict_round_trip(cls):
    params = tensor_params(cls)
    sg = build(cls, params)
    state = sg.state_dict()
    tensors = {k for k, v in params.items() if isinstance(v, torch.Tensor)}
    assert set(state) == tensors
    default = build(cls)
    blank = build(cls, {k: torch.full_like(v, float(getattr(default, k)))
                        if isinstance(v, torch.Tensor) else v for k, v in params.items()})
    blank.load_state_dict(state)
    for name in tensors:
        assert torch.equal(getattr(blank, name), params[name])
    for copy in _round_trips(sg):
        for name in tensors:
            assert torch.equal(getattr(copy, name), params[name])


@pytest.mark.parametrize("cls", FLOAT_PARAM_CLASSES, ids=lambda c: c.__name__)
def test_to_dtype_moves_tensor_params(cls):
    sg = build(cls, tensor_params(cls)).to(torch.float64)
    for p in cls.params:
        value = getattr(sg, p.name)
        if isinstance(value, torch.Tensor):
            assert value.dtype == torch.float64
    # The output follows the input, whatever the parameters' dtype.
    x = sample_input(cls, 2 * 3 * 4 * 5, torch.float16).reshape(2, 3, 4, 5).requires_grad_()
    y = sg(x)
    y.sum().backward()
    assert y.dtype == torch.float16 and x.grad.dtype == torch.float16


@pytest.mark.parametrize("which", ["all", "one"])
@pytest.mark.parametrize("cls", FLOAT_PARAM_CLASSES, ids=lambda c: c.__name__)
def test_per_channel_params_broadcast(cls, which):
    """[C, 1, 1] parameters against [B, C, H, W] input equal C separate scalar surrogates, for
    every parameter a tensor at once, and for each parameter alone a tensor (argument order)."""
    full = tensor_params(cls)
    channels = 3
    float_names = [p.name for p in cls.params if not p.integer]
    variants = [full] if which == "all" else [
        {k: (v if k == name or not isinstance(v, torch.Tensor) else float(v[1]))
         for k, v in full.items()}
        for name in float_names
    ]
    x = sample_input(cls, 2 * channels * 4 * 5, torch.float32).reshape(2, channels, 4, 5)
    for params in variants:
        sg = build(cls, params)
        xg = x.clone().requires_grad_()
        torch.manual_seed(0)
        y = sg(xg)
        torch.manual_seed(0)
        y.backward(torch.ones_like(y))
        for c in range(channels):
            scalar = build(cls, {k: (float(v[c]) if isinstance(v, torch.Tensor) else v)
                                 for k, v in params.items()})
            xc = x[:, c].clone().requires_grad_()
            if not cls.stochastic:
                assert torch.equal(y[:, c], scalar(xc))
            if cls is not surrogate.StochasticSpikeOperator:
                # float32 tensor parameters round intermediate constants (2 pi / T ...) in float32.
                torch.testing.assert_close(xg.grad[:, c], scalar.grad(x[:, c]), rtol=1e-5, atol=1e-5)
            for prop in ("peak", "area"):
                value = getattr(sg, prop)
                got = as_float(value.reshape(-1)[c] if isinstance(value, torch.Tensor) else value)
                want = as_float(getattr(scalar, prop))
                assert got == pytest.approx(want, rel=1e-5) or (math.isnan(got) and math.isnan(want))
