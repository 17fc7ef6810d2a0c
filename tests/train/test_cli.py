from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_mnist_like

from spikegrad.cli import main
from spikegrad.train import checkpoint as ckpt

TINY = ["--T", "2", "--hidden", "16", "--max-batches", "2", "--threads", "1"]


def test_train_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", *TINY, "--surrogate", "sigmoid", "--alpha", "4",
                 "--neuron", "plif", "--detach-reset", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "epoch 1/1" in text and "Sigmoid(alpha=4.0" in text and "test accuracy" in text
    assert (out / "curve.png").stat().st_size > 0
    config = ckpt.load(out / ckpt.CHECKPOINT)["config"]
    assert config["surrogate"] == "sigmoid" and config["surrogate_params"] == {"alpha": 4.0}
    assert config["neuron"] == "plif" and config["detach_reset"] is True

    # resume to a later epoch, keeping the run's own settings
    assert main(["train", "--resume", str(out), "--epochs", "2"]) == 0
    text = capsys.readouterr().out
    assert "resuming after epoch 1" in text and "epoch 2/2" in text and "epoch 1/2" not in text
    assert ckpt.load(out / ckpt.CHECKPOINT)["epoch"] == 2
    # a finished run's folder is not overwritten by a new run
    assert main(["train", "--epochs", "1", *TINY, "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err


def test_train_reads_idx_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_mnist_like(tmp_path / "data")
    assert main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "data"), "--model", "conv",
                 "--epochs", "1", *TINY, "--out", str(tmp_path / "run")]) == 0
    assert "mnist: 40 train / 20 test images, 12x12 px" in capsys.readouterr().out


def test_compare_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", "--shapes", "atan,rect", "--scales", "0.5,2", "--epochs", "1", *TINY,
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "8 runs" in text and "| rect | differentiable |" in text
    rows = list(csv.DictReader((out / "compare.csv").open()))
    assert len(rows) == 8
    assert {(r["shape"], float(r["scale"]), r["reset"]) for r in rows} == {
        (s, c, r) for s in ("atan", "rect") for c in (0.5, 2.0) for r in ("detached", "differentiable")}
    peaks = {(r["shape"], float(r["scale"])): float(r["peak"]) for r in rows}
    assert peaks["atan", 2.0] == pytest.approx(2.0) and peaks["rect", 0.5] == pytest.approx(0.5)
    assert (out / "compare.png").stat().st_size > 0 and (out / "compare.md").read_text().startswith("| shape")


BAD = [
    (["train", "--surrogate", "nope"], "unknown surrogate 'nope'"),
    (["train", "--alpha", "-1"], "'alpha' must be a finite number > 0, got -1.0"),
    (["train", "--dataset", "mnist", "--data-dir", "/no/such/dir"], "/no/such/dir: no such directory"),
    (["train", "--dataset", "mnist"], "needs --data-dir"),
    (["train", "--T", "0"], "--T must be an integer >= 1, got 0"),
    (["train", "--lr", "0"], "--lr must be a finite number > 0"),
    (["train", "--surrogate", "rect", "--slope", "3"], "--slope does not apply"),
    (["train", "--resume", "/no/such/run"], "no checkpoint"),
    (["train", "--device", "tpu"], "device must be cpu, cuda or cuda:N"),
    (["compare", "--shapes", "atan,nope"], "unknown surrogate 'nope'"),
    (["compare", "--seeds", "0"], "--seeds must be an integer >= 1"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_arguments_give_one_line_and_exit_2(argv: list[str], message: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith(f"spikegrad {argv[0]}: error: ")


def test_bad_arguments_in_a_real_process(tmp_path: Path) -> None:
    missing = tmp_path / "empty"
    missing.mkdir()
    cases = [(["--T", "0"], "--T must be"), (["--surrogate", "nope"], "unknown surrogate"),
             (["--dataset", "mnist", "--data-dir", str(missing)], "missing train-images-idx3-ubyte")]
    for argv, message in cases:
        proc = subprocess.run([sys.executable, "-m", "spikegrad.cli", "train", *argv], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr
