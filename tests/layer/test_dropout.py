"""Dropout, Dropout2d and DropConnectLinear: against SpikingJelly 2.0 at the same seed, and alone."""

from __future__ import annotations

import pytest
import torch

from spikegrad import functional, layer, neuron

from .helpers import N, T, assert_same_run, run, sync_weights

sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")
sj_functional = pytest.importorskip("spikingjelly.activation_based.functional")


def seeded_runs(ours, theirs, inputs_per_call, seed=0, exact=True):
    """Call both modules on the same inputs, each call after the same seed; reset between."""
    results = []
    for module, reset in ((ours, functional.reset_net), (theirs, sj_functional.reset_net)):
        torch.manual_seed(seed)
        results.append([run(module, [x]) for x in inputs_per_call])
        reset(module)
    for a, b in zip(*results, strict=True):
        assert_same_run(a, b, exact=exact)


@pytest.mark.parametrize("name", ["Dropout", "Dropout2d"])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_masks_as_spikingjelly_at_the_same_seed(name, step_mode):
    ours = getattr(layer, name)(0.4, step_mode=step_mode)
    theirs = getattr(sj_layer, name)(0.4, step_mode=step_mode)
    step = (N, 4, 3, 3)
    xs = [torch.randn(step if step_mode == "s" else (T, *step), dtype=torch.float64) for _ in range(3)]
    seeded_runs(ours, theirs, xs)  # the mask persists over the three calls on both sides
    ours.eval(), theirs.eval()
    seeded_runs(ours, theirs, xs)


def test_default_probabilities_as_spikingjelly():
    assert layer.Dropout().p == sj_layer.Dropout().p == 0.5
    assert layer.Dropout2d().p == sj_layer.Dropout2d().p == 0.2


def test_dropout2d_drops_whole_channels_once_per_sequence():
    torch.manual_seed(0)
    drop = layer.Dropout2d(0.5, step_mode="m")
    out = drop(torch.ones(T, 8, 6, 3, 3))
    assert torch.equal(out, out[:1].expand_as(out))  # the same mask at every step
    per_channel = out[0].flatten(2)
    assert torch.equal(per_channel, per_channel[..., :1].expand_as(per_channel))  # whole maps
    assert set(out.unique().tolist()) == {0.0, 2.0}
    with pytest.raises(ValueError, match=r"Dropout2d expects steps \[N, C, \*\].*\(5,\)"):
        layer.Dropout2d(0.5)(torch.ones(5))
    with pytest.raises(ValueError, match=r"reset_net"):
        drop(torch.ones(T, 7, 6, 3, 3))


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
    for cls in (layer.Dropout, layer.Dropout2d):
        for p in (1.0, -0.1, "0.5", True, float("nan")):
            with pytest.raises(ValueError, match=r"0 <= p < 1"):
                cls(p)
    assert repr(layer.Dropout(0.25)) == "Dropout(p=0.25, step_mode='s')"
    with pytest.raises(ValueError, match=r"expects \[T, \*shape\] with T >= 1, got shape \(\)"):
        layer.Dropout(0.5, step_mode="m")(torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"T >= 1, got shape \(0, 3\)"):
        layer.Dropout(0.5, step_mode="m")(torch.ones(0, 3))
    with pytest.raises(TypeError, match=r"floating-point tensor .* got dtype torch.int64"):
        layer.Dropout(0.5)(torch.tensor([1, 0, -1]))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("invariant", [False, True])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_drop_connect_as_spikingjelly(bias, invariant, step_mode):
    kwargs = {"bias": bias, "p": 0.3, "samples_num": 16, "invariant": invariant, "step_mode": step_mode}
    ours = layer.DropConnectLinear(5, 4, **kwargs).double()
    theirs = sj_layer.DropConnectLinear(5, 4, **kwargs).double()
    sync_weights(ours, theirs)
    step = (N, 5)
    xs = [torch.randn(step if step_mode == "s" else (T, *step), dtype=torch.float64) for _ in range(2)]
    if invariant:  # SpikingJelly keeps the masked weights, so only one backward per sequence works
        xs = [xs[0]]
    # the same numbers; with kept masks the weight gradient is summed in another order
    seeded_runs(ours, theirs, xs, exact=not invariant)
    ours.eval(), theirs.eval()
    seeded_runs(ours, theirs, xs, seed=3)


def test_drop_connect_invariant_masks_survive_a_backward_per_step():
    """Truncated BPTT: a backward after every step with the same kept masks."""
    torch.manual_seed(0)
    fc = layer.DropConnectLinear(3, 2, p=0.5, invariant=True)
    for _ in range(3):
        fc(torch.rand(4, 3)).sum().backward()
    assert fc.weight.grad is not None
    torch.manual_seed(0)
    sj_fc = sj_layer.DropConnectLinear(3, 2, p=0.5, invariant=True)
    sj_fc(torch.rand(4, 3)).sum().backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time"):
        sj_fc(torch.rand(4, 3)).sum().backward()


def test_drop_connect_masks_and_expected_output():
    torch.manual_seed(0)
    fc = layer.DropConnectLinear(3, 2, p=0.5, invariant=True, activation=None)
    x = torch.ones(4, 3)
    first = fc(x)
    assert fc.weight_mask.shape == (4, 2, 3) and fc.bias_mask.shape == (4, 2)
    assert torch.equal(fc(x), first)  # invariant: the masks are kept
    with pytest.raises(ValueError, match=r"drawn for a batch of 4, got 3.*reset_net"):
        fc(torch.ones(3, 3))
    functional.reset_net(fc)
    assert fc.weight_mask is None and fc.bias_mask is None
    # eval: the mean of many Gaussian samples approaches (1 - p)(W x + b) without activation
    fc.samples_num = 20000
    fc.eval()
    expected = 0.5 * torch.nn.functional.linear(x, fc.weight, fc.bias)
    torch.testing.assert_close(fc(x), expected, atol=0.02, rtol=0.0)


def test_drop_connect_defaults_validation_and_reset_of_the_activation():
    fc, sj_fc = layer.DropConnectLinear(3, 2), sj_layer.DropConnectLinear(3, 2)
    assert (fc.p, fc.samples_num, fc.invariant) == (sj_fc.p, sj_fc.samples_num, sj_fc.invariant)
    assert isinstance(fc.activation, torch.nn.ReLU)
    assert layer.DropConnectLinear(3, 2).activation is not fc.activation  # not a shared default
    for bad in ({"p": 1.0}, {"p": -0.5}, {"samples_num": 0}, {"samples_num": 2.5}):
        with pytest.raises(ValueError, match=r"p must be|samples_num must be"):
            layer.DropConnectLinear(3, 2, **bad)
    with pytest.raises(ValueError, match=r"in training expects steps \[N, 3\], got \(2, 4\)"):
        fc(torch.ones(2, 4))
    spiking = layer.DropConnectLinear(3, 2, activation=neuron.IFNode())
    spiking(torch.ones(2, 3))
    assert isinstance(spiking.activation.v, torch.Tensor)
    spiking.reset()
    assert spiking.activation.v == 0.0
    assert "p=0.5, invariant=False" in repr(fc)
