"""The fused kernels against the reference loop for every recurrence of this package.

``kernels.harness.check`` for the ``BaseNode`` neurons (outputs and states exactly, every
gradient to the dtype's tolerance); the same comparison written out for the gated LIF
neuron (whose recurrence runs on gates made at each call) and the single-step OTTT neuron.
Two surrogates each, in float32 and float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from kernels.harness import check, node
from spikegrad import neuron, surrogate

from .cases import close, inputs, ours_surrogate, perturbed, run_gated, run_online, weights

DTYPES = [torch.float32, torch.float64]
#: (surrogate, keyword arguments): the second surrogate with the other reset, detached.
SETTINGS = [("Sigmoid", {"v_reset": None}), ("ATan", {"v_reset": -0.2, "detach_reset": True})]


def settings_id(value: Any) -> str:
    return value if isinstance(value, str) else "-".join(f"{k}={v}" for k, v in value.items())


def assert_fires(out: torch.Tensor | None) -> None:
    assert out is not None and 0 < (out != 0).sum() < out.numel()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("sg", "kwargs"), SETTINGS, ids=settings_id)
@pytest.mark.parametrize(
    ("cls", "args", "scale"),
    [(neuron.TernaryIFNode, (), 1.5), (neuron.RAFNode, (-0.3, 1.2, 0.8), 2.0)],
    ids=["TernaryIFNode", "RAFNode"],
)
def test_resetting_neurons(cls, args, scale, sg, kwargs, dtype):
    make = node(lambda **kw: cls(*args, **kw), ours_surrogate(sg), **kwargs)  # type: ignore[arg-type]
    x = inputs((6, 4, 3), scale, dtype=dtype)
    got = check(make, x, v0=inputs((4, 3), 0.5, seed=1, dtype=dtype))
    assert_fires(got["out"])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("sg", ["Sigmoid", "ATan"])
def test_complementary(sg, dtype):
    def make(backend: str) -> neuron.BaseNode:
        return neuron.ComplementaryLIFNode(1.7, 0.9, ours_surrogate(sg), step_mode="m", backend=backend)

    got = check(make, inputs((6, 4, 3), dtype=dtype), v0=inputs((4, 3), 0.5, seed=1, dtype=dtype))
    assert_fires(got["out"])
    assert got["m"] is not None and got["m"].abs().sum() > 0


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(
    "sg",
    [surrogate.MultiLevelSpikeCount(4), surrogate.MultiLevelSpikeCount(2, grad_window=(-0.5, 1.5))],
    ids=["K4", "K2-window"],
)
def test_ilif(sg, dtype):
    make = node(neuron.ILIFNode, sg, tau=1.5, v_threshold=0.8, detach_reset=True)
    got = check(make, inputs((6, 4, 3), 3.0, dtype=dtype), v0=inputs((4, 3), 0.5, seed=1, dtype=dtype))
    out = got["out"]
    assert out is not None and set(out.unique().tolist()) >= {0.0, 1.0, 2.0}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(
    "make_node",
    [lambda b: neuron.NonSpikingIFNode(backend=b), lambda b: neuron.NonSpikingLIFNode(1.6, backend=b)],
    ids=["NonSpikingIFNode", "NonSpikingLIFNode"],
)
def test_nonspiking(make_node: Callable[[str], neuron.BaseNode], dtype):
    # (kernels.harness.check reads a surrogate, which these neurons do not have.)
    results = []
    for backend in ("fused", "reference"):
        x = inputs((6, 4, 3), dtype=dtype).requires_grad_()
        v_seq = make_node(backend)(x)
        (grad,) = torch.autograd.grad((v_seq * weights(v_seq, 0)).sum(), x)
        results.append([v_seq, grad])
    close(*results, dtype, outputs=1)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("sg", ["Sigmoid", "ATan"])
@pytest.mark.parametrize("inplane", [None, 3], ids=["per-layer", "per-channel"])
def test_gated(inplane, sg, dtype):
    results = []
    for backend in ("fused", "reference"):
        torch.manual_seed(0)
        gated = neuron.GatedLIFNode(6, inplane, surrogate_function=ours_surrogate(sg), backend=backend)
        gated.load_state_dict(perturbed(gated, seed=2))
        results.append(run_gated(gated.to(dtype), inputs((6, 2, 3, 4, 4), dtype=dtype)))
    assert_fires(results[0][0])
    close(*results, dtype, outputs=4)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("sg", "kwargs"), SETTINGS, ids=settings_id)
def test_ottt(sg, kwargs, dtype):
    for training in (True, False):
        results = []
        for backend in ("fused", "reference"):
            online = neuron.OTTTLIFNode(1.8, surrogate_function=ours_surrogate(sg), backend=backend, **kwargs)
            results.append(run_online(online.train(training), inputs((6, 4, 3), 2.0, dtype=dtype)))
        assert_fires(results[0][0])
        close(*results, dtype, outputs=len(results[0]) - 1)
