"""The neuron step helpers (lif_charge, voltage_reset, if/lif/plif step and multi-step) against
SpikingJelly 2.0: spikes, potentials and gradients of the input, the initial potential and w."""

from __future__ import annotations

import itertools

import pytest
import torch

import sj
from spikegrad import functional, surrogate

sj_functional = sj.module("functional")
sj_surrogate = sj.module("surrogate")

RESETS = [0.0, None, -0.2]


def _inputs(seed: int, shape=(6, 3, 4)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x_seq = torch.rand(shape, generator=g) * 1.6 - 0.2
    v0 = torch.rand(shape[1:], generator=g) * 0.5
    return x_seq, v0


def _grads(outputs, leaves):
    weights = [torch.linspace(-1, 1, o.numel()).view_as(o) for o in outputs]
    total = sum((o * w).sum() for o, w in zip(outputs, weights, strict=True))
    return torch.autograd.grad(total, leaves, allow_unused=True)


def _compare(ours_fn, theirs_fn, leaves):
    ours_leaves = [t.clone().requires_grad_() for t in leaves]
    theirs_leaves = [t.clone().requires_grad_() for t in leaves]
    ours = [o for o in ours_fn(*ours_leaves) if o is not None]
    theirs = [o for o in theirs_fn(*theirs_leaves) if o is not None]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b)
    for a, b in zip(_grads(ours, ours_leaves), _grads(theirs, theirs_leaves), strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("decay_input, v_reset", list(itertools.product([True, False], RESETS)))
def test_lif_charge_same_as_spikingjelly(decay_input, v_reset):
    x_seq, v0 = _inputs(0)
    _compare(
        lambda x, v: (functional.lif_charge(x, v, 3.0, decay_input, v_reset),),
        lambda x, v: (sj_functional.lif_charge(x, v, 3.0, decay_input, v_reset),),
        [x_seq[0], v0],
    )


@pytest.mark.parametrize("v_reset, detach_reset", list(itertools.product(RESETS, [False, True])))
def test_voltage_reset_same_as_spikingjelly(v_reset, detach_reset):
    x_seq, v0 = _inputs(1)
    _compare(
        lambda h, s: (functional.voltage_reset(h, s, 0.8, v_reset, detach_reset),),
        lambda h, s: (sj_functional.voltage_reset(h, s, 0.8, v_reset, detach_reset),),
        [x_seq[0] + v0, torch.sigmoid(x_seq[1])],
    )


@pytest.mark.parametrize("v_reset, detach_reset", list(itertools.product(RESETS, [False, True])))
def test_single_steps_same_as_spikingjelly(v_reset, detach_reset):
    x_seq, v0 = _inputs(2)
    w = torch.tensor(-0.4)
    cases = [
        (
            lambda x, v: functional.if_step(x, v, 1.0, v_reset, surrogate.ATan(), detach_reset),
            lambda x, v: sj_functional.if_step(x, v, 1.0, v_reset, sj_surrogate.ATan(), detach_reset),
        ),
        (
            lambda x, v: functional.lif_step(x, v, 2.5, False, 1.0, v_reset, surrogate.ATan(), detach_reset),
            lambda x, v: sj_functional.lif_step(
                x, v, 2.5, False, 1.0, v_reset, sj_surrogate.ATan(), detach_reset
            ),
        ),
    ]
    for ours, theirs in cases:
        _compare(ours, theirs, [x_seq[0] + 0.5, v0])
    _compare(
        lambda x, v, w: functional.plif_step(x, v, w, True, 1.0, v_reset, surrogate.Sigmoid(), detach_reset),
        lambda x, v, w: sj_functional.plif_step(
            x, v, w, True, 1.0, v_reset, sj_surrogate.Sigmoid(), detach_reset
        ),
        [x_seq[0] + 0.5, v0, w],
    )


@pytest.mark.parametrize(
    "kind, v_reset, detach_reset, store_v_seq",
    [(k, r, d, s) for k in ("if", "lif", "plif") for r, d, s in [(0.0, False, True), (None, True, False)]],
)
@pytest.mark.parametrize("backend", ["reference", "fused"])
def test_multi_steps_same_as_spikingjelly(kind, v_reset, detach_reset, store_v_seq, backend):
    x_seq, v0 = _inputs(3)
    w = torch.tensor(0.3)
    common = {
        "v_threshold": 1.0,
        "v_reset": v_reset,
        "detach_reset": detach_reset,
        "store_v_seq": store_v_seq,
    }
    if kind == "if":
        _compare(
            lambda x, v: functional.if_multi_step(
                x, v, **common, surrogate_function=surrogate.Sigmoid(), backend=backend
            ),
            lambda x, v: sj_functional.if_multi_step(
                x, v, **common, surrogate_function=sj_surrogate.Sigmoid()
            ),
            [x_seq, v0],
        )
    elif kind == "lif":
        _compare(
            lambda x, v: functional.lif_multi_step(x, v, 2.0, True, **common, backend=backend),
            lambda x, v: sj_functional.lif_multi_step(x, v, 2.0, True, **common),
            [x_seq, v0],
        )
    else:
        _compare(
            lambda x, v, w: functional.plif_multi_step(x, v, w, False, **common, backend=backend),
            lambda x, v, w: sj_functional.plif_multi_step(x, v, w, False, **common),
            [x_seq, v0, w],
        )


def test_multi_step_picks_the_backend_from_the_surrogate():
    x_seq, v0 = _inputs(4)

    def plain_step(x: torch.Tensor) -> torch.Tensor:  # any callable: the reference loop runs it
        return (x >= 0).to(x)

    spikes, v, v_seq = functional.lif_multi_step(x_seq, v0, surrogate_function=plain_step)
    expected = functional.lif_multi_step(x_seq, v0, backend="reference")
    assert torch.equal(spikes, expected[0]) and torch.equal(v, expected[1]) and v_seq is None
    # a w of several elements is broadcast against a step, fused too
    w = torch.tensor([0.1, -0.2, 0.3, 0.0])
    spikes, v, _ = functional.plif_multi_step(x_seq, v0, w, backend="fused")
    assert torch.equal(spikes, functional.plif_multi_step(x_seq, v0, w, backend="reference")[0])
    k = torch.sigmoid(w)
    h = v0 + k * (x_seq[0] - v0)
    assert torch.equal(spikes[0], (h >= 1.0).float())


def test_number_initial_potential():
    x_seq, _ = _inputs(5)
    by_number = functional.if_multi_step(x_seq, 0.25, backend="reference")
    by_tensor = functional.if_multi_step(x_seq, torch.full(x_seq.shape[1:], 0.25), backend="reference")
    assert torch.equal(by_number[0], by_tensor[0]) and torch.equal(by_number[1], by_tensor[1])


def test_neuron_step_validation():
    x_seq, v0 = _inputs(6)
    with pytest.raises(ValueError, match=r"lif_charge: tau must be a finite number > 1, got 1.0"):
        functional.lif_charge(x_seq[0], v0, 1.0, True, 0.0)
    with pytest.raises(TypeError, match=r"voltage_reset: detach_reset must be True or False, got 1"):
        functional.voltage_reset(x_seq[0], x_seq[0], 1.0, 0.0, 1)
    with pytest.raises(ValueError, match=r"if_step: v_threshold must be a finite number, got nan"):
        functional.if_step(x_seq[0], v0, float("nan"), 0.0, surrogate.ATan())
    with pytest.raises(
        TypeError, match=r"lif_step: surrogate_function must be a spike function .*an instance"
    ):
        functional.lif_step(x_seq[0], v0, 2.0, True, 1.0, 0.0, surrogate.ATan)
    with pytest.raises(TypeError, match=r"plif_step: w must be a floating-point tensor"):
        functional.plif_step(x_seq[0], v0, 0.5, True, 1.0, 0.0, surrogate.ATan())
    with pytest.raises(ValueError, match=r"v must have the shape of one step \(3, 4\), got \(4,\)"):
        functional.if_multi_step(x_seq, torch.zeros(4))
    with pytest.raises(TypeError, match=r"x_seq must be a floating-point tensor \[T, \*shape\]"):
        functional.lif_multi_step(x_seq.long(), v0)
    with pytest.raises(
        ValueError, match=r"backend must be one of \('auto', 'fused', 'reference'\), got 'cuda'"
    ):
        functional.if_multi_step(x_seq, v0, backend="cuda")
    with pytest.raises(ValueError, match=r"if_multi_step: v must be a finite number, got nan"):
        functional.if_multi_step(x_seq, float("nan"))
    with pytest.raises(TypeError, match=r"store_v_seq must be True or False"):
        functional.if_multi_step(x_seq, v0, store_v_seq=None)
