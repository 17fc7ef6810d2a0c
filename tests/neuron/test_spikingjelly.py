"""Differential tests against SpikingJelly 2.0's IF, LIF and PLIF neurons (its torch path).

Same configuration on both sides (SpikingJelly's surrogate gets the same explicit
parameters), same inputs and initial potential: same spikes, final v, v_seq, and gradients
of the input, the initial potential and PLIF's w.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from spikegrad import functional, surrogate

from .helpers import KINDS, make_node, random_inputs

sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
sj_surrogate = pytest.importorskip("spikingjelly.activation_based.surrogate")

SURROGATES = {  # name -> explicit parameters, identical on both sides
    "Sigmoid": {"alpha": 4.0},
    "ATan": {"alpha": 2.0},
    "Erf": {"alpha": 2.0},
    "PiecewiseQuadratic": {"alpha": 1.0},
    "SoftSign": {"alpha": 2.0},
    "PiecewiseLeakyReLU": {"w": 1.0, "c": 0.01},
}


def sj_node(kind, decay_input, tau, **kwargs):
    if kind == "if":
        return sj_neuron.IFNode(**kwargs)
    if kind == "lif":
        return sj_neuron.LIFNode(tau=tau, decay_input=decay_input, **kwargs)
    return sj_neuron.ParametricLIFNode(init_tau=tau, decay_input=decay_input, **kwargs)


def run(node, x_seq, v0, step_mode, store_v_seq):
    x_seq = x_seq.detach().clone().requires_grad_()
    v0 = v0.detach().clone().requires_grad_()
    node.v = v0
    spikes = node(x_seq) if step_mode == "m" else torch.stack([node(x) for x in x_seq])
    weights = torch.linspace(-1.0, 2.0, spikes.numel(), dtype=x_seq.dtype).view_as(spikes)
    loss = (spikes * weights).sum() + (node.v * 0.3).sum()
    if store_v_seq:
        loss = loss + (node.v_seq * weights.flip(0)).sum()
    loss.backward()
    w_grad = node.w.grad if hasattr(node, "w") else None
    return {
        "spikes": spikes,
        "v": node.v,
        "v_seq": node.v_seq if store_v_seq else None,
        "grad x": x_seq.grad,
        "grad v0": v0.grad,
        "grad w": w_grad,
    }


def compare(kind, step_mode, v_reset, detach_reset, sg, decay_input, store_v_seq, dtype, backend):
    params = SURROGATES[sg]
    common = {
        "v_threshold": 1.0,
        "v_reset": v_reset,
        "detach_reset": detach_reset,
        "step_mode": step_mode,
        "store_v_seq": store_v_seq,
    }
    ours = make_node(
        kind,
        decay_input=decay_input,
        tau=1.8,
        backend=backend,
        surrogate_function=surrogate.REGISTRY[sg](**params),
        **common,
    ).to(dtype)
    theirs = sj_node(
        kind, decay_input, 1.8, surrogate_function=getattr(sj_surrogate, sg)(**params), **common
    ).to(dtype)
    x_seq = random_inputs((6, 2, 5), seed=21, dtype=dtype) * 2
    v0 = random_inputs((2, 5), seed=22, dtype=dtype) * 0.5
    a = run(ours, x_seq, v0, step_mode, store_v_seq)
    b = run(theirs, x_seq, v0, step_mode, store_v_seq)
    assert a["spikes"].sum() > 0 and (a["spikes"] == 0).any()
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-6}
    for key in a:
        if b[key] is None:
            assert a[key] is None, key
        else:
            torch.testing.assert_close(a[key], b[key], **tol, msg=key)
    if not store_v_seq:
        assert ours.v_seq is None
    functional.reset_net(ours)
    theirs.reset()


@pytest.mark.parametrize("sg", list(SURROGATES))
@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("v_reset", [0.0, -0.2, None], ids=["hard0", "hard-0.2", "soft"])
@pytest.mark.parametrize("step_mode", ["s", "m"])
@pytest.mark.parametrize("kind", KINDS)
def test_same_as_spikingjelly(backend, kind, step_mode, v_reset, detach_reset, sg):
    for decay_input, store_v_seq in itertools.product((True, False), (True, False)):
        if kind == "if" and not decay_input:
            continue
        compare(kind, step_mode, v_reset, detach_reset, sg, decay_input, store_v_seq, torch.float64, backend)


@pytest.mark.parametrize("step_mode", ["s", "m"])
@pytest.mark.parametrize("kind", KINDS)
def test_same_as_spikingjelly_float32(backend, kind, step_mode):
    # float32 takes SpikingJelly's own CPU kernels where it has them.
    for v_reset, detach_reset in itertools.product((0.0, None), (False, True)):
        compare(kind, step_mode, v_reset, detach_reset, "ATan", True, True, torch.float32, backend)
