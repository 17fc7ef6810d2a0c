"""N-MNIST from its original files: one binary ``.bin`` event file per digit, in ``Train/`` and ``Test/``.

N-MNIST (Orchard et al., 2015, Frontiers in Neuroscience 9:437) is MNIST recorded by an ATIS
event camera moved in three saccades: 60,000 training and 10,000 test recordings of about 300 ms
on a 34x34 sensor, published at https://www.garrickorchard.com/datasets/n-mnist as ``Train.zip``
and ``Test.zip``, which unzip to ``Train/0/00002.bin`` ... ``Test/9/...``: the folder names the
digit.

Each event is 40 bits, big-endian: byte 0 is ``x``, byte 1 is ``y``, bit 7 of byte 2 the
polarity, and the remaining 23 bits the timestamp in microseconds. An event with ``y = 240`` is
not an event but a timestamp overflow: the timestamps after it are ``2**13`` later (as the
authors' ``Read_Ndataset.m`` reads them).

Each recording is binned over its own span, from its first event to its last (see
:mod:`.events`), into frames ``[T, 2, 34/k, 34/k]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .cache import FrameCache, Frames, cached_frames
from .events import Binning, Events, check_addresses, frames_2d

#: The sensor, ``(H, W)``.
SENSOR = (34, 34)
#: Where the data set is published.
PUBLISHED = "https://www.garrickorchard.com/datasets/n-mnist"
#: The folders of the two parts.
PARTS = {"train": "Train", "test": "Test"}
#: The ``y`` address that marks a timestamp overflow, and what it adds to the later timestamps.
OVERFLOW_Y, OVERFLOW_STEP = 240, 1 << 13
#: What the data folder must hold, in words.
FILES = "Train/0..9/*.bin and Test/0..9/*.bin"


def read_nmnist_file(path: str | Path) -> Events:
    """Read one N-MNIST (ATIS) ``.bin`` file.

    Args:
        path: the file.

    Returns:
        Its events, overflow markers applied and removed.

    Raises:
        ValueError: the file's length is not a multiple of 5 bytes (naming the file).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "1.bin")
        >>> _ = open(path, "wb").write(bytes([3, 4, 0x80, 0x01, 0x02]))  # x 3, y 4, on, t 258
        >>> read_nmnist_file(path)
        Events(t=array([258]), x=array([3]), y=array([4]), p=array([1]))
    """
    raw = np.fromfile(path, dtype=np.uint8)
    if len(raw) % 5:
        raise ValueError(f"{path}: {len(raw)} bytes is not a whole number of 5-byte events "
                         "(a damaged N-MNIST file)")
    record = raw.reshape(-1, 5).astype(np.int64)
    x, y = record[:, 0], record[:, 1]
    p = record[:, 2] >> 7
    t = ((record[:, 2] & 0x7F) << 16) | (record[:, 3] << 8) | record[:, 4]
    overflow = y == OVERFLOW_Y
    if overflow.any():
        t = t + OVERFLOW_STEP * np.cumsum(overflow)
    keep = ~overflow
    return Events(t[keep], x[keep], y[keep], p[keep])


def list_part(root: Path, part: str) -> tuple[list[Path], list[int]]:
    """The ``.bin`` files of one part and their digits, sorted by digit and name.

    Raises:
        FileNotFoundError: the part's folder is missing or holds no ``.bin`` file (one line
            saying what is expected where, and where it is published).
    """
    folder = root / PARTS[part]
    if not folder.is_dir() and (root / PARTS[part].lower()).is_dir():
        folder = root / PARTS[part].lower()
    files, labels = [], []
    for digit in range(10):
        found = sorted((folder / str(digit)).glob("*.bin"))
        files += found
        labels += [digit] * len(found)
    if not files:
        raise FileNotFoundError(
            f"nmnist: no {PARTS[part]}/0..9/*.bin event files in {root} (expected {FILES}: N-MNIST's "
            f"Train.zip and Test.zip unzipped there, published at {PUBLISHED})")
    return files, labels


def bin_file(path: Path, binning: Binning) -> torch.Tensor:
    """One recording's frames, ``[T, 2, H', W']`` uint8, over its own span."""
    events = read_nmnist_file(path)
    check_addresses(str(path), events, SENSOR[1], SENSOR[0])
    if len(events) == 0:
        return frames_2d(events, SENSOR, 0, 1, binning)
    start = int(events.t.min())
    return frames_2d(events, SENSOR, start, int(events.t.max()) - start + 1, binning)


def load_part(root: str | Path, part: str, binning: Binning, cache: FrameCache | None = None) -> Frames:
    """One part of N-MNIST, binned (from the cache when it holds them).

    Args:
        root: the folder holding ``Train/`` and ``Test/``.
        part: ``'train'`` or ``'test'``.
        binning: frames per sample and down-sampling.
        cache: the frame cache (default: :class:`~.cache.FrameCache` ()).

    Returns:
        ``[N, T, 2, ceil(34/k), ceil(34/k)]`` frames and their digits.

    Raises:
        FileNotFoundError: the part's files are missing.
        ValueError: a damaged file (named).
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
    root = Path(root)
    files, labels = list_part(root, part)

    def build() -> Frames:
        frames = torch.empty((len(files), binning.bins, 2, binning.size(SENSOR[0]), binning.size(SENSOR[1])),
                             dtype=torch.uint8)  # filled in place: no second copy of the part
        for i, path in enumerate(files):
            frames[i] = bin_file(path, binning)
        return Frames(frames, torch.tensor(labels, dtype=torch.int64))

    return cached_frames("nmnist", part, root, files, binning, build, cache or FrameCache())


__all__ = ["FILES", "PUBLISHED", "SENSOR", "bin_file", "list_part", "load_part", "read_nmnist_file"]
