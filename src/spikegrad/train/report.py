"""Tables and figures of training runs: metrics CSV, the training curve, the compare plot.

matplotlib is imported inside the plotting functions (the ``train`` extra installs it), with the
non-interactive Agg backend so that plots work on machines without a display.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

METRIC_COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "seconds")


def metrics_csv(metrics: Sequence[dict[str, float]]) -> str:
    """The per-epoch metrics as CSV text with a header row."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(METRIC_COLUMNS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in metrics:
        writer.writerow({k: _fmt(row[k]) for k in METRIC_COLUMNS})
    return buf.getvalue()


def _fmt(value: object) -> object:
    return f"{value:.6g}" if isinstance(value, float) else value


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_curve(metrics: Sequence[dict[str, float]], path: str | Path, title: str = "") -> None:
    """Draw the training curve: loss (left) and train/test accuracy (right) per epoch, to ``path``."""
    plt = _pyplot()
    epochs = [m["epoch"] for m in metrics]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    ax_loss.plot(epochs, [m["train_loss"] for m in metrics], "o-", label="train")
    ax_loss.plot(epochs, [m["test_loss"] for m in metrics], "s--", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * m["train_acc"] for m in metrics], "o-", label="train")
    ax_acc.plot(epochs, [100 * m["test_acc"] for m in metrics], "s--", label="test")
    lowest = min(100 * min(m["train_acc"], m["test_acc"]) for m in metrics)
    ax_acc.annotate(f"{100 * metrics[-1]['test_acc']:.1f}%", (epochs[-1], 100 * metrics[-1]["test_acc"]),
                    textcoords="offset points", xytext=(-10, -14), ha="right")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", ylim=(max(0.0, min(50.0, lowest - 5)), 100.5))
    ax_acc.legend(loc="lower right")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
