"""``torch.compile(fullgraph=True)``: no graph break, same spikes and gradients as eager.

Every shape goes through ``aot_eager`` (Dynamo tracing and AOT autograd, cheap to compile);
a few also through inductor, the backend users get by default.
"""

from __future__ import annotations

import pytest
import torch

from spikegrad import surrogate

from .cases import CLASSES, build, cases, sample_input

INDUCTOR = [surrogate.ATan, surrogate.PiecewiseLeakyReLU, surrogate.MultiLevelSpikeCount]


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def check_compiled(sg: surrogate.Surrogate, x: torch.Tensor, backend: str, functional: bool) -> None:
    cls = type(sg)
    if functional:
        def step(v):
            return cls.traceable_function.apply(v, *sg.param_values) * 2.0
    else:
        def step(v):
            return sg(v) * 2.0
    compiled = torch.compile(step, backend=backend, fullgraph=True)
    grad_out = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    x_c = x.clone().requires_grad_()
    y_c = compiled(x_c)
    y_c.backward(grad_out)
    x_e = x.clone().requires_grad_()
    y_e = step(x_e)
    y_e.backward(grad_out)
    assert y_c.dtype == x.dtype
    if cls is surrogate.StochasticSpikeOperator:
        torch.testing.assert_close(y_c, y_e)
        spiked = x >= 0
        torch.testing.assert_close(x_c.grad[spiked], x_e.grad[spiked])
    elif cls.stochastic:
        assert set((y_c / 2).unique().tolist()) <= {0.0, 1.0}
        torch.testing.assert_close(x_c.grad, x_e.grad)
    else:
        torch.testing.assert_close(y_c, y_e, rtol=0, atol=0)
        torch.testing.assert_close(x_c.grad, x_e.grad)


@pytest.mark.parametrize(("cls", "params"), cases(which=("other",)))
def test_compile_module_aot_eager(cls, params):
    check_compiled(build(cls, params), sample_input(cls, 16, torch.float32), "aot_eager", functional=False)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_compile_functional_aot_eager(cls):
    check_compiled(build(cls), sample_input(cls, 16, torch.float32), "aot_eager", functional=True)


def test_compile_tensor_params_aot_eager():
    """Per-channel parameters held in buffers are traced as graph inputs."""
    sg = surrogate.PiecewiseLeakyReLU(w=torch.tensor([[0.5], [1.0]]), c=torch.tensor([[0.0], [0.1]]))
    check_compiled(sg, torch.randn(2, 8), "aot_eager", functional=False)


@pytest.mark.parametrize("cls", INDUCTOR, ids=lambda c: c.__name__)
def test_compile_inductor(cls):
    check_compiled(build(cls), sample_input(cls, 16, torch.float32), "inductor", functional=False)


def test_compiled_module_has_no_graph_break():
    """A small step (charge, fire, soft reset) through a surrogate module is one graph."""
    sg = surrogate.ATan()

    def step(v, inp):
        v = v + inp
        spike = sg(v - 1.0)
        return v - spike, spike

    explanation = torch._dynamo.explain(step)(torch.zeros(4), torch.rand(4))
    assert explanation.graph_break_count == 0
    assert explanation.graph_count == 1
