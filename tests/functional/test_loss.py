"""TET cross entropy, kernel dot products and spike_similar_loss against SpikingJelly 2.0."""

from __future__ import annotations

import pytest
import torch

import sj
from spikegrad import functional

sj_functional = sj.module("functional")


def _value_and_grad(fn, *inputs):
    leaves = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out = fn(*leaves)
    out.sum().backward()
    return out.detach(), [x.grad for x in leaves if x.requires_grad]


def _assert_same(ours, theirs):
    torch.testing.assert_close(ours[0], theirs[0])
    for a, b in zip(ours[1], theirs[1], strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("shape", [(4, 3, 5), (4, 3, 5, 2, 2)])
def test_tet_cross_entropy_same_as_spikingjelly(shape):
    torch.manual_seed(0)
    x_seq = torch.randn(shape, dtype=torch.float64)
    target = torch.randint(0, shape[2], (shape[1], *shape[3:]))
    ours = _value_and_grad(lambda x: functional.temporal_efficient_training_cross_entropy(x, target), x_seq)
    theirs = _value_and_grad(
        lambda x: sj_functional.temporal_efficient_training_cross_entropy(x, target), x_seq
    )
    _assert_same(ours, theirs)
    # the definition: the mean over time of the per-step cross entropy
    steps = torch.stack([torch.nn.functional.cross_entropy(x, target) for x in x_seq])
    torch.testing.assert_close(ours[0], steps.mean())


@pytest.mark.parametrize(
    "kernel, args", [("linear", ()), ("polynomial", (3,)), ("sigmoid", (0.7,)), ("gaussian", (1.3,))]
)
def test_kernel_dot_product_same_as_spikingjelly(kernel, args):
    torch.manual_seed(1)
    x, y = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    ours = _value_and_grad(lambda a, b: functional.kernel_dot_product(a, b, kernel, *args), x, y)
    theirs = _value_and_grad(lambda a, b: sj_functional.kernel_dot_product(a, b, kernel, *args), x, y)
    _assert_same(ours, theirs)


def test_gaussian_kernel_takes_different_row_counts():
    x, y = torch.randn(2, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    expected = torch.exp(-torch.cdist(x, y).square() / (2 * 0.5**2))
    torch.testing.assert_close(functional.kernel_dot_product(x, y, "gaussian", 0.5), expected)


@pytest.mark.parametrize(
    "kernel, loss, args",
    [("linear", "mse", ()), ("linear", "l1", ()), ("sigmoid", "bce", (0.5,)), ("gaussian", "mse", (2.0,))],
)
def test_spike_similar_loss_same_as_spikingjelly(kernel, loss, args):
    torch.manual_seed(2)
    spikes = (torch.rand(5, 4, 6) > 0.6).float()
    labels = torch.nn.functional.one_hot(torch.tensor([0, 1, 0, 2, 1]), 3)
    ours = _value_and_grad(lambda s: functional.spike_similar_loss(s, labels, kernel, loss, *args), spikes)
    theirs = _value_and_grad(
        lambda s: sj_functional.spike_similar_loss(s, labels, kernel, loss, *args), spikes
    )
    _assert_same(ours, theirs)


def test_loss_validation():
    x_seq, target = torch.randn(2, 3, 4), torch.tensor([0, 1, 2])
    tet = functional.temporal_efficient_training_cross_entropy
    with pytest.raises(ValueError, match=r"\[T, N, C, \*\] logits, got shape \(2, 3\)"):
        tet(torch.randn(2, 3), target)
    with pytest.raises(TypeError, match="floating-point tensor of logits"):
        tet(x_seq.long(), target)
    with pytest.raises(TypeError, match="target must be an integer tensor of class indices"):
        tet(x_seq, target.float())
    with pytest.raises(ValueError, match=r"shape \(3,\) for x_seq \(2, 3, 4\), got \(2,\)"):
        tet(x_seq, target[:2])
    x = torch.randn(3, 2)
    with pytest.raises(ValueError, match=r"kernel must be one of .*got 'rbf'"):
        functional.kernel_dot_product(x, x, "rbf")
    with pytest.raises(TypeError, match="needs the degree d as a number after it, got nothing"):
        functional.kernel_dot_product(x, x, "polynomial")
    with pytest.raises(ValueError, match="needs sigma > 0, got 0"):
        functional.kernel_dot_product(x, x, "gaussian", 0)
    with pytest.raises(ValueError, match=r"must be \[N, M\] and \[K, M\]"):
        functional.kernel_dot_product(x, torch.randn(3, 4))
    with pytest.raises(TypeError, match="y must be a tensor"):
        functional.kernel_dot_product(x, [[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"loss_type must be one of .*got 'ce'"):
        functional.spike_similar_loss(x, torch.eye(3), "linear", "ce")
    with pytest.raises(ValueError, match=r"spikes must be a tensor \[N, \*\], got list"):
        functional.spike_similar_loss([1.0], torch.eye(3))
    with pytest.raises(ValueError, match=r"labels must be \[N, C\] with N = 3"):
        functional.spike_similar_loss(x, torch.eye(2))
