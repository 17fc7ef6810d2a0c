"""chunk_multi_step_forward, the time-last forwards and tuple inputs of seq_to_ann_forward,
against SpikingJelly 2.0 (outputs and gradients) and their own contracts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import sj
from spikegrad import functional, neuron

sj_functional = sj.module("functional")
sj_neuron = sj.module("neuron")
sj_surrogate = sj.module("surrogate")


def _lif_pair(step_mode: str) -> tuple[nn.Module, nn.Module]:
    ours = neuron.LIFNode(step_mode=step_mode, backend="reference")
    theirs = sj_neuron.LIFNode(step_mode=step_mode, surrogate_function=sj_surrogate.Sigmoid())
    return ours, theirs


def _run(fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    out = fn(x)
    out_tensor = out[0] if isinstance(out, tuple) else out
    (out_tensor * torch.linspace(-1, 1, out_tensor.numel()).view_as(out_tensor)).sum().backward()
    return out_tensor.detach(), x.grad


def _assert_same(ours: tuple[torch.Tensor, ...], theirs: tuple[torch.Tensor, ...]) -> None:
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("split_size", [1, 2, 3, 7])
def test_chunk_multi_step_forward_same_as_spikingjelly_and_as_one_call(split_size):
    x = torch.rand(7, 2, 3) * 1.5
    (ours, theirs), (whole, _) = _lif_pair("m"), _lif_pair("m")
    got = _run(lambda s: functional.chunk_multi_step_forward(split_size, s, ours), x)
    _assert_same(got, _run(lambda s: sj_functional.chunk_multi_step_forward(split_size, s, theirs), x))
    _assert_same(got, _run(whole, x))  # state carries over from chunk to chunk


def test_t_last_multi_step_forward_same_as_spikingjelly():
    x = torch.rand(2, 3, 6) * 1.5  # [N, features, T]
    (ours, theirs), linear = _lif_pair("s"), nn.Linear(3, 4)
    got = _run(lambda s: functional.t_last_multi_step_forward(s, [linear, ours]), x)
    expected = _run(lambda s: sj_functional.t_last_multi_step_forward(s, [linear, theirs]), x)
    _assert_same(got, expected)
    assert got[0].shape == (2, 4, 6)


@pytest.mark.parametrize(
    "stages, shape",
    [
        (lambda: nn.Linear(3, 4), (2, 3, 5)),
        (lambda: [nn.Conv1d(2, 3, 3, padding=1), nn.ReLU()], (2, 2, 6, 5)),
        (lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), (2, 2, 6, 5)),
    ],
)
def test_t_last_seq_to_ann_forward_same_as_spikingjelly(stages, shape):
    module = stages()
    x = torch.randn(shape)
    got = _run(lambda s: functional.t_last_seq_to_ann_forward(s, module), x)
    _assert_same(got, _run(lambda s: sj_functional.t_last_seq_to_ann_forward(s, module), x))


def test_t_last_seq_to_ann_forward_tuple_output():
    pool = nn.MaxPool1d(2, return_indices=True)
    x = torch.randn(2, 3, 8, 4)  # [N, C, L, T]
    values, indices = functional.t_last_seq_to_ann_forward(x, pool)
    sj_values, sj_indices = sj_functional.t_last_seq_to_ann_forward(x, pool)
    assert torch.equal(values, sj_values) and torch.equal(indices, sj_indices)
    assert values.shape == (2, 3, 4, 4)


def test_t_last_seq_to_ann_forward_runs_batch_norm_over_time_and_batch():
    bn = nn.BatchNorm1d(3)  # SpikingJelly's torch.vmap refuses batch norm in training mode
    x = torch.randn(4, 3, 5)  # [N, C, T]
    out = functional.t_last_seq_to_ann_forward(x, bn)
    expected = nn.functional.batch_norm(x.movedim(-1, 0).flatten(0, 1), None, None, training=True)
    torch.testing.assert_close(out, expected.unflatten(0, (5, 4)).movedim(0, -1))


def test_seq_to_ann_forward_takes_tuples_like_spikingjelly():
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    x = torch.randn(3, 2, 1, 4, 4)  # [T, N, C, H, W]
    pooled = functional.seq_to_ann_forward(x, pool)
    sj_pooled = sj_functional.seq_to_ann_forward(x, pool)
    assert all(torch.equal(a, b) for a, b in zip(pooled, sj_pooled, strict=True))
    restored = functional.seq_to_ann_forward(pooled, unpool)
    assert torch.equal(restored, sj_functional.seq_to_ann_forward(sj_pooled, unpool))
    assert restored.shape == x.shape
    # several stages: the first takes the tuple, the next its output
    summed = functional.seq_to_ann_forward(pooled, [unpool, lambda y: y.sum((1, 2, 3))])
    assert summed.shape == (3, 2)


def test_forward_helpers_validate_their_arguments():
    node = neuron.IFNode(step_mode="m")
    x = torch.rand(4, 2)
    for bad in (0, -1):
        with pytest.raises(ValueError, match=rf"split_size must be >= 1, got {bad}"):
            functional.chunk_multi_step_forward(bad, x, node)
    for bad in (2.0, True, "2"):
        with pytest.raises(TypeError, match="split_size must be an integer"):
            functional.chunk_multi_step_forward(bad, x, node)
    with pytest.raises(TypeError, match="expected a module or a callable, got int"):
        functional.chunk_multi_step_forward(2, x, 3)
    with pytest.raises(
        TypeError, match=r"chunk_multi_step_forward expects a torch.Tensor \[T, \*shape\], got list"
    ):
        functional.chunk_multi_step_forward(2, [1.0], node)
    with pytest.raises(ValueError, match="at least one time step"):
        functional.t_last_multi_step_forward(torch.rand(2, 0), nn.Identity())
    with pytest.raises(ValueError, match=r"\[N, \*shape, T\] \(time last\), got shape \(3,\)"):
        functional.t_last_seq_to_ann_forward(torch.rand(3), nn.Identity())
    with pytest.raises(ValueError, match="empty sequence"):
        functional.multi_step_forward(x, [])
    with pytest.raises(TypeError, match="got str"):
        functional.seq_to_ann_forward(torch.rand(2, 2, 3), [nn.Identity(), "relu"])
    with pytest.raises(ValueError, match=r"must share \[T, N\]"):
        functional.seq_to_ann_forward((torch.rand(2, 3, 4), torch.rand(3, 2, 4)), lambda a, b: a)
    with pytest.raises(ValueError, match="empty tuple"):
        functional.seq_to_ann_forward((), nn.Identity())
    with pytest.raises(ValueError, match=r"\[T, N, \*shape\] \(time first\)"):
        functional.seq_to_ann_forward((torch.rand(2, 3), torch.rand(4)), lambda a, b: a)
