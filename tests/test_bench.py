"""Smoke tests of the benchmark harness, its cases, report and CLI, on tiny sizes.

No timing is asserted: the tests check what the harness promises (interleaved rounds, one
sample per round, paired ratios, memory accounting, skipped contenders, targets) on
synthetic contenders, and that every real case runs end to end at QUICK sizes.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from spikegrad import benchmarks
from spikegrad.benchmarks.harness import (
    Case,
    CaseResult,
    Contender,
    Timing,
    Unavailable,
    peak_extra_bytes,
    run_case,
)
from spikegrad.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _case(*contenders: Contender, kind: str = "lif", params: dict | None = None) -> Case:
    return Case(kind, "toy", params or {}, list(contenders), 1024, torch.device("cpu"), torch.float32)


def _logging(name: str, calls: list[str], role: str = "peer") -> Contender:
    def setup():
        return lambda: calls.append(name)
    return Contender(name, setup, role=role)


def test_rounds_are_interleaved_after_warmup():
    calls: list[str] = []
    case = _case(_logging("A", calls, "spikegrad"), _logging("B", calls), _logging("C", calls, "floor"))
    result = run_case(case, threads=1, rounds=4, warmup=2, min_time=0.0, memory=False)
    # per contender: 2 warm-up calls and 1 calibration call, one after the other
    assert calls[:9] == ["A"] * 3 + ["B"] * 3 + ["C"] * 3
    assert calls[9:] == ["A", "B", "C"] * 4
    for t in result.timings:
        assert len(t.samples) == 4 and t.calls_per_sample == 1
        assert t.min <= t.median <= t.max
    assert result.baseline is result.get("A") and result.floor is result.get("C")
    assert result.ratio("A", result.baseline) == 1.0


def test_paired_ratio_is_the_median_of_per_round_ratios():
    case = _case()
    a = Timing("A", "spikegrad", samples=[1.0, 2.0, 4.0])
    b = Timing("B", "peer", samples=[3.0, 2.0, 20.0])
    result = CaseResult(case, 1, [a, b])
    assert result.ratio("B", a) == 3.0  # per round 3, 1, 5
    assert math.isnan(result.ratio("missing", a))


def test_unavailable_and_failing_contenders_are_skipped_and_the_rest_timed():
    def unavailable():
        raise Unavailable("not installed here")

    def broken():
        def run():
            raise RuntimeError("kernel exploded")
        return run

    calls: list[str] = []
    case = _case(Contender("gone", unavailable), Contender("broken", broken), _logging("ok", calls))
    result = run_case(case, threads=1, rounds=2, warmup=1, min_time=0.0, memory=False)
    assert result.get("gone").skipped == "not installed here"
    assert "RuntimeError: kernel exploded" in result.get("broken").skipped
    assert len(result.get("ok").samples) == 2
    table = benchmarks.markdown_table([result])
    assert "skipped: not installed here" in table


@pytest.mark.parametrize("bad", [{"rounds": 0}, {"warmup": 0}, {"threads": 0}, {"min_time": -1.0}])
def test_run_case_refuses_bad_settings(bad):
    settings = {"threads": 1, "rounds": 1, "warmup": 1, "min_time": 0.0} | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        run_case(_case(), **settings)


def test_peak_extra_bytes_counts_what_lives_at_once():
    mib = 2**20

    def two_at_once():
        a = torch.ones(mib // 4)  # 1 MiB of float32
        b = torch.ones(mib // 4)
        del a, b
        c = torch.ones(mib // 4)
        del c

    peak = peak_extra_bytes(two_at_once, torch.device("cpu"))
    assert peak is not None
    assert 2 * mib <= peak < 2 * mib + 64 * 1024
    assert peak_extra_bytes(lambda: None, torch.device("cpu")) < 64 * 1024


def _lif32(timings: list[Timing]) -> CaseResult:
    case = _case(kind="lif", params={"T": 32, "shape": (64, 1024)})
    return CaseResult(case, 1, timings)


def test_targets_read_ratios_and_memory():
    fused = Timing("spikegrad fused", "spikegrad", samples=[1.0, 1.0], peak_bytes=3 * 1024)
    result = _lif32([
        fused,
        Timing(benchmarks.cases.SJ, "peer", samples=[5.0, 5.0]),
        Timing(benchmarks.cases.SJ_COMPILED, "peer", samples=[1.5, 1.5]),
        Timing(benchmarks.cases.FLOOR, "floor", samples=[0.25, 0.25]),
    ])
    verdicts = {t.name.split(": ", 1)[1]: (t.value, t.met) for t in benchmarks.check_targets([result])}
    assert verdicts[f"{benchmarks.cases.SJ} / spikegrad fused"] == (5.0, True)
    assert verdicts[f"{benchmarks.cases.SJ_COMPILED} / spikegrad fused"] == (1.5, False)
    assert verdicts["spikegrad fused peak extra memory / input bytes"] == (3.0, False)


def test_kept_allocator_target_reads_the_preallocated_floor():
    fused = Timing("spikegrad fused", "spikegrad", samples=[1.2, 1.2])
    in_place = Timing(benchmarks.cases.FLOOR_IN_PLACE, "info", samples=[1.0, 1.0])
    lif = _case(kind="lif", params={"T": 32, "shape": (64, 1024)})
    result = CaseResult(lif, 1, [fused, in_place], "kept")
    (target,) = benchmarks.check_targets([result])
    assert target.allocator == "kept" and target.value == pytest.approx(1.2) and target.met


def test_targets_are_not_measured_when_a_peer_is_missing():
    fused = Timing("spikegrad fused", "spikegrad", samples=[1.0])
    sj = Timing(benchmarks.cases.SJ, "peer", skipped="not importable")
    targets = benchmarks.check_targets([_lif32([fused, sj])])
    # neither SpikingJelly eager nor its compiled form ran: both targets are unmeasured
    assert [t.met for t in targets if benchmarks.cases.SJ in t.name] == [None, None]
    assert "not measured" in str(targets[0])


def test_every_case_runs_at_quick_sizes():
    # In a fresh interpreter, as a user starts it: after the rest of the suite (a large heap,
    # compiled graphs) the profiler's memory accounting alone takes a minute on 2 cores.
    script = f"import runpy; runpy.run_path({str(Path(__file__))!r})['check_every_case_at_quick_sizes']()"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]


def check_every_case_at_quick_sizes() -> None:
    # the fused backend is left out: its first call compiles (its own tests cover it)
    # torch.compile of SpikingJelly is left out: it compiles for a minute (the CLI test runs it)
    results = benchmarks.run(sizes=benchmarks.QUICK, threads=[1], rounds=2, warmup=1, min_time=0.0,
                             backends=["reference"], compiled_peer=False)
    kinds = [r.case.kind for r in results]
    # QUICK times the neurons IF, LIF and PLIF
    assert kinds == ["surrogate", "lif", "single", "neuron", "neuron", "neuron", "train"]
    for result in results:
        ran = [t for t in result.timings if not t.skipped]
        assert result.baseline is not None and result.baseline.name.startswith("spikegrad")
        for t in ran:
            assert len(t.samples) == 2 and t.peak_bytes is not None
            # everything allocates its outputs but the in-place floor (an information row)
            assert (t.peak_bytes == 0) == (t.name == benchmarks.cases.FLOOR_IN_PLACE)
        if result.case.kind not in ("train", "neuron"):
            assert result.floor is not None
    lif = results[1]
    # the floor allocates spikes, h and grad_x: exactly 3 inputs' worth
    assert lif.memory_ratio(benchmarks.cases.FLOOR) == pytest.approx(3.0, abs=0.05)
    report = benchmarks.markdown_report(results, "spikegrad bench --quick", load=(0.5, 0.7))
    assert "| LIF T=4 8x64 | 1 | default | spikegrad reference |" in report
    assert "spikegrad bench --quick" in report and "Machine:" in report


def test_cli_writes_the_markdown_report(tmp_path, capsys):
    out = tmp_path / "bench.md"
    code = main(["bench", "--quick", "--cases", "surrogate", "--threads", "1", "--rounds", "1",
                 "--no-peers", "--no-memory", "--markdown", str(out)])
    assert code == 0
    text = out.read_text()
    assert "| surrogate n=2^14 | 1 | default | spikegrad ATan |" in text
    assert "--cases surrogate --threads 1 --rounds 1" in text
    assert "spikegrad ATan" in capsys.readouterr().out


def test_cli_refuses_an_unknown_device(capsys):
    assert main(["bench", "--quick", "--device", "tpu"]) == 2
    assert "--device" in capsys.readouterr().err


def test_fresh_process_rounds_with_both_allocators():
    # Each sample comes from a new worker process; the kept-memory setting applies there.
    case = benchmarks.cases.surrogate_case(2**12, peers=False)
    case = dataclasses.replace(case, contenders=case.contenders[:1])  # spikegrad ATan: 1 process a round
    for allocator in ("default", "kept"):
        result = run_case(case, threads=1, rounds=2, warmup=1, min_time=0.0, memory=False,
                          isolation="process", allocator=allocator)
        assert result.isolation == "process" and result.allocator == allocator
        ran = [t for t in result.timings if not t.skipped]
        assert [t.name for t in ran] == [t.name for t in result.timings]
        for t in ran:
            assert len(t.samples) == 2 and t.first_s is not None and t.first_s > 0


def test_kept_allocator_needs_processes():
    with pytest.raises(ValueError, match="isolation='process'"):
        run_case(_case(), threads=1, allocator="kept")


@pytest.mark.parametrize("script", sorted((ROOT / "benchmarks").glob("*.py")), ids=lambda p: p.name)
def test_scripts_import_without_side_effects(script, capsys):
    spec = importlib.util.spec_from_file_location(f"_bench_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert capsys.readouterr().out == ""


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_quick_run_on_cuda():
    mib = 2**20

    def two_at_once():
        a = torch.ones(mib // 4, device="cuda")
        b = torch.ones(mib // 4, device="cuda")
        del a, b

    assert peak_extra_bytes(two_at_once, torch.device("cuda")) == 2 * mib
    results = benchmarks.run(["surrogate", "lif"], sizes=benchmarks.QUICK, threads=[1], rounds=2, warmup=1,
                             min_time=0.0, device="cuda", peers=False)
    for result in results:
        for t in result.timings:
            assert t.skipped is None and len(t.samples) == 2
            assert (t.peak_bytes == 0) == (t.name == benchmarks.cases.FLOOR_IN_PLACE)
