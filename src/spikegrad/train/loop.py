"""Training and evaluation: the library function behind ``spikegrad train``.

:func:`fit` trains a :class:`~.config.TrainConfig` end to end: it loads the data, builds the
network, runs the epochs with a progress bar, evaluates on the test set after each epoch, and (on
rank 0, when given a run folder) writes ``config.json``, ``metrics.json``/``metrics.csv``, an
atomic ``checkpoint.pt`` after every epoch, ``best.pt`` (the epoch with the best test accuracy)
and ``curve.png`` and ``activity.png`` at the end. Each epoch's evaluation also records the
network's activity on the test set (:class:`~spikegrad.activity.ActivityMonitor`): the firing
rate of each spiking layer, the synaptic operations and the energy estimate per sample.

Every random draw that shapes the result comes from a seed: the weights from ``seed``, the
batch order from ``(seed, epoch)``, the Poisson spikes from ``(seed, epoch, batch)``, and what
the network itself draws (stochastic surrogates) from the global generator, whose state every
checkpoint saves. So a run resumed from any checkpoint ends with exactly the weights of an
uninterrupted run, and a multi-process run trains on exactly the global batches of one process.

A run with a folder is also protected against its common accidents:

* a second training into the same folder is refused (:mod:`.rundir`'s lock);
* Ctrl-C or SIGTERM stops at the next batch boundary with a checkpoint of that batch
  (:class:`~.errors.TrainingInterrupted`; :mod:`.interrupts`);
* the first non-finite loss stops the run without saving the diverged state
  (:class:`~.errors.TrainingDiverged`), so ``checkpoint.pt`` and ``best.pt`` stay good;
* a run too large for the device's memory is refused before it starts (:mod:`.memory`).
"""

from __future__ import annotations

import contextlib
import math
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import surrogate as sg
from ..activity import ActivityMonitor
from . import checkpoint as ckpt
from . import data as D
from . import distributed as dist_
from . import memory, rundir
from .config import ENCODINGS, TrainConfig, resumed_config
from .defaults import default_threads
from .errors import CheckpointError, RunFolderError, TrainingDiverged, TrainingInterrupted
from .interrupts import StopFlag
from .models import build_model, check_model_input, count_parameters, reset_state
from .progress import Progress, plural


@dataclass
class Result:
    """What :func:`fit` returns.

    Attributes:
        model: the trained network (unwrapped from DistributedDataParallel).
        metrics: one dict per epoch (``epoch``, ``lr``, ``train_loss``, ``train_acc``,
            ``test_loss``, ``test_acc``, ``seconds``, and the test set's activity per sample:
            ``firing_rate``, ``sops``, ``macs``, ``energy_uj``, ``firing_rate:LAYER``), a resumed
            run's earlier epochs included.
        seconds: wall time of this call.
        run_dir: the run folder, if one was written.
        config: the config the run trained with (a resumed run's, with any change of ``epochs``).
    """

    model: nn.Module
    metrics: list[dict[str, float]]
    seconds: float
    run_dir: Path | None = None
    config: TrainConfig | None = None

    @property
    def final_accuracy(self) -> float:
        """Test accuracy after the last epoch (0 when no epoch ran)."""
        return self.metrics[-1]["test_acc"] if self.metrics else 0.0

    @property
    def best_accuracy(self) -> float:
        """Best test accuracy over the epochs."""
        return max((m["test_acc"] for m in self.metrics), default=0.0)


@dataclass
class EpochRun:
    """How far :func:`train_epoch` got.

    Attributes:
        batches: batches in the epoch.
        done: batches completed (``batches`` unless it stopped early).
        stats: this process's sums over the completed batches: loss, correct answers, samples.
        stopped: it stopped because a stop was requested (Ctrl-C, SIGTERM).
        nonfinite: ``(batch, loss)`` of the first non-finite loss, 1-based, if any.
    """

    batches: int
    done: int
    stats: Tensor
    stopped: bool = False
    nonfinite: tuple[int, float] | None = None


def _describe(config: TrainConfig, data: D.Split, model: nn.Module, surrogate: sg.Surrogate,
              ctx: dist_.Context) -> str:
    procs = f", {ctx.world_size} processes" if ctx.distributed else ""
    what = "samples" if data.sequences else "images"
    binned = f" (down-sampled {config.downsample}x)" if config.downsample > 1 else ""
    return (
        f"data     {data.name}: {len(data.train_y)} train / {len(data.test_y)} test {what}, "
        f"{data.sample_size}{binned}\n"
        f"network  {config.model} of {config.neuron.upper()} neurons, "
        f"{count_parameters(model):,} parameters, "
        f"surrogate {surrogate!r}{', detached reset' if config.detach_reset else ''}\n"
        f"input    {config.encoding} {'of the event frames' if data.sequences else 'encoding'} "
        f"over T={plural(config.T, 'step')}\n"
        f"training {plural(config.epochs, 'epoch')}, batch {config.batch_size}, Adam lr {config.lr:g} "
        f"(cosine), seed {config.seed}, {ctx.device}{procs}"
    )


def _step_batches(config: TrainConfig, n: int, epoch: int) -> list[Tensor]:
    batches = D.epoch_batches(n, config.batch_size, config.seed, epoch)
    return batches[: config.max_batches] if config.max_batches else batches


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: D.Split, config: TrainConfig,
                epoch: int, ctx: dist_.Context, progress: Progress, *, start: int = 0,
                stats: Tensor | None = None, stop: StopFlag | None = None) -> EpochRun:
    """One pass over the (global) training batches, from batch ``start`` on.

    Each process takes its share of every global batch. The local summed loss is scaled by
    ``world_size / global batch`` so that DDP's gradient average is the gradient of the global
    batch's mean loss, whatever the shard sizes. After every batch it checks (in every process
    together) whether the loss was finite and whether ``stop`` was requested, and returns early
    if either happened.

    Args:
        start: batches of this epoch already trained (by a run that was interrupted).
        stats: their sums (loss, correct, samples), to go on from.
        stop: the flag that asks to stop at the next batch boundary.

    Returns:
        How far it got, with the sums over the completed batches.
    """
    model.train()
    batches = _step_batches(config, len(data.train_y), epoch)
    stats = stats.clone() if stats is not None else torch.zeros(3, dtype=torch.float64)
    progress.start(f"epoch {epoch}/{config.epochs}", len(batches), done=start)
    try:
        for b in range(start, len(batches)):
            idx = batches[b]
            x_seq = D.encode(data.train_x[idx], config.T, config.encoding, D.generator(config.seed, epoch, b))
            x_seq = x_seq[:, ctx.rank :: ctx.world_size].to(ctx.device, non_blocking=True)
            y = data.train_y[idx][ctx.rank :: ctx.world_size].to(ctx.device, non_blocking=True)
            reset_state(model)
            scores = model(x_seq)
            loss_sum = F.cross_entropy(scores, y, reduction="sum")
            optimizer.zero_grad(set_to_none=True)
            (loss_sum * (ctx.world_size / len(idx))).backward()
            optimizer.step()
            loss = float(loss_sum.detach())
            stats += torch.tensor([loss, float((scores.argmax(1) == y).sum()), float(len(y))],
                                  dtype=torch.float64)
            nonfinite, stopped = dist_.any_true([not math.isfinite(loss), bool(stop)], ctx)
            if nonfinite:
                return EpochRun(len(batches), b, stats, nonfinite=(b + 1, loss))
            seen = max(float(stats[2]), 1.0)
            progress.update(loss=float(stats[0]) / seen, acc=float(stats[1]) / seen)
            if stopped:
                return EpochRun(len(batches), b + 1, stats, stopped=True)
    finally:
        progress.stop()
    return EpochRun(len(batches), len(batches), stats)


def test_batches(x: Tensor, y: Tensor, config: TrainConfig, ctx: dist_.Context,
                 batch_size: int = memory.EVAL_BATCH) -> Iterator[tuple[Tensor, Tensor]]:
    """This process's share of every test batch, encoded: ``(x_seq, labels)`` on the device.

    The Poisson noise of the test set is fixed per seed (its generator keys end in 1, training
    keys have 3 parts), so every evaluation of a run, during training or later, sees the same
    spikes.
    """
    for b, idx in enumerate(torch.arange(len(y)).split(batch_size)):
        x_seq = D.encode(x[idx], config.T, config.encoding, D.generator(config.seed, b, 0, 1))
        yield (x_seq[:, ctx.rank :: ctx.world_size].to(ctx.device),
               y[idx][ctx.rank :: ctx.world_size].to(ctx.device))


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, config: TrainConfig, ctx: dist_.Context,
             batch_size: int = memory.EVAL_BATCH, stop: StopFlag | None = None) -> tuple[float, float] | None:
    """Mean loss and accuracy on ``(x, y)``, each process scoring its share; the same noise every time.

    Returns:
        ``(loss, accuracy)``, or ``None`` when ``stop`` was requested before it finished.
    """
    model.eval()
    stats = torch.zeros(3, dtype=torch.float64)
    for x_seq, yy in test_batches(x, y, config, ctx, batch_size):
        reset_state(model)
        scores = model(x_seq)
        stats += torch.tensor([float(F.cross_entropy(scores, yy, reduction="sum")),
                               float((scores.argmax(1) == yy).sum()), float(len(yy))], dtype=torch.float64)
        if stop is not None and dist_.any_true([bool(stop)], ctx)[0]:
            reset_state(model)
            return None
    reset_state(model)  # leave no inference-time state behind
    total = dist_.all_sum(stats.to(ctx.device), ctx).cpu()
    n = max(float(total[2]), 1.0)
    return float(total[0]) / n, float(total[1]) / n


@contextlib.contextmanager
def _threads(threads: int | str | None, dataset: str, device: torch.device) -> Iterator[None]:
    """Use ``threads`` CPU threads inside the block (``'auto'``: :func:`~.defaults.default_threads`)."""
    wanted = default_threads(dataset, device.type) if threads == "auto" else threads
    if wanted is None:
        yield
        return
    if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1:
        raise ValueError(f"threads must be an integer >= 1, 'auto' or None, got {threads!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _resume_point(run_path: Path, requested: TrainConfig) -> tuple[dict[str, Any] | None, TrainConfig, int]:
    """The checkpoint to resume from (``None``: the run stopped before its first one), the config
    to go on with, and the number of epochs the run had before this call."""
    path = run_path / ckpt.CHECKPOINT
    if path.exists():
        state = ckpt.load(path)
        try:
            saved = TrainConfig.from_dict(state["config"])
        except ValueError as exc:
            raise CheckpointError(f"{path}: its config is invalid: {exc}") from None
        return state, resumed_config(saved, requested, state["epoch"], state["batch"]), saved.epochs
    try:
        saved = TrainConfig.from_dict(rundir.read_config_json(run_path))
    except ValueError as exc:
        raise ValueError(f"{run_path / 'config.json'}: {exc}") from None
    return None, resumed_config(saved, requested, 0, 0), saved.epochs


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
    threads: int | str | None = "auto",
) -> Result:
    """Train ``config`` and return the model and its per-epoch metrics.

    Under ``torchrun`` (``WORLD_SIZE > 1``) this joins the process group and trains with
    DistributedDataParallel; only rank 0 prints and writes files.

    Args:
        config: what to train. With ``resume``, the run's saved config is used; ``config`` may
            change its ``epochs`` (the learning rate then continues from the last one used, see
            :mod:`.config`) and ``data_dir``, and any other difference is an error.
        run_dir: folder for ``config.json``, metrics, ``checkpoint.pt``, ``best.pt``, ``curve.png``
            and ``activity.png`` (created, and locked for the run); ``None`` writes nothing.
        resume: continue the run in ``run_dir`` from its checkpoint, to the batch (or from its
            ``config.json`` if it stopped before its first checkpoint).
        device: ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``None`` (CUDA when available).
        progress: where to report progress (default: a silent one).
        data: the data set (default: loaded from ``config.dataset`` / ``config.data_dir``).
        plot: draw ``curve.png`` and ``activity.png`` at the end (needs matplotlib).
        on_epoch: called with each epoch's metrics (rank 0 only).
        threads: CPU threads torch uses during the call (restored afterwards): an integer,
            ``'auto'`` (:func:`~.defaults.default_threads`: 1 for the digits on the CPU) or
            ``None`` (leave torch's setting alone).

    Returns:
        The trained model, its metrics and its config.

    Raises:
        ValueError: a bad config, a resume that changes more than ``epochs``, a damaged or
            mismatched checkpoint, a bad device, or a run too large for the device's memory.
        FileNotFoundError: missing data files, or ``resume`` of a folder without a run.
        RunFolderError: the folder cannot be written, already holds a run (without ``resume``),
            or (:class:`~.errors.RunFolderInUse`) another process is training into it.
        TrainingInterrupted: Ctrl-C or SIGTERM; a checkpoint of the last completed batch was saved.
        TrainingDiverged: the loss became NaN or infinite; nothing of the diverged state was saved.
    """
    t_start = time.perf_counter()
    config.validate()
    if resume and run_dir is None:
        raise ValueError("resume needs the run folder that holds checkpoint.pt")
    ctx = dist_.setup(device)
    progress = progress if progress is not None and ctx.main else Progress(enabled=False)
    run_path = Path(run_dir) if run_dir is not None else None
    with contextlib.ExitStack() as stack:
        if run_path is not None and ctx.main:
            stack.enter_context(rundir.lock(run_path))
            removed = ckpt.remove_stale_temp_files(run_path)
            if removed:
                progress.line(f"removed {plural(len(removed), 'unfinished write')} left by a killed run "
                              f"in {run_path}")
            if not resume and rundir.holds_run(run_path):
                raise RunFolderError(f"{run_path} already holds a run; resume it or choose another folder")
        state: dict[str, Any] | None = None
        epochs_before = config.epochs
        if resume:
            assert run_path is not None  # checked above
            state, config, epochs_before = _resume_point(run_path, config)
        stack.enter_context(_threads(threads, config.dataset, ctx.device))
        return _fit(config, run_path, state, epochs_before, ctx, progress, data, plot, on_epoch, stack,
                    t_start)
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns or raises


def _fit(config: TrainConfig, run_path: Path | None, state: dict[str, Any] | None, epochs_before: int,
         ctx: dist_.Context,
         progress: Progress, data: D.Split | None, plot: bool,
         on_epoch: Callable[[dict[str, float]], None] | None, stack: contextlib.ExitStack,
         t_start: float) -> Result:
    data = data if data is not None else D.load_for_config(config)
    check_model_input(config.model, data.input_shape)
    memory.check(config, data.input_shape, data.n_classes, len(data.train_y), len(data.test_y), ctx.device)
    surrogate = config.make_surrogate()
    torch.manual_seed(config.seed)
    model = build_model(config.model, data.input_shape, data.n_classes, surrogate, neuron=config.neuron,
                        tau=config.tau, detach_reset=config.detach_reset, hidden=config.hidden,
                        channels=config.channels, backend=config.backend).to(ctx.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    folder = rundir.RunFiles(run_path if ctx.main else None, ctx.device, ctx.world_size)
    metrics: list[dict[str, float]] = []
    first, start_batch = 1, 0
    partial = torch.zeros(3, dtype=torch.float64)
    if state is not None:
        where = run_path / ckpt.CHECKPOINT if run_path is not None else "checkpoint"
        ckpt.check_model_state(state["model"], model, where)
        ckpt.check_optimizer_state(state["optimizer"], optimizer, where)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        metrics = [dict(m) for m in state["metrics"]]
        ckpt.set_rng_state(state["rng"])
        first, start_batch = int(state["epoch"]) + 1, int(state["batch"])
        if ctx.main:  # the saved sums are global: counted once, by rank 0
            partial = state["train_stats"].clone()
        folder.saved = f"epoch {state['epoch']}" + (f", batch {start_batch}" if start_batch else "")
        folder.repair(state, surrogate)  # files a kill left behind the checkpoint
    net = dist_.wrap(model, ctx)
    if state is None and run_path is not None:
        folder.write_config(config.to_dict(), surrogate)  # a run killed before its first checkpoint resumes
    progress.line(_describe(config, data, model, surrogate, ctx))
    if first > config.epochs:
        progress.line(f"nothing to do: the run in {run_path} has finished its "
                      f"{plural(config.epochs, 'epoch')}; ask for more epochs to train on")
    elif state is not None:
        at = f"in epoch {first} after batch {start_batch}" if start_batch else f"after epoch {first - 1}"
        changes = "".join(f"; epochs {epochs_before} -> {config.epochs}: the learning rate continues from "
                          f"{s['lr']:.3g} (epoch {s['from_epoch']}) towards 0 after epoch {config.epochs}"
                          for s in config.lr_segments[-1:] if config.epochs != epochs_before)
        progress.line(f"resuming {at} from {run_path}{changes}")
    stop = stack.enter_context(StopFlag().installed()) if run_path is not None else None

    for epoch in range(first, config.epochs + 1):
        t0 = time.perf_counter()
        lr = config.lr_at(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        resumed = epoch == first and start_batch > 0
        run = train_epoch(net, optimizer, data, config, epoch, ctx, progress,
                          start=start_batch if resumed else 0, stats=partial if resumed else None, stop=stop)
        if run.nonfinite is not None:
            raise TrainingDiverged(epoch, run.nonfinite[0], run.nonfinite[1], folder.kept())
        total = dist_.all_sum(run.stats.to(ctx.device), ctx).cpu()
        if stop is not None:
            if run.stopped:
                _interrupt(folder, model, optimizer, config, surrogate, metrics, epoch, run, total, stop,
                           ckpt.rng_state())
            rng_after_training = ckpt.rng_state()  # what a resume that redoes the evaluation needs
        with ActivityMonitor(model) as monitor:
            scores = evaluate(net, data.test_x, data.test_y, config, ctx, stop=stop)
        if scores is None:  # stopped during the evaluation: the resume redoes it
            assert stop is not None  # evaluate returns None only when asked to stop
            _interrupt(folder, model, optimizer, config, surrogate, metrics, epoch, run, total, stop,
                       rng_after_training)
        test_loss, test_acc = scores
        if not math.isfinite(test_loss):
            raise TrainingDiverged(epoch, None, test_loss, folder.kept(), what="test loss")
        _check_finite_weights(model, epoch, None, folder)  # a silent network can hide NaN weights
        n = max(float(total[2]), 1.0)
        activity = monitor.report(len(data.test_y),
                                  reduce=lambda t: dist_.all_sum(t.to(ctx.device), ctx).cpu())
        row = {"epoch": epoch, "lr": lr, "train_loss": float(total[0]) / n, "train_acc": float(total[1]) / n,
               "test_loss": test_loss, "test_acc": test_acc, "seconds": time.perf_counter() - t0,
               **activity.metrics()}
        metrics.append(row)
        progress.line(
            f"epoch {epoch:>{len(str(config.epochs))}}/{config.epochs}  loss {row['train_loss']:.4f}  "
            f"train {100 * row['train_acc']:5.1f}%  test {100 * test_acc:5.1f}%  ({row['seconds']:.1f} s)"
        )
        folder.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                     "batch": 0, "train_stats": torch.zeros(3, dtype=torch.float64), "rng": ckpt.rng_state(),
                     "metrics": metrics}, config, surrogate, f"epoch {epoch}")
        folder.finish_epoch(metrics)
        if on_epoch is not None and ctx.main:
            on_epoch(row)
        if stop is not None and dist_.any_true([bool(stop)], ctx)[0] and epoch < config.epochs:
            raise TrainingInterrupted(run_path or Path(), epoch, 0, run.batches, stop.signal or signal.SIGINT)
    dist_.barrier(ctx)

    seconds = time.perf_counter() - t_start
    if plot and metrics:
        note = folder.draw_curve(metrics, f"{config.dataset}, {config.model}, {surrogate!r}",
                                 redraw=first <= config.epochs)
        if note:
            progress.line(note)
    if metrics:
        top = max(metrics, key=lambda m: m["test_acc"])
        where = f"; run folder {folder.path}" if folder.path is not None else ""
        progress.line(
            f"done in {seconds:.1f} s: test accuracy {100 * metrics[-1]['test_acc']:.1f}% "
            f"(best {100 * top['test_acc']:.1f}% at epoch {int(top['epoch'])}){where}"
        )
    dist_.teardown(ctx)
    return Result(model=model, metrics=metrics, seconds=seconds, run_dir=folder.path, config=config)


def _interrupt(folder: rundir.RunFiles, model: nn.Module, optimizer: torch.optim.Optimizer,
               config: TrainConfig, surrogate: sg.Surrogate, metrics: list[dict[str, float]], epoch: int,
               run: EpochRun, total: Tensor, stop: StopFlag, rng: dict[str, Any]) -> NoReturn:
    """Save the state after the last completed batch of ``epoch`` and raise :class:`TrainingInterrupted`."""
    _check_finite_weights(model, epoch, run.done, folder)
    folder.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch - 1,
                 "batch": run.done, "train_stats": total.double(), "rng": rng, "metrics": metrics},
                config, surrogate, f"epoch {epoch - 1}, batch {run.done}")
    raise TrainingInterrupted(folder.path or Path(), epoch - 1, run.done, run.batches,
                              stop.signal or signal.SIGINT)


def _check_finite_weights(model: nn.Module, epoch: int, batch: int | None, folder: rundir.RunFiles) -> None:
    """Refuse to save weights that are not all finite (spikes of NaN potentials are 0: the loss can stay
    finite while a layer's weights are NaN)."""
    for param in model.parameters():
        if not bool(torch.isfinite(param).all()):
            bad = float(param.detach()[~torch.isfinite(param.detach())].flatten()[0])
            raise TrainingDiverged(epoch, batch, bad, folder.kept(), what="weights")


__all__ = ["ENCODINGS", "EpochRun", "Result", "TrainConfig", "evaluate", "fit", "test_batches", "train_epoch"]
