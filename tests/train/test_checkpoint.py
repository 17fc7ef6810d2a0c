"""Checkpoints: atomic and durable writes, and every way a damaged or foreign file is refused."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from spikegrad.train import checkpoint as ckpt


def _model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(3, 2))


def _state(value: float = 1.0, model: torch.nn.Module | None = None) -> dict[str, Any]:
    """A complete checkpoint dict, as fit writes it, of a small model with every weight ``value``."""
    model = model if model is not None else _model()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    return {"model": {k: v.clone() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(), "epoch": 1, "batch": 0,
            "train_stats": torch.zeros(3, dtype=torch.float64), "rng": ckpt.rng_state(),
            "config": {"T": 2}, "metrics": [{"epoch": 1, "test_acc": 0.5}]}


def test_round_trip_restores_weights_and_rng(tmp_path: Path) -> None:
    path = tmp_path / ckpt.CHECKPOINT
    torch.manual_seed(123)
    state = _state(1.5)
    expected_draws = torch.rand(5)  # what the generator gives right after the saved state
    ckpt.atomic_save(state, path)
    loaded = ckpt.load(path)
    assert torch.equal(loaded["model"]["0.weight"], state["model"]["0.weight"])
    assert torch.equal(loaded["optimizer"]["state"][0]["exp_avg"], state["optimizer"]["state"][0]["exp_avg"])
    torch.manual_seed(999)  # move the generator elsewhere, then restore it from the file
    ckpt.set_rng_state(loaded["rng"])
    assert torch.equal(torch.rand(5), expected_draws)
    assert [p.name for p in tmp_path.iterdir()] == [ckpt.CHECKPOINT]  # no temp file left
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600


def test_write_is_fsynced_before_the_rename_and_the_folder_after(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        calls.append(("fsync", kind))
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        calls.append(("replace", Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(ckpt.os, "fsync", fsync)
    monkeypatch.setattr(ckpt.os, "replace", replace)
    ckpt.atomic_save(_state(), tmp_path / ckpt.CHECKPOINT)
    assert calls == [("fsync", "file"), ("replace", ckpt.CHECKPOINT), ("fsync", "dir")]
    calls.clear()
    ckpt.atomic_write_text("{}", tmp_path / "config.json")
    assert calls == [("fsync", "file"), ("replace", "config.json"), ("fsync", "dir")]


def test_failed_write_keeps_the_good_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / ckpt.CHECKPOINT
    ckpt.atomic_save(_state(1.0), path)
    good = path.read_bytes()

    def torn_save(obj: object, f: Any) -> None:  # half a file, then a second Ctrl-C
        f.write(good[: len(good) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.torch, "save", torn_save)
    with pytest.raises(KeyboardInterrupt):
        ckpt.atomic_save(_state(2.0), path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == [ckpt.CHECKPOINT]


def test_temp_files_of_killed_writes_are_removed(tmp_path: Path) -> None:
    ckpt.atomic_save(_state(1.0), tmp_path / ckpt.CHECKPOINT)
    stray = [tmp_path / f".{ckpt.CHECKPOINT}.abc123.tmp", tmp_path / ".metrics.json.x.tmp"]
    for path in stray:
        path.write_bytes(b"half a file")
    (tmp_path / "notes.tmp").write_text("not ours")  # not an atomic-write temp file: kept
    assert sorted(ckpt.remove_stale_temp_files(tmp_path)) == sorted(stray)
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.CHECKPOINT, "notes.tmp"]


def test_atomic_copy_keeps_its_content_when_the_source_is_replaced(tmp_path: Path) -> None:
    ckpt.atomic_save(_state(1.0), tmp_path / ckpt.CHECKPOINT)
    ckpt.atomic_copy(tmp_path / ckpt.CHECKPOINT, tmp_path / ckpt.BEST)
    ckpt.atomic_save(_state(2.0), tmp_path / ckpt.CHECKPOINT)  # later epochs replace checkpoint.pt
    best, last = ckpt.load(tmp_path / ckpt.BEST), ckpt.load(tmp_path / ckpt.CHECKPOINT)
    assert not torch.equal(best["model"]["0.bias"], last["model"]["0.bias"])
    assert torch.equal(best["model"]["0.bias"], _state(1.0)["model"]["0.bias"])


def test_a_flipped_byte_inside_tensor_data_is_found(tmp_path: Path) -> None:
    path = tmp_path / ckpt.CHECKPOINT
    ckpt.atomic_save(_state(1.0), path)
    with zipfile.ZipFile(path) as archive:
        member = next(m for m in archive.infolist() if "/data/" in m.filename and m.file_size >= 8)
    data = bytearray(path.read_bytes())
    header = member.header_offset  # the member's local header: 30 bytes, its name, its extra field
    name_length, extra_length = struct.unpack("<HH", data[header + 26: header + 30])
    offset = header + 30 + name_length + extra_length  # the member's first byte
    data[offset + 3] ^= 0x10
    path.write_bytes(bytes(data))
    silently = torch.load(path, weights_only=True)  # torch itself loads the damaged file without a word
    assert any(not torch.equal(silently["model"][k], v) for k, v in _state(1.0)["model"].items())
    with pytest.raises(ValueError, match=rf"{member.filename} fails its CRC-32 check"):
        ckpt.load(path)


def test_archives_written_without_crcs_are_accepted(tmp_path: Path) -> None:
    if not hasattr(torch.serialization, "set_crc32_options"):
        pytest.skip("this torch always writes CRC-32s")
    path = tmp_path / "nocrc.pt"
    torch.serialization.set_crc32_options(False)
    try:
        torch.save(_state(1.0), path)
        ckpt.atomic_save(_state(1.0), tmp_path / ckpt.CHECKPOINT)  # ours still carries them
    finally:
        torch.serialization.set_crc32_options(True)
    assert ckpt.load(path)["epoch"] == 1
    with zipfile.ZipFile(tmp_path / ckpt.CHECKPOINT) as archive:
        assert all(m.CRC != 0 for m in archive.infolist() if m.file_size)


def _broken(change: dict[str, Any]) -> dict[str, Any]:
    state = _state()
    for key, value in change.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    return state


@pytest.mark.parametrize(("change", "message"), [
    ({"optimizer": None}, "missing 'optimizer'"),
    ({"rng": None}, "missing 'rng'"),
    ({"config": None}, "missing 'config'"),
    ({"metrics": None}, "missing 'metrics'"),
    ({"epoch": "two"}, "'epoch' must be an integer, got str 'two'"),
    ({"epoch": -1}, "'epoch' must be an integer >= 0, got -1"),
    ({"batch": 1.5}, "'batch' must be an integer >= 0"),
    ({"config": [1, 2]}, "'config' must be a dict"),
    ({"model": {"w": [1.0]}}, "'model' must map parameter names to tensors"),
    ({"optimizer": {"state": {}}}, "'optimizer' must be an optimizer state_dict"),
    ({"metrics": []}, "one dict per completed epoch"),
    ({"rng": {"torch": torch.zeros(7, dtype=torch.uint8)}}, "'rng' must hold the CPU generator's state"),
    ({"train_stats": torch.zeros(2)}, "'train_stats' must be a float64 tensor of shape"),
], ids=lambda v: str(v)[:40])
def test_load_names_what_is_missing_or_wrong(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = tmp_path / ckpt.CHECKPOINT
    torch.save(_broken(change), path)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        ckpt.load(path)


def test_load_refuses_damaged_or_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ckpt.load(tmp_path / "none.pt")
    (tmp_path / "torn.pt").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        ckpt.load(tmp_path / "torn.pt")
    good = tmp_path / "good.pt"
    ckpt.atomic_save(_state(), good)
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # a truncated copy
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        ckpt.load(tmp_path / "cut.pt")
    torch.save({"weights": torch.ones(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a spikegrad training checkpoint"):
        ckpt.load(tmp_path / "other.pt")


def test_model_and_optimizer_state_must_match_the_network() -> None:
    state = _state()
    model = _model()
    ckpt.check_model_state(state["model"], model)
    ckpt.check_optimizer_state(state["optimizer"], torch.optim.Adam(model.parameters()))
    wide = torch.nn.Sequential(torch.nn.Linear(3, 4))
    with pytest.raises(ValueError, match=r"model tensor '0.weight' is torch.float32 \(2, 3\), the config's "
                                         r"network needs torch.float32 \(4, 3\)"):
        ckpt.check_model_state(state["model"], wide)
    with pytest.raises(ValueError, match=r"lacks '0\.bias'"):
        ckpt.check_model_state({"0.weight": state["model"]["0.weight"]}, model)
    with pytest.raises(ValueError, match="has 'extra'"):
        ckpt.check_model_state({**state["model"], "extra": torch.ones(1)}, model)
    with pytest.raises(ValueError, match=r"optimizer state 'exp_avg' of parameter 0 has shape \(2, 3\)"):
        ckpt.check_optimizer_state(state["optimizer"], torch.optim.Adam(wide.parameters()))
    two_layers = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="does not match the network's parameters"):
        ckpt.check_optimizer_state(state["optimizer"], torch.optim.Adam(two_layers.parameters()))
