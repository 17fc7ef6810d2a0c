from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import write_idx, write_mnist_like

from spikegrad.train import data as D


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path: Path, compress: bool) -> None:
    array = torch.randint(0, 256, (5, 3, 4), dtype=torch.uint8)
    write_idx(tmp_path / "x-idx3-ubyte", array, compress)
    name = "x-idx3-ubyte.gz" if compress else "x-idx3-ubyte"
    assert torch.equal(D.read_idx(tmp_path / name), array)


def test_idx_rejects_bad_files(tmp_path: Path) -> None:
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01abcd")
    with pytest.raises(ValueError, match="not an IDX file"):
        D.read_idx(tmp_path / "bad")
    write_idx(tmp_path / "short", torch.zeros(4, 4, dtype=torch.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="needs 16 bytes"):
        D.read_idx(tmp_path / "short")


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_folder_loads(tmp_path: Path, compress: bool) -> None:
    write_mnist_like(tmp_path, n_train=30, n_test=10, size=12, compress=compress)
    split = D.load_dataset("fashion-mnist", tmp_path)
    assert split.train_x.shape == (30, 1, 12, 12) and split.test_x.shape == (10, 1, 12, 12)
    assert split.train_x.dtype == torch.float32 and float(split.train_x.max()) == 1.0
    assert split.n_classes == 10 and split.train_y.tolist()[:3] == [0, 1, 2]


def test_missing_idx_file_is_named(tmp_path: Path) -> None:
    write_mnist_like(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        D.load_dataset("mnist", tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.load_dataset("mnist", tmp_path / "nowhere")
    with pytest.raises(ValueError, match="--data-dir"):
        D.load_dataset("mnist")


def test_digits_split_is_fixed_and_stratified() -> None:
    a, b = D.load_digits(), D.load_digits()
    assert torch.equal(a.test_y, b.test_y) and torch.equal(a.train_x, b.train_x)
    assert len(a.train_y) + len(a.test_y) == 1797 and a.input_shape == (1, 8, 8)
    share = torch.bincount(a.test_y, minlength=10).float() / torch.bincount(a.train_y, minlength=10).float()
    assert torch.allclose(share, torch.full((10,), 1 / 3), atol=0.02)
    assert 0.0 <= float(a.train_x.min()) and float(a.train_x.max()) == 1.0


def test_batches_depend_on_seed_and_epoch_only() -> None:
    first = D.epoch_batches(100, 32, seed=1, epoch=3)
    assert [len(b) for b in first] == [32, 32, 32, 4]
    assert sorted(torch.cat(first).tolist()) == list(range(100))
    again = D.epoch_batches(100, 32, seed=1, epoch=3)
    assert all(torch.equal(x, y) for x, y in zip(first, again, strict=True))
    assert not torch.equal(first[0], D.epoch_batches(100, 32, seed=1, epoch=4)[0])
    assert not torch.equal(first[0], D.epoch_batches(100, 32, seed=2, epoch=3)[0])


def test_shards_partition_a_batch() -> None:
    batch = torch.arange(11)
    parts = [D.shard(batch, r, 3) for r in range(3)]
    assert sorted(torch.cat(parts).tolist()) == list(range(11))


def test_encodings() -> None:
    x = torch.tensor([[0.0, 0.5, 1.0]]).expand(4000, 3)
    spikes = D.encode(x, 3, "poisson", D.generator(0, 1, 2))
    assert spikes.shape == (3, 4000, 3) and set(spikes.unique().tolist()) <= {0.0, 1.0}
    rate = spikes.mean((0, 1))
    assert rate[0] == 0 and rate[2] == 1 and abs(float(rate[1]) - 0.5) < 0.03
    assert torch.equal(spikes, D.encode(x, 3, "poisson", D.generator(0, 1, 2)))
    assert not torch.equal(spikes, D.encode(x, 3, "poisson", D.generator(0, 1, 3)))
    assert torch.equal(D.encode(x, 2, "direct")[1], x)
    with pytest.raises(ValueError, match="encoding"):
        D.encode(x, 2, "rate")
    with pytest.raises(ValueError, match="T must be"):
        D.encode(x, 0, "direct")
