"""Evaluating a saved run: the library side of ``spikegrad eval``.

:func:`evaluate_run` rebuilds a run's network from its checkpoint (its config, then its weights,
each checked), loads the test set the run was trained on, and scores it with exactly the batches
and the Poisson noise of the training's own evaluation, so its accuracy is the one recorded for
that epoch. It adds what the training loop does not keep: the confusion matrix, the accuracy of
each class, and the network's activity on the test set (:mod:`spikegrad.activity`).

Checkpoints are read onto the CPU first (``map_location='cpu'``), so a run trained on a GPU
evaluates on a machine without one, and the other way round.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..activity import DEFAULT_ENERGY, ActivityMonitor, ActivityReport, EnergyModel
from . import checkpoint as ckpt
from . import data as D
from .config import TrainConfig
from .distributed import Context, check_device
from .errors import CheckpointError
from .memory import EVAL_BATCH
from .models import build_model, check_model_input, reset_state
from .progress import Progress

#: The checkpoints of a run folder that can be evaluated.
CHECKPOINTS = {"last": ckpt.CHECKPOINT, "best": ckpt.BEST}


@dataclass
class Evaluation:
    """What :func:`evaluate_run` measured.

    Attributes:
        run_dir: the run folder.
        checkpoint: the checkpoint file evaluated.
        epoch: the epochs it had trained.
        config: the run's config.
        test_loss: mean cross-entropy on the test set.
        test_acc: accuracy on the test set.
        confusion: ``[n_classes, n_classes]`` int64 counts, rows the true class, columns the prediction.
        class_names: a name per class.
        activity: firing rates, synaptic operations and the energy estimate per test sample.
    """

    run_dir: Path
    checkpoint: Path
    epoch: int
    config: TrainConfig
    test_loss: float
    test_acc: float
    confusion: Tensor
    class_names: tuple[str, ...]
    activity: ActivityReport

    @property
    def per_class(self) -> dict[str, float]:
        """Accuracy of each class (``nan`` for a class absent from the test set)."""
        totals = self.confusion.sum(1)
        return {name: float(self.confusion[i, i]) / float(totals[i]) if totals[i] else math.nan
                for i, name in enumerate(self.class_names)}

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-able values (``None`` for a class absent from the test set)."""
        return {
            "run_dir": str(self.run_dir),
            "checkpoint": str(self.checkpoint),
            "epoch": self.epoch,
            "dataset": self.config.dataset,
            "test_loss": self.test_loss,
            "test_acc": self.test_acc,
            "per_class_acc": {k: (None if math.isnan(v) else v) for k, v in self.per_class.items()},
            "class_names": list(self.class_names),
            "confusion": self.confusion.tolist(),
            "activity": self.activity.to_dict(),
        }

    def summary(self) -> str:
        """The results in a few lines of text."""
        samples = int(self.confusion.sum())
        classes = "  ".join(f"{name} {100 * acc:.1f}%" if not math.isnan(acc) else f"{name} -"
                            for name, acc in self.per_class.items())
        return "\n".join([
            f"run       {self.run_dir}: {self.checkpoint.name}, epoch {self.epoch}",
            f"test      {self.config.dataset}, {samples} samples: accuracy {100 * self.test_acc:.2f}% "
            f"(loss {self.test_loss:.4f})",
            f"per class {classes}",
            self.activity.table(),
        ])


def load_run(run_dir: str | Path, checkpoint: str = "last") -> tuple[TrainConfig, dict[str, Any], Path]:
    """A run's config and checkpoint (tensors on the CPU), checked.

    Args:
        run_dir: the run folder.
        checkpoint: ``'last'`` (``checkpoint.pt``, the run's result) or ``'best'`` (``best.pt``).

    Raises:
        FileNotFoundError: no such folder, or no checkpoint in it (one line).
        CheckpointError: a damaged checkpoint, or one whose config is invalid.
        ValueError: an unknown ``checkpoint``.
    """
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {', '.join(CHECKPOINTS)}, got {checkpoint!r}")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run folder")
    path = run_dir / CHECKPOINTS[checkpoint]
    if not path.is_file():
        if (run_dir / "config.json").is_file() or (run_dir / ckpt.CHECKPOINT).is_file():
            raise FileNotFoundError(f"{run_dir} has no {path.name} yet: the run has not completed an epoch")
        raise FileNotFoundError(f"{run_dir} holds no training run (no {ckpt.CHECKPOINT} and no config.json)")
    state = ckpt.load(path, map_location="cpu")
    try:
        config = TrainConfig.from_dict(state["config"])
    except ValueError as exc:
        raise CheckpointError(f"{path}: its config is invalid: {exc}") from None
    return config, state, path


@torch.no_grad()
def evaluate_run(run_dir: str | Path, *, data_dir: str | Path | None = None, checkpoint: str = "last",
                 device: str | None = "cpu", data: D.Split | None = None,
                 energy: EnergyModel = DEFAULT_ENERGY, progress: Progress | None = None) -> Evaluation:
    """Score a saved run on its test set: accuracy, confusion matrix, per-class accuracy, activity.

    Args:
        run_dir: the run folder of ``spikegrad train``.
        data_dir: where the data set is now, if not where the run read it.
        checkpoint: ``'last'`` (default: the run's result) or ``'best'``.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``None`` (CUDA when available).
        data: the data set (default: loaded as the run's config says).
        energy: the energy per operation of the activity report.
        progress: where to show a bar over the test batches (default: silent).

    Returns:
        The :class:`Evaluation`.

    Raises:
        FileNotFoundError: no run folder, checkpoint or data files (one line, named).
        CheckpointError: a damaged checkpoint, an invalid config, or weights that do not fit the
            network the config builds.
        ValueError: a bad device or data.
        ImportError: a package the data set needs (scikit-learn, h5py).
    """
    config, state, path = load_run(run_dir, checkpoint)
    dev = check_device(device)
    if data is None:
        data = D.load_for_config(config, data_dir)
    check_model_input(config.model, data.input_shape)
    model = build_model(config.model, data.input_shape, data.n_classes, config.make_surrogate(),
                        neuron=config.neuron, tau=config.tau, detach_reset=config.detach_reset,
                        hidden=config.hidden, channels=config.channels, backend=config.backend)
    ckpt.check_model_state(state["model"], model, path)
    model.load_state_dict(state["model"])
    model.to(dev).eval()
    ctx = Context(device=dev)
    from .loop import test_batches

    n = data.n_classes
    confusion = torch.zeros(n, n, dtype=torch.int64)
    loss = 0.0
    progress = progress or Progress(enabled=False)
    batches = math.ceil(len(data.test_y) / EVAL_BATCH)
    progress.start(f"evaluating {path.name}", batches)
    try:
        with ActivityMonitor(model) as monitor:
            for x_seq, y in test_batches(data.test_x, data.test_y, config, ctx):
                reset_state(model)
                scores = model(x_seq)
                loss += float(F.cross_entropy(scores, y, reduction="sum"))
                pairs = y.cpu() * n + scores.argmax(1).cpu()
                confusion += torch.bincount(pairs, minlength=n * n).reshape(n, n)
                progress.update()
            reset_state(model)
            activity = monitor.report(len(data.test_y), energy)
    finally:
        progress.stop()
    total = len(data.test_y)
    return Evaluation(Path(run_dir), path, int(state["epoch"]), config, loss / total,
                      float(confusion.diagonal().sum()) / total, confusion, data.class_names, activity)


def write_evaluation(evaluation: Evaluation, out: str | Path) -> dict[str, Path]:
    """Write ``eval.json`` (and, with matplotlib, ``confusion.png``) into ``out``; return the paths written.

    ``eval.json`` is named after the checkpoint: ``eval.json`` for ``checkpoint.pt``,
    ``eval-best.json`` and ``confusion-best.png`` for ``best.pt``.

    Raises:
        OSError: the folder cannot be written.
    """
    out = Path(out)
    suffix = "" if evaluation.checkpoint.name == ckpt.CHECKPOINT else "-best"
    paths = {"json": out / f"eval{suffix}.json"}
    ckpt.atomic_write_text(json.dumps(evaluation.to_dict(), indent=2) + "\n", paths["json"])
    try:
        from .report import plot_confusion

        png = out / f"confusion{suffix}.png"
        plot_confusion(evaluation.confusion, evaluation.class_names, png,
                       title=f"{evaluation.config.dataset}: {100 * evaluation.test_acc:.2f}% "
                             f"({evaluation.checkpoint.name}, epoch {evaluation.epoch})")
        paths["png"] = png
    except ImportError:
        pass
    return paths


__all__ = ["CHECKPOINTS", "Evaluation", "evaluate_run", "load_run", "write_evaluation"]
