"""tdBN, TEBN, BNTT and NeuNorm against SpikingJelly 2.0, their state and their checks."""

from __future__ import annotations

import pytest
import torch

from spikegrad import functional, layer

from .helpers import N, T, assert_same_run, run, sync_weights

sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")
sj_functional = pytest.importorskip("spikingjelly.activation_based.functional")

STEPS = {1: (N, 3, 5), 2: (N, 3, 4, 4), 3: (N, 3, 2, 3, 3)}


def train_then_eval(ours, theirs, x, calls=2):
    """A few training calls (running statistics move), then eval; reset between calls."""
    ours.double(), theirs.double()
    sync_weights(ours, theirs)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        for _ in range(calls):
            assert_same_run(run(ours, [x]), run(theirs, [x]))
            functional.reset_net(ours)
            sj_functional.reset_net(theirs)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_threshold_dependent_batch_norm_as_spikingjelly(d):
    name = f"ThresholdDependentBatchNorm{d}d"
    ours, theirs = getattr(layer, name)(0.5, 2.0, 3), getattr(sj_layer, name)(0.5, 2.0, 3)
    torch.testing.assert_close(ours.weight, torch.full((3,), 1.0))  # alpha * v_th
    torch.testing.assert_close(ours.weight, theirs.weight)
    train_then_eval(ours, theirs, torch.randn(T, *STEPS[d], dtype=torch.float64) * 2 + 1)
    assert ours.step_mode == "m"


def test_threshold_dependent_batch_norm_1d_takes_features_only():
    ours, theirs = (
        layer.ThresholdDependentBatchNorm1d(1.0, 1.0, 4),
        sj_layer.ThresholdDependentBatchNorm1d(1.0, 1.0, 4),
    )
    train_then_eval(ours, theirs, torch.randn(T, N, 4, dtype=torch.float64))


@pytest.mark.parametrize("d", [1, 2, 3])
def test_temporal_effective_batch_norm_as_spikingjelly(d):
    name = f"TemporalEffectiveBatchNorm{d}d"
    ours, theirs = getattr(layer, name)(T, 3, momentum=0.2), getattr(sj_layer, name)(T, 3, momentum=0.2)
    train_then_eval(ours, theirs, torch.randn(T, *STEPS[d], dtype=torch.float64) * 2 + 1)


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_batch_norm_through_time_as_spikingjelly(d, step_mode):
    name = f"BatchNormThroughTime{d}d"
    ours, theirs = (
        getattr(layer, name)(T, 3, step_mode=step_mode),
        getattr(sj_layer, name)(T, 3, step_mode=step_mode),
    )
    assert "bn_list.0.bias" not in ours.state_dict()
    x_seq = torch.randn(T, *STEPS[d], dtype=torch.float64) * 2 + 1
    if step_mode == "m":
        train_then_eval(ours, theirs, x_seq)
        return
    ours.double(), theirs.double()
    sync_weights(ours, theirs)
    for x in x_seq:  # step t uses the t-th batch norm on both sides
        assert_same_run(run(ours, [x]), run(theirs, [x]))
    assert ours.t == T - 1


def test_batch_norm_through_time_counts_steps_until_reset():
    bn = layer.BatchNormThroughTime2d(2, 3, step_mode="m")
    bn(torch.rand(2, N, 3, 4, 4))
    assert int(bn.bn_list[1].num_batches_tracked) == 1
    with pytest.raises(ValueError, match=r"T=2 steps and got step 3; call spikegrad.functional.reset_net"):
        bn(torch.rand(1, N, 3, 4, 4))
    functional.reset_net(bn)
    assert bn.t == -1
    bn(torch.rand(1, N, 3, 4, 4))
    assert int(bn.bn_list[0].num_batches_tracked) == 2 and int(bn.bn_list[1].num_batches_tracked) == 1


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_neunorm_as_spikingjelly(shared, step_mode):
    ours = layer.NeuNorm(3, 4, 4, k=0.8, shared_across_channels=shared, step_mode=step_mode)
    theirs = sj_layer.NeuNorm(3, 4, 4, k=0.8, shared_across_channels=shared, step_mode=step_mode)
    ours.double(), theirs.double()
    sync_weights(ours, theirs)
    spikes = (torch.rand(T, N, 3, 4, 4) < 0.5).double()
    if step_mode == "m":
        assert_same_run(run(ours, [spikes]), run(theirs, [spikes]))
    else:
        for x in spikes:
            assert_same_run(run(ours, [x]), run(theirs, [x]))
            functional.detach_net(ours)
            theirs.x = theirs.x.detach()
    assert ours.x.shape == (N, 1, 4, 4)


def test_same_constructor_parameters_as_spikingjelly():
    cases = {
        "NeuNorm": (3, 4, 4),
        "BatchNormThroughTime2d": (T, 3),
        "TemporalEffectiveBatchNorm2d": (T, 3),
        "ThresholdDependentBatchNorm2d": (1.0, 0.5, 3),
    }
    for name, args in cases.items():
        ours, theirs = getattr(layer, name)(*args), getattr(sj_layer, name)(*args)
        assert list(ours.state_dict()) == list(theirs.state_dict()), name
        assert sorted(n for n, _ in ours.named_buffers()) == sorted(n for n, _ in theirs.named_buffers())
    assert layer.NeuNorm(3, 4, 4).k0 == sj_layer.NeuNorm(3, 4, 4).k0 == 0.9


def test_validation():
    with pytest.raises(ValueError, match=r"ThresholdDependentBatchNorm2d needs affine=True"):
        layer.ThresholdDependentBatchNorm2d(1.0, 1.0, 3, affine=False)
    with pytest.raises(ValueError, match=r"alpha must be a finite number, got nan"):
        layer.ThresholdDependentBatchNorm2d(float("nan"), 1.0, 3)
    with pytest.raises(
        ValueError, match=r"expects \[T, N, C, H, W\] \(time first\), got shape \(2, 3, 4, 4\)"
    ):
        layer.ThresholdDependentBatchNorm2d(1.0, 1.0, 3)(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"expects \[T, N, C\] or \[T, N, C, L\]"):
        layer.TemporalEffectiveBatchNorm1d(T, 3)(torch.rand(T, N, 3, 4, 4))
    with pytest.raises(ValueError, match=r"scale for T=3 steps, got a sequence of 2"):
        layer.TemporalEffectiveBatchNorm2d(3, 3)(torch.rand(2, N, 3, 4, 4))
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match=r"T must be a positive integer"):
            layer.TemporalEffectiveBatchNorm2d(bad, 3)
        with pytest.raises(ValueError, match=r"T must be a positive integer"):
            layer.BatchNormThroughTime2d(bad, 3)
    with pytest.raises(ValueError, match=r"height must be a positive integer, got 0"):
        layer.NeuNorm(3, 0, 4)
    norm = layer.NeuNorm(3, 4, 4)
    with pytest.raises(ValueError, match=r"NeuNorm expects steps \[N, C, H, W\], got step shape \(3, 4, 4\)"):
        norm(torch.rand(3, 4, 4))
    norm(torch.rand(N, 3, 4, 4))
    with pytest.raises(ValueError, match=r"does not fit the stored state \(2, 1, 4, 4\).*reset_net"):
        norm(torch.rand(N + 1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"ThresholdDependentBatchNorm2d: step_mode must be 'm'"):
        layer.ThresholdDependentBatchNorm2d(1.0, 1.0, 3).step_mode = "s"
