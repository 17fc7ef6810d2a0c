from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch

from spikegrad.train import checkpoint as ckpt


def _state(value: float) -> dict[str, object]:
    return {"model": {"w": torch.full((3,), value)}, "epoch": 1, "config": {"T": 2}, "metrics": []}


def test_round_trip_with_weights_only(tmp_path: Path) -> None:
    path = tmp_path / ckpt.CHECKPOINT
    ckpt.atomic_save({**_state(1.5), "rng": ckpt.rng_state()}, path)
    loaded = ckpt.load(path)
    assert torch.equal(loaded["model"]["w"], torch.full((3,), 1.5))
    ckpt.set_rng_state(loaded["rng"])
    assert [p.name for p in tmp_path.iterdir()] == [ckpt.CHECKPOINT]  # no temp file left
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600


def test_failed_write_keeps_the_good_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / ckpt.CHECKPOINT
    ckpt.atomic_save(_state(1.0), path)
    good = path.read_bytes()

    def torn_save(obj: object, f: object) -> None:  # half a file, then the process "dies"
        f.write(good[: len(good) // 2])  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.torch, "save", torn_save)
    with pytest.raises(KeyboardInterrupt):
        ckpt.atomic_save(_state(2.0), path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == [ckpt.CHECKPOINT]
    assert torch.equal(ckpt.load(path)["model"]["w"], torch.ones(3))


def test_stray_temp_file_of_a_killed_run_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / ckpt.CHECKPOINT
    ckpt.atomic_save(_state(1.0), path)
    (tmp_path / f".{ckpt.CHECKPOINT}.abc.tmp").write_bytes(path.read_bytes()[:100])  # killed mid-write
    assert torch.equal(ckpt.load(path)["model"]["w"], torch.ones(3))
    ckpt.atomic_save(_state(3.0), path)
    assert torch.equal(ckpt.load(path)["model"]["w"], torch.full((3,), 3.0))


def test_load_refuses_damaged_or_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ckpt.load(tmp_path / "none.pt")
    (tmp_path / "torn.pt").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        ckpt.load(tmp_path / "torn.pt")
    torch.save({"weights": torch.ones(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a spikegrad training checkpoint"):
        ckpt.load(tmp_path / "other.pt")
