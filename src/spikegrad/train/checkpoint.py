"""Checkpoints that survive a crash: written atomically, read back with ``weights_only=True``.

A checkpoint holds only tensors and plain containers (the model's and the optimizer's
``state_dict``, the epoch, RNG states as tensors, the config and the metrics so far), so
``torch.load(..., weights_only=True)`` can read it without running pickled code.

Writing goes to a temporary file in the same folder, which is flushed and ``fsync``-ed, then
renamed over the old checkpoint with :func:`os.replace` (atomic on POSIX and Windows). A crash at
any moment leaves either the previous checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

#: File name of the checkpoint inside a run folder.
CHECKPOINT = "checkpoint.pt"


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically (temp file, fsync, rename).

    Args:
        obj: what to save (tensors and plain containers, to be loadable with ``weights_only``).
        path: destination; its folder must exist.
    """
    _atomic_write(path, "wb", lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path: str | Path) -> None:
    """Write a text file atomically (same scheme as :func:`atomic_save`)."""
    _atomic_write(path, "w", lambda f: f.write(text))


def _atomic_write(path: str | Path, mode: str, write: Callable[[IO[Any]], object]) -> None:
    path = Path(path)
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Whatever went wrong (full disk, KeyboardInterrupt), the old file stays untouched.
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in ``path``'s folder, with the permissions a plain ``open`` would give."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)  # mkstemp makes the file private (0600); a run's files should not be
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)
    except OSError:
        pass
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


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        ValueError: the file is not a readable checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        raise ValueError(f"{path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(state, dict) or "epoch" not in state or "model" not in state:
        raise ValueError(f"{path} is not a spikegrad training checkpoint")
    return state


def rng_state() -> dict[str, Any]:
    """The global RNG states as tensors (CPU, and every CUDA device when available)."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
