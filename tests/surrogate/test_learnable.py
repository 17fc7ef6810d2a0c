"""Learnable surrogate parameters: an ``nn.Parameter`` is registered as given and learned.

The gradient of a parameter ``theta`` is ``sum(grad_out * dg/dtheta(x))`` over the dimensions
``theta`` is broadcast along, in both modes: with ``spiking=False`` that is plain autograd
through the primitive ``g``; with ``spiking=True`` the spike ``H(x)`` does not depend on
``theta``, and backward acts, as it does for ``x``, as if the forward were ``g``.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikegrad import neuron, surrogate

from .cases import CLASSES, OTHER, build


def _learnable_cases():
    out = []
    for cls in CLASSES:
        if not cls.has_primitive:
            continue
        for p in cls.params:
            if not p.integer:
                out.append(pytest.param(cls, p.name, id=f"{cls.__name__}-{p.name}"))
    return out


def _expected_grads(cls, params, name, x, grad_out):
    """``sum(grad_out * dg/dtheta)`` by autograd through the definition's primitive, in float64."""
    theta = params[name].detach().clone().requires_grad_()
    values = [theta if p.name == name else params[p.name] for p in cls.params]
    g = cls.primitive(x.detach(), *values)
    if not g.requires_grad:  # g does not depend on theta (MultiLevelSpikeCount's gradient window)
        return torch.zeros_like(theta)
    (g * grad_out).sum().backward()
    return theta.grad


@pytest.mark.parametrize("spiking", [True, False], ids=["spiking", "primitive"])
@pytest.mark.parametrize(("cls", "name"), _learnable_cases())
def test_parameter_gradient_is_the_primitives(cls, name, spiking):
    params = dict(OTHER[cls.__name__])
    if cls is surrogate.MultiLevelSpikeCount:
        params = {"max_spike_count": 4, "grad_min": -0.5, "grad_max": 3.5}
    value = float(params[name])
    per_channel = torch.tensor([[value], [value * 1.25 if value else 0.5]], dtype=torch.float64)
    params[name] = nn.Parameter(per_channel)
    sg = build(cls, params, spiking=spiking)
    assert sg.learnable_params == (name,) and getattr(sg, name) is params[name]
    gen = torch.Generator().manual_seed(0)
    x = (2 * torch.randn(3, 2, 5, generator=gen, dtype=torch.float64)).requires_grad_()
    grad_out = torch.randn(3, 2, 5, generator=gen, dtype=torch.float64)
    torch.manual_seed(0)
    sg(x).backward(grad_out)
    values = {p.name: getattr(sg, p.name) for p in cls.params}
    expected = _expected_grads(cls, values, name, x, grad_out)
    grad = params[name].grad
    if grad is None:  # spiking=False and g does not use theta: plain autograd leaves it untouched
        assert not spiking and not expected.any()
        return
    assert grad.shape == (2, 1)
    torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-12)


def test_functional_form_gives_tensors_that_require_grad_a_gradient():
    alpha = torch.tensor([2.0, 3.0], dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    surrogate.atan.apply(x, alpha).sum().backward()
    expected = _expected_grads(surrogate.ATan, {"alpha": alpha}, "alpha", x, torch.ones_like(x))
    torch.testing.assert_close(alpha.grad, expected)
    torch.testing.assert_close(x.grad, surrogate.ATan(alpha=alpha.detach()).grad(x.detach()))


def test_forward_mode_agrees_with_backward_for_a_parameter():
    import torch.autograd.forward_ad as fwAD

    x = torch.randn(6, dtype=torch.float64)
    alpha = torch.tensor(1.5, dtype=torch.float64)
    tangent = torch.tensor(0.7, dtype=torch.float64)
    with fwAD.dual_level():
        out = surrogate.atan.apply(x, fwAD.make_dual(alpha, tangent))
        jvp = fwAD.unpack_dual(out).tangent
    v = torch.randn(6, dtype=torch.float64)
    learnable = alpha.clone().requires_grad_()
    surrogate.atan.apply(x, learnable).backward(v)
    torch.testing.assert_close((v * jvp).sum(), learnable.grad * tangent)


def test_an_optimizer_learns_the_width():
    width = nn.Parameter(torch.tensor(2.0))
    sg = surrogate.ATan(alpha=width)
    optimizer = torch.optim.SGD(sg.parameters(), lr=0.5)
    x = torch.randn(64, requires_grad=True)
    sg(x).sum().backward()
    optimizer.step()
    assert width.item() != 2.0 and "alpha" in sg.state_dict()


def test_second_order_gradients_flow_to_the_parameter():
    """The x-gradient depends on alpha: double backward reaches it (meta-learning of widths)."""
    alpha = nn.Parameter(torch.tensor(2.0, dtype=torch.float64))
    sg = surrogate.Sigmoid(alpha=alpha)
    x = torch.randn(8, dtype=torch.float64, requires_grad=True)
    (grad_x,) = torch.autograd.grad(sg(x).sum(), x, create_graph=True)
    (dalpha,) = torch.autograd.grad(grad_x.sum(), alpha)
    a = alpha.detach().clone().requires_grad_()
    s = torch.sigmoid(a * x.detach())
    (expected,) = torch.autograd.grad((a * s * (1 - s)).sum(), a)
    torch.testing.assert_close(dalpha, expected)


NO_PRIMITIVE = [c for c in CLASSES if not c.has_primitive and c.params]


@pytest.mark.parametrize("cls", NO_PRIMITIVE, ids=lambda c: c.__name__)
def test_shapes_without_a_primitive_refuse_learnable_parameters(cls):
    name = cls.params[0].name
    with pytest.raises(TypeError, match=rf"'{name}' is learnable, but {cls.__name__} has no primitive"):
        build(cls, {**OTHER[cls.__name__], name: nn.Parameter(torch.tensor(0.5))})
    values = [torch.tensor(0.5, requires_grad=True) if p.name == name else OTHER[cls.__name__][p.name]
              for p in cls.params]
    with pytest.raises(TypeError, match=rf"'{name}' requires grad, but {cls.__name__} has no primitive"):
        cls.function.apply(torch.randn(3), *values)
    frozen = build(cls, {**OTHER[cls.__name__], name: nn.Parameter(torch.tensor(0.5), requires_grad=False)})
    assert frozen.learnable_params == ()


def test_bernoulli_sigmoid_learns_from_the_expected_spike():
    """E[bernoulli(s(alpha x))] = s(alpha x) = g: the parameter gradient is that of the expected output."""
    alpha = nn.Parameter(torch.tensor(3.0, dtype=torch.float64))
    x = torch.linspace(-1, 1, 11, dtype=torch.float64)
    surrogate.BernoulliSigmoid(alpha=alpha)(x).sum().backward()
    a = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(a * x).sum().backward()
    torch.testing.assert_close(alpha.grad, a.grad)


def test_a_neuron_on_the_reference_backend_learns_its_surrogate_width():
    width = nn.Parameter(torch.tensor(2.0))
    lif = neuron.LIFNode(surrogate_function=surrogate.ATan(alpha=width), step_mode="m", backend="reference")
    x = torch.rand(4, 3, 5) * 2
    lif(x).sum().backward()
    assert width.grad is not None and torch.isfinite(width.grad) and width.grad.item() != 0.0


@pytest.mark.parametrize(("cls", "name"), _learnable_cases())
def test_parameter_gradient_is_finite_at_infinite_inputs(cls, name):
    """dg/dtheta at x = +-inf is 0, as g' is there (``x * s'(alpha x)`` would be ``inf * 0``)."""
    params = dict(OTHER[cls.__name__])
    if cls is surrogate.MultiLevelSpikeCount:
        params = {"max_spike_count": 4, "grad_min": -0.5, "grad_max": 3.5}
    params[name] = nn.Parameter(torch.tensor(float(params[name]) or 0.5))
    x = torch.tensor([-float("inf"), -1.0, 0.0, 0.5, float("inf")])
    build(cls, params)(x).sum().backward()
    assert torch.isfinite(params[name].grad)


def test_learnable_parameters_under_torch_compile():
    alpha = nn.Parameter(torch.tensor(2.0))
    sg = surrogate.ATan(alpha=alpha)
    x = torch.randn(8, requires_grad=True)
    torch.compile(sg, fullgraph=True, backend="aot_eager")(x).sum().backward()
    compiled = alpha.grad.clone()
    alpha.grad = None
    sg(x.detach().requires_grad_()).sum().backward()
    torch.testing.assert_close(compiled, alpha.grad)
