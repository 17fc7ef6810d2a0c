"""The whole-sequence C++ loops of :mod:`spikegrad.kernels.cpp_codegen` (the CPU default for
float32 and float64), against the reference loop and against the per-step kernels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from spikegrad import surrogate
from spikegrad.kernels import cpp_codegen, steps, triton_codegen
from spikegrad.neuron.dynamics import Dynamics
from spikegrad.surrogate import Surrogate

from .test_fused import CLASSES, check, inputs, make

DETERMINISTIC = [c for c in CLASSES if not c.stochastic]
SURROGATES = [surrogate.ATan, surrogate.Sigmoid, surrogate.PiecewiseQuadratic, surrogate.MultiLevelSpikeCount]


@pytest.fixture(autouse=True)
def cpp_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("SPIKEGRAD_CPP_LOOP", raising=False)
    monkeypatch.delenv("SPIKEGRAD_TRITON_ON_CPU", raising=False)
    assert not steps.use_triton(torch.device("cpu"))
    yield


def _translated(kind: str, cls: type[Surrogate] | None) -> bool:
    return any(
        key[0] == kind and key[1] is cls and key[-1] == "cpp" and loop is not None
        for key, loop in steps._LOOPS.items()
    )


@pytest.mark.parametrize("cls", DETERMINISTIC, ids=lambda c: c.__name__)
def test_every_deterministic_surrogate_is_one_loop(cls: type[Surrogate]) -> None:
    x = inputs((5, 3, 4))
    v0 = torch.full((3, 4), 0.1, dtype=torch.float64)
    check(Dynamics(leaky=True, v_reset=None), make(cls), x, v0, torch.tensor(0.3, dtype=torch.float64))
    assert _translated("backward_k", cls)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize(
    "config",
    [
        dict(),
        dict(leaky=True),
        dict(leaky=True, decay_input=False, v_reset=-0.2),
        dict(v_reset=None),
        dict(v_reset=None, detach_reset=True),
        dict(leaky=True, detach_reset=True),
    ],
    ids=str,
)
@pytest.mark.parametrize("cls", SURROGATES, ids=lambda c: c.__name__)
def test_neurons_and_dtypes(cls: type[Surrogate], config: dict[str, object], dtype: torch.dtype) -> None:
    x = inputs((7, 5, 3), dtype, seed=4)
    v0 = torch.rand((5, 3), dtype=dtype, generator=torch.Generator().manual_seed(2)) * 0.4
    check(Dynamics(**config), make(cls), x, v0, 0.6)  # type: ignore[arg-type]
    assert _translated("forward_heaviside", None) and _translated("backward", cls)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("store_v_seq", [True, False])
def test_plif_parameter_gradient(dtype: torch.dtype, store_v_seq: bool) -> None:
    for config in (dict(leaky=True), dict(leaky=True, decay_input=False, v_reset=None)):
        k = torch.tensor(0.2, dtype=dtype)
        check(Dynamics(**config), surrogate.Sigmoid(), inputs((6, 4, 3), dtype), 0.0, k, store_v_seq)  # type: ignore[arg-type]
    assert _translated("backward_k", surrogate.Sigmoid)


@pytest.mark.parametrize(
    "shape",
    [(1, 5), (4,), (4, 0, 2), (3, 2, 3, 2, 2), (2, 3 * cpp_codegen.BLOCK + 5)],
    ids=["T=1", "0-dim", "empty", "4-D", "partial-block"],
)
def test_shapes(shape: tuple[int, ...]) -> None:
    check(Dynamics(leaky=True), surrogate.ATan(), inputs(shape), 0.0)


def test_per_channel_parameter() -> None:
    alpha = torch.tensor([2.0, 4.0, 6.0], dtype=torch.float64).view(3, 1, 1)
    check(Dynamics(leaky=True), surrogate.Sigmoid(alpha=alpha), inputs((4, 2, 3, 2, 2)), 0.0)


def test_several_threads_match_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # Blocks split across threads only above a size; lower it so a small case splits.
    monkeypatch.setattr(cpp_codegen, "_PARALLEL_MIN", 1)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        check(Dynamics(leaky=True), surrogate.ATan(), inputs((5, 4 * cpp_codegen.BLOCK + 3)), 0.0)
    finally:
        torch.set_num_threads(before)


def test_switch_keeps_the_per_step_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIKEGRAD_CPP_LOOP", "0")
    assert not steps.use_loop(torch.device("cpu"), torch.float32)
    before = set(steps._LOOPS)
    check(Dynamics(leaky=True), surrogate.SoftSign(), inputs(), 0.0, torch.tensor(0.3, dtype=torch.float64))
    assert set(steps._LOOPS) == before


def test_half_types_stay_per_step() -> None:
    assert not steps.use_loop(torch.device("cpu"), torch.float16)
    assert not steps.use_loop(torch.device("cpu"), torch.bfloat16)
    assert steps.use_loop(torch.device("cpu"), torch.float32)


def test_source_loops_over_time_in_blocks() -> None:
    def step(x: torch.Tensor, v: torch.Tensor, h_out: torch.Tensor, v_out: torch.Tensor) -> None:
        h = torch.atan(x) + v
        h_out.copy_(h)
        v_out.copy_(h * 0.5)

    f32 = torch.float32
    graph = steps.trace(step, [("n", f32)] * 4, torch.device("cpu"))
    roles = [
        triton_codegen.Role("step_in"),
        triton_codegen.Role("state", "v"),
        triton_codegen.Role("step_out"),
        triton_codegen.Role("state_out", "v"),
    ]
    source, params = cpp_codegen.sequence_source(graph, roles, [f32] * 4, False, "k")
    assert params == ["const float* p0", "const float* p1", "float* p1_final", "float* p2", "float* p3"]
    assert source.count("for (int64_t i = 0; i < T; ++i)") == 1 and "std::atan(" in source
    # and it computes the recurrence: v_t = (atan(x_t) + v_{t-1}) / 2
    run = cpp_codegen.sequence_kernel(graph, roles, [f32] * 4, False)
    x = torch.randn(3, 70)
    v0 = torch.randn(70)
    h, v_last, unused = torch.empty(3, 70), torch.empty(70), torch.empty(70)
    run([x, v0, v_last, h, unused], 70, 3)
    v = v0
    for t in range(3):
        # (a vectorised libm atan may differ from torch's in the last bit)
        torch.testing.assert_close(h[t], torch.atan(x[t]) + v)
        v = h[t] * 0.5
    torch.testing.assert_close(v_last, v, rtol=0, atol=0)


def test_unknown_op_is_untranslatable() -> None:
    def step(x: torch.Tensor, out: torch.Tensor) -> None:
        out.copy_(torch.cumsum(x, 0))

    graph = steps.trace(step, [("n", torch.float32)] * 2, torch.device("cpu"))
    roles = [triton_codegen.Role("step_in"), triton_codegen.Role("step_out")]
    with pytest.raises(triton_codegen.Untranslatable):
        cpp_codegen.sequence_source(graph, roles, [torch.float32] * 2, False, "k")
    with pytest.raises(triton_codegen.Untranslatable):
        cpp_codegen.sequence_source(graph, roles, [torch.float16] * 2, False, "k")
