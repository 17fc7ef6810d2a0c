"""The documentation site builds with warnings as errors, its galleries list what the library
has, and its tutorials ran (``pip install -e '.[docs]'``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEEDED = ("sphinx", "furo", "myst_parser", "sphinx_gallery", "matplotlib", "nir")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(
            f"the docs extra is not installed (missing {', '.join(missing)}): pip install -e '.[docs]'"
        )
    out = tmp_path_factory.mktemp("site")
    doctrees, html = str(out / "doctrees"), str(out / "html")
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "-d",
        doctrees,
        str(ROOT / "docs"),
        html,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return out / "html"


@pytest.mark.slow  # runs the four tutorials and draws every gallery figure
def test_site_builds_with_warnings_as_errors(site):
    for page in ("index", "getting_started", "nir", "porting", "training", "benchmarks", "api/nir_exchange"):
        assert (site / f"{page}.html").is_file(), page


@pytest.mark.slow
def test_galleries_show_every_surrogate_and_neuron(site):
    from spikegrad import neuron, surrogate

    surrogates = (site / "generated" / "surrogates.html").read_text(encoding="utf-8")
    for cls in surrogate.builtins():
        assert f'id="{cls.__name__.lower()}"' in surrogates, cls.__name__
        assert (site / "_images" / f"{cls.__name__}.png").is_file(), cls.__name__
    neurons = (site / "generated" / "neurons.html").read_text(encoding="utf-8")
    classes = [getattr(neuron, n) for n in neuron.__all__]
    classes = [
        c
        for c in classes
        if isinstance(c, type) and issubclass(c, neuron.BaseNode) and c is not neuron.BaseNode
    ]
    assert classes
    for cls in classes:  # a section with its trace, or (a base class) named among the bases
        assert (
            f'id="{cls.__name__.lower()}"' in neurons
            or f'<code class="docutils literal notranslate"><span class="pre">{cls.__name__}</span></code>'
            in neurons
        ), cls.__name__
    for cls in (neuron.IFNode, neuron.LIFNode, neuron.ParametricLIFNode):
        assert f'id="{cls.__name__.lower()}"' in neurons
        assert (site / "_images" / f"{cls.__name__}.png").is_file()


@pytest.mark.slow
def test_tutorials_ran(site):
    tutorials = site / "generated" / "tutorials"
    assert "same spikes: True" in (tutorials / "plot_1_custom_surrogate.html").read_text(encoding="utf-8")
    assert "spikes equal: True" in (tutorials / "plot_2_custom_neuron.html").read_text(encoding="utf-8")
    assert "test accuracy" in (tutorials / "plot_3_recurrent.html").read_text(encoding="utf-8")
    nir_page = (tutorials / "plot_4_nir_export.html").read_text(encoding="utf-8")
    assert "same spikes: True" in nir_page
    assert "SpikingJelly computes the same spikes: True" in nir_page or "not installed" in nir_page
