"""Timing and memory measurement: interleaved rounds, paired ratios, peak extra bytes.

A :class:`Case` is one problem (say LIF forward+backward at T = 32) solved by several
:class:`Contender` s (spikegrad, a peer library, the memory-bandwidth floor). Each contender's
``setup`` builds its modules and inputs and returns the call to time. :func:`run_case`

1. sets every contender up and warms it up (the first calls compile, allocate, fill caches),
2. picks per contender how many calls one sample averages over, so a sample lasts at least
   ``min_time`` (timer resolution and Python overhead stay negligible),
3. times rounds A, B, C, A, B, C, ... so that a burst of load from elsewhere on a shared machine
   hits every contender alike, and keeps every sample,
4. measures, once per contender, the peak bytes allocated during one call above what was live
   before it.

Ratios are computed per round (``B[r] / A[r]``) and their median reported, which cancels slow
drifts of the machine's speed. On CUDA a sample is bracketed by CUDA events.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

#: One timed call: runs the work (forward, backward, maybe an optimizer step) and returns.
Runner = Callable[[], object]


class Unavailable(Exception):
    """Raised by a contender's setup when it cannot run here (peer not installed, kernel not built)."""


@dataclass(frozen=True)
class Contender:
    """One way of solving a case.

    Attributes:
        name: label in the table (``spikegrad fused``, ``SpikingJelly 2.0`` ...).
        setup: builds modules and inputs and returns the call to time. The call must leave no
            new tensors alive when it returns (clear ``.grad`` at its end), so that the next call
            starts from the same memory state. May raise :class:`Unavailable`.
        role: ``spikegrad``, ``peer``, ``floor`` or ``info`` (a reference point that is neither);
            ratios are taken to the first ``spikegrad`` contender that ran and to the ``floor``.
        note: how this contender differs from the others (shown under the table).
    """

    name: str
    setup: Callable[[], Runner]
    role: str = "peer"
    note: str = ""


@dataclass(frozen=True)
class Case:
    """One problem and its contenders.

    Attributes:
        kind: ``surrogate``, ``lif`` or ``train``.
        label: row label, e.g. ``LIF T=32``.
        params: what varies inside a kind (``{"T": 32}``); targets look cases up by it.
        contenders: in the order they are timed within a round.
        input_bytes: bytes of the input tensor (memory is reported as a multiple of it).
        device: where the case runs.
        dtype: the input's floating type.
        recipe: how a worker process rebuilds the case (see :mod:`.worker`).
        bytes_moved: bytes the work must move at the least (for a GB/s figure).
    """

    kind: str
    label: str
    params: dict[str, Any]
    contenders: list[Contender]
    input_bytes: int
    device: torch.device
    dtype: torch.dtype
    #: How to build this case again in another process: (builder in ``cases``, keyword arguments).
    recipe: tuple[str, dict[str, Any]] | None = None
    #: Bytes the work cannot avoid reading and writing (for GB/s), or 0 if not stated.
    bytes_moved: int = 0


@dataclass
class Timing:
    """The samples of one contender in one case (seconds per call), or why it was skipped."""

    name: str
    role: str
    note: str = ""
    samples: list[float] = field(default_factory=list)
    calls_per_sample: int = 1
    peak_bytes: int | None = None
    skipped: str | None = None
    #: Seconds of the first call in a fresh process (compilation, plans, caches), if measured.
    first_s: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def min(self) -> float:
        return min(self.samples) if self.samples else math.nan

    @property
    def max(self) -> float:
        return max(self.samples) if self.samples else math.nan


@dataclass
class CaseResult:
    """Every contender's timing in one case, at one thread count and allocator setting."""

    case: Case
    threads: int
    timings: list[Timing]
    #: ``default`` (glibc as a process starts) or ``kept`` (:func:`spikegrad.memory.keep_freed_memory`).
    allocator: str = "default"
    #: ``process`` (a fresh process per contender and round) or ``none`` (all in this process).
    isolation: str = "none"

    def get(self, name: str) -> Timing | None:
        """The timing of the contender called ``name`` (``None`` if it is not in this case)."""
        return next((t for t in self.timings if t.name == name), None)

    def _first(self, role: str) -> Timing | None:
        return next((t for t in self.timings if t.role == role and t.samples), None)

    @property
    def baseline(self) -> Timing | None:
        """The first spikegrad contender that ran: ratios ``x spikegrad`` are taken to it."""
        return self._first("spikegrad")

    @property
    def floor(self) -> Timing | None:
        """The memory-bandwidth floor, if it ran."""
        return self._first("floor")

    def ratio(self, name: str, to: Timing | None) -> float:
        """Median over rounds of ``time(name) / time(to)`` in the same round (``nan`` if missing)."""
        mine = self.get(name)
        if mine is None or to is None or not mine.samples or not to.samples:
            return math.nan
        return statistics.median(a / b for a, b in zip(mine.samples, to.samples, strict=True))

    def memory_ratio(self, name: str) -> float:
        """Peak extra bytes of ``name`` as a multiple of the input's bytes (``nan`` if unmeasured)."""
        mine = self.get(name)
        if mine is None or mine.peak_bytes is None or self.case.input_bytes == 0:
            return math.nan
        return mine.peak_bytes / self.case.input_bytes


# --------------------------------------------------------------------------- timing


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device`` (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(run: Runner, calls: int, device: torch.device) -> float:
    """Seconds per call of ``run``, averaged over ``calls`` back-to-back calls."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        synchronize(device)
        start.record()
        for _ in range(calls):
            run()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3 / calls
    begin = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - begin) / calls


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No garbage collection pauses inside timed regions (as :mod:`timeit` does)."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------- memory


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Silence file descriptor 2: the CPU profiler logs a line at start and stop there."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (embedded interpreter): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _peak_bytes_cpu(run: Runner) -> int | None:
    """Integrate the CPU allocator's events recorded by the profiler; ``None`` if unavailable."""
    from torch.profiler import ProfilerActivity, profile

    with _stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    try:
        events = prof.profiler.kineto_results.events()  # type: ignore[union-attr]
        deltas = sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]")
    except AttributeError:  # the profiler's result layout changed: report no number rather than a wrong one
        return None
    live = peak = 0
    for _, nbytes in deltas:
        live += nbytes
        peak = max(peak, live)
    return peak


def peak_extra_bytes(run: Runner, device: torch.device) -> int | None:
    """Peak bytes allocated during one call of ``run`` above what was allocated before it.

    CUDA: ``torch.cuda.max_memory_allocated``. CPU: torch has no allocator statistics there,
    so the profiler records every allocation and free (``profile_memory=True``) and the
    running sum's maximum is taken. Outputs, tensors saved for backward and gradients all
    count while they are alive.
    """
    gc.collect()
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        run()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    return _peak_bytes_cpu(run)


# --------------------------------------------------------------------------- a case


ISOLATIONS = ("process", "none")
ALLOCATORS = ("default", "kept")


def run_case(
    case: Case,
    threads: int,
    rounds: int = 7,
    warmup: int = 3,
    min_time: float = 0.05,
    memory: bool = True,
    log: Callable[[str], None] | None = None,
    isolation: str = "none",
    allocator: str = "default",
) -> CaseResult:
    """Time every contender of ``case`` in interleaved rounds at ``threads`` intra-op threads.

    Args:
        case: the problem and its contenders.
        threads: ``torch.set_num_threads`` for the whole case (restored afterwards).
        rounds: timed rounds; each contender gives one sample per round.
        warmup: untimed calls per contender first (compilation, allocator, caches).
        min_time: a sample averages over enough calls to last at least this many seconds.
        memory: also measure each contender's peak extra bytes (one more call, profiled on CPU).
        log: called with one line per step (progress), or ``None``.
        isolation: ``'process'``: every contender measured in a fresh Python process per
            round (what a user's process sees: a new allocator, nothing warmed by the other
            contenders; the case needs a ``recipe``); ``'none'``: all in this process.
        allocator: ``'default'`` or ``'kept'`` (:func:`spikegrad.memory.keep_freed_memory` in
            each worker process); only with ``isolation='process'``.

    Returns:
        The samples and peak bytes of every contender; skipped ones carry the reason.

    Raises:
        ValueError: if ``threads``, ``rounds`` or ``warmup`` is below 1, ``min_time`` is
            negative, or ``isolation``/``allocator`` is unknown (or ``'kept'`` without processes).
    """
    for name, value, low in (("threads", threads, 1), ("rounds", rounds, 1), ("warmup", warmup, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not min_time >= 0:
        raise ValueError(f"min_time must be a number >= 0 seconds, got {min_time!r}")
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
    if allocator not in ALLOCATORS:
        raise ValueError(f"allocator must be one of {ALLOCATORS}, got {allocator!r}")
    if isolation == "none" and allocator != "default":
        raise ValueError("allocator='kept' needs isolation='process' (it cannot be undone in this process)")
    if isolation == "process":
        return _run_in_processes(case, threads, rounds, warmup, min_time, memory, log, allocator)
    say = log or (lambda line: None)
    saved_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    timings = [Timing(c.name, c.role, c.note) for c in case.contenders]
    runners: dict[str, Runner] = {}
    try:
        for contender, timing in zip(case.contenders, timings, strict=True):
            try:
                run = contender.setup()
                started = time.perf_counter()
                for _ in range(warmup):
                    run()
                synchronize(case.device)
                first = time_calls(run, 1, case.device)
            except Unavailable as exc:
                timing.skipped = str(exc)
                say(f"  {contender.name}: skipped ({exc})")
                continue
            except Exception as exc:  # a peer's API drifted, a kernel failed: report it, time the rest
                timing.skipped = f"failed: {type(exc).__name__}: {exc}"
                say(f"  {contender.name}: FAILED ({type(exc).__name__}: {exc})")
                continue
            runners[contender.name] = run
            timing.calls_per_sample = max(1, min(1000, math.ceil(min_time / max(first, 1e-9))))
            say(
                f"  {contender.name}: warm-up {time.perf_counter() - started:.2f} s, "
                f"{timing.calls_per_sample} call(s) per sample"
            )
        active = [t for t in timings if t.name in runners]
        with _gc_paused():
            for _ in range(rounds):
                for timing in active:
                    sample = time_calls(runners[timing.name], timing.calls_per_sample, case.device)
                    timing.samples.append(sample)
        if memory:
            for timing in active:
                timing.peak_bytes = peak_extra_bytes(runners[timing.name], case.device)
    finally:
        runners.clear()
        gc.collect()
        torch.set_num_threads(saved_threads)
    return CaseResult(case, threads, timings)


# --------------------------------------------------------------------------- fresh processes


def _run_in_processes(
    case: Case,
    threads: int,
    rounds: int,
    warmup: int,
    min_time: float,
    memory: bool,
    log: Callable[[str], None] | None,
    allocator: str,
) -> CaseResult:
    """:func:`run_case` with every sample taken in a fresh worker process (:mod:`.worker`)."""
    if case.recipe is None:
        raise ValueError(f"case {case.label!r} has no recipe: it cannot be rebuilt in a worker process")
    say = log or (lambda line: None)
    timings = [Timing(c.name, c.role, c.note) for c in case.contenders]
    for r in range(rounds):
        for timing in timings:
            if timing.skipped:
                continue
            request = {
                "recipe": case.recipe,
                "contender": timing.name,
                "threads": threads,
                "warmup": warmup,
                "calls": timing.calls_per_sample if r else None,
                "min_time": min_time,
                "memory": memory and r == 0,
                "allocator": allocator,
            }
            reply = run_worker(request)
            if reply.get("skipped"):
                timing.skipped = str(reply["skipped"])
                say(f"  {timing.name}: skipped ({timing.skipped})")
                continue
            timing.calls_per_sample = int(reply["calls"])
            timing.samples.append(float(reply["sample"]))
            if r == 0:
                timing.peak_bytes = reply.get("peak_bytes")
                timing.first_s = reply.get("first_s")
                say(
                    f"  {timing.name}: first call {timing.first_s:.2f} s, {timing.calls_per_sample} call(s) "
                    f"per sample"
                )
    return CaseResult(case, threads, timings, allocator, "process")


def run_worker(request: dict[str, Any], timeout: float = 1800.0) -> dict[str, Any]:
    """Run one measurement in a fresh ``python -m spikegrad.benchmarks.worker`` and return its reply."""
    import json
    import subprocess

    env = dict(os.environ)
    # The same spikegrad as this process, whether installed or run from a checkout.
    import spikegrad

    src = os.path.dirname(os.path.dirname(os.path.abspath(spikegrad.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-m", "spikegrad.benchmarks.worker"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"skipped": f"failed: worker exited {done.returncode}: {tail[0]}"}
    return json.loads(lines[-1])  # type: ignore[no-any-return]
