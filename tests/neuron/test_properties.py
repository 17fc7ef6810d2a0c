"""Hypothesis properties of the neuron dynamics (float64, any configuration)."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikegrad import surrogate

from .helpers import BACKENDS_UNDER_TEST, KINDS, make_node

finite = st.floats(-3.0, 3.0, allow_nan=False, width=64)
sequences = st.lists(st.lists(finite, min_size=1, max_size=4), min_size=1, max_size=12).filter(
    lambda rows: len({len(r) for r in rows}) == 1
)
thresholds = st.floats(0.1, 2.0)
SHAPES = ["Sigmoid", "ATan", "Rect", "FastSigmoid"]
backends = st.sampled_from(BACKENDS_UNDER_TEST)

quick = settings(max_examples=60, deadline=None, derandomize=True)


def node_from(data, kind, backend, **kwargs):
    return make_node(
        kind,
        decay_input=data.draw(st.booleans()),
        tau=data.draw(st.floats(1.05, 20.0)),
        detach_reset=data.draw(st.booleans()),
        surrogate_function=surrogate.REGISTRY[data.draw(st.sampled_from(SHAPES))](),
        step_mode="m",
        store_v_seq=True,
        backend=backend,
        **kwargs,
    ).double()


@quick
@given(
    data=st.data(),
    rows=sequences,
    kind=st.sampled_from(KINDS),
    backend=backends,
    soft=st.booleans(),
    theta=thresholds,
)
def test_spikes_are_zero_or_one(data, rows, kind, backend, soft, theta):
    node = node_from(data, kind, backend, v_threshold=theta, v_reset=None if soft else 0.0)
    spikes = node(torch.tensor(rows, dtype=torch.float64))
    assert spikes.shape == (len(rows), len(rows[0]))
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}


@quick
@given(rows=sequences, v0=finite, theta=thresholds, backend=backends, detach=st.booleans())
def test_if_soft_reset_conserves_charge(rows, v0, theta, backend, detach):
    node = make_node(
        "if", v_threshold=theta, v_reset=None, detach_reset=detach, step_mode="m", backend=backend
    )
    x = torch.tensor(rows, dtype=torch.float64)
    node.v = torch.full(x.shape[1:], v0, dtype=torch.float64)
    spikes = node(x)
    torch.testing.assert_close(node.v, v0 + x.sum(0) - theta * spikes.sum(0), rtol=0, atol=1e-9)


@quick
@given(
    data=st.data(),
    rows=sequences,
    kind=st.sampled_from(KINDS),
    backend=backends,
    soft=st.booleans(),
    theta=thresholds,
)
def test_fires_exactly_when_charge_reaches_threshold(data, rows, kind, backend, soft, theta):
    v_reset = None if soft else data.draw(st.floats(-1.0, 0.0))
    node = node_from(data, kind, backend, v_threshold=theta, v_reset=v_reset)
    x = torch.tensor(rows, dtype=torch.float64)
    spikes = node(x)
    # The charge, written out here from NEURONS.md independently of the library.
    rest = 0.0 if v_reset is None else v_reset
    k = 0.0 if kind == "if" else 1.0 / node.tau
    v_prev = torch.full(x.shape[1:], rest, dtype=torch.float64)
    for t in range(len(rows)):
        if kind == "if":
            h = v_prev + x[t]
        elif node.decay_input:
            h = v_prev + k * (x[t] - (v_prev - rest))
        else:
            h = v_prev - k * (v_prev - rest) + x[t]
        torch.testing.assert_close(spikes[t], (h >= theta).double())
        v_prev = node.v_seq[t]


@quick
@given(
    data=st.data(),
    rows=sequences,
    kind=st.sampled_from(KINDS),
    backend=backends,
    v_reset=st.floats(-1.0, 0.5),
    theta=st.floats(0.6, 2.0),
)
def test_hard_reset_lands_on_v_reset(data, rows, kind, backend, v_reset, theta):
    node = node_from(data, kind, backend, v_threshold=theta, v_reset=v_reset)
    spikes = node(torch.tensor(rows, dtype=torch.float64) * 2)
    fired = spikes.bool()
    assert (node.v_seq[fired] == v_reset).all()
    assert (node.v_seq[~fired] < theta).all()


@quick
@given(rows=st.lists(st.floats(-3.0, 0.999), min_size=1, max_size=12), backend=backends)
def test_lif_never_fires_on_inputs_below_threshold(rows, backend):
    # With decay_input, h is a convex mix of v (< theta) and x (< theta): it never reaches theta.
    node = make_node("lif", decay_input=True, step_mode="m", backend=backend)
    assert node(torch.tensor(rows, dtype=torch.float64)).sum() == 0
