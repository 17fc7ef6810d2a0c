from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from spikegrad.train import checkpoint as ckpt
from spikegrad.train.data import Split, load_digits
from spikegrad.train.loop import TrainConfig, fit


@pytest.fixture(scope="module")
def digits() -> Split:
    return load_digits()


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_run_folder_holds_config_metrics_curve_checkpoint(tmp_path: Path, digits: Split) -> None:
    result = fit(tiny_config(), tmp_path / "run", data=digits)
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} == {"config.json", "metrics.json", "metrics.csv", "curve.png",
                                               "checkpoint.pt"}
    assert json.loads((run / "config.json").read_text())["T"] == 3
    metrics = json.loads((run / "metrics.json").read_text())
    assert [m["epoch"] for m in metrics] == [1, 2] and metrics == result.metrics
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert float(rows[1]["test_acc"]) == pytest.approx(metrics[1]["test_acc"], rel=1e-5)
    state = ckpt.load(run / "checkpoint.pt")
    assert state["epoch"] == 2 and TrainConfig.from_dict(state["config"]) == tiny_config()
    for key, value in result.model.state_dict().items():
        assert torch.equal(state["model"][key], value)


@pytest.mark.parametrize("neuron", ["if", "lif", "plif"])
@pytest.mark.parametrize("encoding", ["poisson", "direct"])
def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path: Path, digits: Split, neuron: str,
                                                               encoding: str) -> None:
    config = tiny_config(neuron=neuron, encoding=encoding, epochs=3)
    whole = fit(config, tmp_path / "whole", data=digits, plot=False)
    # the same run "killed" after epoch 1, then resumed from its folder
    fit(tiny_config(neuron=neuron, encoding=encoding, epochs=1), tmp_path / "part", data=digits, plot=False)
    resumed = fit(config, tmp_path / "part", resume=True, data=digits, plot=False)
    a, b = _weights(whole.model), _weights(resumed.model)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [m["test_acc"] for m in resumed.metrics] == [m["test_acc"] for m in whole.metrics]
    if neuron == "plif":
        assert any("w" in k for k in a)  # PLIF's learned time constant is part of what resumes


def test_seed_changes_the_run(digits: Split) -> None:
    a = fit(tiny_config(epochs=1, seed=0), data=digits, plot=False)
    b = fit(tiny_config(epochs=1, seed=1), data=digits, plot=False)
    assert not torch.equal(a.model.readout.weight, b.model.readout.weight)


def test_conv_model_and_idx_data(mnist_dir: Path) -> None:
    result = fit(tiny_config(model="conv", dataset="mnist", data_dir=str(mnist_dir), epochs=1, batch_size=8))
    assert len(result.metrics) == 1 and 0.0 <= result.final_accuracy <= 1.0


def test_training_learns(digits: Split) -> None:
    # a few epochs of the default network on digits: far above chance (10 %)
    result = fit(TrainConfig(T=4, epochs=3, hidden=64), data=digits, plot=False)
    assert result.final_accuracy > 0.6


@pytest.mark.parametrize(("field", "value", "match"), [
    ("T", 0, "T must be an integer >= 1"),
    ("lr", -1.0, "lr must be"),
    ("tau", 1.0, "tau must be"),
    ("neuron", "izhikevich", "neuron must be one of"),
    ("encoding", "rate", "encoding must be one of"),
    ("surrogate", "nope", "unknown surrogate"),
])
def test_bad_config_is_refused(field: str, value: object, match: str) -> None:
    config = tiny_config(**{field: value})
    with pytest.raises(ValueError, match=match):
        fit(config)


def test_resume_without_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        fit(tiny_config(), tmp_path, resume=True)
