"""Train one network with many surrogates: does the shape matter, does the scale?

The library function behind ``spikegrad compare``. For each surrogate shape, each scale factor
``c`` and each reset mode (detached or differentiable) it trains the same network from the same
seed and records the test accuracy. The scale multiplies the shape's first parameter (its
steepness ``alpha`` for ``atan``, ``sigmoid``, ``piecewise_quadratic`` and ``rect``, its height
for ``super_spike``), so for these shapes the peak gradient is ``c`` times the default peak of 1.

Zenke & Vogels (2021), "The remarkable robustness of surrogate gradient learning for instilling
complex function in spiking neural networks", Neural Computation 33:899-925, found accuracy
robust to the surrogate's shape but sensitive to its scale; this reproduces the experiment in
miniature.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import surrogate as sg
from . import data as D
from .checkpoint import atomic_write_text
from .config import TrainConfig
from .loop import fit
from .progress import Progress
from .report import _fmt

#: Shapes compared by default (all have peak gradient 1 at their default parameter).
DEFAULT_SHAPES = ("atan", "sigmoid", "super_spike", "piecewise_quadratic", "rect")
#: Scale factors applied to each shape's first parameter by default.
DEFAULT_SCALES = (0.1, 0.3, 1.0, 3.0, 10.0)
COLUMNS = ("shape", "scale", "param", "value", "peak", "area", "reset", "seed", "test_acc", "best_acc",
           "train_loss")


def scaled_surrogate(shape: str, scale: float) -> tuple[sg.Surrogate, str, float]:
    """The surrogate ``shape`` with its first parameter's default multiplied by ``scale``.

    Returns:
        ``(surrogate, parameter name, parameter value)``.

    Raises:
        ValueError: unknown shape, a shape without a numeric parameter, or ``scale <= 0``.
    """
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    cls = sg.get(shape)
    scalable = [p for p in cls.params if p.default is not None and not p.integer]
    if not scalable:
        raise ValueError(f"{cls.__name__} has no numeric parameter to scale")
    p = scalable[0]
    value = float(p.default or 0.0) * scale
    factory: Any = cls
    return factory(**{p.name: value}), p.name, value


def run_compare(
    base: TrainConfig,
    shapes: Sequence[str] = DEFAULT_SHAPES,
    scales: Sequence[float] = DEFAULT_SCALES,
    resets: Sequence[bool] = (True, False),
    seeds: Sequence[int] = (0,),
    *,
    device: str | None = "cpu",
    progress: Progress | None = None,
    data: D.Split | None = None,
    threads: int | str | None = "auto",
) -> list[dict[str, Any]]:
    """Train ``base`` once per (shape, scale, reset, seed); return one row per run.

    Args:
        base: the network and training settings shared by every run (its surrogate is replaced).
        shapes: surrogate names.
        scales: factors applied to each shape's first parameter.
        resets: ``detach_reset`` values (``True``: detached, ``False``: differentiable).
        seeds: seeds; each run is repeated per seed.
        device: where to train.
        progress: progress display (a bar over the runs, one line per run).
        data: the data set (default: loaded from ``base``).
        threads: CPU threads for each run (see :func:`~.loop.fit`).

    Returns:
        Rows with the columns of :data:`COLUMNS`.
    """
    progress = progress if progress is not None else Progress(enabled=False)
    plans: list[tuple[str, float, str, float, sg.Surrogate, bool, int]] = []
    for shape in shapes:
        for scale in scales:
            surrogate, pname, value = scaled_surrogate(shape, scale)
            plans.extend((shape, scale, pname, value, surrogate, detach, seed)
                         for detach in resets for seed in seeds)
    data = data if data is not None else D.load_dataset(base.dataset, base.data_dir)
    rows: list[dict[str, Any]] = []
    progress.start("compare", len(plans))
    for shape, scale, pname, value, surrogate, detach, seed in plans:
        config = replace(base, surrogate=shape, surrogate_params={pname: value}, detach_reset=detach,
                         seed=seed)
        result = fit(config, device=device, data=data, plot=False, threads=threads)
        row: dict[str, Any] = {
            "shape": shape, "scale": scale, "param": pname, "value": value, "peak": float(surrogate.peak),
            "area": float(surrogate.area), "reset": "detached" if detach else "differentiable", "seed": seed,
            "test_acc": result.final_accuracy, "best_acc": result.best_accuracy,
            "train_loss": result.metrics[-1]["train_loss"] if result.metrics else math.nan,
        }
        rows.append(row)
        progress.line(f"{shape:>20} x{scale:<5g} {row['reset']:>14}  seed {seed}  "
                      f"test {100 * row['test_acc']:5.1f}%  ({result.seconds:.1f} s)")
        progress.update(acc=row["test_acc"])
    progress.stop()
    return rows


def rows_csv(rows: Sequence[dict[str, Any]]) -> str:
    """All runs as CSV text, one row per run."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row[k]) for k in COLUMNS})
    return buf.getvalue()


def _mean_acc(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, float, str], float]:
    groups: dict[tuple[str, float, str], list[float]] = {}
    for row in rows:
        groups.setdefault((row["shape"], row["scale"], row["reset"]), []).append(row["test_acc"])
    return {key: statistics.fmean(values) for key, values in groups.items()}


def _ordered(values: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Spread of accuracy across shapes and across scales, in points.

    ``unit_scale``: the scale nearest 1 (the shapes' defaults, peak gradient 1).
    ``shape_spread``: at ``unit_scale``, the largest (over resets) of best shape - worst shape.
    ``scale_spread``: the largest, over shapes and resets, of best scale - worst scale.
    ``shapes``, ``scales``: how many of each were compared (a spread over one is not a result).
    """
    acc = _mean_acc(rows)
    shapes = _ordered([k[0] for k in acc])
    scales = _ordered([k[1] for k in acc])
    resets = _ordered([k[2] for k in acc])

    def spread(values: list[float]) -> float:
        return 100 * (max(values) - min(values)) if values else 0.0

    unit = min(scales, key=lambda c: abs(math.log(c)))
    shape_spread = max((spread([acc[s, unit, r] for s in shapes if (s, unit, r) in acc]) for r in resets),
                       default=0.0)
    scale_spread = max((spread([acc[s, c, r] for c in scales if (s, c, r) in acc])
                        for s in shapes for r in resets), default=0.0)
    return {"unit_scale": unit, "shape_spread": shape_spread, "scale_spread": scale_spread,
            "shapes": len(shapes), "scales": len(scales)}


def spread_sentence(s: dict[str, float]) -> str:
    """What :func:`summary` found, in words; a spread over a single shape or scale is left out."""
    parts = []
    if s["shapes"] > 1:
        parts.append(f"at scale x{s['unit_scale']:g} the shapes differ by at most "
                     f"{s['shape_spread']:.1f} points")
    if s["scales"] > 1:
        parts.append(f"across scales one shape varies by up to {s['scale_spread']:.1f} points")
    if not parts:
        return "one shape at one scale: nothing to compare across"
    return "; ".join(parts)


def rows_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """A markdown table: one line per shape and reset, one column per scale (test accuracy, %)."""
    acc = _mean_acc(rows)
    shapes = _ordered([r["shape"] for r in rows])
    scales = _ordered([r["scale"] for r in rows])
    resets = _ordered([r["reset"] for r in rows])
    seeds = len(_ordered([r["seed"] for r in rows]))
    head = "| shape | reset | " + " | ".join(f"x{c:g}" for c in scales) + " |"
    lines = [head, "|---|---|" + "---:|" * len(scales)]
    for shape in shapes:
        for reset in resets:
            cells = [f"{100 * acc[shape, c, reset]:.1f}" if (shape, c, reset) in acc else "" for c in scales]
            lines.append(f"| {shape} | {reset} | " + " | ".join(cells) + " |")
    s = summary(rows)
    lines.append("")
    sentence = spread_sentence(s)
    lines.append(f"Test accuracy (%) after the last epoch{f', mean of {seeds} seeds' if seeds > 1 else ''}. "
                 f"{sentence[0].upper()}{sentence[1:]}.")
    return "\n".join(lines) + "\n"


def plot_compare(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> None:
    """Accuracy vs shape (at scale 1, or the scale nearest 1) and accuracy vs scale, to ``path``."""
    from .report import _pyplot

    plt = _pyplot()
    acc = _mean_acc(rows)
    shapes = _ordered([r["shape"] for r in rows])
    scales = sorted(_ordered([r["scale"] for r in rows]))
    resets = _ordered([r["reset"] for r in rows])
    unit = min(scales, key=lambda c: abs(math.log(c)))
    fig, (ax_shape, ax_scale) = plt.subplots(1, 2, figsize=(13, 4.4), constrained_layout=True,
                                             gridspec_kw={"width_ratios": [1, 1.3]})
    width = 0.8 / max(len(resets), 1)
    for i, reset in enumerate(resets):
        xs = [j + (i - (len(resets) - 1) / 2) * width for j in range(len(shapes))]
        heights = [100 * acc.get((s, unit, reset), math.nan) for s in shapes]
        ax_shape.bar(xs, heights, width, label=f"{reset} reset")
    ax_shape.set_xticks(range(len(shapes)), shapes, rotation=25, ha="right")
    # the axis runs past 100 % so that the legend sits above the bars, not over them
    ax_shape.set(ylabel="test accuracy (%)", title=f"shape (scale x{unit:g})", ylim=(0, 115),
                 yticks=range(0, 101, 20))
    ax_shape.legend(loc="upper center", fontsize=8, ncol=len(resets), frameon=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-."]
    for j, shape in enumerate(shapes):
        for i, reset in enumerate(resets):
            ys = [100 * acc.get((shape, c, reset), math.nan) for c in scales]
            ax_scale.plot(scales, ys, styles[i % len(styles)], marker="o", color=colors[j % len(colors)],
                          label=f"{shape}, {reset}")
    ax_scale.set(xscale="log", xlabel="scale of the surrogate's steepness (peak gradient)",
                 ylabel="test accuracy (%)", title="scale", ylim=(0, 100))
    ax_scale.set_xticks(scales, [f"x{c:g}" for c in scales])
    ax_scale.minorticks_off()
    # beside the axes, never over the curves
    ax_scale.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    for ax in (ax_shape, ax_scale):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(rows: Sequence[dict[str, Any]], out_dir: str | Path, title: str = "") -> dict[str, Path]:
    """Write ``compare.csv``, ``compare.md`` and ``compare.png`` into ``out_dir`` (created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "compare.csv", "md": out / "compare.md", "png": out / "compare.png"}
    atomic_write_text(rows_csv(rows), paths["csv"])
    atomic_write_text(rows_markdown(rows), paths["md"])
    plot_compare(rows, paths["png"], title=title)
    return paths
