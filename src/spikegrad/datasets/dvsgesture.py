"""DVS128 Gesture from its original files: AEDAT 3.1 recordings, ``*_labels.csv`` and the trials lists.

DVS128 Gesture (Amir et al., CVPR 2017) holds 11 hand and arm gestures by 29 people under 5
lighting conditions, recorded by a 128x128 DVS128 camera. ``DvsGesture.tar.gz``, published at
https://research.ibm.com/interactive/dvsgesture/, unpacks to a ``DvsGesture/`` folder with one
``userNN_lighting.aedat`` recording per trial, its ``userNN_lighting_labels.csv`` (``class,
startTime_usec, endTime_usec``, one gesture a row, classes 1 to 11), and ``trials_to_train.txt``
/ ``trials_to_test.txt`` naming the recordings of each part (users 1-23 train, 24-29 test).
Every labelled row is one sample (1,176 train and 288 test), binned over its labelled window
``[startTime_usec, endTime_usec)`` (see :mod:`.events`) into frames ``[T, 2, 128/k, 128/k]``.

AEDAT 3.1 (iniVation's format): text header lines starting with ``#`` (the first is
``#!AER-DAT3.1``, the last ``#!END-HEADER``), then packets, each a 28-byte little-endian header
(int16 event type, int16 source, int32 event size, int32 timestamp offset, int32 timestamp
overflow, int32 capacity, int32 number of events, int32 number of valid events) followed by
``capacity`` events of ``event size`` bytes. A polarity event (type 1) is 8 bytes: a uint32 with
bit 0 the validity mark, bit 1 the polarity, bits 2-16 ``y`` and bits 17-31 ``x``, then an int32
timestamp in microseconds, whose full value is ``overflow << 31 | timestamp``. Events whose
validity mark is 0 and packets of other types (special events, frames, IMU) are skipped.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch

from .cache import FrameCache, Frames, cached_frames
from .events import Binning, Events, check_addresses, frames_2d

#: The sensor, ``(H, W)``.
SENSOR = (128, 128)
#: Where the data set is published.
PUBLISHED = "https://research.ibm.com/interactive/dvsgesture/"
#: The trials list of each part.
PARTS = {"train": "trials_to_train.txt", "test": "trials_to_test.txt"}
#: The gestures, by label (the files number them 1 to 11).
CLASSES = ("hand clap", "right hand wave", "left hand wave", "right arm clockwise",
           "right arm counter-clockwise", "left arm clockwise", "left arm counter-clockwise", "arm roll",
           "air drums", "air guitar", "other gestures")
#: What the data folder must hold, in words.
FILES = "trials_to_train.txt, trials_to_test.txt and the userNN_*.aedat files with their _labels.csv"

_PACKET = struct.Struct("<hhiiiiii")
_POLARITY_EVENT = 1


def read_aedat31(path: str | Path) -> Events:
    """Read the polarity events of an AEDAT 3.1 file (see the module docstring).

    Args:
        path: the ``.aedat`` file.

    Returns:
        Its valid polarity events, in file order.

    Raises:
        ValueError: not an AEDAT 3.1 file, a header without its end, or a truncated or malformed
            packet (naming the file and the byte offset).
    """
    data = Path(path).read_bytes()
    if not data.startswith(b"#!AER-DAT3."):
        raise ValueError(f"{path} is not an AEDAT 3.x file (its first line must be #!AER-DAT3.1)")
    end = data.find(b"#!END-HEADER")
    if end < 0:
        raise ValueError(f"{path}: the header has no #!END-HEADER line")
    offset = data.index(b"\n", end) + 1
    chunks, overflows = [], []
    while offset < len(data):
        if offset + _PACKET.size > len(data):
            raise ValueError(f"{path}: truncated packet header at byte {offset}")
        kind, _, size, _, overflow, capacity, number, _ = _PACKET.unpack_from(data, offset)
        body = offset + _PACKET.size
        if size <= 0 or capacity < 0 or not 0 <= number <= capacity or body + capacity * size > len(data):
            raise ValueError(f"{path}: malformed or truncated packet at byte {offset} (event size {size}, "
                             f"{number} of {capacity} events, {len(data) - body} bytes left)")
        if kind == _POLARITY_EVENT:
            if size != 8:
                raise ValueError(f"{path}: polarity events must be 8 bytes, the packet at byte {offset} "
                                 f"says {size}")
            chunks.append(np.frombuffer(data, dtype="<u4", count=2 * number, offset=body).reshape(-1, 2))
            overflows.append(np.full(number, overflow, dtype=np.int64))
        offset = body + capacity * size
    if not chunks:
        return Events(*(np.zeros(0, dtype=np.int64) for _ in range(4)))
    words = np.concatenate(chunks).astype(np.int64)
    address, stamp = words[:, 0], words[:, 1]
    valid = (address & 1) == 1
    t = (np.concatenate(overflows) << 31) | stamp
    events = Events(t, (address >> 17) & 0x7FFF, (address >> 2) & 0x7FFF, (address >> 1) & 1)
    return events.select(valid)


def read_labels(path: str | Path) -> np.ndarray:
    """Read a ``*_labels.csv``: ``[K, 3]`` int64 rows of (label 0..10, start, end) in microseconds.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a row that is not three integers, a class outside 1..11, or an empty window
            (naming the file and the line).
    """
    rows = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[1:], start=2):  # line 1: class,startTime_usec,endTime_usec
        if not line.strip():
            continue
        try:
            label, start, end = (int(v) for v in line.split(","))
        except ValueError:
            raise ValueError(f"{path}, line {number}: expected class,startTime_usec,endTime_usec "
                             f"integers, got {line.strip()!r}") from None
        if not 1 <= label <= len(CLASSES) or end <= start:
            raise ValueError(f"{path}, line {number}: class must be 1..{len(CLASSES)} and the window "
                             f"must end after it starts, got {line.strip()!r}")
        rows.append((label - 1, start, end))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def find_root(data_dir: str | Path) -> Path:
    """The folder with the trials lists: ``data_dir`` itself or its ``DvsGesture/`` subfolder.

    Raises:
        FileNotFoundError: neither holds the trials lists (one line saying what is expected
            where, and where it is published).
    """
    data_dir = Path(data_dir)
    for folder in (data_dir, data_dir / "DvsGesture"):
        if all((folder / name).is_file() for name in PARTS.values()):
            return folder
    raise FileNotFoundError(
        f"dvsgesture: no trials_to_train.txt and trials_to_test.txt in {data_dir} or "
        f"{data_dir / 'DvsGesture'} (expected {FILES}: DvsGesture.tar.gz unpacked there, "
        f"published at {PUBLISHED})")


def list_part(root: Path, part: str) -> list[tuple[Path, Path]]:
    """The ``(recording, labels)`` file pairs of one part, in the trials list's order.

    Raises:
        FileNotFoundError: a listed recording or its labels file is missing (named).
    """
    pairs = []
    for line in (root / PARTS[part]).read_text(encoding="utf-8").splitlines():
        name = line.strip()
        if not name:
            continue
        recording = root / name
        labels = root / f"{Path(name).stem}_labels.csv"
        for path in (recording, labels):
            if not path.is_file():
                raise FileNotFoundError(f"dvsgesture: {PARTS[part]} lists {name}, but {path} is missing "
                                        f"(the full data set is published at {PUBLISHED})")
        pairs.append((recording, labels))
    return pairs


def load_part(data_dir: str | Path, part: str, binning: Binning, cache: FrameCache | None = None) -> Frames:
    """One part of DVS128 Gesture, one sample per labelled gesture, binned (from the cache when it can).

    Args:
        data_dir: the ``DvsGesture/`` folder or the folder above it.
        part: ``'train'`` or ``'test'``.
        binning: frames per sample and down-sampling.
        cache: the frame cache (default: :class:`~.cache.FrameCache` ()).

    Returns:
        ``[N, T, 2, ceil(128/k), ceil(128/k)]`` frames and their gestures (0..10).

    Raises:
        FileNotFoundError: the trials lists or a listed file are missing.
        ValueError: a damaged file (named).
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
    root = find_root(data_dir)
    pairs = list_part(root, part)

    def build() -> Frames:
        frames, labels = [], []
        for recording, labels_file in pairs:
            events = read_aedat31(recording)
            check_addresses(str(recording), events, SENSOR[1], SENSOR[0])
            for label, start, end in read_labels(labels_file):
                window = events.select((events.t >= start) & (events.t < end))
                frames.append(frames_2d(window, SENSOR, int(start), int(end - start), binning))
                labels.append(int(label))
        if not frames:
            raise ValueError(f"dvsgesture: the {part} recordings in {root} hold no labelled gesture")
        return Frames(torch.stack(frames), torch.tensor(labels, dtype=torch.int64))

    files = [root / PARTS[part], *(path for pair in pairs for path in pair)]
    return cached_frames("dvsgesture", part, root, files, binning, build, cache or FrameCache())


__all__ = ["CLASSES", "FILES", "PUBLISHED", "SENSOR", "find_root", "list_part", "load_part", "read_aedat31",
           "read_labels"]
