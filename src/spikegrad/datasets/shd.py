"""The Spiking Heidelberg Digits (SHD) from their original HDF5 files ``shd_train.h5`` and ``shd_test.h5``.

SHD (Cramer et al., 2020, IEEE TNNLS 33:2744) holds spoken digits, zero to nine in English
(labels 0-9) and German (labels 10-19), turned into spikes of 700 channels by a model of the
inner ear: 8,156 training and 2,264 test recordings, published (gzipped) at
https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/. Each file holds
``spikes/times`` (one array of spike times in seconds per recording), ``spikes/units`` (the
channel, 0..699, of each spike) and ``labels``.

Recordings last up to about 1.4 s; every one is binned over the same window, ``[0, 1.4 s)``
(as in the data set's paper and Zenke's tutorials; spikes at or after 1.4 s count in the last
frame), into frames ``[T, ceil(700 / k)]``: ``k`` neighbouring channels are pooled into one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from .cache import FrameCache, Frames, cached_frames
from .events import Binning, Events, check_addresses, frames_1d

#: Channels of the cochlea model.
CHANNELS = 700
#: The window every recording is binned over, in microseconds.
WINDOW_US = 1_400_000
#: Where the data set is published.
PUBLISHED = "https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/"
#: The file of each part.
PARTS = {"train": "shd_train.h5", "test": "shd_test.h5"}
#: The classes, by label.
CLASSES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
           "null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun")
#: What the data folder must hold, in words.
FILES = "shd_train.h5 and shd_test.h5"


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise ImportError("SHD's HDF5 files are read with h5py: pip install h5py "
                          "(or pip install -e '.[train]' in a checkout of spikegrad)") from None
    return h5py


def part_file(data_dir: str | Path, part: str) -> Path:
    """The HDF5 file of one part.

    Raises:
        FileNotFoundError: it is missing (one line saying what is expected where, where it is
            published, and to unzip a ``.gz`` found instead).
    """
    path = Path(data_dir) / PARTS[part]
    if path.is_file():
        return path
    gz = path.with_name(path.name + ".gz")
    if gz.is_file():
        raise FileNotFoundError(f"shd: {path} is missing but {gz.name} is there; unzip it first "
                                f"(gunzip -k {gz})")
    raise FileNotFoundError(f"shd: no {path.name} in {data_dir} (expected {FILES}, published gzipped at "
                            f"{PUBLISHED}; gunzip them there)")


def read_shd(path: str | Path) -> tuple[list[Events], np.ndarray]:
    """Read an SHD HDF5 file: each recording's spikes (``x``: channel, ``t``: microseconds) and the labels.

    Raises:
        ValueError: a missing dataset in the file, recordings and labels of different counts,
            or spike times that are not finite and >= 0 (naming the file).
    """
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            times, units, labels = f["spikes/times"][:], f["spikes/units"][:], np.asarray(f["labels"][:])
    except KeyError as exc:
        raise ValueError(f"{path}: not an SHD file ({exc}; it must hold spikes/times, spikes/units and "
                         "labels)") from None
    except OSError as exc:
        raise ValueError(f"{path}: not a readable HDF5 file ({exc})") from None
    if not len(times) == len(units) == len(labels):
        raise ValueError(f"{path}: {len(times)} spike-time arrays, {len(units)} unit arrays and "
                         f"{len(labels)} labels; they must match")
    recordings = []
    for i, (t, x) in enumerate(zip(times, units, strict=True)):
        t = np.asarray(t, dtype=np.float64)
        if len(t) != len(x):
            raise ValueError(f"{path}: recording {i} has {len(t)} spike times but {len(x)} units")
        if not np.all(np.isfinite(t) & (t >= 0)):
            raise ValueError(f"{path}: recording {i} holds spike times that are not finite and >= 0")
        channel = np.asarray(x, dtype=np.int64)
        zeros = np.zeros_like(channel)
        recordings.append(Events(np.rint(t * 1e6).astype(np.int64), channel, zeros, zeros))
    return recordings, labels.astype(np.int64)


def load_part(data_dir: str | Path, part: str, binning: Binning, cache: FrameCache | None = None) -> Frames:
    """One part of SHD, binned over ``[0, 1.4 s)`` (from the cache when it can).

    Args:
        data_dir: the folder holding ``shd_train.h5`` and ``shd_test.h5``.
        part: ``'train'`` or ``'test'``.
        binning: frames per sample and channel pooling.
        cache: the frame cache (default: :class:`~.cache.FrameCache` ()).

    Returns:
        ``[N, T, ceil(700/k)]`` frames and their labels.

    Raises:
        FileNotFoundError: the part's file is missing.
        ValueError: a damaged file, a channel outside 0..699 or a label outside 0..19 (named).
        ImportError: h5py is not installed.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
    data_dir = Path(data_dir)
    path = part_file(data_dir, part)

    def build() -> Frames:
        recordings, labels = read_shd(path)
        bad = (labels < 0) | (labels >= len(CLASSES))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{path}: label {int(labels[i])} at index {i} is outside 0..{len(CLASSES) - 1}")
        frames = torch.empty((len(recordings), binning.bins, binning.size(CHANNELS)), dtype=torch.uint8)
        for i, events in enumerate(recordings):
            check_addresses(f"{path}: recording {i}", events, CHANNELS)
            frames[i] = frames_1d(events, CHANNELS, 0, WINDOW_US, binning)
        return Frames(frames, torch.from_numpy(labels))

    return cached_frames("shd", part, data_dir, [path], binning, build, cache or FrameCache())


__all__ = ["CHANNELS", "CLASSES", "FILES", "PARTS", "PUBLISHED", "WINDOW_US", "load_part", "part_file",
           "read_shd"]
