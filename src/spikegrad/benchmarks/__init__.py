"""Benchmarks: spikegrad against SpikingJelly, snnTorch, ``torch.compile`` and the memory-bandwidth floor.

The library side of ``spikegrad bench`` and ``benchmarks/run_all.py``. The cases
(:mod:`~spikegrad.benchmarks.cases`): a surrogate alone, a LIF layer over T steps (and a
wide one, where bandwidth dominates), a LIF layer stepped one call at a time, every neuron
of the zoo against SpikingJelly's class of the same name, and one training step of a small
convolutional SNN. The harness (:mod:`~spikegrad.benchmarks.harness`) times the
contenders of a case in interleaved rounds, by default each sample in a fresh process
(what a user's process sees), under glibc's default allocator and with freed memory kept
(:mod:`spikegrad.memory`), and reports medians, min/max, ratios taken round by round,
GB/s, peak extra memory and the first call's cost.

Example:
    >>> from spikegrad import benchmarks
    >>> results = benchmarks.run(["lif"], sizes=benchmarks.QUICK, threads=[1], rounds=2,
    ...                          backends=["reference"], peers=False)
    >>> [t.name for t in results[0].timings]
    ['spikegrad reference', 'floor (copies)']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .cases import BACKENDS, FULL, KINDS, QUICK, Sizes, build_cases
from .compile_cost import FirstCall, first_call_cost
from .harness import Case, CaseResult, Contender, Timing, Unavailable, run_case
from .report import Target, check_targets, machine, markdown_report, markdown_table, notes, text_table


def run(
    kinds: Sequence[str] = KINDS,
    sizes: Sizes = FULL,
    threads: Sequence[int] = (1, 2),
    rounds: int = 7,
    warmup: int = 3,
    min_time: float = 0.05,
    dtypes: Sequence[torch.dtype] = (torch.float32,),
    device: torch.device | str = "cpu",
    peers: bool = True,
    backends: Sequence[str] = BACKENDS,
    memory: bool = True,
    log: Callable[[str], None] | None = None,
    isolation: str = "none",
    allocators: Sequence[str] = ("default",),
    compiled_peer: bool = True,
) -> list[CaseResult]:
    """Build the cases and time them at each thread count.

    Args:
        kinds: which cases: ``surrogate``, ``lif``, ``train``.
        sizes: problem sizes (:data:`FULL` for the published targets, :data:`QUICK` for a smoke run).
        threads: intra-op thread counts; every case runs once per count.
        rounds: timed rounds per case (each contender gives one sample per round).
        warmup: untimed calls per contender before timing (the fused path compiles on the first).
        min_time: seconds a sample lasts at least (short calls are repeated within a sample).
        dtypes: floating types of the surrogate and LIF cases (the training step runs in float32).
        device: ``cpu`` or ``cuda``.
        peers: include SpikingJelly and snnTorch (each skipped with a note if not importable).
        backends: spikegrad multi-step backends to time.
        memory: measure peak extra memory (one more profiled call per contender).
        log: progress callback, one line at a time.
        isolation: ``'process'`` (each sample in a fresh process) or ``'none'``.
        allocators: ``'default'`` and/or ``'kept'`` (needs ``isolation='process'``).
        compiled_peer: include ``torch.compile`` of SpikingJelly's LIFNode in the LIF cases.

    Returns:
        One :class:`CaseResult` per case and thread count, in the order run.
    """
    say = log or (lambda line: None)
    results = []
    for dtype in dtypes:
        cases = build_cases(kinds, sizes, dtype, device, peers, backends, compiled_peer)
        for n in threads:
            for case in cases:
                for allocator in allocators:
                    kind = str(dtype).removeprefix("torch.")
                    say(f"{case.label} {kind}, threads={n}, {allocator} allocator")
                    results.append(
                        run_case(case, n, rounds, warmup, min_time, memory, log, isolation, allocator)
                    )
    return results


__all__ = [
    "BACKENDS",
    "FULL",
    "KINDS",
    "QUICK",
    "Case",
    "CaseResult",
    "Contender",
    "FirstCall",
    "Sizes",
    "Target",
    "Timing",
    "Unavailable",
    "build_cases",
    "check_targets",
    "first_call_cost",
    "machine",
    "markdown_report",
    "markdown_table",
    "notes",
    "run",
    "run_case",
    "text_table",
]
