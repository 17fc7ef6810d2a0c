"""``spikegrad export RUN_DIR --nir FILE``: a trained run as NIR, with the run's own outputs."""

from __future__ import annotations

import pytest
import torch

from spikegrad import functional
from spikegrad.cli import main
from spikegrad.nir_exchange import import_from_nir
from spikegrad.train import TrainConfig, fit

from .helpers import reference

nir = pytest.importorskip("nir", reason="NIR exchange needs the nir package (pip install 'spikegrad[nir]')")
pytest.importorskip("sklearn", reason="the bundled digits need scikit-learn (the train extra)")


def train(tmp_path, **overrides):  # type: ignore[no-untyped-def]
    config = TrainConfig(epochs=1, max_batches=3, T=4, hidden=24, backend="reference", **overrides)
    return fit(config, tmp_path / "run", plot=False)


@pytest.mark.slow  # trains for 3 batches on the digits
def test_export_writes_the_trained_network(tmp_path, capsys):
    result = train(tmp_path, neuron="plif")
    path = tmp_path / "digits.nir"
    assert main(["export", str(result.run_dir), "--nir", str(path), "--dt", "1e-3"]) == 0
    assert (
        capsys.readouterr().out.strip() == f"{path}: 4 NIR nodes (Flatten, Affine, LIF, Affine), dt = 0.001 s"
    )
    copy = reference(import_from_nir(path, dt=1e-3, step_mode="m"))
    model = reference(result.model.eval())
    torch.manual_seed(0)
    x_seq = (torch.rand(4, 5, 1, 8, 8) < 0.5).float()  # Poisson-like spikes, [T, N, C, H, W]
    with torch.no_grad():
        functional.reset_net(model)
        scores = model(x_seq)
        functional.reset_net(copy)
        steps = copy(x_seq)
    assert steps.shape == (4, 5, 10)
    torch.testing.assert_close(steps.mean(0), scores, rtol=0, atol=1e-6)  # the readout averaged over T
    assert copy[2].tau == pytest.approx(result.model.features[2].tau)


@pytest.mark.slow  # trains for 3 batches on the digits
def test_export_of_a_recurrent_run_has_a_cycle(tmp_path, capsys):
    result = train(tmp_path, model="recurrent")
    path = tmp_path / "rnn.nir"
    assert main(["export", str(result.run_dir), "--nir", str(path), "--checkpoint", "best"]) == 0
    graph = nir.read(path)
    assert ("3.neuron", "3.recurrent_weight") in graph.edges and (
        "3.recurrent_weight",
        "3.neuron",
    ) in graph.edges
    copy = reference(import_from_nir(path, step_mode="m"))
    model = reference(result.model.eval())
    torch.manual_seed(0)
    x_seq = (torch.rand(4, 5, 1, 8, 8) < 0.5).float()
    with torch.no_grad():
        functional.reset_net(model)
        scores = model(x_seq)
        functional.reset_net(copy)
        torch.testing.assert_close(copy(x_seq).mean(0), scores, rtol=0, atol=1e-6)


@pytest.mark.slow  # trains for 3 batches on the digits
def test_export_of_a_conv_run_names_what_nir_lacks(tmp_path, capsys):
    result = train(tmp_path, model="conv", channels=2)
    assert main(["export", str(result.run_dir), "--nir", str(tmp_path / "x.nir")]) == 2
    err = capsys.readouterr().err
    assert "MaxPool2d) has no NIR node: NIR has no max-pooling node" in err
    assert not (tmp_path / "x.nir").exists()


def test_export_without_a_run(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--nir", str(tmp_path / "x.nir")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spikegrad export: error: ") and "holds no training run" in err
    assert err.count("\n") == 1


def test_help_fits_100_columns(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as done:
        main(["export", "--help"])
    assert done.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("usage: spikegrad export") and max(map(len, lines)) <= 100
