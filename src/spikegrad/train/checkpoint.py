"""Checkpoints that survive a crash and are checked before they are trusted.

A checkpoint holds only tensors and plain containers (the model's and the optimizer's
``state_dict``, the epoch and batch reached, RNG states as tensors, the config and the metrics
so far), so ``torch.load(..., weights_only=True)`` reads it without running pickled code.

**Writing** goes to a temporary file in the same folder: written, flushed, ``fsync``-ed, then
renamed over the old file with :func:`os.replace` (atomic on POSIX and Windows), and the folder
is ``fsync``-ed so that the rename itself is durable. A crash at any moment leaves the previous
checkpoint or the new one, never a torn file; the temporary file of a killed write is removed by
:func:`remove_stale_temp_files` when the next run locks the folder.

**Reading** (:func:`load`) first verifies the CRC-32 that ``torch.save``'s zip archive stores for
every member (``torch.load`` does not), so a flipped bit is an error instead of silently wrong
weights; then it checks that every entry is there with the right type.
:func:`check_model_state` and :func:`check_optimizer_state` compare the tensors with the network
the config builds, so a mismatch is one line naming the tensor, not a traceback. Every such
problem is a :class:`~spikegrad.train.errors.CheckpointError` (a ``ValueError``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import torch
from torch import Tensor, nn

from .errors import CheckpointError

#: File name of the checkpoint inside a run folder.
CHECKPOINT = "checkpoint.pt"
#: File name of the checkpoint of the epoch with the best test accuracy.
BEST = "best.pt"
#: Version of the checkpoint layout (2: per-batch resume with ``batch`` and ``train_stats``).
FORMAT = 2
#: Every checkpoint entry and the type it must have.
REQUIRED = {"model": dict, "optimizer": dict, "epoch": int, "rng": dict, "config": dict, "metrics": list}


# --------------------------------------------------------------------------- writing


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically (temp file, fsync, rename, fsync of the folder).

    The archive always carries CRC-32s, whatever ``torch.serialization.set_crc32_options`` says,
    so that :func:`load` can verify it.

    Args:
        obj: what to save (tensors and plain containers, to be loadable with ``weights_only``).
        path: destination; its folder must exist.
    """
    with _crc32_on():
        _atomic_write(path, "wb", lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path: str | Path) -> None:
    """Write a text file atomically (same scheme as :func:`atomic_save`)."""
    _atomic_write(path, "w", lambda f: f.write(text))


def atomic_copy(source: str | Path, path: str | Path) -> None:
    """Make ``path`` an atomic, durable copy of the finished file ``source``.

    A hard link when the file system allows one (no bytes copied: ``source`` is only ever
    replaced by renaming, never rewritten in place, so the link keeps today's content),
    else a copy; either way written beside ``path`` and renamed over it.
    """
    path = Path(path)
    fd, tmp = _temp_beside(path)
    os.close(fd)
    try:
        os.unlink(tmp)
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _atomic_write(path: str | Path, mode: str, write: Callable[[IO[Any]], object]) -> None:
    path = Path(path)
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        # Whatever went wrong (full disk, a second Ctrl-C), the old file stays untouched.
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in ``path``'s folder, with the permissions a plain ``open`` would give."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)  # mkstemp makes the file private (0600); a run's files should not be
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(tmp, 0o666 & ~umask)
    return fd, tmp


def _fsync_dir(folder: Path) -> None:
    # Make the rename itself durable; not possible (nor needed) on every platform.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _crc32_on() -> Iterator[None]:
    get = getattr(torch.serialization, "get_crc32_options", None)
    if get is None or get():  # older torch always writes CRC-32s
        yield
        return
    torch.serialization.set_crc32_options(True)
    try:
        yield
    finally:
        torch.serialization.set_crc32_options(False)


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files that killed writes left in ``folder``; return what was removed.

    Only call this while holding the folder's lock (:func:`spikegrad.train.rundir.lock`): a
    temporary file of a living writer would otherwise vanish under it.
    """
    removed = []
    for path in Path(folder).glob(".*.tmp"):
        if path.is_file():
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


# --------------------------------------------------------------------------- reading and checking


def verify_archive(path: str | Path) -> None:
    """Check every member of ``torch.save``'s zip archive against the CRC-32 stored with it.

    An archive written without CRC-32s (``torch.serialization.set_crc32_options(False)``: every
    stored CRC is 0) cannot be verified and is accepted.

    Raises:
        CheckpointError: not a zip archive, a damaged directory, or a member whose bytes changed.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if all(m.CRC == 0 for m in members if m.file_size):
                return
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint (damaged zip archive: {exc})") from None
    if bad is not None:
        raise CheckpointError(f"{path} is damaged: its member {bad} fails its CRC-32 check")


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a training checkpoint: CRC-32s verified, ``weights_only=True``, every entry type-checked.

    Args:
        path: the checkpoint file.
        map_location: where to put its tensors.

    Returns:
        The checkpoint's dict, with ``batch`` and ``train_stats`` filled in for checkpoints
        written at an epoch boundary by older versions.

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        CheckpointError: a damaged file, not a training checkpoint, or an entry missing or of the
            wrong type (one line naming it; a ``ValueError``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    verify_archive(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        raise CheckpointError(f"{path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(state, dict) or "epoch" not in state or "model" not in state:
        raise CheckpointError(f"{path} is not a spikegrad training checkpoint")
    state.setdefault("batch", 0)
    state.setdefault("train_stats", torch.zeros(3, dtype=torch.float64))
    check_entries(state, path)
    return state


def check_entries(state: dict[str, Any], where: str | Path = "checkpoint") -> None:
    """Check that every entry of a checkpoint is present and of the right type and range.

    Raises:
        CheckpointError: the first problem, naming the entry.
    """
    for key, kind in REQUIRED.items():
        if key not in state:
            raise CheckpointError(f"{where}: missing {key!r} (a training checkpoint holds "
                                  f"{', '.join(REQUIRED)})")
        value = state[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            article = {int: "an integer", dict: "a dict", list: "a list"}[kind]
            raise CheckpointError(f"{where}: {key!r} must be {article}, "
                                  f"got {type(value).__name__} {value!r:.60}")
    for key in ("epoch", "batch"):
        if not isinstance(state[key], int) or isinstance(state[key], bool) or state[key] < 0:
            raise CheckpointError(f"{where}: {key!r} must be an integer >= 0, got {state[key]!r:.60}")
    if not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state["model"].items()):
        raise CheckpointError(f"{where}: 'model' must map parameter names to tensors")
    optimizer = state["optimizer"]
    if not (isinstance(optimizer.get("state"), dict) and isinstance(optimizer.get("param_groups"), list)):
        raise CheckpointError(f"{where}: 'optimizer' must be an optimizer state_dict (with 'state' and "
                              "'param_groups')")
    stats = state["train_stats"]
    if not (isinstance(stats, Tensor) and stats.dtype == torch.float64 and stats.shape == (3,)):
        raise CheckpointError(f"{where}: 'train_stats' must be a float64 tensor of shape (3,)")
    if len(state["metrics"]) != state["epoch"] or not all(isinstance(m, dict) for m in state["metrics"]):
        raise CheckpointError(f"{where}: 'metrics' must hold one dict per completed epoch "
                              f"({state['epoch']}), got {len(state['metrics'])} entries")
    check_rng_state(state["rng"], where)


def check_model_state(saved: Mapping[str, Tensor], model: nn.Module,
                      where: str | Path = "checkpoint") -> None:
    """Compare saved weights with ``model``'s: the same names, shapes and dtypes.

    Raises:
        CheckpointError: the first missing, unexpected or mismatched tensor, named.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in saved]
    extra = [k for k in saved if k not in expected]
    if missing or extra:
        what = f"lacks {missing[0]!r}" if missing else f"has {extra[0]!r}, which the network does not"
        raise CheckpointError(f"{where}: the saved model {what}; it was not saved from a network of "
                              "this config")
    for key, value in expected.items():
        got = saved[key]
        if got.shape != value.shape or got.dtype != value.dtype:
            raise CheckpointError(f"{where}: model tensor {key!r} is {got.dtype} {tuple(got.shape)}, "
                                  f"the config's network needs {value.dtype} {tuple(value.shape)}")


def check_optimizer_state(saved: Mapping[str, Any], optimizer: torch.optim.Optimizer,
                          where: str | Path = "checkpoint") -> None:
    """Compare a saved optimizer ``state_dict`` with ``optimizer``: groups, parameters, state shapes.

    Raises:
        CheckpointError: the first mismatch, named.
    """
    groups = optimizer.param_groups
    saved_groups = saved["param_groups"]
    if len(saved_groups) != len(groups) or any(
            not isinstance(s, dict) or not isinstance(s.get("params"), list)
            or len(s["params"]) != len(g["params"]) for s, g in zip(saved_groups, groups, strict=False)):
        raise CheckpointError(f"{where}: the optimizer state does not match the network's parameters")
    params = [p for g in groups for p in g["params"]]
    ids = [i for s in saved_groups for i in s["params"]]
    for index, param in zip(ids, params, strict=True):
        entry = saved["state"].get(index, {})
        if not isinstance(entry, dict):
            raise CheckpointError(f"{where}: optimizer state of parameter {index} must be a dict")
        for name, value in entry.items():
            if not isinstance(value, Tensor):
                continue
            if value.dim() and value.shape != param.shape:
                raise CheckpointError(f"{where}: optimizer state {name!r} of parameter {index} has shape "
                                      f"{tuple(value.shape)}, the parameter {tuple(param.shape)}")
            if not bool(torch.isfinite(value).all()):
                raise CheckpointError(f"{where}: optimizer state {name!r} of parameter {index} is not finite")


# --------------------------------------------------------------------------- random number generators


def rng_state() -> dict[str, Any]:
    """The global RNG states as tensors (CPU, and every CUDA device when available)."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def check_rng_state(state: Any, where: str | Path = "checkpoint") -> None:
    """Check what :func:`rng_state` returned (after a round trip through a file).

    Raises:
        CheckpointError: not a dict of uint8 tensors of the sizes torch's generators use.
    """
    size = torch.get_rng_state().numel()
    cpu = state.get("torch") if isinstance(state, dict) else None
    if not (isinstance(cpu, Tensor) and cpu.dtype == torch.uint8 and cpu.shape == (size,)):
        raise CheckpointError(f"{where}: 'rng' must hold the CPU generator's state, "
                              f"a uint8 tensor of {size} bytes")
    cuda = state.get("cuda", [])
    if not (isinstance(cuda, list) and all(isinstance(t, Tensor) and t.dtype == torch.uint8 for t in cuda)):
        raise CheckpointError(f"{where}: 'rng' holds a malformed CUDA generator state")


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned.

    Raises:
        CheckpointError: a malformed state (see :func:`check_rng_state`).
    """
    check_rng_state(state)
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        cuda = state["cuda"][: torch.cuda.device_count()]
        for device, cuda_state in enumerate(cuda):
            torch.cuda.set_rng_state(cuda_state, device)


__all__ = ["BEST", "CHECKPOINT", "FORMAT", "atomic_copy", "atomic_save", "atomic_write_text",
           "check_entries", "check_model_state", "check_optimizer_state", "check_rng_state", "load",
           "remove_stale_temp_files", "rng_state", "set_rng_state", "verify_archive"]
