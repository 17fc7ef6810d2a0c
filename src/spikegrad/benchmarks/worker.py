"""One benchmark measurement in a process of its own: ``python -m spikegrad.benchmarks.worker``.

The parent (:func:`spikegrad.benchmarks.harness.run_case` with ``isolation='process'``)
writes a JSON request on standard input: the case's recipe, the contender's name, threads,
warm-up calls, calls per sample (``null``: choose so that a sample lasts ``min_time``),
whether to measure peak memory, and the allocator setting. The worker starts as a user's
process does (fresh glibc heap, nothing warmed by other contenders), applies the allocator
setting first, builds the case, times the first call, warms up, takes three samples and
prints one JSON line: ``{"sample", "calls", "first_s", "peak_bytes"}`` or ``{"skipped"}``.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from typing import Any


def measure(request: dict[str, Any]) -> dict[str, Any]:
    """Carry out one request (see the module docstring)."""
    if request.get("allocator") == "kept":
        from ..memory import keep_freed_memory

        if not keep_freed_memory():
            return {"skipped": "the kept-memory allocator setting needs glibc"}
    import torch

    from . import cases
    from .harness import Unavailable, _gc_paused, peak_extra_bytes, synchronize, time_calls

    torch.set_num_threads(int(request["threads"]))
    builder, kwargs = request["recipe"]
    case = getattr(cases, builder)(**kwargs)
    contender = next((c for c in case.contenders if c.name == request["contender"]), None)
    if contender is None:
        return {"skipped": f"no contender {request['contender']!r} in {case.label}"}
    try:
        run = contender.setup()
        begin = time.perf_counter()
        run()
        synchronize(case.device)
        first = time.perf_counter() - begin
        for _ in range(int(request["warmup"])):
            run()
        calls = request.get("calls")
        if calls is None:
            one = time_calls(run, 1, case.device)
            calls = max(1, min(1000, math.ceil(float(request["min_time"]) / max(one, 1e-9))))
        with _gc_paused():
            samples = [time_calls(run, calls, case.device) for _ in range(3)]
        peak = peak_extra_bytes(run, case.device) if request.get("memory") else None
    except Unavailable as exc:
        return {"skipped": str(exc)}
    except Exception as exc:  # a peer's API drifted, a kernel failed: report it, time the rest
        return {"skipped": f"failed: {type(exc).__name__}: {exc}"}
    return {"sample": statistics.median(samples), "calls": calls, "first_s": first, "peak_bytes": peak}


def main() -> int:
    request = json.loads(sys.stdin.read())
    print(json.dumps(measure(request)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
