"""Run folders: one writer at a time, checked before anything is written; the files of a run.

A training run owns its folder for its whole life through an exclusive lock on the file
``.lock`` inside it (``flock`` on POSIX, ``msvcrt.locking`` on Windows). The operating system
releases the lock when the process ends, however it ends (``kill -9`` included), so a crashed
run never leaves a stale lock behind, and a second training into the same folder, new or
``--resume``, is refused at once with the first one's process id. The lock file itself is never
deleted (deleting it would let two processes lock two different files of the same name).

Locking is re-entrant within one process: ``spikegrad train`` locks the folder before it reads
the checkpoint, and :func:`~spikegrad.train.loop.fit` locks it again for the run.

:class:`RunFiles` writes a run's files in an order that a kill at any moment cannot corrupt:
``checkpoint.pt`` first (the truth a resume starts from), then ``config.json``, the metrics and
``best.pt``, each atomically; a resumed run first brings whatever a kill left behind in line with
the checkpoint (:meth:`RunFiles.repair`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import torch

from . import checkpoint as ckpt
from .errors import RunFolderError, RunFolderInUse

#: The lock file inside a run folder.
LOCK = ".lock"
#: The files that mean a folder holds a run.
RUN_FILES = ("checkpoint.pt", "config.json")

# Locks this process holds: resolved folder -> (open lock file, depth).
_held: dict[Path, tuple[IO[str], int]] = {}


def create(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed and check that it is a writable folder.

    Raises:
        RunFolderError: it is a file, lies under a file, or cannot be created or written (one line).
    """
    path = Path(folder)
    if str(folder) == "":
        raise RunFolderError("the run folder must be a path, got ''")
    if path.exists() and not path.is_dir():
        raise RunFolderError(f"{path} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(f"cannot create the run folder {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise RunFolderError(f"cannot write to the run folder {path}: permission denied")
    return path


@contextmanager
def lock(folder: str | Path) -> Iterator[Path]:
    """Hold the run folder's lock for the ``with`` block (creating the folder first).

    Args:
        folder: the run folder.

    Yields:
        The folder, as a path.

    Raises:
        RunFolderInUse: another process holds the lock (the message gives its process id).
        RunFolderError: the folder cannot be created or written.
    """
    path = create(folder)
    key = path.resolve()
    if key in _held:
        handle, depth = _held[key]
        _held[key] = handle, depth + 1
    else:
        try:
            handle = open(path / LOCK, "a+", encoding="ascii")  # held for the whole run
        except OSError as exc:
            raise RunFolderError(f"cannot write to the run folder {path}: {exc.strerror or exc}") from None
        if not _try_lock(handle):
            owner = _read_owner(handle)
            handle.close()
            raise RunFolderInUse(f"{path} is in use by another training{owner}; wait for it to finish "
                                 "or choose another folder")
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _held[key] = handle, 1
    try:
        yield path
    finally:
        handle, depth = _held[key]
        if depth > 1:
            _held[key] = handle, depth - 1
        else:
            del _held[key]
            handle.close()  # closing the file releases the lock


def _try_lock(handle: IO[str]) -> bool:
    """Take an exclusive, non-blocking lock on the open file; ``False`` if another process holds it."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_owner(handle: IO[str]) -> str:
    try:
        handle.seek(0)
        pid = int(handle.read().strip())
    except (OSError, ValueError):
        return ""
    return f" (process {pid})"


def holds_run(folder: str | Path) -> bool:
    """Whether ``folder`` holds the files of a run (a checkpoint or a config)."""
    return any((Path(folder) / name).exists() for name in RUN_FILES)


def read_config_json(folder: str | Path) -> dict[str, Any]:
    """The run's ``config.json`` as a dict (it also records the device, processes and imports).

    Raises:
        FileNotFoundError: no ``config.json`` in the folder.
        ValueError: it is not a JSON object.
    """
    path = Path(folder) / "config.json"
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no run in {folder} (no checkpoint.pt and no config.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(values).__name__}")
    return values


class RunFiles:
    """The files of one run folder: config, checkpoints, metrics, the curve (no-ops without a folder).

    Args:
        path: the run folder, or ``None`` for a process that writes nothing (not rank 0, no folder).
        device: recorded in ``config.json``.
        world_size: recorded in ``config.json``.

    Attributes:
        saved: what ``checkpoint.pt`` holds, in words (``epoch 3, batch 5``), ``''`` if nothing yet.
        best: what ``best.pt`` holds, in words.
    """

    def __init__(self, path: Path | None, device: torch.device, world_size: int = 1) -> None:
        self.path, self.device, self.world_size = path, device, world_size
        self.saved = ""
        self.best = ""

    def write_config(self, config: dict[str, Any], surrogate: torch.nn.Module) -> None:
        """Write ``config.json``: the config (a dict), the device, the processes, and where a custom
        surrogate is defined."""
        if self.path is None:
            return
        info: dict[str, Any] = {**config, "device": str(self.device), "world_size": self.world_size}
        module = type(surrogate).__module__
        if not module.startswith("spikegrad."):
            info["surrogate_module"] = module  # what ``--import`` must load again to resume
        ckpt.atomic_write_text(json.dumps(info, indent=2) + "\n", self.path / "config.json")

    def save(self, state: dict[str, Any], config: Any, surrogate: torch.nn.Module, where: str) -> None:
        """Save a checkpoint (``state`` plus the config), then ``config.json``."""
        if self.path is None:
            return
        ckpt.atomic_save({**state, "format": ckpt.FORMAT, "config": config.to_dict()},
                         self.path / ckpt.CHECKPOINT)
        self.write_config(config.to_dict(), surrogate)
        self.saved = where

    def finish_epoch(self, metrics: list[dict[str, float]]) -> None:
        """After an epoch's checkpoint: the metrics files, and ``best.pt`` if the epoch is the best so far."""
        if self.path is None:
            return
        self._write_metrics(metrics)
        if _best_epoch(metrics) == metrics[-1]["epoch"]:
            ckpt.atomic_copy(self.path / ckpt.CHECKPOINT, self.path / ckpt.BEST)
        self._describe_best(metrics)

    def repair(self, state: dict[str, Any], surrogate: torch.nn.Module) -> None:
        """Bring the files a kill may have left behind the checkpoint ``state`` in line with it.

        The checkpoint is written first, so a kill right after it leaves an older ``config.json``,
        metrics or ``best.pt``; each is rewritten only if it differs, so a consistent folder is not
        touched.
        """
        if self.path is None:
            return
        try:
            written = {k: v for k, v in read_config_json(self.path).items() if k in state["config"]}
        except (FileNotFoundError, ValueError):
            written = None
        if written != state["config"]:
            self.write_config(state["config"], surrogate)
        metrics = state["metrics"]
        try:
            current = json.loads((self.path / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = None
        if metrics and current != metrics:
            self._write_metrics(metrics)
        best = _best_epoch(metrics)
        if best is not None and best == state["epoch"] and state["batch"] == 0:
            try:
                current_best = ckpt.load(self.path / ckpt.BEST)["epoch"]
            except (FileNotFoundError, ValueError):
                current_best = None
            if current_best != best:
                ckpt.atomic_copy(self.path / ckpt.CHECKPOINT, self.path / ckpt.BEST)
        self._describe_best(metrics)

    def draw_curve(self, metrics: list[dict[str, float]], title: str, redraw: bool) -> str:
        """Draw ``curve.png`` and ``activity.png`` if epochs ran (or one is missing or older than the
        checkpoint); return a note."""
        if self.path is None or not metrics:
            return ""
        from .report import plot_activity, plot_curve

        checkpoint = self.path / ckpt.CHECKPOINT
        for name, draw in (("curve.png", plot_curve), ("activity.png", plot_activity)):
            figure = self.path / name
            stale = not figure.exists() or (checkpoint.exists()
                                            and figure.stat().st_mtime < checkpoint.stat().st_mtime)
            if not (redraw or stale):
                continue
            try:
                draw(metrics, figure, title=title)
            except ImportError:
                return f"{name} skipped: matplotlib is not installed (pip install matplotlib)"
        return ""

    def kept(self) -> str:
        """What stays on disk to roll back to, in one sentence (for :class:`.errors.TrainingDiverged`)."""
        if self.path is None:
            return ""
        if not self.saved:
            return f"Nothing was saved in {self.path}"
        return f"{self.path / ckpt.CHECKPOINT} holds the last good state ({self.saved})" + (
            f"; {self.best}" if self.best else "")

    def _write_metrics(self, metrics: list[dict[str, float]]) -> None:
        from .report import metrics_csv

        assert self.path is not None
        ckpt.atomic_write_text(json.dumps(metrics, indent=2) + "\n", self.path / "metrics.json")
        ckpt.atomic_write_text(metrics_csv(metrics), self.path / "metrics.csv")

    def _describe_best(self, metrics: list[dict[str, float]]) -> None:
        best = _best_epoch(metrics)
        if best is not None:
            accuracy = next(m["test_acc"] for m in metrics if m["epoch"] == best)
            self.best = f"{ckpt.BEST} holds epoch {best} (test {100 * accuracy:.1f}%)"


def _best_epoch(metrics: list[dict[str, float]]) -> int | None:
    """The epoch with the highest test accuracy (the first, on ties)."""
    if not metrics:
        return None
    return int(max(metrics, key=lambda m: m["test_acc"])["epoch"])


__all__ = ["LOCK", "RUN_FILES", "RunFiles", "create", "holds_run", "lock", "read_config_json"]
