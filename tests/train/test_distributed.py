"""Two CPU processes under torchrun train exactly what one process trains on the same global batches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from spikegrad.cli import main
from spikegrad.train import checkpoint as ckpt

ARGS = ["train", "--epochs", "1", "--max-batches", "3", "--T", "3", "--hidden", "16", "--batch-size", "30",
        "--device", "cpu", "--threads", "1"]


def test_two_processes_match_one(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "spikegrad.cli", *ARGS, "--out", str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("epoch 1/1") == 1  # only rank 0 prints
    assert "2 processes" in proc.stdout

    assert main([*ARGS, "--out", str(tmp_path / "single")]) == 0
    ddp = ckpt.load(tmp_path / "ddp" / ckpt.CHECKPOINT)
    single = ckpt.load(tmp_path / "single" / ckpt.CHECKPOINT)
    assert ddp["model"].keys() == single["model"].keys()
    for key, value in single["model"].items():
        assert torch.allclose(ddp["model"][key], value, rtol=1e-4, atol=1e-6), key
    assert ddp["metrics"][0]["train_loss"] == pytest.approx(single["metrics"][0]["train_loss"], rel=1e-5)
    assert ddp["metrics"][0]["test_acc"] == pytest.approx(single["metrics"][0]["test_acc"])
