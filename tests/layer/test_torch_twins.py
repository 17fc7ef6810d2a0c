"""spikegrad.layer: step-mode aware torch layers, SeqToANNContainer, Dropout."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from spikegrad import functional, layer, neuron

T, N = 3, 2

CASES = [  # layer, its torch twin, one step's shape
    (lambda: layer.Linear(5, 4), lambda: nn.Linear(5, 4), (N, 5)),
    (
        lambda: layer.Conv2d(2, 3, 3, padding=1, bias=False),
        lambda: nn.Conv2d(2, 3, 3, padding=1, bias=False),
        (N, 2, 6, 6),
    ),
    (lambda: layer.BatchNorm1d(4), lambda: nn.BatchNorm1d(4), (N, 4)),
    (lambda: layer.BatchNorm1d(4), lambda: nn.BatchNorm1d(4), (N, 4, 7)),
    (lambda: layer.BatchNorm2d(2), lambda: nn.BatchNorm2d(2), (N, 2, 4, 4)),
    (lambda: layer.Flatten(), lambda: nn.Flatten(), (N, 2, 3, 3)),
    (lambda: layer.MaxPool2d(2), lambda: nn.MaxPool2d(2), (N, 2, 4, 4)),
    (lambda: layer.AvgPool2d(2, stride=1), lambda: nn.AvgPool2d(2, stride=1), (N, 2, 4, 4)),
]


@pytest.mark.parametrize(("make", "make_twin", "step_shape"), CASES)
def test_layers_match_torch_in_both_modes(make, make_twin, step_shape):
    torch.manual_seed(0)
    ours = make()
    torch.manual_seed(0)
    twin = make_twin()
    x = torch.randn(T, *step_shape)
    assert torch.equal(ours(x[0]), twin(x[0]))  # 's': the torch layer itself
    ours.step_mode = "m"
    expected = twin(x.flatten(0, 1))
    got = ours(x)
    assert got.shape == (T, N, *expected.shape[1:])
    torch.testing.assert_close(got, expected.unflatten(0, (T, N)))
    assert "step_mode='m'" in repr(ours)
    assert repr(pickle.loads(pickle.dumps(ours))) == repr(ours)


@pytest.mark.parametrize(
    ("module", "shape", "match"),
    [
        (layer.Conv2d(1, 1, 3, step_mode="m"), (2, 1, 5, 5), r"\[T, N, C, H, W\].*\(2, 1, 5, 5\)"),
        (layer.BatchNorm2d(1, step_mode="m"), (2, 1, 5, 5), r"\[T, N, C, H, W\]"),
        (layer.BatchNorm1d(3, step_mode="m"), (2, 3), r"\[T, N, C\] or \[T, N, C, L\]"),
        (layer.MaxPool2d(2, step_mode="m"), (1, 4, 4), r"\[T, N, C, H, W\]"),
        (layer.Flatten(step_mode="m"), (4,), r"\[T, N, \*shape\]"),
    ],
)
def test_multi_step_layout_errors(module, shape, match):
    with pytest.raises(ValueError, match=match):
        module(torch.rand(shape))


def test_step_mode_keyword_is_validated():
    with pytest.raises(ValueError, match=r"Linear: step_mode must be 's' or 'm'.*got 'x'"):
        layer.Linear(2, 2, step_mode="x")


def test_batch_norm_statistics_over_time_and_batch():
    bn = layer.BatchNorm2d(1, step_mode="m")
    x = torch.randn(4, 3, 1, 2, 2) * 3 + 1
    bn(x)
    torch.testing.assert_close(bn.running_mean, 0.1 * x.mean().reshape(1))


def test_seq_to_ann_container():
    torch.manual_seed(0)
    block = layer.SeqToANNContainer(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), layer.Flatten())
    x = torch.rand(T, N, 1, 4, 4)
    out = block(x)
    assert out.shape == (T, N, 8)
    torch.testing.assert_close(out, nn.Sequential(*block)(x.flatten(0, 1)).unflatten(0, (T, N)))
    assert block.step_mode == "m"
    with pytest.raises(ValueError, match=r"SeqToANNContainer: step_mode must be .m.*got .s."):
        block.step_mode = "s"


def test_seq_to_ann_container_refuses_stateful_and_multi_step_layers():
    with pytest.raises(ValueError, match=r"stateful LIFNode"):
        layer.SeqToANNContainer(nn.Linear(2, 2), neuron.LIFNode())
    with pytest.raises(ValueError, match=r"has step_mode 'm'"):
        layer.SeqToANNContainer(layer.Linear(2, 2, step_mode="m"))


def test_dropout_mask_shared_across_time_in_multi_step():
    torch.manual_seed(0)
    drop = layer.Dropout(0.5, step_mode="m")
    out = drop(torch.ones(6, 40))
    assert torch.equal(out, out[0].expand_as(out))  # the same units dropped at every step
    assert set(out.unique().tolist()) == {0.0, 2.0}  # kept units scaled by 1 / (1 - p)
    assert torch.equal(drop(torch.ones(2, 40)), out[:2])  # the mask persists until reset
    functional.reset_net(drop)
    assert drop.mask is None


def test_dropout_single_step_keeps_mask_until_reset():
    torch.manual_seed(1)
    drop = layer.Dropout(0.3)
    first = drop(torch.ones(50))
    assert torch.equal(drop(torch.ones(50)), first)
    with pytest.raises(ValueError, match=r"reset_net"):
        drop(torch.ones(49))
    functional.reset_net(drop)
    assert drop(torch.ones(49)).shape == (49,)


def test_dropout_eval_and_validation():
    drop = layer.Dropout(0.9).eval()
    x = torch.rand(5)
    assert drop(x) is x
    for p in (1.0, -0.1, "0.5", True):
        with pytest.raises(ValueError, match=r"0 <= p < 1"):
            layer.Dropout(p)
    assert repr(layer.Dropout(0.25)) == "Dropout(p=0.25, step_mode='s')"
