"""The whole-sequence Triton kernels, run on the CPU by Triton's interpreter.

The same generated source runs on CUDA; here ``TRITON_INTERPRET=1`` executes it with numpy
and ``SPIKEGRAD_TRITON_ON_CPU=1`` sends CPU tensors down the Triton path. Skipped when the
optional ``triton`` package is not installed (``pip install spikegrad[triton]``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from spikegrad import surrogate
from spikegrad.kernels import fused, reference, steps, triton_codegen
from spikegrad.neuron.dynamics import Dynamics
from spikegrad.surrogate import Surrogate

from .test_fused import CLASSES, _exact_inputs, check, inputs, make

pytestmark = [
    pytest.mark.skipif(not triton_codegen.available(), reason="triton is not installed"),
    pytest.mark.skipif(
        not triton_codegen.interpreted(), reason="needs TRITON_INTERPRET=1 (set by conftest on CPU)"
    ),
]

DETERMINISTIC = [c for c in CLASSES if not c.stochastic]


@pytest.fixture(autouse=True)
def interpreter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SPIKEGRAD_TRITON_ON_CPU", "1")
    assert steps.use_triton(torch.device("cpu"))
    yield


def _translated(kind: str, cls: type[Surrogate] | None) -> bool:
    return any(key[0] == kind and key[1] is cls and loop is not None for key, loop in steps._LOOPS.items())


@pytest.mark.parametrize("cls", DETERMINISTIC, ids=lambda c: c.__name__)
def test_every_deterministic_surrogate(cls: type[Surrogate]) -> None:
    x = inputs((5, 3, 4))
    v0 = torch.full((3, 4), 0.1, dtype=torch.float64)
    check(Dynamics(leaky=True, v_reset=None), make(cls), x, v0, torch.tensor(0.3, dtype=torch.float64))
    # ran as one loop kernel per direction, not per-step kernels
    assert _translated("backward_k", cls)


@pytest.mark.parametrize(
    "config",
    [
        dict(leaky=True),
        dict(v_reset=None, detach_reset=True),
        dict(leaky=True, decay_input=False, v_reset=-0.2),
    ],
    ids=str,
)
@pytest.mark.parametrize("store_v_seq", [True, False])
def test_neuron_configurations(config: dict[str, object], store_v_seq: bool) -> None:
    check(Dynamics(**config), surrogate.Sigmoid(), inputs(seed=3), 0.0, 0.5, store_v_seq)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_dtypes(dtype: torch.dtype) -> None:
    # IF keeps every value a small multiple of 1/16, exact in every type. The interpreter
    # converts to bfloat16 by truncation, not by rounding as the GPU (and torch) do, so
    # there only the (exact) forward is compared.
    for sg in (surrogate.ATan(), surrogate.MultiLevelSpikeCount(3)):
        if dtype == torch.bfloat16:
            with torch.no_grad():
                got = fused.multi_step(Dynamics(), sg, _exact_inputs(dtype), 0.0, 0.5, True)
                want = reference.multi_step(Dynamics(), sg, _exact_inputs(dtype), 0.0, 0.5, True)
            for a, b in zip(got, want, strict=True):
                assert torch.equal(a, b)
        else:
            check(Dynamics(), sg, _exact_inputs(dtype), 0.0, 0.5)
            check(Dynamics(leaky=True), sg, _exact_inputs(dtype)[:3], 0.0, 0.5)


@pytest.mark.parametrize(
    "shape", [(1, 5), (4,), (4, 0, 2), (3, 2, 3, 2, 2)], ids=["T=1", "0-dim", "empty", "4-D"]
)
def test_shapes(shape: tuple[int, ...]) -> None:
    check(Dynamics(leaky=True), surrogate.ATan(), inputs(shape), 0.0)


def test_per_channel_parameter() -> None:
    alpha = torch.tensor([2.0, 4.0, 6.0], dtype=torch.float64).view(3, 1, 1)
    check(Dynamics(leaky=True), surrogate.Sigmoid(alpha=alpha), inputs((4, 2, 3, 2, 2)), 0.0)


def test_source_is_one_loop_over_time() -> None:
    check(Dynamics(leaky=True), surrogate.ATan(), inputs(), 0.0)
    assert _translated("forward_heaviside", None) and _translated("backward", surrogate.ATan)
