"""Kill ``spikegrad train`` at chosen points, resume it, and compare with an uninterrupted run.

Run by ``test_crash.py`` as ``python crash_driver.py WORK_DIR SEED N_RANDOM``; prints one JSON
report. Every run is a forked child of this process, which imports torch but runs no operation
itself until all children are done (forking a process whose thread pools have started is not
safe). The children are really killed (SIGKILL: no handler, no cleanup), interrupted (SIGINT,
as Ctrl-C), or interrupted and then killed while they save the interrupt's checkpoint.

The points are *events*, counted in the child: the start of every encoded batch (training and
test), every third of every ``torch.save`` (so a kill can land inside the write of a
checkpoint), and every ``os.fsync``, ``os.replace`` and ``os.link`` (the steps of an atomic
write). An instrumented uninterrupted run counts them and names them; the kill points are a
seeded sample of all of them plus the ones that matter most.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import torch  # imported, not used, before the forks

from spikegrad.cli import main

# Import what every child needs once, here, rather than once per child (seconds each).
matplotlib.use("Agg")
import matplotlib.pyplot
import sklearn.datasets
import sklearn.model_selection
import torch._dynamo

import spikegrad.train.loop  # noqa: F401
from spikegrad.train.report import plot_curve


def warm_up(folder: Path) -> None:
    """Read the digits and draw one curve here, without torch: every child reuses the data and
    matplotlib's text-layout caches instead of spending a second on each."""
    bunch = sklearn.datasets.load_digits()
    sklearn.datasets.load_digits = lambda: bunch
    rows = [{"epoch": e, "train_loss": 2.0 / e, "test_loss": 2.0 / e, "train_acc": 0.1 * e,
             "test_acc": 0.1 * e} for e in (1, 2)]
    plot_curve(rows, folder / "warm-up.png", title="warm-up")

ARGS = ["train", "--epochs", "2", "--T", "2", "--hidden", "8", "--max-batches", "3", "--threads", "1",
        "--backend", "reference", "--surrogate", "bernoulli_sigmoid"]
FILES = {".lock", "config.json", "metrics.json", "metrics.csv", "checkpoint.pt", "best.pt", "curve.png",
         "activity.png"}


def instrument(plan: tuple[str, int] | None, names: list[str]) -> None:
    """In a child: count events (appending their names) and act at the one ``plan`` names.

    ``plan`` is ``(mode, event)``: ``kill`` sends SIGKILL there; ``interrupt`` sends SIGINT;
    ``interrupt-kill`` sends SIGINT, then SIGKILL at the second event after it (inside the
    write of the interrupt's checkpoint).
    """
    from spikegrad.train import checkpoint as ckpt
    from spikegrad.train import loop

    kill_at = [0]

    def event(name: str) -> None:
        names.append(name)
        n = len(names)
        if plan is not None and n == plan[1]:
            if plan[0] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGINT)
            if plan[0] == "interrupt-kill":
                kill_at[0] = n + 2
        elif n == kill_at[0]:
            os.kill(os.getpid(), signal.SIGKILL)

    encode = loop.D.encode

    def encode_event(*args: Any, **kwargs: Any) -> torch.Tensor:
        event("batch")
        return encode(*args, **kwargs)

    save = torch.save

    def save_in_thirds(obj: Any, f: Any) -> None:
        buffer = io.BytesIO()
        save(obj, buffer)
        data = buffer.getvalue()
        third = len(data) // 3 + 1
        for i in range(0, len(data), third):
            event("save")
            f.write(data[i: i + third])
            f.flush()

    def with_event(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            event(name)
            return real(*args, **kwargs)

        return call

    loop.D.encode = encode_event  # type: ignore[assignment]
    ckpt.torch.save = save_in_thirds  # type: ignore[assignment]
    for name in ("fsync", "replace", "link"):
        setattr(ckpt.os, name, with_event(name, getattr(os, name)))


def in_child(work: Callable[[], int]) -> tuple[str, int]:
    """Run ``work`` in a forked child; return how it ended: ``('exit', code)`` or ``('signal', number)``."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = work()
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "signal", os.WTERMSIG(status)
    return "exit", os.WEXITSTATUS(status)


def train(folder: Path, plan: tuple[str, int] | None = None, names_file: Path | None = None) -> int:
    names: list[str] = []
    instrument(plan, names)
    code = main([*ARGS, "--out", str(folder)])
    if names_file is not None:
        names_file.write_text(json.dumps(names))
    return code


def resume(folder: Path) -> int:
    from spikegrad.train import rundir

    if rundir.holds_run(folder):
        return main(["train", "--resume", str(folder)])
    return main([*ARGS, "--out", str(folder)])  # killed before it wrote anything: start it again


def compare(reference: Path, folder: Path) -> list[str]:
    """What differs between a resumed run and the uninterrupted one (empty: nothing)."""
    from spikegrad.train import checkpoint as ckpt

    problems = []
    files = {p.name for p in folder.iterdir()}
    if files != FILES:
        problems.append(f"files {sorted(files ^ FILES)} differ")
    for name in (ckpt.CHECKPOINT, ckpt.BEST):
        if not (folder / name).exists():
            continue
        a, b = ckpt.load(reference / name), ckpt.load(folder / name)
        if not all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"]):
            problems.append(f"{name}: weights differ")
        if a["epoch"] != b["epoch"]:
            problems.append(f"{name}: epoch {b['epoch']} instead of {a['epoch']}")
    for name in ("metrics.json", "config.json"):
        a, b = (json.loads((d / name).read_text()) for d in (reference, folder))
        if name == "metrics.json":
            a, b = ([{k: v for k, v in m.items() if k != "seconds"} for m in x] for x in (a, b))
        if a != b:
            problems.append(f"{name} differs")
    return problems


def run(work: Path, seed: int, n_random: int) -> dict[str, Any]:
    warm_up(work)
    reference = work / "reference"
    names_file = work / "events.json"
    assert in_child(lambda: train(reference, names_file=names_file)) == ("exit", 0)
    names: list[str] = json.loads(names_file.read_text())
    saves = [i + 1 for i, n in enumerate(names) if n == "save"]
    batches = [i + 1 for i, n in enumerate(names) if n == "batch"]
    plans = [("kill", k) for k in sorted(random.Random(seed).sample(range(1, len(names) + 1), n_random))]
    plans += [("kill", saves[1]),  # inside the write of the first checkpoint
              ("kill", names.index("replace", saves[2]) + 2),  # just after the checkpoint's rename
              ("interrupt", batches[1]),  # Ctrl-C in the first epoch: saved at batch 2
              ("interrupt-kill", batches[6])]  # Ctrl-C in epoch 2, killed while saving its checkpoint
    report: dict[str, Any] = {"events": len(names), "runs": []}
    for i, plan in enumerate(plans):
        folder = work / f"run{i}"
        ended = in_child(lambda folder=folder, plan=plan: train(folder, plan))  # type: ignore[misc]
        resumes = []
        for _ in range(3):
            resumes.append(in_child(lambda folder=folder: resume(folder)))  # type: ignore[misc]
            if resumes[-1] == ("exit", 0):
                break
        report["runs"].append({"plan": plan, "event": names[plan[1] - 1], "ended": ended, "resumes": resumes})
    for i, entry in enumerate(report["runs"]):  # torch operations only now, after every fork
        entry["problems"] = compare(reference, work / f"run{i}")
    return report


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
