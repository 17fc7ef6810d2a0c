"""``spikegrad train`` and ``compare`` from the shell: runs, resumes, interrupts, and every mistake."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import write_idx, write_mnist_like

from spikegrad.cli import main
from spikegrad.train import checkpoint as ckpt
from spikegrad.train import loop

# the reference backend: these tests are about the command, and it needs no kernel compilation
TINY = ["--T", "2", "--hidden", "16", "--max-batches", "2", "--threads", "1", "--backend", "reference"]


def test_train_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", *TINY, "--surrogate", "sigmoid", "--alpha", "4",
                 "--neuron", "plif", "--detach-reset", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "training 1 epoch, batch 32" in text and "over T=2 steps" in text
    assert "Sigmoid(alpha=4.0, spiking=True), detached reset" in text
    state = ckpt.load(out / ckpt.CHECKPOINT)
    config = state["config"]
    assert config["surrogate"] == "sigmoid" and config["surrogate_params"] == {"alpha": 4.0}
    assert config["neuron"] == "plif" and config["detach_reset"] is True and config["T"] == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == state["metrics"] and metrics[0]["lr"] == 0.002
    assert f"test accuracy {100 * metrics[0]['test_acc']:.1f}%" in text
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"

    # resume to a later epoch, keeping the run's own settings; the schedule goes on down
    assert main(["train", "--resume", str(out), "--epochs", "2"]) == 0
    text = capsys.readouterr().out
    assert "resuming after epoch 1" in text and "epochs 1 -> 2" in text and "epoch 1/2" not in text
    state = ckpt.load(out / ckpt.CHECKPOINT)
    assert state["epoch"] == 2 and 0 < state["metrics"][1]["lr"] < state["metrics"][0]["lr"]
    assert json.loads((out / "config.json").read_text())["epochs"] == 2
    # a finished run's folder is not overwritten by a new run
    assert main(["train", "--epochs", "1", *TINY, "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    # and resuming it without more epochs does nothing, successfully
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["train", "--resume", str(out)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_train_reads_idx_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_mnist_like(tmp_path / "data")
    assert main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "data"), "--model", "conv",
                 "--epochs", "1", *TINY, "--out", str(tmp_path / "run")]) == 0
    assert "mnist: 40 train / 20 test images, 12x12 px" in capsys.readouterr().out
    assert ckpt.load(tmp_path / "run" / ckpt.CHECKPOINT)["model"]["features.0.weight"].shape == (16, 1, 3, 3)


def test_ctrl_c_prints_the_resume_command_and_the_resume_is_exact(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    args = ["train", "--epochs", "2", *TINY, "--surrogate", "bernoulli_sigmoid"]
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    seen = [0]
    encode = loop.D.encode

    def ctrl_c_at_batch_3(*a: Any, **k: Any) -> torch.Tensor:
        seen[0] += 1
        if seen[0] == 3:  # epoch 1 has 2 batches and 2 test batches: this is epoch 1's evaluation
            os.kill(os.getpid(), signal.SIGINT)
        return encode(*a, **k)

    with monkeypatch.context() as patch:
        patch.setattr(loop.D, "encode", ctrl_c_at_batch_3)
        capsys.readouterr()
        assert main([*args, "--out", str(tmp_path / "part")]) == 130
    err = capsys.readouterr().err
    assert err == (f"spikegrad train: interrupted; saved a checkpoint in epoch 1 after batch 2 of 2 in "
                   f"{tmp_path / 'part'}; continue with: spikegrad train --resume {tmp_path / 'part'}\n")
    assert main(["train", "--resume", str(tmp_path / "part")]) == 0
    whole, part = (ckpt.load(tmp_path / name / ckpt.CHECKPOINT) for name in ("whole", "part"))
    assert all(torch.equal(whole["model"][k], part["model"][k]) for k in whole["model"])
    assert whole["metrics"][1]["test_acc"] == part["metrics"][1]["test_acc"]


def test_a_diverged_run_exits_1_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    step = torch.optim.Adam.step

    def exploding_step(self: torch.optim.Optimizer, *a: Any, **k: Any) -> Any:
        out = step(self, *a, **k)
        with torch.no_grad():
            self.param_groups[0]["params"][-1].fill_(float("inf"))  # the readout's bias
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", exploding_step)
    assert main(["train", "--epochs", "1", *TINY, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("spikegrad train: error: the training loss became ")
    assert "at epoch 1, batch 2; training stopped. Nothing was saved in" in err
    assert "lower learning rate" in err


HOLD = "import sys, time\nfrom spikegrad.train import rundir\nwith rundir.lock(sys.argv[1]):\n" \
       "    print('locked', flush=True)\n    time.sleep(60)\n"


def test_a_second_writer_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"T": 2}))  # a run in its first epoch
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        for argv in (["train", *TINY, "--out", str(tmp_path)], ["train", "--resume", str(tmp_path)]):
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert err == (f"spikegrad train: error: {tmp_path} is in use by another training (process "
                           f"{holder.pid}); wait for it to finish or choose another folder\n")
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "config.json"]  # nothing written


def test_compare_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", "--shapes", "atan,rect", "--scales", "0.5,2", "--epochs", "1", *TINY,
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "compare: 8 runs of 1 epoch" in text and "| rect | differentiable |" in text
    rows = list(csv.DictReader((out / "compare.csv").open()))
    assert {(r["shape"], float(r["scale"]), r["reset"]) for r in rows} == {
        (s, c, r) for s in ("atan", "rect") for c in (0.5, 2.0) for r in ("detached", "differentiable")}
    peaks = {(r["shape"], float(r["scale"])): float(r["peak"]) for r in rows}
    assert peaks == {("atan", 0.5): 0.5, ("atan", 2.0): 2.0, ("rect", 0.5): 0.5, ("rect", 2.0): 2.0}
    values = {(r["shape"], float(r["scale"])): float(r["value"]) for r in rows}
    assert values[("atan", 2.0)] == 4.0 and values[("rect", 0.5)] == 0.5  # alpha x scale
    table = (out / "compare.md").read_text()
    assert table.startswith("| shape | reset | x0.5 | x2 |") and "across scales" in table
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_with_one_scale_claims_no_spread_across_scales(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--shapes", "atan,rect", "--scales", "1", "--resets", "detached", "--epochs", "1",
                 *TINY, "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "across scales" not in text and "the shapes differ by at most" in text


# --------------------------------------------------------------------------- every mistake: one line, exit 2


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Folders and files the mistakes refer to, made once: a finished 2-epoch run, a file, broken data."""
    root = tmp_path_factory.mktemp("places")
    assert main(["train", "--epochs", "2", *TINY, "--out", str(root / "run")]) == 0
    (root / "file").write_text("not a folder")
    (root / "empty").mkdir()
    damaged = root / "damaged"
    damaged.mkdir()
    (damaged / ckpt.CHECKPOINT).write_bytes((root / "run" / ckpt.CHECKPOINT).read_bytes()[:3000])
    wrong = root / "wrongshape"  # a run whose checkpoint does not fit the network of its config
    assert main(["train", "--epochs", "1", *TINY, "--out", str(wrong)]) == 0
    state = ckpt.load(wrong / ckpt.CHECKPOINT)
    state["model"]["readout.weight"] = torch.zeros(10, 17)
    ckpt.atomic_save(state, wrong / ckpt.CHECKPOINT)
    write_mnist_like(root / "labels255")
    write_idx(root / "labels255" / "t10k-labels-idx1-ubyte", torch.tensor([255] * 20, dtype=torch.uint8))
    return {"run": str(root / "run"), "file": str(root / "file"), "empty": str(root / "empty"),
            "damaged": str(damaged), "labels255": str(root / "labels255"), "wrongshape": str(wrong)}


MISTAKES = [
    (["train", "--surrogate", "nope"], "unknown surrogate 'nope'"),
    (["train", "--alpha", "-1"], "'alpha' must be a finite number > 0, got -1.0"),
    (["train", "--surrogate", "rect", "--slope", "3"], "--slope does not apply"),
    (["train", "--surogate", "atan"], "unrecognized arguments: --surogate atan (did you mean --surrogate?)"),
    (["train", "--T", "abc"], "argument --T: invalid int value: 'abc'"),
    (["train", "--model", "transformer"], "argument --model: invalid choice: 'transformer'"),
    (["train", "--T", "0"], "--T must be an integer >= 1, got 0"),
    (["train", "--batch-size", "0"], "--batch-size must be an integer >= 1, got 0"),
    (["train", "--epochs", "0"], "--epochs must be an integer >= 1, got 0"),
    (["train", "--threads", "0"], "--threads must be an integer >= 1, got 0"),
    (["train", "--threads", "100000"], "--threads must be at most"),
    (["train", "--lr", "0"], "--lr must be a finite number in (0, 1]"),
    (["train", "--lr", "1e300"], "--lr must be a finite number in (0, 1]"),
    (["train", "--lr", "nan"], "--lr must be a finite number in (0, 1]"),
    (["train", "--tau", "1"], "--tau must be a finite number > 1, got 1"),
    (["train", "--tau", "inf"], "--tau must be a finite number > 1, got inf"),
    (["train", "--seed", str(2**70)], "--seed must be an integer in 0..2**63-1, got 1180591620717411303424"),
    (["train", "--seed", "-1"], "--seed must be an integer in 0..2**63-1, got -1"),
    (["train", "--T", "100000000"], "this run needs about"),
    (["train", "--hidden", "99999999999"], "this run needs about"),
    (["train", "--device", "tpu"], "device must be cpu, cuda or cuda:N"),
    (["train", "--device", "cpu:1"], "the CPU takes no index"),
    (["train", "--dataset", "mnist"], "needs --data-dir"),
    (["train", "--dataset", "mnist", "--data-dir", "/no/such/dir"],
     "--data-dir /no/such/dir: no such directory"),
    (["train", "--dataset", "mnist", "--data-dir", "{empty}"], "missing train-images-idx3-ubyte"),
    (["train", "--dataset", "mnist", "--data-dir", "{labels255}"],
     "t10k-labels-idx1-ubyte: label 255 at index 0 is outside 0..9"),
    (["train", "--data-dir", "{empty}"], "--dataset digits is bundled and takes no --data-dir"),
    (["train", "--import", "no_such_module_here"], "--import no_such_module_here: No module named"),
    (["train", "--out", "{file}"], "{file} exists and is not a folder"),
    (["train", "--out", "{file}/run"], "cannot create the run folder"),
    (["train", "--out", "/proc/spikegrad-run"], "cannot create the run folder /proc/spikegrad-run"),
    (["train", "--out", ""], "--out must name a folder"),
    (["train", "--out", "{run}"], "{run} already holds a run; continue it with --resume {run}"),
    (["train", "--resume", "/no/such/run"], "--resume /no/such/run: no such run folder"),
    (["train", "--resume", "{empty}"], "no run in {empty}"),
    (["train", "--resume", "{damaged}"], "is not a readable checkpoint"),
    (["train", "--resume", "{wrongshape}", "--epochs", "2"],
     "model tensor 'readout.weight' is torch.float32 (10, 17), the config's network needs torch.float32 "
     "(10, 16)"),
    (["train", "--resume", "{run}", "--out", "{empty}"], "--resume continues a run in its own folder"),
    (["train", "--resume", "{run}", "--lr", "-1"], "--lr must be a finite number in (0, 1]"),
    (["train", "--resume", "{run}", "--surrogate", "nope"], "unknown surrogate 'nope'"),
    (["train", "--resume", "{run}", "--T", "0"], "--T must be an integer >= 1, got 0"),
    (["train", "--resume", "{run}", "--lr", "0.01"],
     "--lr 0.01 differs from the run's 0.002; a resumed run keeps"),
    (["train", "--resume", "{run}", "--T", "4"], "--T 4 differs from the run's 2"),
    (["train", "--resume", "{run}", "--alpha", "3"],
     "--alpha 3 differs from the run's ATan(alpha=2.0, spiking=True)"),
    (["train", "--resume", "{run}", "--detach-reset"], "--detach-reset differs from the run's False"),
    (["train", "--resume", "{run}", "--epochs", "1"], "--epochs 1: the run has completed 2 epochs already"),
    (["train", "--downsample", "0"], "--downsample must be an integer >= 1, got 0"),
    (["train", "--downsample", "2"], "downsample applies to event data sets only; digits takes 1, got 2"),
    (["train", "--dataset", "nmnist"],
     "--dataset nmnist needs --data-dir DIR (a folder with Train/0..9/*.bin"),
    (["train", "--dataset", "nmnist", "--data-dir", "{empty}"],
     "nmnist: no Train/0..9/*.bin event files in {empty} (expected Train/0..9/*.bin and Test/0..9/*.bin"),
    (["train", "--dataset", "dvsgesture", "--data-dir", "{empty}"],
     "published at https://research.ibm.com/interactive/dvsgesture/"),
    (["train", "--dataset", "shd", "--data-dir", "{empty}"], "shd: no shd_train.h5 in {empty}"),
    (["train", "--dataset", "shd", "--data-dir", "{empty}", "--encoding", "poisson"],
     "encoding 'poisson' does not apply to shd, whose samples are event frames: use one of spikes, counts"),
    (["eval", "/no/such/run"], "/no/such/run: no such run folder"),
    (["eval", "{empty}"], "{empty} holds no training run (no checkpoint.pt and no config.json)"),
    (["eval", "{damaged}"], "is not a readable checkpoint"),
    (["eval", "{run}", "--data-dir", "/no/such/dir"], "--data-dir /no/such/dir: no such directory"),
    (["eval", "{run}", "--checkpoint", "worst"], "argument --checkpoint: invalid choice: 'worst'"),
    (["eval", "{run}", "--out", "/no/such/dir"], "--out /no/such/dir: no such directory"),
    (["compare", "--shapes", "atan,nope"], "unknown surrogate 'nope'"),
    (["compare", "--seeds", "0"], "--seeds must be an integer >= 1"),
    (["compare", "--scales", "0,1"], "argument --scales: must be comma-separated numbers > 0"),
    (["compare", "--out", "{file}"], "{file} exists and is not a folder"),
    (["compare", "--seed", str(2**63 - 1), "--seeds", "2"], "goes past the largest seed"),
    (["plot", "atan", "-o", "/no/such/dir/atan.png"],
     "-o /no/such/dir/atan.png: the folder /no/such/dir does not exist"),
    (["list", "--import", "no_such_module_here"], "--import no_such_module_here: No module named"),
    (["bench", "--cases", "nope"], "argument --cases: invalid choice: 'nope'"),
]


@pytest.mark.parametrize(("argv", "message"), MISTAKES, ids=[" ".join(a)[:60] for a, _ in MISTAKES])
def test_every_mistake_is_one_line_and_exit_2(argv: list[str], message: str, places: dict[str, str],
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    run = Path(places["run"])
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    argv = [a.format(**places) for a in argv]
    monkeypatch.chdir(tmp_path)  # where a default runs/<timestamp> would appear
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"spikegrad {argv[0]}: error: "), err
    assert message.format(**places) in err, err
    assert "epoch" not in out  # refused before any training
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # the run's files are untouched
    assert not list(tmp_path.iterdir())  # and no new folder was created


def test_mistakes_in_a_real_process(tmp_path: Path) -> None:
    cases = [(["train", "--T", "0"], "--T must be"),
             (["train", "--surogate", "atan"], "did you mean --surrogate")]
    for argv, message in cases:
        proc = subprocess.run([sys.executable, "-m", "spikegrad.cli", *argv], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["train", "compare", "plot", "list", "eval"])
def test_help_fits_100_columns(command: str, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"usage: spikegrad {command}") and max(map(len, lines)) <= 100


def test_ctrl_c_in_compare_is_one_line_and_130(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import spikegrad.train.compare as compare

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(compare, "run_compare", interrupted)
    assert main(["compare", "--epochs", "1", *TINY, "--out", str(tmp_path / "c")]) == 130
    assert capsys.readouterr().err == "spikegrad compare: interrupted\n"
