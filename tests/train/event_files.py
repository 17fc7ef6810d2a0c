"""Writers of tiny event data sets in the original on-disk formats (byte for byte), for the tests.

* N-MNIST: 5-byte big-endian ATIS records (``x``, ``y``, polarity bit 7 + 23-bit timestamp), with
  ``y = 240`` timestamp-overflow markers, in ``Train/<digit>/NNNNN.bin`` and ``Test/...``.
* DVS128 Gesture: AEDAT 3.1 files (``#`` header lines, 28-byte little-endian packet headers,
  8-byte polarity events), ``*_labels.csv`` and ``trials_to_train.txt`` / ``trials_to_test.txt``.
* SHD: HDF5 files with ``spikes/times`` (variable-length float16 seconds), ``spikes/units``
  (variable-length uint16) and ``labels`` (uint16), as the published files hold them.

Each synthetic data set is learnable: the class decides where (or in which channels) the events
fall, so a tiny network trained for one epoch beats chance.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------- N-MNIST


def write_nmnist_file(path: Path, t: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray,
                      overflow_at: tuple[int, ...] = ()) -> None:
    """Write events as an N-MNIST ``.bin`` file; an overflow marker goes before each event index in
    ``overflow_at``, and the timestamps after it are stored ``2**13`` lower (as the format counts them)."""
    records = bytearray()
    markers = 0
    for i in range(len(t)):
        while markers < len(overflow_at) and overflow_at[markers] == i:
            records += bytes([0, 240, 0, 0, 0])
            markers += 1
        stored = int(t[i]) - markers * (1 << 13)
        assert 0 <= stored < 1 << 23, "the test's timestamps must fit 23 bits between markers"
        records += bytes([int(x[i]), int(y[i]), (int(p[i]) << 7) | (stored >> 16), (stored >> 8) & 0xFF,
                          stored & 0xFF])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(records))


def digit_events(label: int, rng: np.random.Generator, n: int = 60, size: int = 34) -> tuple[np.ndarray, ...]:
    """Events of a synthetic digit: class ``label`` lights the pixels of column band ``label``."""
    t = np.sort(rng.integers(0, 300_000, n))
    x = (label * 3 + rng.integers(0, 3, n)) % size
    y = rng.integers(0, size, n)
    p = rng.integers(0, 2, n)
    return t, x, y, p


def write_nmnist(root: Path, n_train: int = 20, n_test: int = 10, seed: int = 0) -> Path:
    """A tiny N-MNIST folder: ``Train/<digit>/*.bin`` and ``Test/<digit>/*.bin``, digits cycling 0..9."""
    rng = np.random.default_rng(seed)
    for part, n in (("Train", n_train), ("Test", n_test)):
        for i in range(n):
            label = i % 10
            write_nmnist_file(root / part / str(label) / f"{i + 1:05d}.bin", *digit_events(label, rng))
    return root


# --------------------------------------------------------------------------- DVS128 Gesture (AEDAT 3.1)

AEDAT_HEADER = (b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n"
                b"#Start-Time: 2017-01-01 00:00:00 (TZ+0000)\r\n#!END-HEADER\r\n")


def aedat_packet(t: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray, overflow: int = 0,
                 valid: np.ndarray | None = None, kind: int = 1, spare: int = 0) -> bytes:
    """One AEDAT 3.1 packet of polarity events (``kind`` 1), ``spare`` unused slots of garbage after them."""
    valid = np.ones(len(t), dtype=np.int64) if valid is None else valid
    number = len(t)
    header = struct.pack("<hhiiiiii", kind, 1, 8, 4, overflow, number + spare, number, int(valid.sum()))
    address = (x.astype(np.uint32) << 17) | (y.astype(np.uint32) << 2) | (p.astype(np.uint32) << 1) \
        | valid.astype(np.uint32)
    stamps = (t - (overflow << 31)).astype(np.uint32)
    body = np.stack([address, stamps], axis=1).astype("<u4").tobytes()
    return header + body + b"\xab" * (8 * spare)


def write_aedat(path: Path, packets: list[bytes]) -> None:
    path.write_bytes(AEDAT_HEADER + b"".join(packets))


def write_dvsgesture(root: Path, users: int = 4, test_users: int = 1, gestures: tuple[int, ...] = (1, 2, 3),
                     seed: int = 0) -> Path:
    """A tiny ``DvsGesture`` folder: one recording per user with one window per gesture (class k
    lights the row band k), a special-event packet, labels files and trials lists."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for user in range(1, users + 1):
        name = f"user{user:02d}_fluorescent"
        rows, packets = ["class,startTime_usec,endTime_usec"], []
        packets.append(aedat_packet(np.array([5]), np.array([0]), np.array([0]), np.array([0]), kind=0))
        for k, gesture in enumerate(gestures):
            start = 1_000_000 + 2_000_000 * k
            n = 80
            t = np.sort(rng.integers(start, start + 1_000_000, n))
            x = rng.integers(0, 128, n)
            y = (gesture * 30 + rng.integers(0, 20, n)) % 128
            p = rng.integers(0, 2, n)
            packets.append(aedat_packet(t, x, y, p))
            rows.append(f"{gesture},{start},{start + 1_000_000}")
        write_aedat(root / f"{name}.aedat", packets)
        (root / f"{name}_labels.csv").write_text("\n".join(rows) + "\n")
        names.append(f"{name}.aedat")
    (root / "trials_to_train.txt").write_text("\n".join(names[: users - test_users]) + "\n")
    (root / "trials_to_test.txt").write_text("\n".join(names[users - test_users:]) + "\n\n")
    return root


# --------------------------------------------------------------------------- SHD (HDF5)


def write_shd_file(path: Path, recordings: list[tuple[np.ndarray, np.ndarray]], labels: np.ndarray) -> None:
    """Write ``(times in seconds, units)`` recordings and their labels as an SHD HDF5 file."""
    import h5py

    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (len(recordings),), dtype=h5py.vlen_dtype(np.float16))
        units = f.create_dataset("spikes/units", (len(recordings),), dtype=h5py.vlen_dtype(np.uint16))
        for i, (t, u) in enumerate(recordings):
            times[i] = t.astype(np.float16)
            units[i] = u.astype(np.uint16)
        f.create_dataset("labels", data=labels.astype(np.uint16))
        f.create_dataset("extra/speaker", data=np.zeros(len(labels), dtype=np.uint16))


def write_shd(root: Path, n_train: int = 40, n_test: int = 20, seed: int = 0) -> Path:
    """A tiny SHD folder: class ``k`` (of 20) fires in the channels of band ``k`` (35 channels wide)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for name, n in (("shd_train.h5", n_train), ("shd_test.h5", n_test)):
        labels = np.arange(n) % 20
        recordings = []
        for label in labels:
            count = 400  # SHD's recordings hold thousands of spikes; enough here for every layer to fire
            times = np.sort(rng.uniform(0.0, 1.0, count))
            recordings.append((times, label * 35 + rng.integers(0, 35, count)))
        write_shd_file(root / name, recordings, labels)
    return root
