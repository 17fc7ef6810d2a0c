"""Event streams and the one rule that bins them into frames.

An event camera (DVS, ATIS) or a silicon cochlea emits *events*: a timestamp ``t``, an address
(a pixel ``x, y`` and a polarity ``p``, or a channel) and nothing else. A network trained with
surrogate gradients runs on ``T`` discrete steps, so each sample's events are counted into ``T``
frames. The rule, the same for every data set:

.. math::

    F[j, c] = \\#\\{\\, i : \\lfloor (t_i - t_0)\\, T / D \\rfloor = j,\\ \\text{cell}(i) = c \\,\\}

for the sample's window ``[t_0, t_0 + D)`` (timestamps in integer microseconds), with events at
or past its end counted in the last frame. ``cell`` is the event's polarity and pixel, both pixel
coordinates divided by the down-sampling factor ``k`` (``k x k`` pixels pooled into one), or its
channel divided by ``k`` for a 1-D sensor. Counts saturate at 255 (frames are stored as uint8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

#: Frames are stored as uint8 counts: a cell counts at most this many events per frame.
MAX_COUNT = 255


class Events(NamedTuple):
    """The events of one recording, as numpy arrays of equal length.

    Attributes:
        t: timestamps in microseconds (int64).
        x: column (int64), or the channel of a 1-D sensor.
        y: row (int64; zeros for a 1-D sensor).
        p: polarity, 0 (off) or 1 (on) (int64; zeros for a sensor without polarity).
    """

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray

    def __len__(self) -> int:  # type: ignore[override]
        return len(self.t)

    def select(self, mask: np.ndarray) -> Events:
        """The events where ``mask`` is true."""
        return Events(self.t[mask], self.x[mask], self.y[mask], self.p[mask])


@dataclass(frozen=True)
class Binning:
    """How events become frames: the number of time bins and the spatial down-sampling.

    Attributes:
        bins: frames per sample (``T``, the network's time steps), >= 1.
        downsample: ``k``: ``k x k`` pixels (or ``k`` channels) pooled into one, >= 1.

    Raises:
        ValueError: either is not an integer >= 1.

    Example:
        >>> Binning(bins=16, downsample=2).key
        'T16-k2'
    """

    bins: int
    downsample: int = 1

    def __post_init__(self) -> None:
        for name in ("bins", "downsample"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")

    @property
    def key(self) -> str:
        """The options in a file name: ``T16-k2``."""
        return f"T{self.bins}-k{self.downsample}"

    def size(self, n: int) -> int:
        """How many cells ``n`` pixels (or channels) become: ``ceil(n / k)``."""
        return math.ceil(n / self.downsample)


def time_bins(t: np.ndarray, start: int, duration: int, bins: int) -> np.ndarray:
    """The frame of each timestamp: ``floor((t - start) * bins / duration)`` within ``[0, bins)``.

    Args:
        t: timestamps in microseconds (integers).
        start: the window's start.
        duration: the window's length in microseconds, >= 1.
        bins: the number of frames.

    Returns:
        int64 frame indices; timestamps before the window go to frame 0, at or past its end to the last.

    Example:
        >>> time_bins(np.array([0, 24, 25, 99, 150]), start=0, duration=100, bins=4).tolist()
        [0, 0, 1, 3, 3]
    """
    index = (t.astype(np.int64) - start) * bins // max(int(duration), 1)
    return np.clip(index, 0, bins - 1)


def count_frames(frame: np.ndarray, cell: np.ndarray, bins: int, cells: int) -> np.ndarray:
    """Count events per ``(frame, cell)``: a ``[bins, cells]`` uint8 array, saturated at 255."""
    counts = np.bincount(frame * cells + cell, minlength=bins * cells)
    return np.minimum(counts, MAX_COUNT).astype(np.uint8).reshape(bins, cells)


def frames_2d(events: Events, sensor: tuple[int, int], start: int, duration: int, binning: Binning) -> Tensor:
    """Bin one sample of a 2-D sensor with polarity into ``[T, 2, H', W']`` uint8 frames.

    Args:
        events: the sample's events (``0 <= x < W``, ``0 <= y < H``, ``p`` in {0, 1}).
        sensor: ``(H, W)``.
        start: the window's start in microseconds.
        duration: the window's length in microseconds.
        binning: bins and down-sampling.

    Returns:
        Channel 0 counts the off events, channel 1 the on events;
        ``H' = ceil(H / k)``, ``W' = ceil(W / k)``.
    """
    h, w = binning.size(sensor[0]), binning.size(sensor[1])
    k = binning.downsample
    cell = (events.p * h + events.y // k) * w + events.x // k
    frame = time_bins(events.t, start, duration, binning.bins)
    return torch.from_numpy(count_frames(frame, cell, binning.bins, 2 * h * w).reshape(binning.bins, 2, h, w))


def frames_1d(events: Events, channels: int, start: int, duration: int, binning: Binning) -> Tensor:
    """Bin one sample of a 1-D sensor (``x``: the channel) into ``[T, ceil(C / k)]`` uint8 frames."""
    cell = events.x // binning.downsample
    frame = time_bins(events.t, start, duration, binning.bins)
    return torch.from_numpy(count_frames(frame, cell, binning.bins, binning.size(channels)))


def check_addresses(where: str, events: Events, width: int, height: int = 1) -> None:
    """Refuse events outside the sensor (a damaged or foreign file).

    Raises:
        ValueError: naming ``where``, the first bad event and the sensor size.
    """
    bad = (events.x < 0) | (events.x >= width) | (events.y < 0) | (events.y >= height)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = f"x={int(events.x[i])}, y={int(events.y[i])}" if height > 1 else f"channel {int(events.x[i])}"
        size = f"{width}x{height} pixels" if height > 1 else f"{width} channels"
        raise ValueError(f"{where}: event {i} at {what} lies outside the sensor's {size}")


__all__ = ["MAX_COUNT", "Binning", "Events", "check_addresses", "count_frames", "frames_1d", "frames_2d",
           "time_bins"]
