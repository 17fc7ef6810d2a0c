"""The torch-layer wrappers against SpikingJelly 2.0's: signatures, state_dict, numbers.

For every wrapper: the same constructor parameters in the same positional order with the
same defaults (``step_mode`` included), the same ``state_dict`` keys (loaded strictly both
ways), and in both step modes, in float64, the same outputs, input and weight gradients and
running statistics.
"""

from __future__ import annotations

import inspect

import pytest
import torch

from spikegrad import layer

from .helpers import N, T, assert_same_run, run, sync_weights

sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")

# name -> (constructor args, kwargs, one step's input shape)
CASES = {
    "Conv1d": ((2, 3, 3), {"padding": 1, "stride": 2}, (N, 2, 7)),
    "Conv2d": ((2, 3, 3), {"padding": 1, "groups": 1, "bias": False}, (N, 2, 5, 5)),
    "Conv3d": ((2, 4, 3), {"padding": 1, "groups": 2}, (N, 2, 3, 4, 4)),
    "ConvTranspose1d": ((2, 3, 3), {"stride": 2, "output_padding": 1}, (N, 2, 5)),
    "ConvTranspose2d": ((2, 3, 3), {"stride": 2, "padding": 1}, (N, 2, 4, 4)),
    "ConvTranspose3d": ((2, 3, 2), {"stride": 2, "bias": False}, (N, 2, 2, 3, 3)),
    "MaxPool1d": ((2,), {"stride": 1}, (N, 3, 6)),
    "MaxPool2d": ((2,), {}, (N, 3, 4, 4)),
    "MaxPool3d": ((2,), {"padding": 1}, (N, 2, 3, 4, 4)),
    "AvgPool1d": ((3,), {"stride": 2, "padding": 1}, (N, 3, 7)),
    "AvgPool2d": ((2,), {"ceil_mode": True}, (N, 3, 5, 5)),
    "AvgPool3d": ((2,), {"divisor_override": 3}, (N, 2, 4, 4, 4)),
    "AdaptiveAvgPool1d": ((3,), {}, (N, 3, 7)),
    "AdaptiveAvgPool2d": (((2, 1),), {}, (N, 3, 5, 5)),
    "AdaptiveAvgPool3d": ((1,), {}, (N, 2, 3, 4, 4)),
    "BatchNorm1d": ((3,), {}, (N, 3, 5)),
    "BatchNorm2d": ((3,), {"momentum": 0.3}, (N, 3, 4, 4)),
    "BatchNorm3d": ((2,), {"eps": 1e-3}, (N, 2, 2, 3, 3)),
    "GroupNorm": ((2, 4), {}, (N, 4, 3, 3)),
    "Linear": ((5, 4), {}, (N, 5)),
    "Flatten": ((), {}, (N, 2, 3, 3)),
    "Upsample": ((), {"scale_factor": 2, "mode": "bilinear"}, (N, 2, 3, 3)),
    "WSConv2d": ((2, 3, 3), {"padding": 1}, (N, 2, 5, 5)),
    "WSLinear": ((5, 4), {}, (N, 5)),
}
WRAPPERS = [
    *CASES,
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
]


def parameters(cls):
    return [
        (p.name, p.default, p.kind)
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind != p.KEYWORD_ONLY
    ]


@pytest.mark.parametrize("name", WRAPPERS)
def test_same_constructor_signature(name):
    """Same parameter names, order and defaults, so positional SpikingJelly calls work."""
    ours, theirs = parameters(getattr(layer, name)), parameters(getattr(sj_layer, name))
    assert ours == theirs
    assert [n for n, _, _ in ours][-1] == "step_mode" or name.startswith("WS")


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_same_as_spikingjelly(name, step_mode):
    args, kwargs, step_shape = CASES[name]
    torch.manual_seed(0)
    ours = getattr(layer, name)(*args, **kwargs, step_mode=step_mode).double()
    theirs = getattr(sj_layer, name)(*args, **kwargs, step_mode=step_mode).double()
    sync_weights(ours, theirs)
    shape = step_shape if step_mode == "s" else (T, *step_shape)
    x = torch.randn(shape, dtype=torch.float64)
    assert_same_run(run(ours, [x]), run(theirs, [x]))
    ours.eval(), theirs.eval()
    assert_same_run(run(ours, [x]), run(theirs, [x]))


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_max_pool_with_indices_and_unpool_as_spikingjelly(dims, step_mode):
    pool = getattr(layer, f"MaxPool{dims}d")(2, return_indices=True, step_mode=step_mode)
    sj_pool = getattr(sj_layer, f"MaxPool{dims}d")(2, return_indices=True, step_mode=step_mode)
    ours = getattr(layer, f"MaxUnpool{dims}d")(2, step_mode=step_mode)
    theirs = getattr(sj_layer, f"MaxUnpool{dims}d")(2, step_mode=step_mode)
    step = (N, 2, *(4,) * dims)
    x = torch.randn(step if step_mode == "s" else (T, *step), dtype=torch.float64)
    pooled = run(pool, [x])
    assert_same_run(pooled, run(sj_pool, [x]), exact=True)
    values, indices = pooled["out"]
    size = list(x.shape[-dims:])
    for output_size in (None, size):
        got = run(ours, [values, indices], lambda v, i, size=output_size: ours(v, i, size))
        want = run(theirs, [values, indices], lambda v, i, size=output_size: theirs(v, i, size))
        assert_same_run(got, want, exact=True)
        assert got["out"][0].shape == x.shape


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_batch_norm_train_then_eval_running_statistics(step_mode):
    """Several training calls, then eval: running statistics over T*N agree."""
    ours = layer.BatchNorm2d(3, step_mode=step_mode).double()
    theirs = sj_layer.BatchNorm2d(3, step_mode=step_mode).double()
    sync_weights(ours, theirs)
    shape = (N, 3, 4, 4) if step_mode == "s" else (T, N, 3, 4, 4)
    for seed in range(3):
        torch.manual_seed(seed)
        x = torch.randn(shape, dtype=torch.float64) * 2 + 1
        assert_same_run(run(ours, [x]), run(theirs, [x]))
    ours.eval(), theirs.eval()
    assert_same_run(run(ours, [x]), run(theirs, [x]))
    assert int(ours.num_batches_tracked) == 3


def test_step_mode_positionally_as_in_spikingjelly():
    """SpikingJelly code passes step_mode positionally after the torch arguments."""
    calls = {
        "Linear": (5, 4, True, "m"),
        "Conv2d": (1, 2, 3, 1, 1, 1, 1, False, "zeros", "m"),
        "BatchNorm2d": (2, 1e-5, 0.1, True, True, "m"),
        "MaxPool2d": (2, None, 0, 1, False, False, "m"),
        "AvgPool1d": (2, None, 0, False, True, "m"),
        "AdaptiveAvgPool2d": (1, "m"),
        "Flatten": (1, -1, "m"),
        "GroupNorm": (1, 2, 1e-5, True, "m"),
        "WSConv2d": (1, 2, 3, 1, 0, 1, 1, True, "zeros", "m", False, 1e-3),
        "WSLinear": (5, 4, True, "m", False, 1e-3),
    }
    for name, args in calls.items():
        ours, theirs = getattr(layer, name)(*args), getattr(sj_layer, name)(*args)
        assert ours.step_mode == theirs.step_mode == "m", name
        assert list(ours.state_dict()) == list(theirs.state_dict()), name


def test_device_and_dtype_are_keyword_only_extras():
    conv = layer.Conv2d(1, 2, 3, dtype=torch.float64, device="cpu")
    assert conv.weight.dtype == torch.float64
    assert layer.WSLinear(3, 2, dtype=torch.float64).gain.dtype == torch.float64
