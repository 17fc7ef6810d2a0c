"""Neuromorphic data sets read from their original files, binned into frames, cached on disk.

Nothing is downloaded: each loader reads a local copy of the data set in the format its authors
publish, and a missing file is one line saying what is expected where and where it is published.

* :mod:`.nmnist`: N-MNIST's ``.bin`` event files (``Train/``, ``Test/``).
* :mod:`.dvsgesture`: DVS128 Gesture's AEDAT 3.1 recordings, ``*_labels.csv`` and trials lists.
* :mod:`.shd`: the Spiking Heidelberg Digits' ``shd_train.h5`` / ``shd_test.h5``.
* :mod:`.events`: :class:`~.events.Events` and the binning rule (:class:`~.events.Binning`).
* :mod:`.cache`: the on-disk frame cache, keyed by the data files and the binning.

Each ``load_part(data_dir, part, binning, cache)`` returns :class:`~.cache.Frames`: uint8 event
counts ``[N, T, *sample]`` and int64 labels. ``spikegrad train --dataset nmnist|dvsgesture|shd``
uses them through :mod:`spikegrad.train.neuromorphic`.

Example:
    >>> from spikegrad.datasets import Binning
    >>> Binning(bins=16, downsample=4).size(128)  # DVS128 pixels per side after pooling 4x4
    32
"""

from __future__ import annotations

from . import dvsgesture, nmnist, shd
from .cache import CACHE_ENV, FrameCache, Frames
from .events import Binning, Events

__all__ = ["CACHE_ENV", "Binning", "Events", "FrameCache", "Frames", "dvsgesture", "nmnist", "shd"]
