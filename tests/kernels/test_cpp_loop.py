"""The C++ loop kernels: what the generated source says, and the cases only they meet
(blocks of neurons, threads, a charge exactly at the threshold, the compiler driver)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import torch

from spikegrad import kernels, neuron, surrogate
from spikegrad.kernels import cpp_loop, fused

from .harness import check, inputs, lif, node

pytestmark = pytest.mark.skipif(
    kernels.route(torch.device("cpu")) != "cpp", reason="the CPU runs Triton here"
)


def _plan(n: neuron.BaseNode, x: torch.Tensor) -> fused.Plan:
    from spikegrad.kernels.trace import layout_of

    layout = layout_of(n, n.state_names())
    return fused._plan(n, x, fused._tensors(n, layout, x), n.store_v_seq, layout)


def test_float32_is_computed_in_float32() -> None:
    # A float64 constant meeting a float32 value would promote the arithmetic (and halve the
    # SIMD width): the scalars are cast where they meet the neurons' values.
    n = neuron.LIFNode(tau=3.0, surrogate_function=surrogate.ATan(), step_mode="m")
    x = inputs(dtype=torch.float32).requires_grad_()
    plan = _plan(n, x)
    for program in (plan.programs.forward, plan.programs.backward):
        source = cpp_loop.source(program)
        body = source[source.index("#pragma omp simd") :]
        assert "double" not in body, body


def test_loop_invariants_are_hoisted_out_of_the_time_loop() -> None:
    n = neuron.LIFNode(tau=3.0, surrogate_function=surrogate.ATan(), step_mode="m")
    plan = _plan(n, inputs(dtype=torch.float32).requires_grad_())
    source = cpp_loop.source(plan.programs.backward)
    head = source[: source.index("#pragma omp parallel")]
    assert re.search(r"double\(1\) / static_cast<double>\(a\d+\)", head)  # 1 / tau, once per call
    assert re.search(
        r"static_cast<double>\(a\d+\) / static_cast<double>\(2\)", head
    )  # ATan's alpha / 2, once


@pytest.mark.parametrize("threads", [1, 2])
def test_many_blocks_and_threads(threads: int) -> None:
    n_neurons = 4 * cpp_loop.BLOCK + 3  # a partial last block
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert n_neurons >= cpp_loop.PARALLEL_MIN
        check(lif(), inputs((5, n_neurons)))
    finally:
        torch.set_num_threads(before)


def test_charge_exactly_at_the_threshold_fires() -> None:
    # IF, threshold 0.75: 0.25 + 0.5 = 0.75 exactly at the second step; H(0) = 1.
    x = torch.tensor([[0.25, 0.5, 0.0], [0.5, 0.25, 0.75], [0.0, 0.0, 0.0]], dtype=torch.float32)
    got = check(node(neuron.IFNode, surrogate.Sigmoid(), v_threshold=0.75), x)
    out = got["out"]
    assert out is not None
    assert out.tolist() == [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


def test_kernels_are_cached_on_disk(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPIKEGRAD_CACHE_DIR", str(tmp_path))
    fused.clear_cache()
    program = _plan(neuron.IFNode(step_mode="m"), inputs()).programs.forward  # compiles both directions
    libraries = sorted(cpp_loop.cache_dir().glob("k*.so"))
    assert len(libraries) == 2
    stamps = [p.stat().st_mtime_ns for p in libraries]
    cpp_loop._LOADED.clear()
    cpp_loop.kernel(program)  # found on disk: not compiled again
    assert sorted(cpp_loop.cache_dir().glob("k*.so")) == libraries
    assert [p.stat().st_mtime_ns for p in libraries] == stamps
    assert not [p for p in cpp_loop.cache_dir().iterdir() if p.is_dir()]  # no temporary folder left


def test_compiler_errors_are_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    monkeypatch.setenv("SPIKEGRAD_CACHE_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"compiling a fused kernel .* failed \(exit code 1\)"):
        cpp_loop._library('extern "C" void step_loop() { this is not C++ }')


def test_no_compiler_falls_back_with_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hide every compiler: 'auto' runs the reference loop and says once what to install;
    # an explicit 'fused' is an error naming the fix.
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    monkeypatch.setenv("PATH", "/nonexistent")
    cpp_loop.compiler.cache_clear()
    kernels._availability.cache_clear()
    kernels._warn_once.cache_clear()
    try:
        x = inputs((3, 5), dtype=torch.float32)
        with pytest.warns(
            RuntimeWarning, match=r"no C\+\+ compiler found.*apt install g\+\+.*reference loop"
        ):
            out = neuron.LIFNode(step_mode="m")(x)
        assert out.shape == x.shape
        with pytest.raises(RuntimeError, match=r"backend='fused'.*no C\+\+ compiler found"):
            neuron.LIFNode(step_mode="m", backend="fused")(x)
    finally:
        cpp_loop.compiler.cache_clear()
        kernels._availability.cache_clear()
        kernels._warn_once.cache_clear()


def test_the_compiler_really_vectorises_the_step() -> None:
    # Ask the compiler itself: the time step's inner loop becomes SIMD code.
    path, _ = cpp_loop.compiler()
    if "g++" not in os.path.basename(path) and "c++" not in os.path.basename(path):
        pytest.skip("the vectoriser report below is GCC's")
    n = neuron.LIFNode(surrogate_function=surrogate.ATan(), step_mode="m")
    plan = _plan(n, inputs(dtype=torch.float32).requires_grad_())
    source = cpp_loop.source(plan.programs.backward)
    result = subprocess.run(
        [path, *cpp_loop._FLAGS, "-fopt-info-vec-optimized", "-x", "c++", "-", "-o", os.devnull],
        input=source,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "loop vectorized" in result.stderr
