"""Step-mode aware torch layers: each is its torch twin per step, and checks what it is given."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from spikegrad import layer

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
        (layer.Conv1d(1, 1, 3, step_mode="m"), (2, 1, 5), r"Conv1d in step_mode 'm' expects \[T, N, C, L\]"),
        (layer.Conv3d(1, 1, 3, step_mode="m"), (2, 1, 5, 5, 5), r"\[T, N, C, D, H, W\]"),
        (layer.ConvTranspose2d(1, 1, 3, step_mode="m"), (1, 5, 5), r"ConvTranspose2d .*\[T, N, C, H, W\]"),
        (layer.BatchNorm2d(1, step_mode="m"), (2, 1, 5, 5), r"\[T, N, C, H, W\]"),
        (layer.BatchNorm1d(3, step_mode="m"), (2, 3), r"\[T, N, C\] or \[T, N, C, L\]"),
        (layer.BatchNorm3d(3, step_mode="m"), (2, 3, 4, 4), r"BatchNorm3d .*\[T, N, C, D, H, W\]"),
        (layer.GroupNorm(1, 3, step_mode="m"), (2, 3), r"GroupNorm .*\[T, N, C, \*\]"),
        (layer.MaxPool2d(2, step_mode="m"), (1, 4, 4), r"\[T, N, C, H, W\]"),
        (layer.AvgPool1d(2, step_mode="m"), (1, 4, 4), r"AvgPool1d .*\[T, N, C, L\]"),
        (layer.AdaptiveAvgPool3d(1, step_mode="m"), (1, 4, 4), r"AdaptiveAvgPool3d .*\[T, N, C, D, H, W\]"),
        (
            layer.Upsample(scale_factor=2, step_mode="m"),
            (2, 3, 4),
            r"Upsample .*\[T, N, C, L\], \[T, N, C, H, W\]",
        ),
        (layer.Flatten(step_mode="m"), (4,), r"\[T, N, \*shape\]"),
        (layer.Linear(4, 2, step_mode="m"), (4,), r"Linear in step_mode 'm' expects \[T, \*, in_features\]"),
        (layer.WSLinear(4, 2, step_mode="m"), (4,), r"WSLinear in step_mode 'm'"),
        (layer.WSConv2d(1, 1, 3, step_mode="m"), (1, 5, 5), r"WSConv2d in step_mode 'm'"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, torch.nn.Module) else None,
)
def test_multi_step_layout_errors(module, shape, match):
    with pytest.raises(ValueError, match=match):
        module(torch.rand(shape))


def test_multi_step_input_must_be_a_tensor():
    with pytest.raises(TypeError, match=r"Conv2d expects a torch.Tensor, got list"):
        layer.Conv2d(1, 1, 3, step_mode="m")([1.0])


def test_unpool_indices_must_match_the_values():
    unpool = layer.MaxUnpool2d(2, step_mode="m")
    x = torch.rand(T, N, 1, 2, 2)
    with pytest.raises(
        ValueError,
        match=r"MaxUnpool2d: indices must have the shape of x \(3, 2, 1, 2, 2\), got \(3, 2, 1, 2, 1\)",
    ):
        unpool(x, torch.zeros(T, N, 1, 2, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"got list"):
        unpool(x, [0])


def test_transposed_convolution_output_size_in_multi_step():
    torch.manual_seed(0)
    up = layer.ConvTranspose2d(2, 1, 3, stride=2, padding=1, step_mode="m")
    x = torch.rand(T, N, 2, 4, 4)
    for output_size in ([8, 8], [N, 1, 8, 8]):
        out = up(x, output_size)
        assert out.shape == (T, N, 1, 8, 8)
        torch.testing.assert_close(out[1], torch.nn.ConvTranspose2d.forward(up, x[1], output_size))


def test_weight_standardisation_and_its_validation():
    torch.manual_seed(0)
    conv = layer.WSConv2d(2, 3, 3, gain=False)
    w = conv.get_weight()
    torch.testing.assert_close(w.mean(dim=(1, 2, 3)), torch.zeros(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(w.var(dim=(1, 2, 3)) * 18, torch.ones(3), atol=2e-3, rtol=0)  # 1/fan_in
    assert conv.gain is None and "gain" not in conv.state_dict()
    for eps in (0, -1e-4, float("nan"), "1e-4", True):
        with pytest.raises(ValueError, match=r"eps must be a finite number > 0"):
            layer.WSConv2d(1, 1, 3, eps=eps)
        with pytest.raises(ValueError, match=r"eps must be a finite number > 0"):
            layer.WSLinear(1, 1, eps=eps)
    assert repr(layer.WSLinear(2, 3)).endswith("step_mode='s', gain=True, eps=0.0001)")


def test_ws_conv2d_honours_padding_mode():
    """SpikingJelly's WSConv2d pads with zeros whatever padding_mode says."""
    torch.manual_seed(0)
    conv = layer.WSConv2d(1, 1, 3, padding=1, padding_mode="circular", gain=False)
    x = torch.rand(1, 1, 4, 4)
    wrapped = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="circular")
    torch.testing.assert_close(conv(x), torch.nn.functional.conv2d(wrapped, conv.get_weight(), conv.bias))


def test_merge_time_needs_matching_time_and_batch():
    from spikegrad.layer._base import merge_time

    with pytest.raises(ValueError, match=r"must share their \[T, N\] dimensions"):
        merge_time(torch.add, torch.ones(2, 3, 4), torch.ones(2, 4, 4))


def test_step_mode_is_validated():
    with pytest.raises(ValueError, match=r"Linear: step_mode must be 's' or 'm'.*got 'x'"):
        layer.Linear(2, 2, step_mode="x")
    with pytest.raises(ValueError, match=r"Linear: step_mode must be 's' or 'm'.*got 'cpu'"):
        layer.Linear(5, 4, True, "cpu")  # a torch-style positional device is refused clearly
    with pytest.raises(ValueError, match=r"MaxPool1d: step_mode must be 's' or 'm'"):
        layer.MaxPool1d(2).step_mode = "multi"


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
