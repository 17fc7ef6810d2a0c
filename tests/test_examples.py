"""Every script in examples/ runs at its tiny settings (``--tiny``) and does what it says."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


def run_example(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setattr(sys, "argv", [str(path), "--tiny"])
    return runpy.run_path(str(path), run_name="__main__")


def test_there_are_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.slow  # trains for a few batches; a new neuron or surrogate compiles its fused kernels once
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_at_tiny_settings(path, monkeypatch, capsys):
    pytest.importorskip("sklearn", reason="the examples train on scikit-learn's bundled digits")
    if path.stem == "nir_round_trip":
        pytest.importorskip("nir", reason="NIR export needs the nir package (pip install 'spikegrad[nir]')")
    run_example(path, monkeypatch)
    out = capsys.readouterr().out
    assert "epoch 0" in out or "wrote" in out
    if path.stem == "nir_round_trip":
        assert "spikegrad reads back the same spikes: True" in out
        assert "SpikingJelly 2.0 computes the same spikes: True" in out or "is not installed" in out
    if path.stem == "custom_neuron":
        assert "fused == reference loop: True" in out


def test_every_example_documents_its_tiny_flag():
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        assert f"python examples/{path.name} --tiny" in text, path.name
        assert '"--tiny"' in text, path.name
