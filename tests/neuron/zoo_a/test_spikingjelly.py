"""Differential tests against SpikingJelly 2.0's classes of the same names.

Same configuration on both sides (the surrogates get the same explicit parameters), same
inputs and initial state (every state variable), same output gradients: same outputs,
final states, potential after every step, and gradients of the input, of every initial
state and of every learnable parameter, in float64 and both step modes. Every
configuration runs on the reference loop; one per class runs through the fused kernels
too (``test_fused.py`` checks every configuration of the kernels against the loop).
SpikingJelly's ``state_dict`` loads strictly into each class and back.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

import sj
from spikegrad import functional, neuron

from .cases import CASES, ONE_PER_CLASS, SURROGATES, Case, initial_states, inputs, ours, theirs

sj_neuron = sj.module("neuron")

STEP_MODES = ("s", "m")
SHAPE = (6, 2, 5)


def run(node: nn.Module, case: Case, x_seq: Tensor, states0: dict[str, Tensor], step_mode: str) -> dict:
    """Outputs, states and gradients of one sequence; ``trace`` is ``v`` after every step
    (recorded by hand in ``'s'`` mode, ``v_seq`` in ``'m'`` mode where the class keeps it)."""
    x_seq = x_seq.detach().clone().requires_grad_()
    leaves = {"x": x_seq}
    for name, value in states0.items():
        leaf = value.detach().clone().requires_grad_()
        setattr(node, name, leaf)
        leaves[f"{name}0"] = leaf
    for name, p in node.named_parameters():
        leaves[name] = p
    if step_mode == "m":
        out = node(x_seq)
        trace = getattr(node, "v_seq", None)
    else:
        outs, vs = [], []
        for x in x_seq:
            outs.append(node(x))
            vs.append(node.v)
        out, trace = torch.stack(outs), torch.stack(vs)
        if getattr(node, "v_seq", None) is not None:  # 's' mode appends every step to v_seq
            torch.testing.assert_close(node.v_seq, trace, rtol=0, atol=0)
    weights = torch.linspace(-1.0, 2.0, out.numel(), dtype=out.dtype).view_as(out)
    loss = (out * weights).sum()
    for i, name in enumerate(case.states):
        loss = loss + (getattr(node, name) * (0.3 + 0.2 * i)).sum()
    if trace is not None:
        loss = loss + (trace * weights.flip(0)).sum()
    grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    result = {"out": out, "trace": trace, **{name: getattr(node, name) for name in case.states}}
    result.update({f"grad {name}": g for name, g in zip(leaves, grads, strict=True)})
    return result


def compare(case: Case, sg: str, step_mode: str, backend: str) -> None:
    dtype = torch.float64
    x_seq = inputs(case, SHAPE, seed=21)
    states0 = initial_states(case, SHAPE[1:], seed=22, dtype=dtype)
    # SpikingJelly's LIAFNode returns spikes in step mode 'm' unless it stores v_seq (see
    # test_liaf.py): it is compared with store_v_seq on, where it computes the analog output.
    a = run(ours(case, sg, step_mode, True, backend, dtype), case, x_seq, states0, step_mode)
    b = run(theirs(case, sg, step_mode, True, dtype), case, x_seq, states0, step_mode)
    spikes = a["out"] if case.name != "LIAFNode" else None
    if spikes is not None:
        assert 0 < spikes.sum() < spikes.numel()  # both firing and silence are exercised
    if b["trace"] is None:  # SpikingJelly's SimpleBaseNode keeps no v_seq: compare without it
        assert case.name.startswith("Simple") and a["trace"] is not None
        a = run(ours(case, sg, step_mode, False, backend, dtype), case, x_seq, states0, step_mode)
    assert a.keys() == b.keys()
    for key in a:
        if b[key] is None:
            assert a[key] is None, key
        else:
            torch.testing.assert_close(a[key], b[key], rtol=1e-12, atol=1e-12, msg=key)


@pytest.mark.parametrize("sg", list(SURROGATES))
@pytest.mark.parametrize("step_mode", STEP_MODES)
@pytest.mark.parametrize("case", CASES, ids=Case.id)
def test_same_as_spikingjelly(case: Case, step_mode: str, sg: str) -> None:
    compare(case, sg, step_mode, "reference")


@pytest.mark.parametrize("step_mode", STEP_MODES)
@pytest.mark.parametrize("case", ONE_PER_CLASS, ids=Case.id)
def test_same_as_spikingjelly_fused(case: Case, step_mode: str) -> None:
    compare(case, "ATan", step_mode, "fused")


@pytest.mark.parametrize("case", ONE_PER_CLASS, ids=Case.id)
def test_same_initial_state(case: Case) -> None:
    mine = ours(case, "ATan", "m", True, "reference", torch.float64)
    other = theirs(case, "ATan", "m", True, torch.float64)
    for name in case.states:
        assert getattr(mine, name) == getattr(other, name), name
    x = inputs(case, SHAPE, seed=3)
    torch.testing.assert_close(mine(x), other(x), rtol=1e-12, atol=1e-12)
    functional.reset_net(mine)
    other.reset()
    for name in case.states:
        assert getattr(mine, name) == getattr(other, name), name


@pytest.mark.parametrize("case", ONE_PER_CLASS + [c for c in CASES if "PReLU" in c.id()], ids=Case.id)
def test_state_dict_loads_strictly_both_ways(case: Case) -> None:
    mine = ours(case, "Sigmoid", "m", False, "reference", torch.float64)
    other = theirs(case, "Sigmoid", "m", False, torch.float64)
    assert list(mine.state_dict()) == list(other.state_dict())
    with torch.no_grad():
        for p in other.parameters():
            p.fill_(0.7)
    mine.load_state_dict(other.state_dict(), strict=True)
    assert all(torch.equal(p, torch.full_like(p, 0.7)) for p in mine.parameters())
    with torch.no_grad():
        for p in mine.parameters():
            p.fill_(1.9)
    other.load_state_dict(mine.state_dict(), strict=True)
    assert all(torch.equal(p, torch.full_like(p, 1.9)) for p in other.parameters())


def test_parameters_are_spikingjellys() -> None:
    assert [n for n, _ in neuron.KLIFNode().named_parameters()] == ["k"]
    assert [n for n, _ in neuron.LIAFNode(nn.PReLU(), True).named_parameters()] == ["act.weight"]
    for cls in (neuron.QIFNode, neuron.EIFNode, neuron.IzhikevichNode, neuron.CUBALIFNode):
        assert list(cls().state_dict()) == []


@pytest.mark.parametrize(
    "name",
    [
        "SimpleIFNode",
        "SimpleLIFNode",
        "QIFNode",
        "EIFNode",
        "AdaptBaseNode",
        "IzhikevichNode",
        "CUBALIFNode",
        "KLIFNode",
        "HalfThresholdIFNode",
        "LIAFNode",
    ],
)
def test_constructor_arguments_in_spikingjellys_order(name: str) -> None:
    import inspect

    mine = list(inspect.signature(getattr(neuron, name)).parameters)
    other = [p for p in inspect.signature(getattr(sj_neuron, name)).parameters if p not in ("args", "kwargs")]
    if name == "LIAFNode":
        other += list(inspect.signature(sj_neuron.LIFNode).parameters)
    assert mine[: len(other)] == other  # then spikegrad's own: store_v_seq where missing, backend
    assert set(mine[len(other) :]) <= {"detach_reset", "step_mode", "store_v_seq", "backend"}
    defaults = {k: p.default for k, p in inspect.signature(getattr(sj_neuron, name)).parameters.items()}
    for k, p in inspect.signature(getattr(neuron, name)).parameters.items():
        if k in defaults and k != "surrogate_function":
            assert p.default == defaults[k] or (p.default is inspect.Parameter.empty), (k, p.default)
