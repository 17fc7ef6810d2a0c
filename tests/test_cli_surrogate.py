"""``spikegrad list`` and ``spikegrad plot``: thin shells over the table and plot functions;
custom surrogates from the shell (``--import``, the ``spikegrad.surrogates`` entry points)."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from spikegrad import surrogate
from spikegrad.cli import main
from spikegrad.surrogate.table import format_table

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("columns", [80, 100, 110])
def test_list_fits_the_terminal(columns, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= columns
    for cls in surrogate.builtins():
        assert f"{cls.__name__} " in out and cls.function.__name__ in out
    flat = " ".join(out.split())
    assert "Sinabs Heaviside, Rockpool StepPWL, EXODUS" in flat  # wrapped cells keep every word


def test_list_on_a_wide_terminal_is_the_plain_table(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "400")
    assert main(["list"]) == 0
    assert capsys.readouterr().out == format_table() + "\n"


def test_list_markdown(capsys):
    assert main(["list", "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| Name | Function |")
    assert "| `ATan` | `atan` | alpha=2 | 1 | 1 | SpikingJelly |" in lines


def test_plot_one(tmp_path, capsys):
    out = tmp_path / "atan.png"
    assert main(["plot", "atan", "--alpha", "3", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_bytes()[:8] == PNG


def test_plot_creates_no_folders(tmp_path, capsys):
    assert main(["plot", "atan", "-o", str(tmp_path / "typo" / "atan.png")]) == 2
    assert main(["plot", "--all", "-o", str(tmp_path / "typo" / "gallery")]) == 2
    assert f"the folder {tmp_path / 'typo'} does not exist" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_plot_help_names_the_default_file(capsys):
    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    assert "default: the class name, e.g. ATan.png" in " ".join(capsys.readouterr().out.split())


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
    (["plot", "atan", "--alpah", "3"], "unrecognized arguments: --alpah 3 (did you mean --alpha?)"),
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
    first = next(line for line in listed.stdout.splitlines() if line.startswith("Sigmoid"))
    assert first.split()[:2] == ["Sigmoid", "sigmoid"]
    bad = subprocess.run([*command, "plot", "nope"], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith("spikegrad plot: error: unknown surrogate 'nope'")


# --------------------------------------------------------------------------- custom surrogates from the shell

SHAPES = textwrap.dedent("""
    import torch
    from spikegrad import surrogate

    @surrogate.from_derivative
    def {name}(x, width=1.0):
        return torch.clamp(1 - x.abs() / width, min=0)
""")


@pytest.fixture
def clean_registry():
    """Forget the surrogates a test defines, and the modules that define them."""
    names = set(surrogate.REGISTRY)
    yield
    for name in set(surrogate.REGISTRY) - names:
        sys.modules.pop(surrogate.REGISTRY.pop(name).__module__, None)
    for module in ("lab_shapes", "more_shapes", "plugin_shapes", "bad_plugin", "broken"):
        sys.modules.pop(module, None)


def test_import_a_module_from_the_current_folder(tmp_path, monkeypatch, capsys, clean_registry):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    (tmp_path / "lab_shapes.py").write_text(SHAPES.format(name="LabTent"))
    assert main(["plot", "lab_tent", "-o", "tent.png"]) == 2  # unknown without the import
    assert "unknown surrogate 'lab_tent'" in capsys.readouterr().err
    assert main(["plot", "lab_tent", "--width", "0.5", "--import", "lab_shapes", "-o", "tent.png"]) == 0
    assert (tmp_path / "tent.png").read_bytes()[:8] == PNG
    assert main(["list", "--import", "lab_shapes"]) == 0
    assert "LabTent" in capsys.readouterr().out


def test_import_a_file_and_resume_needs_it_again(tmp_path, capsys, clean_registry):
    path = tmp_path / "more_shapes.py"
    path.write_text(SHAPES.format(name="FileTent"))
    run = tmp_path / "run"
    args = ["--T", "2", "--hidden", "8", "--max-batches", "1", "--backend", "reference"]
    assert main(["train", "--import", str(path), "--surrogate", "file_tent", "--width", "2", "--epochs", "1",
                 *args, "--out", str(run)]) == 0
    assert "FileTent(width=2.0, spiking=True)" in capsys.readouterr().out
    del surrogate.REGISTRY["FileTent"]  # a new shell: the module is not loaded
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert "unknown surrogate 'file_tent'" in err and "add --import more_shapes" in err
    assert main(["train", "--resume", str(run), "--epochs", "2", "--import", str(path)]) == 0


def test_import_errors_are_one_line(tmp_path, capsys, clean_registry):
    (tmp_path / "broken.py").write_text("raise RuntimeError('oops')\n")
    assert main(["list", "--import", str(tmp_path / "broken.py")]) == 2
    assert capsys.readouterr().err == (f"spikegrad list: error: --import {tmp_path / 'broken.py'}: importing "
                                       "it raised RuntimeError: oops\n")
    assert main(["list", "--import", str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err


def _install_plugin(folder, module, body, group_line):
    dist = folder / "spikegrad_plugin_test-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: spikegrad-plugin-test\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[spikegrad.surrogates]\n{group_line}\n")
    (folder / f"{module}.py").write_text(body)
    importlib.invalidate_caches()


def test_entry_points_register_installed_surrogates(tmp_path, monkeypatch, capsys, clean_registry):
    _install_plugin(tmp_path, "plugin_shapes", SHAPES.format(name="PluginTent"), "tents = plugin_shapes")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["plot", "plugin_tent", "-o", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG


def test_a_broken_entry_point_is_a_warning(tmp_path, monkeypatch, capsys, clean_registry):
    _install_plugin(tmp_path, "bad_plugin", "import no_such_dependency\n", "bad = bad_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["plot", "atan", "-o", str(tmp_path / "a.png")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("spikegrad: warning: surrogate entry point 'bad' (from spikegrad-plugin-test) "
                          "failed to load: ModuleNotFoundError")
