"""Figures of surrogate shapes: the spike, the primitive ``g`` and the gradient ``g'`` together.

The figure is the one of SpikingJelly's surrogate tutorial: the Heaviside step a neuron
emits, the smooth primitive ``g`` it stands in for when ``spiking=False``, and the surrogate
gradient ``g'`` that backward uses. Figures are built with matplotlib's object API on the
Agg canvas, so nothing here touches pyplot's global state or needs a display. matplotlib
is imported only when a figure is drawn (install it with ``pip install 'spikegrad[plot]'``).

Example:
    >>> from spikegrad import surrogate
    >>> fig = surrogate.plot(surrogate.ATan(alpha=3.0))
    >>> fig.axes[0].get_title()
    'ATan(alpha=3.0, spiking=True)'
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .surrogate import Surrogate, builtins, heaviside
from .surrogate._base import _cast

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Values for parameters that have no default, used when a gallery draws the class.
GALLERY_REQUIRED: dict[str, int | float] = {"max_spike_count": 3}

_POINTS = 2001


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            "plotting surrogates needs matplotlib; install it with: pip install 'spikegrad[plot]'"
        ) from exc
    return matplotlib


def default_x_range(sg: Surrogate) -> tuple[float, float]:
    """An x range that shows the shape: ``[-2, 2]`` scaled by its width (``area / peak``),
    widened so every breakpoint lies well inside."""
    peak, area = float(sg.peak), float(sg.area)  # type: ignore[arg-type]
    width = area / peak if math.isfinite(area) and area > 0 and peak > 0 else 1.0
    half = 2.0 * width
    points = [abs(float(b)) for b in sg.breakpoints(*sg.param_values)]
    half = max(half, 1.5 * max(points, default=0.0))
    return -half, half


def _scalar_params(sg: Surrogate) -> None:
    for p in sg.params:
        value = getattr(sg, p.name)
        if isinstance(value, torch.Tensor) and value.numel() != 1:
            raise ValueError(
                f"plot_surrogate draws one shape, but {type(sg).__name__}.{p.name} has "
                f"{value.numel()} values (per-channel parameters); plot one channel at a time"
            )


def plot_surrogate(
    sg: Surrogate, x_range: tuple[float, float] | None = None, ax: Axes | None = None
) -> Figure:
    """Draw the spike, the primitive ``g`` (if the shape has one) and the gradient ``g'`` of ``sg``.

    Args:
        sg: a surrogate module (built-in or custom) with scalar parameters.
        x_range: ``(low, high)`` of the x axis; default :func:`default_x_range`.
        ax: matplotlib axes to draw into; default a new figure of its own.

    Returns:
        The matplotlib ``Figure`` holding the plot (``ax.figure`` when ``ax`` is given).

    Raises:
        TypeError: ``sg`` is not a surrogate module.
        ValueError: a bad ``x_range``, or a parameter holding several values.
        ImportError: matplotlib is not installed.
    """
    if not isinstance(sg, Surrogate):
        raise TypeError(f"plot_surrogate expects a surrogate module such as ATan(), got {type(sg).__name__}")
    _scalar_params(sg)
    if x_range is None:
        x_range = default_x_range(sg)
    low, high = (float(v) for v in x_range)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"x_range must be two finite numbers (low, high) with low < high, got {x_range!r}")
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(6.4, 4.0))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    else:
        fig = ax.figure  # type: ignore[assignment]

    x = torch.linspace(low, high, _POINTS, dtype=torch.float64)
    # The points just below and at 0 make the step's jump vertical.
    x = torch.sort(torch.cat([x, torch.tensor([-1e-9, 0.0], dtype=torch.float64)])).values
    params = _cast(sg.param_values, x)
    with torch.no_grad():
        if sg.stochastic:
            spike, spike_label = heaviside(x), "Heaviside step H(x)"
        else:
            spike = type(sg).spike(x, *params)
            spike_label = "Heaviside step H(x)" if torch.equal(spike, heaviside(x)) else "spike"
        ax.plot(x.numpy(), spike.numpy(), color="0.55", linestyle="--", label=spike_label)
        if sg.has_primitive:
            ax.plot(x.numpy(), type(sg).primitive(x, *params).numpy(), color="C0", label="primitive g(x)")
        ax.plot(x.numpy(), sg.grad(x).numpy(), color="C1", label="surrogate gradient g'(x)")
    ax.set_xlim(low, high)
    ax.set_xlabel("x = h - v_threshold")
    ax.set_title(repr(sg))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_gallery(
    directory: str | Path, classes: Iterable[type[Surrogate] | Surrogate] | None = None
) -> list[Path]:
    """Write one PNG per surrogate into ``directory`` (created if needed), named after the class.

    Args:
        directory: where the images go.
        classes: surrogate classes (drawn at their defaults; a required parameter takes its
            value from :data:`GALLERY_REQUIRED`) or configured modules; default the built-in catalogue.

    Returns:
        The paths written, in order.

    Raises:
        ValueError: a class has a required parameter with no gallery value.
        ImportError: matplotlib is not installed.
    """
    _matplotlib()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in builtins() if classes is None else classes:
        sg = item if isinstance(item, Surrogate) else _at_defaults(item)
        fig = plot_surrogate(sg)
        path = out / f"{type(sg).__name__}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        paths.append(path)
    return paths


def _at_defaults(cls: type[Surrogate]) -> Surrogate:
    signature = inspect.signature(cls).parameters.values()
    missing = [p.name for p in signature if p.default is inspect.Parameter.empty and p.kind != p.VAR_KEYWORD
               and p.kind != p.VAR_POSITIONAL]
    kwargs: dict[str, Any] = {}
    for name in missing:
        if name not in GALLERY_REQUIRED:
            raise ValueError(f"{cls.__name__} needs {name!r}; pass a configured module, "
                             f"e.g. {cls.__name__}({name}=...)")
        kwargs[name] = GALLERY_REQUIRED[name]
    return cls(**kwargs)


__all__ = ["GALLERY_REQUIRED", "default_x_range", "plot_gallery", "plot_surrogate"]
