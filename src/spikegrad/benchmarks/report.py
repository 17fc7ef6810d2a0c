"""Tables and target checks for benchmark results."""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .cases import FLOOR_IN_PLACE, SJ, SJ_COMPILED
from .compile_cost import FirstCall
from .harness import CaseResult

COLUMNS = (
    "case",
    "threads",
    "allocator",
    "contender",
    "median ms",
    "min ms",
    "max ms",
    "x spikegrad",
    "x floor",
    "GB/s",
    "peak extra MiB",
    "x input bytes",
    "first call s",
    "remark",
)


def _num(value: float, digits: int = 2) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:.0f}"


def rows(results: Sequence[CaseResult]) -> list[list[str]]:
    """One row per contender and case (skipped contenders say why in the last cells)."""
    out = []
    for result in results:
        case = result.case
        label = case.label
        if case.dtype != torch.float32:
            label += " " + str(case.dtype).removeprefix("torch.")
        for t in result.timings:
            head = [label, str(result.threads), result.allocator, t.name]
            if t.skipped:
                out.append(head + ["-"] * (len(COLUMNS) - 5) + ["skipped: " + t.skipped])
                continue
            mib = math.nan if t.peak_bytes is None else t.peak_bytes / 2**20
            gbs = case.bytes_moved / t.median / 1e9 if case.bytes_moved and t.samples else math.nan
            out.append(
                [
                    *head,
                    _num(t.median * 1e3, 3),
                    _num(t.min * 1e3, 3),
                    _num(t.max * 1e3, 3),
                    _num(result.ratio(t.name, result.baseline)),
                    _num(result.ratio(t.name, result.floor)),
                    _num(gbs, 1),
                    _num(mib, 2),
                    _num(result.memory_ratio(t.name)),
                    _num(t.first_s if t.first_s is not None else math.nan, 2),
                    "",
                ]
            )
    return out


def markdown_table(results: Sequence[CaseResult]) -> str:
    """The results as a GitHub markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(results)]
    return "\n".join(lines)


def text_table(results: Sequence[CaseResult]) -> str:
    """The results as aligned plain text (for the terminal)."""
    table = [list(COLUMNS), *rows(results)]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    lines = ("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in table)
    return "\n".join(line.rstrip() for line in lines)


def notes(results: Sequence[CaseResult]) -> list[str]:
    """How contenders differ, one line per distinct note."""
    lines: dict[str, None] = {}
    for result in results:
        for t in result.timings:
            if t.note:
                lines.setdefault(f"{t.name}: {t.note}")
    return list(lines)


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One speed or memory target, checked on one thread count and allocator setting.

    Attributes:
        name: what is compared, in words.
        threads: the thread count it was measured at.
        value: the measured ratio (``nan`` when a contender did not run).
        limit: the bound it must meet.
        at_least: ``True`` if value must be >= limit, ``False`` if <= limit.
        allocator: the allocator setting of the measurement.
    """

    name: str
    threads: int
    value: float
    limit: float
    at_least: bool
    allocator: str = "default"

    @property
    def met(self) -> bool | None:
        """Whether the target is met; ``None`` when it could not be measured."""
        if math.isnan(self.value):
            return None
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def __str__(self) -> str:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[self.met]
        sign = ">=" if self.at_least else "<="
        return (
            f"{self.name} (threads={self.threads}, {self.allocator} allocator): {_num(self.value)} "
            f"(target {sign} {self.limit:g}): {verdict}"
        )


def check_targets(results: Sequence[CaseResult]) -> list[Target]:
    """The speed and memory targets, on every thread count measured (CPU, float32).

    Default allocator: LIF forward + backward (64 x 1024) at every T at least 5x SpikingJelly
    eager and 2x ``torch.compile`` of it; at T = 32 peak extra memory at most 2.2x the input's
    bytes; a surrogate alone at least 5x SpikingJelly; 32 single steps at least 3x SpikingJelly's
    single-step mode; the training step at least 1.5x SpikingJelly; every neuron of the zoo at
    least 3x SpikingJelly's class of the same name. Kept-memory allocator: LIF at T = 32 within
    1.5x the preallocated copy floor.
    """
    targets = []
    for result in results:
        case = result.case
        if case.dtype != torch.float32 or case.device.type != "cpu":
            continue
        base, th, alloc = result.baseline, result.threads, result.allocator
        name = base.name if base else "spikegrad"

        def speedup(
            label: str, peer: str, limit: float, result: CaseResult = result, name: str = name
        ) -> Target:
            ratio = result.ratio(peer, result.baseline)
            return Target(f"{label}: {peer} / {name}", result.threads, ratio, limit, True, result.allocator)

        if case.kind == "lif" and case.params.get("shape") == (64, 1024):
            t = case.params.get("T")
            if alloc == "default":
                targets += [speedup(f"LIF T={t}", SJ, 5.0), speedup(f"LIF T={t}", SJ_COMPILED, 2.0)]
                if t == 32:
                    targets.append(
                        Target(
                            f"LIF T=32: {name} peak extra memory / input bytes",
                            th,
                            result.memory_ratio(name),
                            2.2,
                            False,
                            alloc,
                        )
                    )
            elif t == 32:
                in_place = result.get(FLOOR_IN_PLACE)
                value = result.ratio(name, in_place) if in_place is not None else math.nan
                targets.append(Target(f"LIF T=32: {name} / {FLOOR_IN_PLACE}", th, value, 1.5, False, alloc))
        elif alloc != "default":
            continue
        elif case.kind == "surrogate":
            targets.append(speedup(f"surrogate n={case.params.get('numel')}", f"{SJ} ATan", 5.0))
        elif case.kind == "single":
            targets.append(speedup(case.label, SJ, 3.0))
        elif case.kind == "train":
            targets.append(speedup(case.label, SJ, 1.5))
        elif case.kind == "neuron":
            targets.append(speedup(case.label, f"{SJ} {case.params.get('name')}", 3.0))
    return targets


def machine() -> str:
    """One line describing this machine and the software measured."""
    versions = [f"torch {torch.__version__}"]
    for module, label in (("spikingjelly", "SpikingJelly"), ("snntorch", "snnTorch")):
        try:
            from importlib.metadata import version

            versions.append(f"{label} {version(module)}")
        except Exception:
            pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    where = f"{cpu}, {os.cpu_count()} logical cores"
    if torch.cuda.is_available():
        where += f"; GPU {torch.cuda.get_device_name()}"
    return f"{where}; Python {platform.python_version()}, {', '.join(versions)}"


def markdown_report(
    results: Sequence[CaseResult],
    command: str,
    first_calls: Sequence[FirstCall] = (),
    load: tuple[float, float] | None = None,
) -> str:
    """A complete markdown section: command, machine, table, notes, targets, first-call cost.

    Args:
        results: what :func:`spikegrad.benchmarks.run` returned.
        command: the command line that produced them.
        first_calls: :func:`~spikegrad.benchmarks.compile_cost.first_call_cost` results, if measured.
        load: the 1-minute load average at the start and at the end of the run.
    """
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [f"Measured {when} with", "", "```", command, "```", "", f"Machine: {machine()}."]
    if load is not None:
        lines.append(
            f"Load average (1 min) {load[0]:.2f} at the start, {load[1]:.2f} at the end, on "
            f"{os.cpu_count()} cores (the benchmark adds up to its thread count; more means other "
            "jobs shared the machine)."
        )
    lines += ["", markdown_table(results), ""]
    lines += [f"- {line}" for line in notes(results)]
    targets = check_targets(results)
    if targets:
        lines += ["", "Targets (CPU, float32):", ""]
        lines += [f"- {t}" for t in targets]
    if first_calls:
        lines += [
            "",
            "First call of the fused LIF (forward + backward) in a fresh process:",
            "",
            "| inductor cache | import s | first call s | second call s | steady call ms |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {f.cache} | {f.import_s:.2f} | {f.first_s:.2f} | {f.second_s:.3f} | {f.steady_s * 1e3:.2f} |"
            for f in first_calls
        ]
    return "\n".join(lines) + "\n"
