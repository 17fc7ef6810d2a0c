"""The Triton kernels of the multi-state and tensor-parameter neurons, run on the CPU by
Triton's interpreter (the same source runs on CUDA), against the reference loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from kernels.harness import check, node
from spikegrad import kernels, neuron
from spikegrad.kernels import triton_loop

from .cases import close, inputs, ours_surrogate, perturbed, run_gated

pytestmark = pytest.mark.skipif(
    not triton_loop.interpreted() and not torch.cuda.is_available(),
    reason="needs TRITON_INTERPRET=1 (set by the conftest on machines without CUDA)",
)


@pytest.fixture(autouse=True)
def triton_route() -> Iterator[None]:
    with kernels.triton_on_cpu():
        assert kernels.route(torch.device("cpu")) == "triton"
        yield


def test_two_state_neurons():
    x, v0 = inputs((5, 3, 4), 2.0), inputs((3, 4), 0.5, seed=1)
    check(
        node(lambda **kw: neuron.RAFNode(-0.3, 1.2, 0.8, **kw), ours_surrogate("ATan"), v_reset=None), x, v0
    )

    def clif(backend: str) -> neuron.BaseNode:
        return neuron.ComplementaryLIFNode(
            1.7, 0.9, ours_surrogate("Sigmoid"), step_mode="m", backend=backend
        )

    got = check(clif, x / 2, v0)
    assert got["m"] is not None and got["m"].abs().sum() > 0


def test_signed_and_integer_spikes():
    x, v0 = inputs((5, 3, 4), 2.0), inputs((3, 4), 0.5, seed=1)
    check(node(neuron.TernaryIFNode, ours_surrogate("Sigmoid"), detach_reset=True), x, v0)
    check(node(neuron.ILIFNode, None), x * 2, v0)


def test_per_channel_gates():
    results = []
    for backend in ("fused", "reference"):
        torch.manual_seed(0)
        gated = neuron.GatedLIFNode(5, 3, surrogate_function=ours_surrogate("ATan"), backend=backend)
        gated.load_state_dict(perturbed(gated, seed=2))
        results.append(run_gated(gated.double(), inputs((5, 2, 3, 2, 2))))
    close(*results, torch.float64, outputs=4)
