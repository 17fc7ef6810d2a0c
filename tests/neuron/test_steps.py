"""Single-step and multi-step modes agree; state is kept, reset, checked and moved."""

from __future__ import annotations

import itertools

import pytest
import torch

from spikegrad import functional, neuron, surrogate

from .helpers import KINDS, make_node, random_inputs

CONFIGS = [
    pytest.param(
        kind,
        v_reset,
        detach,
        decay,
        id=f"{kind}-{'hard' if v_reset is not None else 'soft'}"
        f"{'-detach' if detach else ''}{'' if decay else '-nodecay'}",
    )
    for kind, v_reset, detach, decay in itertools.product(KINDS, (0.0, None), (False, True), (True, False))
    if decay or kind != "if"
]


def run(node: neuron.BaseNode, x_seq: torch.Tensor, v0: torch.Tensor, step_mode: str):
    """Spikes, final v, v_seq and the gradients of a loss touching all three."""
    node.step_mode = step_mode
    functional.reset_net(node)
    node.zero_grad()
    x_seq = x_seq.detach().requires_grad_()
    v0 = v0.detach().requires_grad_()
    node.v = v0
    if step_mode == "m":
        spikes = node(x_seq)
    else:
        spikes = torch.stack([node(x) for x in x_seq])
    weights = torch.linspace(-1.0, 1.0, spikes.numel(), dtype=x_seq.dtype).view_as(spikes)
    loss = (spikes * weights).sum() + (node.v * 0.7).sum() + (node.v_seq * weights.flip(0)).sum()
    loss.backward()
    grad_w = node.w.grad.clone() if isinstance(node, neuron.ParametricLIFNode) else None
    return spikes, node.v, node.v_seq, x_seq.grad, v0.grad, grad_w


@pytest.mark.parametrize(("kind", "v_reset", "detach_reset", "decay_input"), CONFIGS)
@pytest.mark.parametrize("sg", ["Sigmoid", "ATan", "PiecewiseQuadratic"])
def test_single_steps_equal_one_multi_step(backend, kind, v_reset, detach_reset, decay_input, sg):
    node = make_node(
        kind,
        decay_input=decay_input,
        tau=1.7,
        v_reset=v_reset,
        detach_reset=detach_reset,
        surrogate_function=surrogate.REGISTRY[sg](),
        store_v_seq=True,
        backend=backend,
    ).double()
    x_seq = random_inputs((7, 3, 4), seed=1)
    v0 = random_inputs((3, 4), seed=2) * 0.5
    multi = run(node, x_seq, v0, "m")
    single = run(node, x_seq, v0, "s")
    assert multi[0].sum() > 0 and (multi[0] == 0).any()  # the case is not trivial
    names = ("spikes", "v", "v_seq", "grad x", "grad v0", "grad w")
    for name, a, b in zip(names, multi, single, strict=True):
        if a is None:
            assert b is None, name
        else:
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_chunked_multi_step_equals_one_call(backend, kind):
    node = make_node(kind, step_mode="m", backend=backend)
    x_seq = random_inputs((6, 5), seed=3, dtype=torch.float32)
    whole = node(x_seq)
    v_whole = node.v
    functional.reset_net(node)
    parts = torch.cat([node(x_seq[:2]), node(x_seq[2:3]), node(x_seq[3:])])
    assert torch.equal(parts, whole)
    assert torch.equal(node.v, v_whole)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_shape_change_without_reset_is_an_error(backend, kind, step_mode):
    node = make_node(kind, step_mode=step_mode, backend=backend)
    lead = (2,) if step_mode == "m" else ()
    node(torch.rand(*lead, 4, 3))
    with pytest.raises(ValueError, match=r"call spikegrad.functional.reset_net\(net\)"):
        node(torch.rand(*lead, 5, 3))
    functional.reset_net(node)
    assert node(torch.rand(*lead, 5, 3)).shape == (*lead, 5, 3)


def test_reset_restores_initial_state(backend):
    node = neuron.LIFNode(v_reset=-0.25, step_mode="m", store_v_seq=True, backend=backend)
    node(torch.rand(3, 2) * 3)
    assert isinstance(node.v, torch.Tensor) and node.v_seq is not None
    node.reset()
    assert node.v == -0.25 and node.v_seq is None
    node.v_reset = 0.5  # reset follows the current rest potential
    functional.reset_net(node)
    assert node.v == 0.5


def test_v_seq_only_when_asked(backend):
    node = neuron.IFNode(step_mode="m", backend=backend)
    node(torch.rand(3, 2))
    assert node.v_seq is None
    node.store_v_seq = True
    node(torch.rand(4, 2))
    assert node.v_seq.shape == (4, 2)  # 'm': the steps of the last call
    node.step_mode = "s"
    node(torch.rand(2))
    assert node.v_seq.shape == (5, 2)  # 's': appended step by step


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_dtype_follows_input(backend, kind, dtype):
    node = make_node(kind, step_mode="m", backend=backend)
    out = node(torch.rand(3, 4, dtype=dtype) * 2)
    assert out.dtype == dtype and node.v.dtype == dtype
    # state created in one dtype follows the next input's dtype
    out = node(torch.rand(2, 4, dtype=torch.float64))
    assert out.dtype == torch.float64 and node.v.dtype == torch.float64


def test_empty_batch_and_one_step(backend):
    node = neuron.LIFNode(step_mode="m", store_v_seq=True, backend=backend)
    assert node(torch.rand(4, 0, 3)).shape == (4, 0, 3)
    functional.reset_net(node)
    out = node(torch.full((1, 2), 3.0))
    assert out.tolist() == [[1.0, 1.0]] and node.v_seq.shape == (1, 2)


def test_non_contiguous_input(backend):
    node = neuron.LIFNode(step_mode="m", backend=backend)
    x = random_inputs((5, 4, 6), seed=4).transpose(1, 2)
    assert not x.is_contiguous()
    expected = node(x.contiguous())
    functional.reset_net(node)
    assert torch.equal(node(x), expected)


def test_state_carries_gradient_across_calls_until_detach(backend):
    node = neuron.LIFNode(step_mode="s", backend=backend)
    x0 = torch.tensor([0.8], requires_grad=True)
    node(x0)
    node(torch.tensor([0.1]))
    torch.autograd.grad(node.v.sum(), x0)  # BPTT reaches the first call
    functional.detach_net(node)
    node(torch.tensor([0.1]))
    assert not node.v.requires_grad


def test_spiking_false_makes_a_smooth_neuron(backend):
    node = neuron.IFNode(surrogate_function=surrogate.Sigmoid(spiking=False), step_mode="m", backend=backend)
    out = node(torch.tensor([[0.5], [0.5]], dtype=torch.float64))
    s0 = torch.sigmoid(torch.tensor(4 * -0.5, dtype=torch.float64))
    v1 = (1 - s0) * 0.5
    torch.testing.assert_close(out.flatten(), torch.stack([s0, torch.sigmoid(4 * (v1 + 0.5 - 1))]))
