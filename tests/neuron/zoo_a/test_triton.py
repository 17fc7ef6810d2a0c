"""The Triton translation of this zoo's steps (several states, a learnable scalar, an
analog output), run on the CPU by Triton's interpreter as in tests/kernels/test_triton.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from kernels.harness import check
from spikegrad import kernels, surrogate
from spikegrad.kernels import triton_loop

from .test_fused import CONFIGS, factory, inputs

pytestmark = pytest.mark.skipif(
    not triton_loop.interpreted() and not torch.cuda.is_available(),
    reason="needs TRITON_INTERPRET=1 (set by the conftest on machines without CUDA)",
)


@pytest.fixture(autouse=True)
def triton_route() -> Iterator[None]:
    with kernels.triton_on_cpu():
        assert kernels.route(torch.device("cpu")) == "triton"
        yield


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("IzhikevichNode", "A"),
        ("CUBALIFNode", "B"),
        ("ALIFNode", "A"),
        ("ALIFNode", "B"),
        ("KLIFNode", "B"),
        ("EIFNode", "A"),
        ("LIAFNode", "A"),
        ("HalfThresholdIFNode", "B"),
    ],
)
def test_triton_matches_reference(name: str, config: str) -> None:
    cls, a, b, scale = CONFIGS[name]
    x = inputs(scale, torch.float64, shape=(5, 3, 4), seed=1)
    v0 = torch.full((3, 4), 0.1, dtype=torch.float64)
    check(factory(cls, a if config == "A" else b, surrogate.Sigmoid), x, v0, exact_outputs=name != "LIAFNode")


def test_triton_float32_two_states() -> None:
    cls, a, _, scale = CONFIGS["ALIFNode"]
    check(factory(cls, a, surrogate.ATan), inputs(scale, torch.float32, shape=(6, 40), seed=2))
