"""Training and evaluation: the library function behind ``spikegrad train``.

:func:`fit` trains a :class:`TrainConfig` end to end: it loads the data, builds the network,
runs the epochs with a progress bar, evaluates on the test set after each epoch, and (on rank 0,
when given a run folder) writes ``config.json``, ``metrics.json``/``metrics.csv``, an atomic
``checkpoint.pt`` after every epoch and ``curve.png`` at the end.

Every random draw that shapes the result comes from a seed: the weights from ``seed``, the
batch order from ``(seed, epoch)`` and the Poisson spikes from ``(seed, epoch, batch)``. So a run
resumed from its last checkpoint ends with exactly the weights of an uninterrupted run, and a
multi-process run trains on exactly the global batches of a single process.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import surrogate as sg
from . import checkpoint as ckpt
from . import data as D
from . import distributed as dist_
from .defaults import DEFAULTS
from .models import MODELS, NEURONS, build_model, count_parameters, reset_state
from .progress import Progress

ENCODINGS = ("poisson", "direct")


@dataclass
class TrainConfig:
    """Everything that decides what a training run computes (saved as ``config.json``).

    Attributes:
        dataset: ``'digits'`` (bundled), ``'mnist'`` or ``'fashion-mnist'`` (IDX files).
        data_dir: folder with the IDX files (MNIST / Fashion-MNIST only).
        model: ``'mlp'`` or ``'conv'``.
        neuron: ``'if'``, ``'lif'`` or ``'plif'``.
        tau: membrane time constant (PLIF: its initial value), > 1.
        surrogate: surrogate name, e.g. ``'atan'``.
        surrogate_params: the surrogate's parameters, e.g. ``{'alpha': 2.0}``.
        detach_reset: cut the gradient through the neurons' reset.
        encoding: ``'poisson'`` or ``'direct'``.
        T: time steps per sample.
        epochs: passes over the training set.
        batch_size: global batch size (shared among the processes of a multi-process run).
        lr: Adam's peak learning rate (cosine-annealed to 0 over the epochs).
        hidden: width of the hidden spiking layer.
        channels: channels of the first conv layer.
        seed: seed of the weights, the batch order and the Poisson spikes.
        backend: the neurons' multi-step backend (``None``: the neurons' default).
        max_batches: stop each epoch after this many batches (quick smoke runs).
    """

    dataset: str = "digits"
    data_dir: str | None = None
    model: str = DEFAULTS.model
    neuron: str = DEFAULTS.neuron
    tau: float = DEFAULTS.tau
    surrogate: str = DEFAULTS.surrogate
    surrogate_params: dict[str, float] = field(default_factory=dict)
    detach_reset: bool = False
    encoding: str = DEFAULTS.encoding
    T: int = DEFAULTS.T
    epochs: int = DEFAULTS.epochs
    batch_size: int = DEFAULTS.batch_size
    lr: float = DEFAULTS.lr
    hidden: int = DEFAULTS.hidden
    channels: int = DEFAULTS.channels
    seed: int = 0
    backend: str | None = None
    max_batches: int | None = None

    def validate(self) -> None:
        """Check every field.

        Raises:
            ValueError: a field out of range, naming it and the rule.
        """
        choices = {"dataset": D.DATASETS, "model": MODELS, "neuron": NEURONS, "encoding": ENCODINGS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name in ("T", "epochs", "batch_size", "hidden", "channels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.max_batches is not None and self.max_batches < 1:
            raise ValueError(f"max_batches must be an integer >= 1, got {self.max_batches!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if not (math.isfinite(self.tau) and self.tau > 1):
            raise ValueError(f"tau must be a finite number > 1, got {self.tau!r}")
        self.make_surrogate()

    def make_surrogate(self) -> sg.Surrogate:
        """The configured surrogate module (raises ``ValueError``/``TypeError`` for bad parameters)."""
        cls: Any = sg.get(self.surrogate)
        surrogate: sg.Surrogate = cls(**self.surrogate_params)
        return surrogate

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-able values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Rebuild a config from :meth:`to_dict`'s output (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass
class Result:
    """What :func:`fit` returns.

    Attributes:
        model: the trained network (unwrapped from DistributedDataParallel).
        metrics: one dict per epoch (``epoch``, ``lr``, ``train_loss``, ``train_acc``,
            ``test_loss``, ``test_acc``, ``seconds``).
        seconds: wall time of this call.
        run_dir: the run folder, if one was written.
    """

    model: nn.Module
    metrics: list[dict[str, float]]
    seconds: float
    run_dir: Path | None = None

    @property
    def final_accuracy(self) -> float:
        """Test accuracy after the last epoch (0 when no epoch ran)."""
        return self.metrics[-1]["test_acc"] if self.metrics else 0.0

    @property
    def best_accuracy(self) -> float:
        """Best test accuracy over the epochs."""
        return max((m["test_acc"] for m in self.metrics), default=0.0)


def _lr_at(config: TrainConfig, epoch: int) -> float:
    """Cosine schedule from ``lr`` (epoch 1) towards 0, a function of the epoch alone (resume-safe)."""
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / config.epochs))


def _describe(config: TrainConfig, data: D.Split, model: nn.Module, surrogate: sg.Surrogate,
              ctx: dist_.Context) -> str:
    shape = "x".join(str(n) for n in data.input_shape[1:])
    procs = f", {ctx.world_size} processes" if ctx.distributed else ""
    return (
        f"data     {data.name}: {len(data.train_y)} train / {len(data.test_y)} test images, {shape} px\n"
        f"network  {config.model} of {config.neuron.upper()} neurons, "
        f"{count_parameters(model):,} parameters, "
        f"surrogate {surrogate!r}{', detached reset' if config.detach_reset else ''}\n"
        f"input    {config.encoding} encoding over T={config.T} steps\n"
        f"training {config.epochs} epochs, batch {config.batch_size}, Adam lr {config.lr:g} (cosine), "
        f"seed {config.seed}, {ctx.device}{procs}"
    )


def _step_batches(config: TrainConfig, n: int, epoch: int) -> list[Tensor]:
    batches = D.epoch_batches(n, config.batch_size, config.seed, epoch)
    return batches[: config.max_batches] if config.max_batches else batches


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: D.Split, config: TrainConfig,
                epoch: int, ctx: dist_.Context, progress: Progress) -> tuple[float, float]:
    """One pass over the (global) training batches; returns ``(mean loss, accuracy)``.

    Each process takes its share of every global batch. The local summed loss is scaled by
    ``world_size / global batch`` so that DDP's gradient average is the gradient of the global
    batch's mean loss, whatever the shard sizes.
    """
    model.train()
    batches = _step_batches(config, len(data.train_y), epoch)
    stats = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, count (this process)
    progress.start(f"epoch {epoch}/{config.epochs}", len(batches))
    for b, idx in enumerate(batches):
        x_seq = D.encode(data.train_x[idx], config.T, config.encoding, D.generator(config.seed, epoch, b))
        x_seq = x_seq[:, ctx.rank :: ctx.world_size].to(ctx.device, non_blocking=True)
        y = data.train_y[idx][ctx.rank :: ctx.world_size].to(ctx.device, non_blocking=True)
        reset_state(model)
        scores = model(x_seq)
        loss_sum = F.cross_entropy(scores, y, reduction="sum")
        optimizer.zero_grad(set_to_none=True)
        (loss_sum * (ctx.world_size / len(idx))).backward()
        optimizer.step()
        correct = (scores.argmax(1) == y).sum()
        stats += torch.stack([loss_sum.detach().double().cpu(), correct.double().cpu(),
                              torch.tensor(float(len(y)), dtype=torch.float64)])
        seen = max(float(stats[2]), 1.0)
        progress.update(loss=float(stats[0]) / seen, acc=float(stats[1]) / seen)
    progress.stop()
    total = dist_.all_sum(stats.to(ctx.device), ctx).cpu()
    n = max(float(total[2]), 1.0)
    return float(total[0]) / n, float(total[1]) / n


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, config: TrainConfig, ctx: dist_.Context,
             batch_size: int = 256) -> tuple[float, float]:
    """Mean loss and accuracy on ``(x, y)``, each process scoring its share; the same noise every time."""
    model.eval()
    stats = torch.zeros(3, dtype=torch.float64)
    for b, idx in enumerate(torch.arange(len(y)).split(batch_size)):
        # Poisson noise of the test set is fixed per seed (key ends in 1, training keys have 3 parts).
        x_seq = D.encode(x[idx], config.T, config.encoding, D.generator(config.seed, b, 0, 1))
        x_seq = x_seq[:, ctx.rank :: ctx.world_size].to(ctx.device)
        yy = y[idx][ctx.rank :: ctx.world_size].to(ctx.device)
        reset_state(model)
        scores = model(x_seq)
        stats += torch.tensor([float(F.cross_entropy(scores, yy, reduction="sum")),
                               float((scores.argmax(1) == yy).sum()), float(len(yy))], dtype=torch.float64)
    reset_state(model)  # leave no inference-time state behind
    total = dist_.all_sum(stats.to(ctx.device), ctx).cpu()
    n = max(float(total[2]), 1.0)
    return float(total[0]) / n, float(total[1]) / n


def _write_metrics(metrics: list[dict[str, float]], run_dir: Path) -> None:
    from .report import metrics_csv

    ckpt.atomic_write_text(json.dumps(metrics, indent=2) + "\n", run_dir / "metrics.json")
    ckpt.atomic_write_text(metrics_csv(metrics), run_dir / "metrics.csv")


def fit(
    config: TrainConfig,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    device: str | None = "cpu",
    progress: Progress | None = None,
    data: D.Split | None = None,
    plot: bool = True,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> Result:
    """Train ``config`` and return the model and its per-epoch metrics.

    Under ``torchrun`` (``WORLD_SIZE > 1``) this joins the process group and trains with
    DistributedDataParallel; only rank 0 prints and writes files.

    Args:
        config: what to train.
        run_dir: folder for ``config.json``, metrics, ``checkpoint.pt`` and ``curve.png``
            (created); ``None`` writes nothing.
        resume: continue from ``run_dir/checkpoint.pt`` (the epochs it holds are not redone).
        device: ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``None`` (CUDA when available).
        progress: where to report progress (default: a silent one).
        data: the data set (default: loaded from ``config.dataset`` / ``config.data_dir``).
        plot: draw ``curve.png`` at the end (needs matplotlib).
        on_epoch: called with each epoch's metrics (rank 0 only).

    Returns:
        The trained model and its metrics.

    Raises:
        ValueError: a bad config, a resume without checkpoint, or a bad device.
        FileNotFoundError: missing data files.
    """
    t_start = time.perf_counter()
    config.validate()
    if resume and run_dir is None:
        raise ValueError("resume needs the run folder that holds checkpoint.pt")
    ctx = dist_.setup(device)
    progress = progress if progress is not None and ctx.main else Progress(enabled=False)
    run_path = Path(run_dir) if run_dir is not None else None
    out = run_path if ctx.main else None  # the folder this process writes to, if any
    state = ckpt.load(run_path / ckpt.CHECKPOINT) if resume and run_path is not None else None

    data = data if data is not None else D.load_dataset(config.dataset, config.data_dir)
    surrogate = config.make_surrogate()
    torch.manual_seed(config.seed)
    model = build_model(config.model, data.input_shape, data.n_classes, surrogate, neuron=config.neuron,
                        tau=config.tau, detach_reset=config.detach_reset, hidden=config.hidden,
                        channels=config.channels, backend=config.backend).to(ctx.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    metrics: list[dict[str, float]] = []
    first = 1
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        metrics = [dict(m) for m in state.get("metrics", [])]
        ckpt.set_rng_state(state["rng"])
        first = int(state["epoch"]) + 1
    net = dist_.wrap(model, ctx)

    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        saved = {**config.to_dict(), "device": str(ctx.device), "world_size": ctx.world_size}
        ckpt.atomic_write_text(json.dumps(saved, indent=2) + "\n", out / "config.json")
    progress.line(_describe(config, data, model, surrogate, ctx))
    if first > 1:
        progress.line(f"resuming after epoch {first - 1} from {run_path}")

    for epoch in range(first, config.epochs + 1):
        t0 = time.perf_counter()
        lr = _lr_at(config, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        train_loss, train_acc = train_epoch(net, optimizer, data, config, epoch, ctx, progress)
        test_loss, test_acc = evaluate(net, data.test_x, data.test_y, config, ctx)
        row = {"epoch": epoch, "lr": lr, "train_loss": train_loss, "train_acc": train_acc,
               "test_loss": test_loss, "test_acc": test_acc, "seconds": time.perf_counter() - t0}
        metrics.append(row)
        progress.line(
            f"epoch {epoch:>{len(str(config.epochs))}}/{config.epochs}  loss {train_loss:.4f}  "
            f"train {100 * train_acc:5.1f}%  test {100 * test_acc:5.1f}%  ({row['seconds']:.1f} s)"
        )
        if out is not None:
            ckpt.atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                              "epoch": epoch, "rng": ckpt.rng_state(), "config": config.to_dict(),
                              "metrics": metrics}, out / ckpt.CHECKPOINT)
            _write_metrics(metrics, out)
        if on_epoch is not None and ctx.main:
            on_epoch(row)
    dist_.barrier(ctx)

    seconds = time.perf_counter() - t_start
    if out is not None and plot and metrics:
        from .report import plot_curve

        try:
            plot_curve(metrics, out / "curve.png", title=f"{config.dataset}, {config.model}, {surrogate!r}")
        except ImportError:
            progress.line("curve.png skipped: matplotlib is not installed (pip install 'spikegrad[train]')")
    if metrics:
        best = max(metrics, key=lambda m: m["test_acc"])
        where = f"; run folder {out}" if out is not None else ""
        progress.line(
            f"done in {seconds:.1f} s: test accuracy {100 * metrics[-1]['test_acc']:.1f}% "
            f"(best {100 * best['test_acc']:.1f}% at epoch {int(best['epoch'])}){where}"
        )
    dist_.teardown(ctx)
    return Result(model=model, metrics=metrics, seconds=seconds, run_dir=out)
