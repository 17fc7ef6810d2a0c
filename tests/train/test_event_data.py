"""Event data sets from their original files: readers, binning, the frame cache, and a tiny epoch each."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from event_files import (
    aedat_packet,
    write_aedat,
    write_dvsgesture,
    write_nmnist,
    write_nmnist_file,
    write_shd,
    write_shd_file,
)

from spikegrad.datasets import Binning, FrameCache, dvsgesture, nmnist, shd
from spikegrad.datasets.events import Events, time_bins
from spikegrad.train import data as D
from spikegrad.train.config import TrainConfig
from spikegrad.train.loop import fit


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test caches frames under its own tmp_path, never in the user's cache."""
    monkeypatch.setenv("SPIKEGRAD_CACHE", str(tmp_path / "cache"))


# --------------------------------------------------------------------------- readers


def test_nmnist_file_round_trip_with_overflow_markers(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 50
    t = np.sort(rng.integers(0, 40_000, n))
    t[10:] += 1 << 13  # one overflow before event 10, two more before event 30
    t[30:] += 2 * (1 << 13)
    x, y, p = rng.integers(0, 34, n), rng.integers(0, 34, n), rng.integers(0, 2, n)
    path = tmp_path / "00001.bin"
    write_nmnist_file(path, t, x, y, p, overflow_at=(10, 30, 30))
    assert path.stat().st_size == 5 * (n + 3)
    events = nmnist.read_nmnist_file(path)
    for got, want in zip(events, (t, x, y, p), strict=True):
        assert got.tolist() == want.tolist()


def test_nmnist_bytes_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "1.bin"
    # x=33, y=2, off, t=0x01_02_03 = 66051; then x=0, y=33, on, t = 2**23 - 1
    path.write_bytes(bytes([33, 2, 0x01, 0x02, 0x03, 0, 33, 0xFF, 0xFF, 0xFF]))
    events = nmnist.read_nmnist_file(path)
    assert events.t.tolist() == [66051, (1 << 23) - 1]
    assert (events.x.tolist(), events.y.tolist(), events.p.tolist()) == ([33, 0], [2, 33], [0, 1])


def test_aedat31_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    t1 = np.sort(rng.integers(0, 1 << 31, 40))
    t2 = np.sort(rng.integers(0, 1 << 31, 30)) + (1 << 31)  # a packet after one timestamp overflow
    x1, y1, p1 = rng.integers(0, 128, 40), rng.integers(0, 128, 40), rng.integers(0, 2, 40)
    x2, y2, p2 = rng.integers(0, 128, 30), rng.integers(0, 128, 30), rng.integers(0, 2, 30)
    valid = np.ones(40, dtype=np.int64)
    valid[[3, 17]] = 0  # invalidated events are skipped
    path = tmp_path / "user01_led.aedat"
    special = aedat_packet(np.array([9]), np.array([1]), np.array([1]), np.array([1]), kind=0)
    write_aedat(path, [aedat_packet(t1, x1, y1, p1, valid=valid, spare=5), special,
                       aedat_packet(t2, x2, y2, p2, overflow=1)])
    events = dvsgesture.read_aedat31(path)
    keep = valid == 1
    want = [np.concatenate([a[keep], b]) for a, b in ((t1, t2), (x1, x2), (y1, y2), (p1, p2))]
    for got, expected in zip(events, want, strict=True):
        assert got.tolist() == expected.tolist()


def test_aedat31_event_bits_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "a.aedat"
    header = bytes.fromhex("0100 0100 08000000 04000000 00000000 01000000 01000000 01000000")
    address = (127 << 17) | (5 << 2) | (1 << 1) | 1  # x 127, y 5, on, valid
    write_aedat(path, [header + address.to_bytes(4, "little") + (1234).to_bytes(4, "little")])
    events = dvsgesture.read_aedat31(path)
    assert [e.tolist() for e in events] == [[1234], [127], [5], [1]]


@pytest.mark.parametrize(("content", "message"), [
    (b"#!AER-DAT2.0\r\n", r"is not an AEDAT 3.x file"),
    (b"#!AER-DAT3.1\r\n#no end\r\n", r"no #!END-HEADER"),
    (b"#!AER-DAT3.1\r\n#!END-HEADER\r\n" + b"\x01\x00" * 5, r"truncated packet header at byte 28"),
    (b"#!AER-DAT3.1\r\n#!END-HEADER\r\n" + bytes.fromhex("0100 0100 08000000 04000000 00000000 "
                                                        "02000000 02000000 02000000") + b"\x00" * 9,
     r"malformed or truncated packet at byte 28 \(event size 8, 2 of 2 events, 9 bytes left\)"),
])
def test_aedat31_damage_is_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.aedat"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        dvsgesture.read_aedat31(path)


def test_labels_csv(tmp_path: Path) -> None:
    path = tmp_path / "u_labels.csv"
    path.write_text("class,startTime_usec,endTime_usec\n1,80048239,85092709\n11,5,9\n\n")
    assert dvsgesture.read_labels(path).tolist() == [[0, 80048239, 85092709], [10, 5, 9]]
    path.write_text("class,startTime_usec,endTime_usec\n12,1,2\n")
    with pytest.raises(ValueError, match=r"u_labels.csv, line 2: class must be 1..11"):
        dvsgesture.read_labels(path)
    path.write_text("class,startTime_usec,endTime_usec\n1;2;3\n")
    with pytest.raises(ValueError, match=r"line 2: expected class,startTime_usec,endTime_usec"):
        dvsgesture.read_labels(path)


def test_shd_round_trip(tmp_path: Path) -> None:
    recordings = [(np.array([0.0, 0.5, 1.25]), np.array([0, 699, 3])), (np.array([]), np.array([]))]
    write_shd_file(tmp_path / "shd_train.h5", recordings, np.array([19, 0]))
    events, labels = shd.read_shd(tmp_path / "shd_train.h5")
    assert labels.tolist() == [19, 0]
    assert events[0].t.tolist() == [0, 500_000, 1_250_000] and events[0].x.tolist() == [0, 699, 3]
    assert len(events[1]) == 0


# --------------------------------------------------------------------------- binning


def test_time_bins_and_frames_by_hand() -> None:
    bins = time_bins(np.array([10, 34, 35, 109, 500]), start=10, duration=100, bins=4)
    assert bins.tolist() == [0, 0, 1, 3, 3]
    t, x, y, p = ([0, 0, 50, 99], [0, 1, 3, 2], [0, 0, 3, 1], [1, 1, 0, 1])
    events = Events(np.array(t), np.array(x), np.array(y), np.array(p))
    from spikegrad.datasets.events import frames_2d

    frames = frames_2d(events, (4, 4), 0, 100, Binning(2, downsample=2))
    assert frames.shape == (2, 2, 2, 2) and frames.dtype == torch.uint8
    expected = torch.zeros(2, 2, 2, 2, dtype=torch.uint8)
    expected[0, 1, 0, 0] = 2  # two on events at t=0 in the top-left 2x2 block
    expected[1, 0, 1, 1] = 1  # off event at (3, 3), t=50
    expected[1, 1, 0, 1] = 1  # on event at (x=2, y=1), t=99
    assert torch.equal(frames, expected)


def test_counts_saturate_at_255() -> None:
    from spikegrad.datasets.events import frames_1d

    events = Events(*(np.zeros(300, dtype=np.int64) for _ in range(4)))
    assert int(frames_1d(events, 3, 0, 10, Binning(1))[0, 0]) == 255


def test_nmnist_sample_spans_its_own_events(tmp_path: Path) -> None:
    t, x, y, p = np.array([1000, 1001, 1050, 1099]), np.array([0, 33, 1, 2]), np.array([0, 33, 0, 0]), \
        np.array([1, 0, 1, 1])
    write_nmnist_file(tmp_path / "Train" / "3" / "00001.bin", t, x, y, p)
    write_nmnist_file(tmp_path / "Test" / "4" / "00001.bin", t, x, y, p)
    part = nmnist.load_part(tmp_path, "train", Binning(2, downsample=17), FrameCache(enabled=False))
    assert part.labels.tolist() == [3] and part.frames.shape == (1, 2, 2, 2, 2)
    # window [1000, 1100): 1000, 1001 in frame 0; 1050, 1099 in frame 1
    assert part.frames[0, 0].tolist() == [[[0, 0], [0, 1]], [[1, 0], [0, 0]]]
    assert part.frames[0, 1].tolist() == [[[0, 0], [0, 0]], [[2, 0], [0, 0]]]


def test_shd_window_and_channel_pooling(tmp_path: Path) -> None:
    recordings = [(np.array([0.0, 0.7, 1.39, 1.5]), np.array([0, 1, 699, 2]))]
    for name in ("shd_train.h5", "shd_test.h5"):
        write_shd_file(tmp_path / name, recordings, np.array([5]))
    part = shd.load_part(tmp_path, "test", Binning(2, downsample=100), FrameCache(enabled=False))
    assert part.frames.shape == (1, 2, 7)
    # 0.0 s -> frame 0; 0.7 s, 1.39 s and 1.5 s (past the 1.4 s window) -> frame 1
    assert part.frames[0].tolist() == [[1, 0, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0, 1]]


def test_dvsgesture_samples_are_the_labelled_windows(tmp_path: Path) -> None:
    root = write_dvsgesture(tmp_path / "DvsGesture", users=2, test_users=1, gestures=(1, 11))
    train = dvsgesture.load_part(tmp_path, "train", Binning(3, downsample=4), FrameCache(enabled=False))
    assert train.labels.tolist() == [0, 10] and train.frames.shape == (2, 3, 2, 32, 32)
    assert [int(f.sum()) for f in train.frames] == [80, 80]  # every event of each window, none outside
    events = dvsgesture.read_aedat31(root / "user01_fluorescent.aedat")
    rows = (events.y[(events.t >= 1_000_000) & (events.t < 2_000_000)] // 4).tolist()
    assert set(rows) == set(train.frames[0].sum((0, 1, 3)).nonzero().flatten().tolist())


# --------------------------------------------------------------------------- missing and damaged data


@pytest.mark.parametrize(("name", "expected"), [
    ("nmnist", r"^nmnist: no Train/0..9/\*.bin event files in .* \(expected Train/0..9/\*.bin and "
               r"Test/0..9/\*.bin: .*published at https://www.garrickorchard.com/datasets/n-mnist\)$"),
    ("dvsgesture", r"^dvsgesture: no trials_to_train.txt and trials_to_test.txt in .* \(expected .*"
                   r"published at https://research.ibm.com/interactive/dvsgesture/\)$"),
    ("shd", r"^shd: no shd_train.h5 in .* \(expected shd_train.h5 and shd_test.h5, published gzipped at "
            r"https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/; gunzip them there\)$"),
])
def test_a_missing_data_set_is_one_line_with_where_it_is_published(tmp_path: Path, name: str,
                                                                   expected: str) -> None:
    with pytest.raises(FileNotFoundError, match=expected) as info:
        D.load_dataset(name, tmp_path, binning=Binning(2))
    assert "\n" not in str(info.value)


def test_a_gzipped_shd_file_says_to_unzip_it(tmp_path: Path) -> None:
    (tmp_path / "shd_train.h5.gz").write_bytes(b"\x1f\x8b")
    with pytest.raises(FileNotFoundError, match=r"shd_train.h5 is missing but shd_train.h5.gz is there"):
        D.load_dataset("shd", tmp_path, binning=Binning(2))


def test_damaged_files_are_named(tmp_path: Path) -> None:
    write_nmnist(tmp_path, n_train=3, n_test=2)
    bad = tmp_path / "Train" / "0" / "00001.bin"
    bad.write_bytes(bad.read_bytes()[:-2])
    with pytest.raises(ValueError, match=r"Train/0/00001.bin: 298 bytes is not a whole number of 5-byte"):
        D.load_dataset("nmnist", tmp_path, binning=Binning(2))
    write_nmnist_file(bad, np.array([0]), np.array([34]), np.array([0]), np.array([0]))
    with pytest.raises(ValueError, match=r"00001.bin: event 0 at x=34, y=0 lies outside the sensor's 34x34"):
        D.load_dataset("nmnist", tmp_path, binning=Binning(2))
    root = write_dvsgesture(tmp_path / "g", users=2)
    (root / "user02_fluorescent_labels.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"trials_to_test.txt lists user02_fluorescent.aedat, but "
                                                r".*user02_fluorescent_labels.csv is missing"):
        D.load_dataset("dvsgesture", root, binning=Binning(2))
    write_shd_file(tmp_path / "shd_train.h5", [(np.array([0.1]), np.array([700]))], np.array([0]))
    write_shd_file(tmp_path / "shd_test.h5", [(np.array([0.1]), np.array([0]))], np.array([20]))
    with pytest.raises(ValueError, match=r"shd_train.h5: recording 0: event 0 at channel 700 lies outside"):
        D.load_dataset("shd", tmp_path, binning=Binning(2))
    with pytest.raises(ValueError, match=r"shd_test.h5: label 20 at index 0 is outside 0..19"):
        shd.load_part(tmp_path, "test", Binning(2))


# --------------------------------------------------------------------------- the cache


def _forbid_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("events were read although the cache holds the frames")

    monkeypatch.setattr(nmnist, "read_nmnist_file", refuse)


def test_the_second_load_reads_the_cache_not_the_events(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_nmnist(tmp_path / "nm", n_train=6, n_test=4)
    notes: list[str] = []
    first = D.load_dataset("nmnist", root, binning=Binning(3), cache=FrameCache(note=notes.append))
    assert len(notes) == 2 and "binning the train events into 3 frames" in notes[0]
    assert len(list((tmp_path / "cache").glob("nmnist-*.pt"))) == 2
    _forbid_reading(monkeypatch)
    second = D.load_dataset("nmnist", root, binning=Binning(3), cache=FrameCache(note=notes.append))
    assert len(notes) == 2  # nothing binned
    assert torch.equal(first.train_x, second.train_x) and torch.equal(first.test_y, second.test_y)


def test_the_cache_is_keyed_by_the_binning_and_the_files(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_nmnist(tmp_path / "nm", n_train=6, n_test=4)
    cache = FrameCache()
    nmnist.load_part(root, "train", Binning(3), cache)
    other = nmnist.load_part(root, "train", Binning(3, downsample=2), cache)  # a new binning: binned again
    assert other.frames.shape[-2:] == (17, 17)
    assert len(list((tmp_path / "cache").glob("nmnist-train-*.pt"))) == 2  # both binnings kept
    changed = root / "Train" / "0" / "00001.bin"
    write_nmnist_file(changed, np.array([0, 10]), np.array([1, 1]), np.array([1, 1]), np.array([1, 1]))
    os.utime(changed, ns=(1, 1))
    again = nmnist.load_part(root, "train", Binning(3), cache)  # the files changed: binned again
    assert int(again.frames[0].sum()) == 2
    assert len(list((tmp_path / "cache").glob("nmnist-train-*.pt"))) == 1  # the stale entries are gone
    _forbid_reading(monkeypatch)
    assert torch.equal(nmnist.load_part(root, "train", Binning(3), cache).frames, again.frames)


def test_a_damaged_cache_entry_is_binned_again(tmp_path: Path) -> None:
    root = write_nmnist(tmp_path / "nm", n_train=4, n_test=2)
    first = nmnist.load_part(root, "test", Binning(2))
    (entry,) = (tmp_path / "cache").glob("nmnist-test-*.pt")
    entry.write_bytes(entry.read_bytes()[:100])
    notes: list[str] = []
    again = nmnist.load_part(root, "test", Binning(2), FrameCache(note=notes.append))
    assert torch.equal(first.frames, again.frames) and "are damaged; binning the events again" in notes[0]


def test_the_cache_defaults_to_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPIKEGRAD_CACHE")
    root = write_shd(tmp_path / "shd", n_train=4, n_test=2)
    shd.load_part(root, "train", Binning(2))
    assert len(list((root / ".spikegrad-cache").glob("shd-train-T2-k1-*.pt"))) == 1


# --------------------------------------------------------------------------- training on them


def _tiny(dataset: str, root: Path, **changes: object) -> TrainConfig:
    values: dict[str, object] = {"data_dir": str(root), "T": 3, "hidden": 12, "channels": 2, "epochs": 1,
                                 "batch_size": 8, "backend": "reference"}
    values.update(changes)
    return TrainConfig.for_dataset(dataset, **values)


@pytest.mark.parametrize(("dataset", "write", "changes", "shape"), [
    ("nmnist", write_nmnist, {"downsample": 2}, (2, 17, 17)),
    ("dvsgesture", write_dvsgesture, {"downsample": 8}, (2, 16, 16)),
    ("shd", write_shd, {"downsample": 10}, (70,)),
])
def test_one_tiny_epoch_on_each_and_the_cache_the_second_time(
        tmp_path: Path, dataset: str, write: object, changes: dict[str, object], shape: tuple[int, ...],
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / dataset)  # type: ignore[operator]
    config = _tiny(dataset, root, **changes)
    result = fit(config, tmp_path / "run", plot=False, threads=1)
    data = D.load_for_config(config)
    assert data.sequences and data.input_shape == shape and data.train_x.shape[1] == 3
    (row,) = result.metrics
    assert 0.0 <= row["test_acc"] <= 1.0 and row["sops"] > 0 and 0 < row["firing_rate"] < 1
    kind = {"nmnist": nmnist, "dvsgesture": dvsgesture, "shd": shd}[dataset]
    reader = {"nmnist": "read_nmnist_file", "dvsgesture": "read_aedat31", "shd": "read_shd"}[dataset]
    monkeypatch.setattr(kind, reader, lambda *a: pytest.fail("events re-read on the second run"))
    again = fit(config, tmp_path / "run2", plot=False, threads=1)
    assert again.metrics[0]["test_acc"] == row["test_acc"]  # same frames, same result


def test_event_data_refuses_image_encodings_and_the_conv_net_refuses_shd(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"encoding 'poisson' does not apply to nmnist, whose samples "
                                         r"are event frames: use one of spikes, counts"):
        TrainConfig(dataset="nmnist").validate()
    with pytest.raises(ValueError, match=r"downsample applies to event data sets only; digits takes 1"):
        TrainConfig(downsample=2).validate()
    root = write_shd(tmp_path / "shd", n_train=4, n_test=2)
    with pytest.raises(ValueError, match=r"the conv net takes images \[C, H, W\] at each step, but this "
                                         r"data's steps are 700; use the recurrent net or the mlp"):
        fit(_tiny("shd", root, model="conv"), plot=False)


def test_counts_encoding_feeds_the_counts() -> None:
    frames = torch.tensor([[[0, 3], [1, 0]]], dtype=torch.uint8)
    assert D.encode(frames, 2, "counts").tolist() == [[[0.0, 3.0]], [[1.0, 0.0]]]
    with pytest.raises(ValueError, match=r"encoding 'spikes' takes frames \[B, T=3, \*shape\], "
                                         r"got \(1, 2, 2\)"):
        D.encode(frames, 3, "spikes")


DOCUMENTED = ["spikegrad.datasets", "spikegrad.datasets.events", "spikegrad.datasets.nmnist",
              "spikegrad.train.data", "spikegrad.train.config"]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_shd_trains_a_recurrent_net_of_adaptive_lif_neurons(tmp_path: Path) -> None:
    from spikegrad import layer, neuron
    from spikegrad.train.models import build_model

    config = TrainConfig.for_dataset("shd", hidden=8)
    assert (config.model, config.neuron, config.encoding) == ("recurrent", "alif", "spikes")
    model = build_model(config.model, (70,), 20, config.make_surrogate(), neuron=config.neuron,
                        tau=config.tau, hidden=8)
    first, recurrent = model.features[2], model.features[3]
    assert isinstance(first, neuron.ALIFNode) and first.tau_m == config.tau and first.step_mode == "m"
    assert isinstance(recurrent, layer.LinearRecurrentContainer)
    assert isinstance(recurrent.sub_module, neuron.ALIFNode) and recurrent.sub_module.step_mode == "s"
    assert tuple(recurrent.rc.weight.shape) == (8, 16)  # W [s_in[t]; s[t-1]]: 8 + 8 inputs
