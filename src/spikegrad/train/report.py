"""Tables and figures of training runs: metrics CSV, the training curve, the activity plot, the
confusion matrix.

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
#: The activity columns every epoch records since activity is measured (see :mod:`spikegrad.activity`).
ACTIVITY_COLUMNS = ("firing_rate", "sops", "macs", "energy_uj")
#: Prefix of the per-layer firing-rate columns.
LAYER_RATE = "firing_rate:"


def metrics_csv(metrics: Sequence[dict[str, float]]) -> str:
    """The per-epoch metrics as CSV text with a header row.

    The columns are :data:`METRIC_COLUMNS`, then the activity columns and the per-layer firing
    rates that any row holds (empty where a row lacks them: epochs trained by an older version).
    """
    extra = [c for c in ACTIVITY_COLUMNS if any(c in row for row in metrics)]
    extra += list(dict.fromkeys(k for row in metrics for k in row if k.startswith(LAYER_RATE)))
    columns = [*METRIC_COLUMNS, *extra]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in metrics:
        writer.writerow({k: _fmt(row[k]) if k in row else "" for k in columns})
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
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_activity(metrics: Sequence[dict[str, float]], path: str | Path, title: str = "") -> None:
    """Draw the activity per epoch: each spiking layer's firing rate (left) and the synaptic
    operations and energy estimate per test sample (right), to ``path``.

    Epochs without activity numbers (trained by an older version) are left out; nothing is drawn
    when no epoch has them.
    """
    rows = [m for m in metrics if "sops" in m]
    if not rows:
        return
    plt = _pyplot()
    epochs = [m["epoch"] for m in rows]
    layers = list(dict.fromkeys(k for m in rows for k in m if k.startswith(LAYER_RATE)))
    fig, (ax_rate, ax_ops) = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    for key in layers:
        ax_rate.plot(epochs, [m.get(key, float("nan")) for m in rows], "o-", label=key[len(LAYER_RATE):])
    ax_rate.plot(epochs, [m["firing_rate"] for m in rows], "k--", label="all neurons")
    ax_rate.set(xlabel="epoch", ylabel="spikes per neuron and step")
    ax_rate.legend(fontsize=8)
    ax_ops.plot(epochs, [m["sops"] for m in rows], "o-", label="SOPs (accumulates)")
    if any(m["macs"] for m in rows):
        ax_ops.plot(epochs, [m["macs"] for m in rows], "s--", label="MACs (non-spike input)")
    ax_ops.set(xlabel="epoch", ylabel="operations per test sample")
    ax_ops.legend(loc="upper left", fontsize=8)
    ax_energy = ax_ops.twinx()
    ax_energy.plot(epochs, [m["energy_uj"] for m in rows], ":", color="gray")
    ax_energy.set_ylabel("energy estimate (uJ per sample, dotted)")
    for ax in (ax_rate, ax_ops):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(confusion: Any, class_names: Sequence[str], path: str | Path, title: str = "") -> None:
    """Draw a confusion matrix (rows: true class, columns: predicted), shaded by the share of each
    true class, with the counts written in the cells when there are at most 20 classes."""
    plt = _pyplot()
    counts = [[int(v) for v in row] for row in confusion]
    n = len(counts)
    shares = [[v / max(sum(row), 1) for v in row] for row in counts]
    size = min(3.0 + 0.45 * n, 14.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.9), constrained_layout=True)
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true")
    long_names = max(map(len, class_names), default=0) > 2
    ax.set_xticklabels(class_names, rotation=90 if long_names else 0, fontsize=8)
    ax.set_yticklabels(class_names, fontsize=8)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if counts[i][j]:
                    ax.text(j, i, str(counts[i][j]), ha="center", va="center", fontsize=7,
                            color="white" if shares[i][j] > 0.5 else "black")
    if title:
        ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
