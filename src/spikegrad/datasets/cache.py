"""An on-disk cache of binned frames, so that events are read once per data set and binning.

Reading and binning events is slow (N-MNIST is 70,000 files); the frames it gives are small. Each
part of a data set (``train``, ``test``) binned with one :class:`~.events.Binning` is saved as one
file, ``{name}-{part}-{binning}-{folder}-{files}.pt``, where ``folder`` is a hash of the data
folder's path and ``files`` a hash of the name, size and modification time of every file the part
is read from. So:

* the second epoch and the second run load the frames (memory-mapped) instead of the events;
* changing a file of the data set (or its size or date) or the binning misses the cache, and
  the frames are binned again; an entry whose files changed is deleted when its replacement is
  written, entries of other binnings are kept;
* a damaged entry is binned again, never trusted.

The cache lives in ``$SPIKEGRAD_CACHE`` when that is set, else in ``.spikegrad-cache`` inside the
data folder, else (a read-only data folder) in ``~/.cache/spikegrad`` (``$XDG_CACHE_HOME``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .events import Binning

#: Environment variable naming the cache folder.
CACHE_ENV = "SPIKEGRAD_CACHE"
#: Name of the cache folder inside a writable data folder.
CACHE_FOLDER = ".spikegrad-cache"
#: Version of the cached layout: a new version never reads an older entry.
FORMAT = 1


@dataclass(frozen=True)
class Frames:
    """One part (train or test) of an event data set, binned into frames.

    Attributes:
        frames: ``[N, T, *sample]`` uint8 event counts (``[N, T, 2, H, W]`` for a camera,
            ``[N, T, C]`` for a cochlea).
        labels: ``[N]`` int64 class indices.
    """

    frames: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class FrameCache:
    """Where binned frames are cached, and how the loaders say what they do.

    Attributes:
        folder: the cache folder (``None``: ``$SPIKEGRAD_CACHE``, else inside the data folder,
            else the user's cache folder).
        note: called with one line when events are binned or a cache entry is replaced
            (``None``: silent).
        enabled: ``False`` bins the events on every call and writes nothing.
    """

    folder: Path | None = None
    note: Callable[[str], None] | None = None
    enabled: bool = True

    def say(self, text: str) -> None:
        """Pass one line to :attr:`note`."""
        if self.note is not None:
            self.note(text)


def cache_folder(data_dir: Path, cache: FrameCache) -> Path | None:
    """The folder entries of ``data_dir`` go to (created), or ``None`` when none can be written."""
    env = os.environ.get(CACHE_ENV)
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spikegrad"
    candidates = [cache.folder] if cache.folder is not None else (
        [Path(env)] if env else [data_dir / CACHE_FOLDER, home])
    for folder in candidates:
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK | os.X_OK):
                return folder
    return None


def fingerprint(files: Iterable[Path], root: Path) -> str:
    """A hash of each file's path (relative to ``root``), size and modification time, in order.

    Raises:
        FileNotFoundError: a file is missing.
    """
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cached_frames(name: str, part: str, data_dir: Path, files: list[Path], binning: Binning,
                  build: Callable[[], Frames], cache: FrameCache) -> Frames:
    """The frames of one part: from the cache when it holds them for these files and options, else built.

    Args:
        name: the data set (``nmnist``).
        part: ``train`` or ``test``.
        data_dir: the data folder (``files`` lie under it).
        files: every file the part is read from (their sizes and dates key the entry).
        binning: the binning (keys the entry).
        build: reads the events and bins them (called on a miss).
        cache: where entries live, and whom to tell.

    Returns:
        The frames; memory-mapped from the cache file on a hit.
    """
    folder = cache_folder(data_dir, cache) if cache.enabled else None
    if folder is None:
        if cache.enabled:
            cache.say(f"{name}: no writable cache folder; binning the {part} events on every run")
        return build()
    place = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]
    content = fingerprint(files, data_dir)
    path = folder / f"{name}-{part}-{binning.key}-{place}-{content}.pt"
    meta = {"format": FORMAT, "name": name, "part": part, "bins": binning.bins,
            "downsample": binning.downsample, "files": content}
    if path.exists():
        frames = _read(path, meta)
        if frames is not None:
            return frames
        cache.say(f"{name}: the cached {part} frames in {path} are damaged; binning the events again")
    else:
        cache.say(f"{name}: binning the {part} events into {binning.bins} frames "
                  f"(down-sampling {binning.downsample}); cached in {folder} for the next runs")
    frames = build()
    try:
        _write(path, {**meta, "frames": frames.frames, "labels": frames.labels})
    except OSError as exc:
        cache.say(f"{name}: could not cache the {part} frames in {folder}: {exc.strerror or exc}")
        return frames
    for stale in folder.glob(f"{name}-{part}-*-{place}-*.pt"):
        if not stale.name.endswith(f"-{content}.pt"):  # its files changed since: never valid again
            with contextlib.suppress(OSError):
                stale.unlink()
    return frames


def _read(path: Path, meta: dict[str, object]) -> Frames | None:
    """The entry at ``path`` if it is whole and matches ``meta``, else ``None``."""
    try:
        entry = torch.load(path, mmap=True, weights_only=True, map_location="cpu")
    except Exception:  # a damaged zip archive raises several types; any of them means "bin again"
        return None
    if not isinstance(entry, dict) or any(entry.get(k) != v for k, v in meta.items()):
        return None
    frames, labels = entry.get("frames"), entry.get("labels")
    if not (isinstance(frames, Tensor) and isinstance(labels, Tensor) and frames.dtype == torch.uint8
            and labels.dtype == torch.int64 and frames.dim() >= 3 and labels.shape == frames.shape[:1]
            and frames.shape[1] == meta["bins"]):
        return None
    return Frames(frames, labels)


def _write(path: Path, entry: dict[str, object]) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(entry, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["CACHE_ENV", "CACHE_FOLDER", "FORMAT", "FrameCache", "Frames", "cache_folder", "cached_frames",
           "fingerprint"]
