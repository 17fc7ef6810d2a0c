"""``spikegrad list`` and ``spikegrad plot``: thin shells over the table and plot functions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from spikegrad import surrogate
from spikegrad.cli import main
from spikegrad.surrogate.table import format_table

PNG = b"\x89PNG\r\n\x1a\n"


def test_list_prints_the_catalogue(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert out == format_table() + "\n"
    for cls in surrogate.builtins():
        assert cls.__name__ in out


def test_list_markdown(capsys):
    assert main(["list", "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| Name | Function |")
    assert "| `ATan` | `atan` | alpha=2 | 1 | 1 | SpikingJelly |" in lines


def test_plot_one(tmp_path, capsys):
    out = tmp_path / "sub" / "atan.png"
    assert main(["plot", "atan", "--alpha", "3", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_bytes()[:8] == PNG


def test_plot_default_output_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["plot", "multi_level_spike_count", "--max_spike_count", "2", "--x-range", "-1", "3"]) == 0
    assert (tmp_path / "MultiLevelSpikeCount.png").read_bytes()[:8] == PNG


def test_plot_all(tmp_path, capsys):
    assert main(["plot", "--all", "-o", str(tmp_path / "gallery")]) == 0
    written = capsys.readouterr().out.split()
    assert len(written) == len(surrogate.builtins())
    assert sorted(p.name for p in (tmp_path / "gallery").iterdir()) == sorted(
        f"{cls.__name__}.png" for cls in surrogate.builtins())


@pytest.mark.parametrize(("argv", "message"), [
    (["plot"], "either one surrogate NAME or --all"),
    (["plot", "atan", "--all"], "either one surrogate NAME or --all"),
    (["plot", "nope"], "unknown surrogate 'nope'"),
    (["plot", "atan", "--slope", "3"], "--slope does not apply"),
    (["plot", "atan", "--alpha", "-1"], "'alpha' must be a finite number > 0"),
    (["plot", "atan", "--alpha", "nan"], "'alpha' must be a finite number > 0"),
    (["plot", "atan", "--x-range", "2", "1"], "x_range"),
    (["plot", "atan", "-o", "out.notaformat"], "notaformat"),
    (["plot", "--all", "--alpha", "2"], "--all draws every surrogate at its defaults"),
    (["plot", "multi_level_spike_count"], "max_spike_count"),
])
def test_plot_errors_are_one_line_exit_2(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("spikegrad plot: error: ")
    assert message in err
    assert err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_plot_without_matplotlib(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", "atan", "-o", str(tmp_path / "a.png")]) == 2
    assert "pip install 'spikegrad[plot]'" in capsys.readouterr().err


def test_real_process(tmp_path):
    """The installed entry point, as a user runs it."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    script = shutil.which("spikegrad", path=os.path.dirname(sys.executable))
    command = [script] if script else [sys.executable, "-m", "spikegrad.cli"]
    listed = subprocess.run([*command, "list"], capture_output=True, text=True, env=env, timeout=120,
                            check=False)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[2].split()[:2] == ["Sigmoid", "sigmoid"]
    bad = subprocess.run([*command, "plot", "nope"], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith("spikegrad plot: error: unknown surrogate 'nope'")
