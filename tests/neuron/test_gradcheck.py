"""Gradients of whole neurons, with the surrogate in ``spiking=False`` mode (a smooth neuron).

Without ``detach_reset`` the neuron is an ordinary smooth function: ``gradcheck``. With it,
the gradient is by design the derivative of the neuron in which the reset gate ``r_t`` is a
constant; that function is written out below and differentiated numerically.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from spikegrad import functional, neuron, surrogate

from .helpers import KINDS, make_node, random_inputs

T, N = 4, 3
ALPHA = 3.0
CONFIGS = [
    pytest.param(
        kind,
        v_reset,
        decay,
        id=f"{kind}-{'hard' if v_reset is not None else 'soft'}{'' if decay else '-nodecay'}",
    )
    for kind, v_reset, decay in itertools.product(KINDS, (-0.1, None), (True, False))
    if decay or kind != "if"
]


def smooth_node(kind, v_reset, decay_input, detach_reset, backend) -> neuron.BaseNode:
    sg = surrogate.Sigmoid(alpha=ALPHA, spiking=False)
    return make_node(
        kind,
        decay_input=decay_input,
        tau=1.5,
        v_threshold=0.8,
        v_reset=v_reset,
        detach_reset=detach_reset,
        surrogate_function=sg,
        step_mode="m",
        store_v_seq=True,
        backend=backend,
    ).double()


def as_function(node: neuron.BaseNode):
    """``(x_seq, v0, w) -> (spikes, final v, v_seq)``; ``w`` is PLIF's parameter (ignored otherwise)."""

    def fn(x_seq, v0, w):
        functional.reset_net(node)
        node.v = v0
        params = {"w": w} if isinstance(node, neuron.ParametricLIFNode) else {}
        spikes = torch.func.functional_call(node, params, (x_seq,))
        return spikes, node.v, node.v_seq

    return fn


def inputs():
    x = random_inputs((T, N), seed=11) * 1.2
    v0 = random_inputs((N,), seed=12) * 0.5
    w = torch.tensor(0.3, dtype=torch.float64)
    return [t.requires_grad_() for t in (x, v0, w)]


@pytest.mark.parametrize(("kind", "v_reset", "decay_input"), CONFIGS)
def test_gradcheck_smooth_neuron(backend, kind, v_reset, decay_input):
    node = smooth_node(kind, v_reset, decay_input, detach_reset=False, backend=backend)
    assert torch.autograd.gradcheck(as_function(node), inputs())


def frozen_gate_oracle(kind, v_reset, decay_input, x, v0, w, gates):
    """The smooth neuron of NEURONS.md with reset gates ``r_t`` given as constants."""
    theta, rest = 0.8, (0.0 if v_reset is None else v_reset)
    k = {"if": 0.0, "lif": 1 / 1.5, "plif": torch.sigmoid(w)}[kind]
    v, spikes, vs = v0, [], []
    for t in range(x.shape[0]):
        if kind == "if":
            h = v + x[t]
        elif decay_input:
            h = v + k * (x[t] - (v - rest))
        else:
            h = v - k * (v - rest) + x[t]
        spikes.append(torch.sigmoid(ALPHA * (h - theta)))
        r = gates[t]
        v = h - r * theta if v_reset is None else r * v_reset + (1 - r) * h
        vs.append(v)
    return torch.stack(spikes), v, torch.stack(vs)


def flat(outputs) -> torch.Tensor:
    return torch.cat([o.reshape(-1) for o in outputs])


@pytest.mark.parametrize(("kind", "v_reset", "decay_input"), CONFIGS)
def test_detach_reset_gradient_is_that_of_frozen_gates(backend, kind, v_reset, decay_input):
    node = smooth_node(kind, v_reset, decay_input, detach_reset=True, backend=backend)
    fn = as_function(node)
    args = inputs()
    outputs = fn(*args)
    gates = outputs[0].detach()
    oracle = frozen_gate_oracle(kind, v_reset, decay_input, *args, gates)
    torch.testing.assert_close(flat(outputs), flat(oracle))

    analytic = torch.autograd.functional.jacobian(lambda *a: flat(fn(*a)), tuple(args))
    eps = 1e-6
    for i, arg in enumerate(args):
        numeric = []
        for j in range(arg.numel()):
            shift = torch.zeros_like(arg).reshape(-1)
            shift[j] = eps
            shift = shift.view_as(arg)
            plus = [a.detach() + shift if m == i else a.detach() for m, a in enumerate(args)]
            minus = [a.detach() - shift if m == i else a.detach() for m, a in enumerate(args)]
            diff = flat(frozen_gate_oracle(kind, v_reset, decay_input, *plus, gates)) - flat(
                frozen_gate_oracle(kind, v_reset, decay_input, *minus, gates)
            )
            numeric.append(diff / (2 * eps))
        numeric_jac = torch.stack(numeric, dim=-1)
        torch.testing.assert_close(analytic[i].reshape(numeric_jac.shape), numeric_jac, rtol=1e-5, atol=1e-7)
    # detaching really changes the gradient (else this test would prove nothing)
    attached = as_function(smooth_node(kind, v_reset, decay_input, detach_reset=False, backend=backend))
    full = torch.autograd.functional.jacobian(lambda *a: flat(attached(*a)), tuple(args))
    assert not torch.allclose(full[0], analytic[0])
