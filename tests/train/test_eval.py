"""``spikegrad eval`` and the activity the training records: the same numbers as the run, per class."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from spikegrad.cli import main
from spikegrad.train import checkpoint as ckpt
from spikegrad.train.data import Split
from spikegrad.train.evaluation import evaluate_run, load_run
from spikegrad.train.loop import fit


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny digits run of 2 epochs (reference backend, one thread)."""
    from spikegrad.train.data import load_digits

    folder = tmp_path_factory.mktemp("eval") / "run"
    fit(tiny_config(backend="reference", T=4, hidden=32), folder, data=load_digits(), threads=1)
    return folder


def test_training_records_the_activity_every_epoch(run: Path) -> None:
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics) == 2
    for row in metrics:
        assert row["sops"] > 0 and row["macs"] == 0  # Poisson input: every synapse carries spikes
        assert 0 < row["firing_rate"] < 1 and row["firing_rate:features.2"] == row["firing_rate"]
        assert row["energy_uj"] == pytest.approx(row["sops"] * 0.9e-6)
    rows = list(csv.DictReader(io.StringIO((run / "metrics.csv").read_text())))
    assert list(rows[0])[-5:] == ["firing_rate", "sops", "macs", "energy_uj", "firing_rate:features.2"]
    assert float(rows[1]["sops"]) == pytest.approx(metrics[1]["sops"], rel=1e-5)
    assert (run / "activity.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluation_reproduces_the_run_and_adds_the_confusion_matrix(run: Path, digits: Split) -> None:
    metrics = json.loads((run / "metrics.json").read_text())
    result = evaluate_run(run, data=digits)
    assert result.epoch == 2 and result.test_acc == metrics[-1]["test_acc"]
    assert result.test_loss == pytest.approx(metrics[-1]["test_loss"], rel=1e-9)
    assert result.activity.metrics() == pytest.approx({k: v for k, v in metrics[-1].items()
                                                       if k in result.activity.metrics()})
    assert result.confusion.shape == (10, 10) and int(result.confusion.sum()) == len(digits.test_y)
    assert torch.equal(result.confusion.sum(1), torch.bincount(digits.test_y, minlength=10))
    per_class = result.per_class
    assert list(per_class) == [str(i) for i in range(10)]
    correct = sum(acc * int((digits.test_y == i).sum()) for i, acc in enumerate(per_class.values()))
    assert correct / len(digits.test_y) == pytest.approx(result.test_acc)
    best = int(max(metrics, key=lambda m: m["test_acc"])["epoch"])
    assert evaluate_run(run, data=digits, checkpoint="best").epoch == best


def test_the_command_prints_and_writes(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(run), "--out", str(tmp_path), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((run / "metrics.json").read_text())
    assert f"accuracy {100 * metrics[-1]['test_acc']:.2f}%" in out and "per class 0 " in out
    assert "features.2" in out and "SOPs" in out and "Horowitz" in out
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["test_acc"] == metrics[-1]["test_acc"] and len(report["confusion"]) == 10
    assert report["activity"]["energy_model"]["mac_pj"] == pytest.approx(4.6)
    assert (tmp_path / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["eval", str(run), "--out", str(tmp_path), "--checkpoint", "best",
                 "--energy", "45nm-int8"]) == 0
    best = json.loads((tmp_path / "eval-best.json").read_text())
    assert best["activity"]["energy_model"]["name"] == "45nm-int8"


def test_a_run_without_a_checkpoint_and_a_broken_one(tmp_path: Path, run: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    started = tmp_path / "started"
    started.mkdir()
    (started / "config.json").write_text(json.dumps(tiny_config().to_dict()))
    assert main(["eval", str(started)]) == 2
    assert capsys.readouterr().err == (f"spikegrad eval: error: {started} has no checkpoint.pt yet: the run "
                                       "has not completed an epoch\n")
    broken = tmp_path / "broken"
    broken.mkdir()
    data = bytearray((run / ckpt.CHECKPOINT).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / ckpt.CHECKPOINT).write_bytes(bytes(data))
    assert main(["eval", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("fails its CRC-32 check" in err or "not a readable checkpoint" in err)


def test_weights_that_do_not_fit_are_one_line(tmp_path: Path, run: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    state = ckpt.load(run / ckpt.CHECKPOINT)
    state["config"]["hidden"] = 17
    folder = tmp_path / "other"
    folder.mkdir()
    ckpt.atomic_save(state, folder / ckpt.CHECKPOINT)
    assert main(["eval", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model tensor 'features.1.weight' is torch.float32 (32, 64)" in err, err


def test_checkpoints_load_onto_the_cpu(run: Path) -> None:
    config, state, path = load_run(run)
    assert path.name == "checkpoint.pt" and config.T == 4
    assert all(t.device.type == "cpu" for t in state["model"].values())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_run_trained_on_the_gpu_evaluates_on_the_cpu(tmp_path: Path, digits: Split) -> None:
    folder = tmp_path / "gpu"
    result = fit(tiny_config(epochs=1), folder, data=digits, device="cuda")
    on_cpu = evaluate_run(folder, data=digits, device="cpu")
    assert on_cpu.test_acc == pytest.approx(result.final_accuracy, abs=2 / len(digits.test_y))
