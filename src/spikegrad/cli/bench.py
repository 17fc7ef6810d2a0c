"""``spikegrad bench``: time spikegrad against SpikingJelly, snnTorch and the memory-bandwidth floor."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess

from . import UsageError

KINDS = ("surrogate", "lif", "single", "neurons", "train")
BACKENDS = ("fused", "reference")
DTYPES = ("float32", "float64", "float16", "bfloat16")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's flags (shared with the scripts in ``benchmarks/``)."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and 3 rounds: checks that every path runs, measures nothing",
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=KINDS,
        default=list(KINDS),
        metavar="KIND",
        help=f"which cases, among {', '.join(KINDS)} (default: all)",
    )
    parser.add_argument(
        "--threads",
        nargs="+",
        type=_positive_int,
        default=[1, 2],
        metavar="N",
        help="torch.set_num_threads values; every case runs at each (default: 1 2)",
    )
    parser.add_argument(
        "--rounds",
        type=_positive_int,
        default=None,
        help="timed rounds per case (default: 5, or 3 with --quick)",
    )
    parser.add_argument("--warmup", type=_positive_int, default=3, help="untimed calls first (default: 3)")
    parser.add_argument(
        "--min-time",
        type=float,
        default=None,
        metavar="S",
        help="seconds one sample lasts at least (default: 0.05, or 0.005 with --quick)",
    )
    parser.add_argument(
        "--steps",
        nargs="+",
        type=_positive_int,
        default=None,
        metavar="T",
        help="LIF time steps (default: 8 32 128)",
    )
    parser.add_argument(
        "--numel-log2",
        nargs="+",
        type=_positive_int,
        default=None,
        metavar="K",
        help="surrogate sizes as powers of two (default: 22 24)",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument(
        "--dtypes",
        nargs="+",
        choices=DTYPES,
        default=["float32"],
        metavar="DTYPE",
        help="surrogate and LIF dtypes (default: float32; the training step is float32)",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=BACKENDS,
        default=list(BACKENDS),
        metavar="NAME",
        help="spikegrad backends to time (default: fused reference)",
    )
    parser.add_argument("--no-peers", action="store_true", help="leave out SpikingJelly and snnTorch")
    parser.add_argument(
        "--no-compiled-peer",
        action="store_true",
        help="leave out torch.compile of SpikingJelly's LIFNode (it compiles in every process)",
    )
    parser.add_argument(
        "--isolation",
        choices=("process", "none"),
        default=None,
        help="process: each sample in a fresh Python process, as a user's process starts "
        "(default); none: everything in this process (faster, flatters warm allocators)",
    )
    parser.add_argument(
        "--allocators",
        nargs="+",
        choices=("default", "kept"),
        default=None,
        metavar="NAME",
        help="glibc as a process starts (default) and/or with freed memory kept "
        "(spikegrad.memory.keep_freed_memory); default: both, or default with --isolation none",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    parser.add_argument(
        "--compile-cost",
        action="store_true",
        help="also time the fused path's first call in fresh processes, cold and warm cache",
    )
    parser.add_argument(
        "--markdown",
        metavar="FILE",
        default=None,
        help="write the report (command, machine, table, targets) as markdown to FILE",
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "bench",
        help="benchmark spikegrad against SpikingJelly, snnTorch and the memory-bandwidth floor",
        description="Time a surrogate alone, a LIF layer over T steps and one training step of a small "
        "convolutional SNN, forward + backward, in interleaved rounds, each sample in a fresh "
        "process; print medians with min/max, ratios taken round by round, GB/s, peak extra "
        "memory, first-call cost and the speed targets. Peers that are not installed are "
        "skipped with a note.",
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def _command(args: argparse.Namespace, rounds: int, min_time: float) -> str:
    """The command line that reproduces this run, every setting spelled out."""
    parts = ["spikegrad", "bench"] + ["--quick"] * args.quick
    parts += [
        "--cases",
        *args.cases,
        "--threads",
        *map(str, args.threads),
        "--rounds",
        str(rounds),
        "--warmup",
        str(args.warmup),
        "--min-time",
        f"{min_time:g}",
    ]
    if args.steps:
        parts += ["--steps", *map(str, args.steps)]
    if args.numel_log2:
        parts += ["--numel-log2", *map(str, args.numel_log2)]
    parts += ["--device", args.device, "--dtypes", *args.dtypes, "--backends", *args.backends]
    parts += ["--no-peers"] * args.no_peers + ["--no-compiled-peer"] * args.no_compiled_peer
    parts += ["--isolation", args.isolation, "--allocators", *args.allocators]
    parts += ["--no-memory"] * args.no_memory
    parts += ["--compile-cost"] * args.compile_cost
    if args.markdown:
        parts += ["--markdown", args.markdown]
    return shlex.join(parts)


def run(args: argparse.Namespace, command: str | None = None) -> int:
    """Run the benchmark the flags describe; print the table; write the markdown report if asked."""
    import dataclasses

    import torch

    from .. import benchmarks

    if args.device not in ("cpu", "cuda") and not args.device.startswith("cuda:"):
        raise UsageError(f"--device must be cpu or cuda, got {args.device!r}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but torch sees no CUDA device")
    if args.min_time is not None and not args.min_time >= 0:
        raise UsageError(f"--min-time must be >= 0 seconds, got {args.min_time}")
    sizes = benchmarks.QUICK if args.quick else benchmarks.FULL
    if args.steps:
        sizes = dataclasses.replace(sizes, lif_steps=tuple(args.steps))
    if args.numel_log2:
        sizes = dataclasses.replace(sizes, surrogate_numel=tuple(2**k for k in args.numel_log2))
    rounds = args.rounds or (3 if args.quick else 5)
    min_time = args.min_time if args.min_time is not None else (0.005 if args.quick else 0.05)
    if args.isolation is None:
        args.isolation = "none" if args.quick else "process"
    if args.allocators is None:
        args.allocators = ["default"] if args.isolation == "none" else ["default", "kept"]
    if args.isolation == "none" and "kept" in args.allocators:
        raise UsageError("--allocators kept needs --isolation process (it cannot be undone in one process)")

    def log(line: str) -> None:
        print(line, flush=True)

    load_start = os.getloadavg()[0]
    results = benchmarks.run(
        args.cases,
        sizes,
        args.threads,
        rounds,
        args.warmup,
        min_time,
        [getattr(torch, d) for d in args.dtypes],
        args.device,
        not args.no_peers,
        args.backends,
        not args.no_memory,
        log,
        args.isolation,
        args.allocators,
        not args.no_compiled_peer,
    )
    load = (load_start, os.getloadavg()[0])
    print()
    print(benchmarks.text_table(results))
    for line in benchmarks.notes(results):
        print(f"- {line}")
    for target in benchmarks.check_targets(results):
        print(f"target: {target}")
    command = command or _command(args, rounds, min_time)
    _write(args.markdown, benchmarks.markdown_report(results, command, load=load))
    if args.compile_cost and "fused" in args.backends:
        # measured last and in separate processes; the report is already on disk if this is cut short
        log("first call of the fused LIF in fresh processes (cold, then warm kernel cache)")
        try:
            first_calls = benchmarks.first_call_cost(
                sizes.lif_steps[len(sizes.lif_steps) // 2], sizes.lif_shape, args.threads[0], args.device
            )
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            log(f"  failed: {exc}")
            return 0
        for f in first_calls:
            print(
                f"first call ({f.cache} cache): {f.first_s:.2f} s, then {f.second_s:.3f} s, "
                f"steady {f.steady_s * 1e3:.2f} ms"
            )
        _write(args.markdown, benchmarks.markdown_report(results, command, first_calls, load))
    return 0


def _write(path: str | None, report: str) -> None:
    if path:
        with open(path, "w") as out:
            out.write(report)
        print(f"report written to {path}")
