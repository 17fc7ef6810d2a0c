"""Multi-process training: the same command under ``torchrun --nproc_per_node N``.

``torchrun`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`setup` reads them, joins
the process group (gloo on the CPU, nccl on CUDA) and says which device this process uses.
Every process computes the same global batches and takes every ``world_size``-th sample of
each; the loss is scaled so that DistributedDataParallel's gradient average equals the
gradient of the global batch's mean loss, as in a single process. Only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass(frozen=True)
class Context:
    """Where this process stands in a (possibly single-process) run.

    Attributes:
        rank: this process's index (0 in a single-process run).
        world_size: number of processes.
        device: the device this process trains on.
    """

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def distributed(self) -> bool:
        """Whether several processes train together."""
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """Whether this process writes files and prints (rank 0)."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value is None or value == "" else int(value)


def check_device(device: str | None) -> torch.device:
    """The device ``device`` names (``None``: CUDA when available, else the CPU).

    Raises:
        ValueError: not a device string, or CUDA asked for but unavailable.
    """
    try:
        dev = torch.device(device if device else ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError as exc:
        raise ValueError(f"device must be cpu, cuda or cuda:N, got {device!r}") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be cpu, cuda or cuda:N, got {device!r}")
    if dev.type == "cpu" and dev.index not in (None, 0):
        raise ValueError(f"device {device!r}: the CPU takes no index, use 'cpu' "
                         "(--threads sets how many cores)")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for CUDA, but torch sees no CUDA device")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: torch sees {torch.cuda.device_count()} CUDA device(s), "
                         f"numbered from 0")
    return dev


def setup(device: str | None = None) -> Context:
    """Read torchrun's environment and join the process group when ``WORLD_SIZE > 1``.

    Args:
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'`` ... or ``None`` (CUDA when available). In a
            multi-process CUDA run each process takes ``cuda:LOCAL_RANK``.

    Raises:
        ValueError: ``device`` names CUDA but none is available, or is not a device string.
    """
    dev = check_device(device)
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    if world > 1:
        local = _env_int("LOCAL_RANK", rank)
        if dev.type == "cuda":
            dev = torch.device("cuda", local)
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Context(rank=rank, world_size=world, device=dev)


def wrap(model: nn.Module, ctx: Context) -> nn.Module:
    """The model wrapped in DistributedDataParallel when several processes train."""
    if not ctx.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside a DistributedDataParallel wrapper (or the model itself)."""
    from torch.nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def all_sum(values: Tensor, ctx: Context) -> Tensor:
    """Sum a tensor of statistics over all processes (identity in a single process)."""
    if ctx.distributed:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def any_true(flags: list[bool], ctx: Context) -> list[bool]:
    """For each flag, whether it is set in any process (the flags themselves in a single process).

    Every process must call this at the same point, so that all of them take the same branch
    afterwards (stop, or go on) and none waits forever in a collective the others left.
    """
    if not ctx.distributed:
        return flags
    values = torch.tensor([float(f) for f in flags], device=ctx.device)
    dist.all_reduce(values, op=dist.ReduceOp.MAX)
    return [bool(v) for v in values.tolist()]


def env_rank() -> int:
    """This process's rank as ``torchrun`` sets it (0 outside ``torchrun``)."""
    return _env_int("RANK", 0)


def barrier(ctx: Context) -> None:
    """Wait for every process (no-op in a single process)."""
    if ctx.distributed:
        dist.barrier()


def teardown(ctx: Context) -> None:
    """Leave the process group, all processes together.

    The barrier first: rank 0 still draws the curves when the others are done, and a process
    that destroys its group and exits while a peer is still connected can abort in gloo's
    background threads ("terminate called without an active exception").
    """
    if ctx.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
