"""The worked examples of NEURONS.md, defaults, validation and repr."""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad import kernels, neuron, surrogate

from .helpers import KINDS, make_node

INPUTS = [0.6, 0.6, 1.5, -0.3, 2.5]


@pytest.mark.parametrize("step_mode", ["s", "m"])
@pytest.mark.parametrize(
    ("decay_input", "v_reset", "spikes", "v"),
    [
        (True, 0.0, [0, 0, 0, 0, 1], [0.3, 0.45, 0.975, 0.3375, 0.0]),
        (False, None, [0, 0, 1, 0, 1], [0.6, 0.9, 0.95, 0.175, 1.5875]),
    ],
)
def test_worked_example_lif(backend, step_mode, decay_input, v_reset, spikes, v):
    node = neuron.LIFNode(
        tau=2,
        decay_input=decay_input,
        v_reset=v_reset,
        step_mode=step_mode,
        store_v_seq=True,
        backend=backend,
    )
    x = torch.tensor(INPUTS, dtype=torch.float64)
    out = node(x) if step_mode == "m" else torch.stack([node(xt) for xt in x])
    assert out.tolist() == spikes
    torch.testing.assert_close(node.v_seq, torch.tensor(v, dtype=torch.float64), rtol=0, atol=1e-12)
    assert node.v.item() == pytest.approx(v[-1], abs=1e-12)


def test_plif_starts_as_lif_of_init_tau(backend):
    plif = neuron.ParametricLIFNode(init_tau=2.0, step_mode="m", store_v_seq=True, backend=backend)
    x = torch.tensor(INPUTS)
    assert plif(x).tolist() == [0, 0, 0, 0, 1]
    torch.testing.assert_close(plif.v_seq, torch.tensor([0.3, 0.45, 0.975, 0.3375, 0.0]))


def test_if_soft_reset_by_hand(backend):
    node = neuron.IFNode(v_reset=None, step_mode="m", store_v_seq=True, backend=backend)
    out = node(torch.tensor([0.5, 0.5, 0.75, 0.0, 2.5], dtype=torch.float64))
    assert out.tolist() == [0, 1, 0, 0, 1]  # fires at exactly h = theta (H(0) = 1)
    assert node.v_seq.tolist() == [0.5, 0.0, 0.75, 0.75, 2.25]  # soft reset keeps the excess


def test_defaults():
    lif = neuron.LIFNode()
    assert (lif.tau, lif.decay_input, lif.v_threshold, lif.v_reset) == (2.0, True, 1.0, 0.0)
    assert (lif.detach_reset, lif.step_mode, lif.store_v_seq) == (False, "s", False)
    assert lif.backend == neuron.DEFAULT_BACKEND and lif.backend in kernels.BACKENDS
    assert repr(lif.surrogate_function) == "Sigmoid(alpha=4.0, spiking=True)"
    assert lif.v == 0.0 and lif.v_seq is None
    assert neuron.LIFNode(v_reset=None).v == 0.0
    assert neuron.IFNode(v_reset=-0.5).v == -0.5


def test_plif_w_initialisation():
    plif = neuron.ParametricLIFNode(init_tau=3.0)
    assert plif.w.item() == pytest.approx(-math.log(2.0))
    assert torch.sigmoid(plif.w).item() == pytest.approx(1 / 3)
    assert plif.tau == pytest.approx(3.0)
    assert [n for n, _ in plif.named_parameters()] == ["w"]


@pytest.mark.parametrize("kind", KINDS)
def test_fresh_surrogate_per_neuron(kind):
    a, b = make_node(kind), make_node(kind)
    assert isinstance(a.surrogate_function, surrogate.Sigmoid)
    assert a.surrogate_function is not b.surrogate_function
    a.surrogate_function.set_spiking_mode(False)
    assert b.surrogate_function.spiking


@pytest.mark.parametrize("name", ["ATan", "Erf", "PiecewiseQuadratic", "FastSigmoid", "Circ"])
def test_catalogue_surrogates_plug_in(backend, name):
    sg = surrogate.REGISTRY[name]()
    node = neuron.LIFNode(surrogate_function=sg, step_mode="m", backend=backend)
    x = torch.tensor([[0.4], [2.0], [2.4]], requires_grad=True)
    out = node(x)
    assert out.flatten().tolist() == [0.0, 1.0, 1.0]
    out[2].sum().backward()
    # the last step's charge is h = 0 + (2.4 - 0) / 2 = 1.2: d spike / d x = g'(0.2) / tau
    assert x.grad[2].item() == pytest.approx(0.5 * sg.grad(torch.tensor([0.2])).item())


@pytest.fixture
def triangle():
    """A custom surrogate, registered (kernels find shapes by name) only for this test."""
    name = "NeuronTestTriangle"

    def derivative(x, width=1.0):
        return torch.clamp(1 - (x / width).abs(), min=0)

    cls = surrogate.define(name, derivative=derivative, module=__name__)
    yield cls
    surrogate.REGISTRY.pop(name, None)


def test_custom_surrogate_plugs_in(backend, triangle):
    node = neuron.IFNode(surrogate_function=triangle(), step_mode="m", backend=backend)
    x = torch.tensor([1.25], requires_grad=True)
    node(x.unsqueeze(0)).sum().backward()
    assert x.grad.item() == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tau": 1.0}, ValueError, "tau must be a finite number > 1"),
        ({"tau": 0.5}, ValueError, "tau"),
        ({"tau": float("nan")}, ValueError, "tau"),
        ({"tau": "2"}, TypeError, "tau must be a real number"),
        ({"v_threshold": float("inf")}, ValueError, "v_threshold must be a finite number, got inf"),
        ({"v_threshold": None}, TypeError, "v_threshold"),
        ({"v_threshold": True}, TypeError, "v_threshold"),
        ({"v_reset": float("nan")}, ValueError, "v_reset"),
        ({"v_reset": torch.tensor(0.0)}, TypeError, "v_reset must be a real number"),
        ({"step_mode": "multi"}, ValueError, "step_mode must be 's' or 'm'.*'multi'"),
        (
            {"backend": "cuda"},
            ValueError,
            r"backend must be one of \('auto', 'fused', 'reference'\), got 'cuda'",
        ),
        ({"detach_reset": 1}, TypeError, "detach_reset must be True or False"),
        ({"decay_input": "yes"}, TypeError, "decay_input"),
        ({"store_v_seq": None}, TypeError, "store_v_seq"),
        ({"surrogate_function": surrogate.ATan}, TypeError, r"write ATan\(\) instead"),
        ({"surrogate_function": torch.sigmoid}, TypeError, "must be a surrogate module"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        neuron.LIFNode(**kwargs)


def test_plif_bad_init_tau():
    with pytest.raises(ValueError, match=r"init_tau must be a finite number > 1, got 1.0"):
        neuron.ParametricLIFNode(init_tau=1)


def test_ints_accepted():
    node = neuron.LIFNode(tau=3, v_threshold=2, v_reset=-1)
    assert (node.tau, node.v_threshold, node.v_reset) == (3.0, 2.0, -1.0)
    assert isinstance(node.v_threshold, float)


def test_assignment_is_validated_too():
    node = neuron.IFNode()
    node.v_threshold = 0.5
    assert node.v_threshold == 0.5
    with pytest.raises(ValueError, match=r"v_threshold"):
        node.v_threshold = float("nan")
    with pytest.raises(ValueError, match=r"step_mode"):
        node.step_mode = "x"
    with pytest.raises(ValueError, match=r"backend"):
        node.backend = "triton"
    node.v_reset = None
    assert node.v_reset is None and node.v_rest == 0.0
    lif = neuron.LIFNode()
    with pytest.raises(ValueError, match=r"tau must be a finite number > 1, got 1.0"):
        lif.tau = 1
    with pytest.raises(TypeError, match=r"decay_input"):
        lif.decay_input = 0


def test_base_node_is_abstract():
    with pytest.raises(TypeError, match=r"define neuronal_charge"):
        neuron.BaseNode()


def test_repr():
    lif = neuron.LIFNode(tau=3.0, v_reset=None, surrogate_function=surrogate.ATan(alpha=3.0), step_mode="m")
    assert repr(lif) == (
        "LIFNode(\n"
        "  tau=3.0, decay_input=True, v_threshold=1.0, v_reset=None, detach_reset=False, step_mode='m'\n"
        "  (surrogate_function): ATan(alpha=3.0, spiking=True)\n)"
    )
    plif = neuron.ParametricLIFNode(init_tau=4.0, store_v_seq=True)
    assert "decay_input=True, v_threshold=1.0, v_reset=0.0, detach_reset=False, store_v_seq=True" in repr(
        plif
    )
    assert "step_mode='s', tau=4.0\n" in repr(plif)
    assert "backend='reference'" in repr(neuron.IFNode(backend="reference"))
    assert repr(neuron.IFNode()).startswith("IFNode(\n  v_threshold=1.0, v_reset=0.0, detach_reset=False")


@pytest.mark.parametrize("kind", KINDS)
def test_non_float_input_refused(kind):
    node = make_node(kind)
    with pytest.raises(TypeError, match=r"floating-point"):
        node(torch.ones(3, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"torch.Tensor"):
        node([1.0, 2.0])
    node.step_mode = "m"
    with pytest.raises(ValueError, match=r"\[T, \*shape\]"):
        node(torch.tensor(1.0))
