"""Plots: step, primitive and gradient in one figure; a gallery of PNGs; clear error without matplotlib."""

from __future__ import annotations

import sys

import pytest
import torch

from spikegrad import surrogate

from .cases import CLASSES, build

pytest.importorskip("matplotlib")

from spikegrad.plot import default_x_range, plot_gallery, plot_surrogate


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_plot_surrogate_draws_step_primitive_gradient(cls):
    sg = build(cls)
    fig = surrogate.plot(sg)
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert len(labels) == (3 if cls.has_primitive else 2)
    assert labels[-1] == "surrogate gradient g'(x)"
    assert ("primitive g(x)" in labels) == cls.has_primitive
    assert ax.get_title() == repr(sg)
    assert ax.get_legend() is not None
    low, high = ax.get_xlim()
    assert low < 0 < high
    # The gradient curve is g' itself.
    grad_line = ax.get_lines()[-1]
    x = torch.as_tensor(grad_line.get_xdata())
    if not cls.stochastic:
        torch.testing.assert_close(torch.as_tensor(grad_line.get_ydata()), sg.grad(x))


def test_x_range_and_ax():
    from matplotlib.figure import Figure

    sg = surrogate.Sigmoid()
    fig = plot_surrogate(sg, x_range=(-1.0, 3.0))
    assert fig.axes[0].get_xlim() == (-1.0, 3.0)
    own = Figure()
    ax = own.add_subplot()
    assert plot_surrogate(sg, ax=ax) is own
    assert default_x_range(sg) == (-2.0, 2.0)
    assert default_x_range(surrogate.FastSigmoid()) == pytest.approx((-0.16, 0.16))
    assert default_x_range(surrogate.MultiLevelSpikeCount(3)) == (-6.0, 6.0)


def test_plot_refuses_bad_arguments():
    with pytest.raises(TypeError, match="surrogate module"):
        plot_surrogate(surrogate.Sigmoid)  # the class, not a module
    with pytest.raises(ValueError, match="x_range"):
        plot_surrogate(surrogate.Sigmoid(), x_range=(1.0, -1.0))
    with pytest.raises(ValueError, match="per-channel"):
        plot_surrogate(surrogate.Sigmoid(alpha=torch.tensor([1.0, 2.0])))


def test_gallery_writes_one_png_per_surrogate(tmp_path):
    classes = [surrogate.ATan, surrogate.MultiLevelSpikeCount, surrogate.FakeNumericalGradient]
    paths = plot_gallery(tmp_path / "gallery", classes=[*classes, surrogate.Rect(alpha=2.0)])
    assert [p.name for p in paths] == ["ATan.png", "MultiLevelSpikeCount.png", "FakeNumericalGradient.png",
                                       "Rect.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_matplotlib_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"pip install 'spikegrad\[plot\]'"):
        plot_surrogate(surrogate.ATan())
