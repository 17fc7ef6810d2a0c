"""SpikingJelly's surrogate API in spikegrad: SurrogateFunctionBase subclasses (the same user
code, only the import changed) give SpikingJelly's spikes and gradients and run in the fused
kernels; the *_backward helpers; ``spiking`` accepted positionally as in SpikingJelly."""

from __future__ import annotations

import inspect
import pickle

import pytest
import torch
from torch import nn

import sj
from spikegrad import neuron, surrogate

from . import sj_style_shapes as user
from .sj_style_shapes import load

sj_surrogate = sj.module("surrogate")
sj_neuron = sj.module("neuron")
THEIRS = load("spikingjelly")
X = torch.linspace(-2.0, 2.0, 81, dtype=torch.float64)


def _spikes_and_grad(sg: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    out = sg(x)
    out.backward(torch.linspace(0.5, 1.5, x.numel(), dtype=x.dtype).view_as(x))
    return out.detach(), x.grad


@pytest.mark.parametrize(
    "name, params",
    [("UserATan", {"alpha": 3.0}), ("UserDSpike", {"alpha": 2.5}), ("UserFourier", {"n": 4, "width": 0.7})],
)
def test_user_subclass_same_as_in_spikingjelly(name, params):
    ours, theirs = getattr(user, name)(**params), THEIRS[name](**params)
    for a, b in zip(_spikes_and_grad(ours, X), _spikes_and_grad(theirs, X), strict=True):
        torch.testing.assert_close(a, b)
    if ours.has_primitive:
        ours.set_spiking_mode(False)
        theirs.set_spiking_mode(False)
        torch.testing.assert_close(ours(X), theirs(X))


def test_legacy_subclass_same_as_spikingjelly_sigmoid():
    ours, theirs = user.UserLegacySigmoid(3.0, True), sj_surrogate.Sigmoid(3.0, True)
    for a, b in zip(_spikes_and_grad(ours, X), _spikes_and_grad(theirs, X), strict=True):
        torch.testing.assert_close(a, b)
    assert repr(user.UserLegacySigmoid(2.0, False)) == "UserLegacySigmoid(alpha=2.0, spiking=False)"


def test_user_subclass_is_a_registered_definition():
    for cls in (user.UserATan, user.UserDSpike, user.UserLegacySigmoid, user.UserFourier):
        assert surrogate.REGISTRY[cls.__name__] is cls and surrogate.get(cls.__name__) is cls
        assert isinstance(cls(), surrogate.Surrogate) and not cls.builtin
    assert [p.name for p in user.UserFourier.params] == ["n", "width"]
    assert user.UserFourier.params[0].integer and not user.UserFourier.params[1].integer
    assert user.UserDSpike.params[0].default == 3 and not user.UserDSpike.has_primitive
    # g' comes from autograd: of the primitive when there is one, else of the spiking function
    torch.testing.assert_close(user.UserATan().grad(X), surrogate.ATan(alpha=2.0).grad(X))
    assert round(float(user.UserATan(alpha=2.0).peak), 4) == 1.0  # estimated on a dense grid
    assert abs(float(user.UserDSpike().area) - 1.0) < 1e-4


def test_user_subclass_state_dict_repr_and_pickle():
    sg = user.UserFourier(n=5, width=torch.tensor([0.5, 1.0]))
    assert repr(sg) == "UserFourier(n=5, width=[0.5, 1.0], spiking=True)"
    assert list(sg.state_dict()) == ["width"]  # tensor parameters are buffers
    copy = pickle.loads(pickle.dumps(user.UserATan(alpha=1.5, spiking=False)))
    assert type(copy) is user.UserATan and copy.alpha == 1.5 and copy.spiking is False


@pytest.mark.slow  # compiles the fused kernels of a new surrogate (a few seconds with a cold cache)
@pytest.mark.parametrize("kind", ["if", "lif"])
def test_user_subclass_runs_in_the_fused_kernels(kind):
    torch.manual_seed(0)
    x_seq = torch.rand(5, 2, 6) * 1.5 - 0.2
    make = {"if": neuron.IFNode, "lif": neuron.LIFNode}[kind]
    sj_make = {"if": sj_neuron.IFNode, "lif": sj_neuron.LIFNode}[kind]
    results = []
    for node in (
        make(surrogate_function=user.UserDSpike(), step_mode="m", backend="fused"),
        make(surrogate_function=user.UserDSpike(), step_mode="m", backend="reference"),
        sj_make(surrogate_function=THEIRS["UserDSpike"](), step_mode="m"),
    ):
        x = x_seq.clone().requires_grad_(True)
        out = node(x)
        out.backward(torch.linspace(-1, 1, out.numel()).view_as(out))
        results.append((out.detach(), x.grad))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            torch.testing.assert_close(a, b)


SJ_BACKWARDS = {
    "piecewise_quadratic_backward": (1.5,),
    "piecewise_exp_backward": (1.5,),
    "sigmoid_backward": (3.0,),
    "soft_sign_backward": (1.5,),
    "super_spike_backward": (0.8,),
    "atan_backward": (2.5,),
    "nonzero_sign_log_abs_backward": (1.5,),
    "erf_backward": (1.5,),
    "piecewise_leaky_relu_backward": (0.77, 0.05),
    "leaky_k_relu_backward": (0.1, 0.8),
    "fake_numerical_gradient_backward": (0.3,),
    "log_tailed_relu_backward": (0.1,),
    "rect_backward": (1.5,),
}


@pytest.mark.parametrize("name", sorted(SJ_BACKWARDS))
def test_backward_helpers_same_as_spikingjelly(name):
    params = SJ_BACKWARDS[name]
    x = torch.linspace(-2.03, 2.01, 97, dtype=torch.float64)  # avoids the documented edge points
    grad_output = torch.linspace(0.5, 2.0, 97, dtype=torch.float64)
    ours = getattr(surrogate, name)(grad_output, x, *params)
    theirs = getattr(sj_surrogate, name)(grad_output, x.clone(), *params)
    assert len(ours) == len(theirs) == 1 + len(params) and ours[1:] == theirs[1:]
    torch.testing.assert_close(ours[0], theirs[0])


def test_backward_helpers_validate_their_arity():
    with pytest.raises(
        TypeError, match=r"sigmoid_backward\(grad_output, x, alpha\) takes 1 parameter\(s\), got 2"
    ):
        surrogate.sigmoid_backward(X, X, 1.0, 2.0)


SPIKING_LAST = [
    "Sigmoid",
    "SoftSign",
    "ATan",
    "PiecewiseQuadratic",
    "PiecewiseExp",
    "LeakyKReLU",
    "PiecewiseLeakyReLU",
    "SquarewaveFourierSeries",
    "S2NN",
    "QPseudoSpike",
    "LogTailedReLU",
    "NonzeroSignLogAbs",
    "Erf",
    "SuperSpike",
    "Rect",
    "DeterministicPass",
    "PoissonPass",
]


@pytest.mark.parametrize("name", SPIKING_LAST)
def test_spiking_is_positional_where_spikingjelly_puts_it(name):
    theirs_signature = list(inspect.signature(getattr(sj_surrogate, name)).parameters)
    assert theirs_signature[-1] == "spiking"
    cls = getattr(surrogate, name)
    params = [getattr(cls(), p.name) for p in cls.params]
    assert cls(*params, False).spiking is False and cls(*params, True).spiking is True
    assert cls(*params, False).param_values == cls(*params).param_values
    assert list(inspect.signature(cls).parameters) == theirs_signature
    assert (
        surrogate.MultiLevelSpikeCount(3, False).spiking is False
    )  # SpikingJelly's (max_spike_count, spiking)


def test_compat_validation():
    with pytest.raises(TypeError, match=r"Sigmoid got spiking twice"):
        surrogate.Sigmoid(4.0, False, spiking=True)
    with pytest.raises(TypeError, match=r"UserATan got spiking twice"):
        user.UserATan.__mro__[1].__init__(
            user.UserATan.__new__(user.UserATan), False, alpha=1.0, spiking=True
        )
    with pytest.raises(TypeError, match=r"UserATan got an unknown parameter 'beta'"):
        user.UserATan.__mro__[1].__init__(user.UserATan.__new__(user.UserATan), alpha=1.0, beta=2.0)
    with pytest.raises(ValueError, match=r"UserATan: parameter 'alpha' must be a finite number, got nan"):
        user.UserATan(alpha=float("nan"))
    with pytest.raises(TypeError, match=r"UserFourier: parameter 'n' must be an integer, got 2.5"):
        user.UserFourier(n=2.5)
    with pytest.raises(TypeError, match=r"Bad.spiking_function must be a @staticmethod"):

        class Bad(surrogate.SurrogateFunctionBase):
            def spiking_function(self, x, alpha):
                return x

    with pytest.raises(
        TypeError, match=r"NoInput.spiking_function must take the input x as its first argument"
    ):

        class NoInput(surrogate.SurrogateFunctionBase):
            @staticmethod
            def spiking_function(*args):
                return args[0]

    with pytest.raises(ValueError, match="a built-in surrogate is already named 'Sigmoid'"):

        class Sigmoid(surrogate.SurrogateFunctionBase):  # the clash under test
            @staticmethod
            def spiking_function(x, alpha):
                return x

    with pytest.raises(ValueError, match=r"UserDSpike has no primitive, so spiking=False is not available"):
        user.UserDSpike(spiking=False)


def test_subclass_with_only_a_primitive_spikes_with_the_heaviside_step():
    class OnlyPrimitive(surrogate.SurrogateFunctionBase):
        def __init__(self, alpha=4.0, spiking=True):
            super().__init__(spiking=spiking, alpha=alpha)

        @staticmethod
        def primitive_function(x, alpha):
            return torch.sigmoid(alpha * x)

    try:
        spikes, grad = _spikes_and_grad(OnlyPrimitive(alpha=3.0), X)
        expected = _spikes_and_grad(surrogate.Sigmoid(alpha=3.0), X)
        assert torch.equal(spikes, expected[0])
        torch.testing.assert_close(grad, expected[1])
    finally:
        surrogate.REGISTRY.pop("OnlyPrimitive")


def test_subclass_with_its_own_forward_keeps_spikingjelly_semantics():
    class OwnForward(surrogate.SurrogateFunctionBase):  # like SpikingJelly's S2NN: forward overridden
        def __init__(self, alpha=2.0, spiking=True):
            super().__init__(spiking=spiking, alpha=alpha)

        def forward(self, x):
            return surrogate.atan.apply(x, self.alpha) if self.spiking else x

    sg = OwnForward(alpha=3.0)
    assert "OwnForward" not in surrogate.REGISTRY and sg.alpha == 3.0
    assert repr(sg) == "OwnForward(alpha=3.0, spiking=True)"
    _, grad = _spikes_and_grad(sg, X)
    torch.testing.assert_close(grad, _spikes_and_grad(surrogate.ATan(alpha=3.0), X)[1])

    class Nothing(surrogate.SurrogateFunctionBase):
        pass

    with pytest.raises(NotImplementedError, match="Nothing defines neither spiking_function nor"):
        Nothing()(X)
