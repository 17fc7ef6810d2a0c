"""Differential tests against SpikingJelly 2.0: ternary, resonate-and-fire, CLIF, I-LIF,
non-spiking, gated, OTTT and parallel spiking neurons.

The same configuration on both sides (SpikingJelly's surrogate gets the same explicit
parameters), the same inputs and initial state, in float64: the same outputs, final states,
state sequences and gradients of the input, of every initial state and of every learnable
parameter, in both step modes and with both backends. SpikingJelly's ``state_dict`` loads
strictly into spikegrad's class and back. Where the two differ by design, the test asserts
the difference (see docs/differences_spikingjelly.md).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch
from torch import Tensor

import sj
from spikegrad import functional, neuron

from .cases import (
    CASE_CONFIGS,
    RECURRENCES,
    SURROGATES,
    Recurrence,
    inputs,
    make_ours,
    make_theirs,
    ours_surrogate,
    perturbed,
    recurrence_kwargs,
    run_gated,
    run_online,
    weights,
)

sj_neuron = sj.module("neuron")
sj_surrogate = sj.module("surrogate")

BACKENDS = ("reference", "fused")
F64 = {"rtol": 1e-10, "atol": 1e-12}


def assert_same(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert ours.keys() == theirs.keys()
    for key in ours:
        a, b = ours[key], theirs[key]
        if a is None or b is None:
            assert a is None and b is None, key
        else:
            torch.testing.assert_close(a, b, **F64, msg=key)


def run_recurrence(node: Any, case: Recurrence, x_seq: Tensor, step_mode: str) -> dict[str, Any]:
    """Outputs, final states, state sequences and every gradient of one run from a given state."""
    x = x_seq.detach().clone().requires_grad_()
    starts = {}
    for i, name in enumerate(case.states):
        start = inputs(x_seq.shape[1:], 0.5, seed=10 + i).requires_grad_()
        setattr(node, name, start)
        starts[name] = start
    out = node(x) if step_mode == "m" else torch.stack([node(x_t) for x_t in x])
    result: dict[str, Any] = {"out": out}
    result.update({name: getattr(node, name) for name in case.states})
    if case.store_v_seq:
        result["v_seq"] = node.v_seq
    if case.name == "ComplementaryLIFNode" and node.state_seqs is not None:
        result["v_seq"], result["m_seq"] = node.state_seqs
    loss = sum((t * weights(t, i)).sum() for i, t in enumerate(result.values()) if t is not None)
    params = [p for _, p in sorted(node.named_parameters())]
    grads = torch.autograd.grad(loss, [x, *starts.values(), *params])
    result["grad x"] = grads[0]
    result.update({f"grad {name}0": g for name, g in zip(starts, grads[1:], strict=False)})
    result.update({f"grad {i}": g for i, g in enumerate(grads[1 + len(starts) :])})
    return result


def config_id(value: Any) -> str:
    if isinstance(value, Recurrence):
        return value.name
    sg, v_reset, detach_reset = value
    return f"{sg}-{'soft' if v_reset is None else f'hard{v_reset}'}{'-detach' if detach_reset else ''}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("step_mode", ["s", "m"])
@pytest.mark.parametrize(("case", "config"), CASE_CONFIGS, ids=config_id)
def test_recurrence_same_as_spikingjelly(case, config, step_mode, backend):
    sg, v_reset, detach_reset = config
    kwargs: dict[str, Any] = {"step_mode": step_mode, **recurrence_kwargs(case, v_reset, detach_reset)}
    # 's' mode records v_seq in Python (no extra kernels); 'm' mode stores it in one configuration.
    store = step_mode == "s" or config == case.configs[1]
    if case.store_v_seq:
        kwargs["store_v_seq"] = store
    elif case.name == "ComplementaryLIFNode":
        kwargs["store_state_seqs"] = store
    ours = make_ours(case, sg, backend=backend, **kwargs)
    theirs = make_theirs(sj_neuron, sj_surrogate, case, sg, **kwargs)
    x_seq = inputs((6, 2, 5), case.scale, seed=21)
    a = run_recurrence(ours, case, x_seq, step_mode)
    b = run_recurrence(theirs, case, x_seq, step_mode)
    assert 0 < (a["out"] != 0).sum() < a["out"].numel()
    assert_same(a, b)
    functional.reset_net(ours)
    assert ours.v_seq is None


@pytest.mark.parametrize("case", RECURRENCES, ids=str)
def test_recurrence_state_dict_both_ways(case):
    ours = make_ours(case, "Sigmoid")
    theirs = make_theirs(sj_neuron, sj_surrogate, case, "Sigmoid")
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    assert [name for name, _ in ours.named_memories()] == [*case.states, "v_seq"]


def test_ilif_grad_window_same_as_spikingjelly():
    # A gradient window other than the default (0, D): the straight-through estimator's range.
    from spikegrad import surrogate

    ours = neuron.ILIFNode(surrogate_function=surrogate.MultiLevelSpikeCount(3, grad_window=(-0.5, 2.5)))
    theirs = sj_neuron.ILIFNode(
        surrogate_function=sj_surrogate.MultiLevelSpikeCount(3, grad_window=(-0.5, 2.5))
    )
    case = RECURRENCES[3]
    ours.step_mode = theirs.step_mode = "m"
    x_seq = inputs((6, 2, 5), case.scale, seed=4)
    assert_same(run_recurrence(ours, case, x_seq, "m"), run_recurrence(theirs, case, x_seq, "m"))


# --------------------------------------------------------------------------- non-spiking


@pytest.mark.parametrize("decode", [None, "max-mem", "max-abs-mem", "mean-mem", "last_mem"])
@pytest.mark.parametrize("cls", ["NonSpikingIFNode", "NonSpikingLIFNode"])
def test_nonspiking_same_as_spikingjelly(cls, decode):
    args = (1.6,) if cls == "NonSpikingLIFNode" else ()
    # The decoding reads the potential sequence after the recurrence, whichever backend ran
    # it: every decoding on the reference loop, the recurrence fused once per class.
    backends = BACKENDS if decode is None else ("reference",)
    x_seq = inputs((6, 2, 3, 4), seed=3)
    x_seq[2:4, 0, 0] = 0.0  # steps where v stays equal: ties for the maximum
    theirs = getattr(sj_neuron, cls)(*args, decode=decode)
    xb = x_seq.clone().requires_grad_()
    expected = theirs(xb)
    if decode is None:
        expected = torch.stack(expected)  # SpikingJelly returns a list of T tensors
    (expected_grad,) = torch.autograd.grad((expected * weights(expected, 1)).sum(), xb)
    for backend in backends:
        ours = getattr(neuron, cls)(*args, decode=decode, backend=backend)
        for _ in range(2):  # every call starts again from v = 0, as SpikingJelly's
            xa = x_seq.clone().requires_grad_()
            got = ours(xa)
            torch.testing.assert_close(got, expected, **F64)
            torch.testing.assert_close(ours.v, theirs.v, **F64)
            (grad,) = torch.autograd.grad((got * weights(got, 1)).sum(), xa)
            torch.testing.assert_close(grad, expected_grad, **F64)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)


# --------------------------------------------------------------------------- gated LIF


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sg", list(SURROGATES))
@pytest.mark.parametrize("inplane", [None, 3], ids=["per-layer", "per-channel"])
def test_gated_same_as_spikingjelly(inplane, sg, backend):
    theirs = sj_neuron.GatedLIFNode(
        6, inplane, surrogate_function=getattr(sj_surrogate, sg)(**SURROGATES[sg])
    )
    ours = neuron.GatedLIFNode(6, inplane, surrogate_function=ours_surrogate(sg), backend=backend)
    theirs.double()
    ours.double()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(perturbed(ours, seed=5), strict=True)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x_seq = inputs((6, 2, 3, 4, 4), seed=6)  # SpikingJelly's GLIF takes [T, N, C, H, W]
    a, b = run_gated(ours, x_seq), run_gated(theirs, x_seq)
    assert 0 < a[0].mean() < 1
    assert len(a) == len(b) == 4 + 2 + 8
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        torch.testing.assert_close(u, v, **F64, msg=f"item {i}")


def test_gated_initialisation_same_as_spikingjelly():
    theirs = sj_neuron.GatedLIFNode(5, 4, init_linear_decay=0.2, init_tau=0.3, init_conduct=0.7)
    ours = neuron.GatedLIFNode(5, 4, init_linear_decay=0.2, init_tau=0.3, init_conduct=0.7)
    expected, got = theirs.state_dict(), ours.state_dict()
    assert list(got) == list(expected)
    for key in got:
        assert got[key].shape == expected[key].shape and got[key].dtype == expected[key].dtype, key
        if key not in ("alpha", "beta", "gamma"):  # these two draw from different generators
            torch.testing.assert_close(got[key], expected[key], msg=key)
        else:
            assert got[key].abs().max() <= 0.1
    defaults = sj_neuron.GatedLIFNode(8).state_dict()
    torch.testing.assert_close(neuron.GatedLIFNode(8).linear_decay, defaults["linear_decay"])
    torch.testing.assert_close(neuron.GatedLIFNode(8).v_subreset, defaults["v_subreset"])


# --------------------------------------------------------------------------- OTTT


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("v_reset", [None, 0.0], ids=["soft", "hard"])
@pytest.mark.parametrize("sg", list(SURROGATES))
def test_ottt_same_as_spikingjelly(sg, v_reset, backend):
    ours = neuron.OTTTLIFNode(1.8, surrogate_function=ours_surrogate(sg), v_reset=v_reset, backend=backend)
    theirs = sj_neuron.OTTTLIFNode(
        1.8, surrogate_function=getattr(sj_surrogate, sg)(**SURROGATES[sg]), v_reset=v_reset
    )
    x_seq = inputs((6, 2, 5), 2.0, seed=7)
    a, b = run_online(ours, x_seq), run_online(theirs, x_seq)  # training: [spike, trace] pairs
    assert len(a) == len(b) == 6 * 3 + 1
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        torch.testing.assert_close(u, v, **F64, msg=f"item {i}")
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    assert [name for name, _ in ours.named_memories()] == ["trace", "v", "v_seq"]
    functional.detach_net(ours)  # evaluation backpropagates through v: start from a fresh graph
    theirs.detach()
    trace = ours.trace
    ours.eval()
    theirs.eval()
    a, b = run_online(ours, x_seq), run_online(theirs, x_seq)  # evaluation: spikes alone
    assert ours.trace is trace  # left as it was
    for i, (u, v) in enumerate(zip(a[:-1], b[:-1], strict=True)):
        torch.testing.assert_close(u, v, **F64, msg=f"item {i}")
    # SpikingJelly fires with a bare Heaviside step in evaluation mode: no gradient through
    # the spikes (only through v). spikegrad keeps the surrogate gradient (a documented
    # difference); the gradients agree on the steps of the v path alone.
    assert not torch.allclose(a[-1], b[-1])


# --------------------------------------------------------------------------- parallel


def run_parallel(node: Any, x_seq: Tensor, step_mode: str) -> list[Tensor]:
    x = x_seq.detach().clone().requires_grad_()
    out = node(x) if step_mode == "m" else torch.stack([node(x_t) for x_t in x])
    params = [p for _, p in sorted(node.named_parameters())]
    return [out, *torch.autograd.grad((out * weights(out, 2)).sum(), [x, *params])]


def same_parallel(ours: Any, theirs: Any, x_seq: Tensor, step_mode: str) -> None:
    a, b = run_parallel(ours, x_seq, step_mode), run_parallel(theirs, x_seq, step_mode)
    assert 0 < a[0].sum() < a[0].numel()
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        torch.testing.assert_close(u, v, **F64, msg=f"item {i}")


def parallel_pair(name: str, *args: Any, sg: str = "ATan", **kwargs: Any) -> tuple[Any, Any]:
    """Both libraries' neuron, initialised from the same seed (their initialisations agree)."""
    torch.manual_seed(11)
    theirs = getattr(sj_neuron, name)(
        *args, surrogate_function=getattr(sj_surrogate, sg)(**SURROGATES[sg]), **kwargs
    )
    torch.manual_seed(11)
    ours = getattr(neuron, name)(*args, surrogate_function=ours_surrogate(sg), **kwargs)
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=0, atol=0, msg=key)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return ours.double(), theirs.double()


@pytest.mark.parametrize("sg", list(SURROGATES))
def test_psn_same_as_spikingjelly(sg):
    ours, theirs = parallel_pair("PSN", 6, sg=sg)
    same_parallel(ours, theirs, inputs((6, 2, 5), 5.0, seed=12), "m")


@pytest.mark.parametrize("lambda_init", [0.0, 0.4, 1.0, 1.5])
@pytest.mark.parametrize("k", [1, 2, 8])
def test_masked_psn_same_as_spikingjelly(k, lambda_init):
    ours, theirs = parallel_pair("MaskedPSN", k, 6, lambda_init, step_mode="m")
    x_seq = inputs((6, 2, 5), 5.0, seed=13)
    same_parallel(ours, theirs, x_seq, "m")
    if lambda_init >= 1.0:  # causal: also one step at a time
        ours.step_mode = theirs.step_mode = "s"
        same_parallel(ours, theirs, x_seq, "s")
        assert ours.time_step == theirs.time_step == 6
        assert len(ours.queue) == len(theirs.queue) == min(k, 6)
        for q_ours, q_theirs in zip(ours.queue, theirs.queue, strict=True):
            torch.testing.assert_close(q_ours, q_theirs, rtol=0, atol=0)
    theirs.lambda_ = ours.lambda_ = 0.7
    torch.testing.assert_close(ours.masked_weight(), theirs.masked_weight(), rtol=0, atol=0)


@pytest.mark.parametrize("exp_init", [True, False])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_sliding_psn_same_as_spikingjelly(k, exp_init):
    ours, theirs = parallel_pair("SlidingPSN", k, exp_init)
    for steps in (1, 6):
        torch.testing.assert_close(ours.gen_gemm_weight(steps), theirs.gen_gemm_weight(steps), rtol=0, atol=0)
    for step_mode, steps in itertools.product("ms", (1, 6)):
        ours.step_mode = theirs.step_mode = step_mode
        same_parallel(ours, theirs, inputs((steps, 2, 5), 5.0, seed=14 + steps), step_mode)
        assert len(ours.queue) == len(theirs.queue)
        ours.reset()
        theirs.reset()
