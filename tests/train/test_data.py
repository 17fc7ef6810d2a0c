"""Data sets: the registry, the IDX reader and every check a file must pass before training starts."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pytest
import torch
from conftest import write_idx, write_mnist_like

from spikegrad.train import data as D


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.float32,
                                   torch.float64])
def test_idx_round_trip(tmp_path: Path, compress: bool, dtype: torch.dtype) -> None:
    array = (torch.arange(60).reshape(5, 3, 4) - 20).to(dtype) if dtype != torch.uint8 else \
        torch.randint(0, 256, (5, 3, 4), dtype=torch.uint8)
    path = write_idx(tmp_path / "x-idx3-ubyte", array, compress)
    read = D.read_idx(path)
    assert read.dtype == dtype and torch.equal(read, array)


def test_idx_rejects_bad_files(tmp_path: Path) -> None:
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01abcd")
    with pytest.raises(ValueError, match="not an IDX file"):
        D.read_idx(tmp_path / "bad")
    write_idx(tmp_path / "short", torch.zeros(4, 4, dtype=torch.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="needs 16 bytes"):
        D.read_idx(tmp_path / "short")
    (tmp_path / "type").write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01a")
    with pytest.raises(ValueError, match="unknown IDX element type 0x07"):
        D.read_idx(tmp_path / "type")


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_gzip_is_one_clear_error(tmp_path: Path, damage: str) -> None:
    payload = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(200))
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(payload[:-20] if damage == "truncated" else b"\x1f\x8b" + b"garbage" * 5)
    with pytest.raises(ValueError, match=r"x-idx1-ubyte.gz: damaged gzip file"):
        D.read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_folder_loads(tmp_path: Path, compress: bool) -> None:
    write_mnist_like(tmp_path, n_train=30, n_test=10, size=12, compress=compress)
    split = D.load_dataset("fashion-mnist", tmp_path)
    assert split.train_x.shape == (30, 1, 12, 12) and split.test_x.shape == (10, 1, 12, 12)
    assert split.train_x.dtype == torch.float32 and float(split.train_x.max()) == 1.0
    assert split.n_classes == 10 and split.train_y.tolist() == [i % 10 for i in range(30)]
    raw = D.read_idx(D.find_idx_file(tmp_path, "train-images-idx3-ubyte"))
    assert torch.equal(split.train_x[:, 0], raw.float() / 255)  # pixels scaled exactly, not rounded


def _replace(folder: Path, stem: str, array: torch.Tensor) -> None:
    for old in folder.glob(stem + "*"):
        old.unlink()
    write_idx(folder / stem, array)


IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


@pytest.mark.parametrize(("stem", "array", "message"), [
    (TEST_IMAGES, torch.zeros(20, 14, 14, dtype=torch.uint8),
     r"train-images-idx3-ubyte holds 12x12 px images but t10k-images-idx3-ubyte holds 14x14 px"),
    (LABELS, (torch.arange(40) % 10 - 1).to(torch.int8),
     r"train-labels-idx1-ubyte: label -1 at index 0 is outside 0..9"),
    (TEST_LABELS, torch.tensor([255] + [0] * 19, dtype=torch.uint8),
     r"t10k-labels-idx1-ubyte: label 255 at index 0 is outside 0..9 \(the data set has 10 classes\)"),
    (IMAGES, torch.zeros(0, 12, 12, dtype=torch.uint8), r"train-images-idx3-ubyte: holds no images"),
    (IMAGES, torch.full((40, 12, 12), math.nan), r"train-images-idx3-ubyte must be finite and within "
                                                  r"\[0, 1\], but image 0 holds nan"),
    (IMAGES, torch.cat([torch.zeros(3, 12, 12), torch.full((37, 12, 12), 2.0)]).double(),
     r"but image 3 holds 2.0"),
    (IMAGES, torch.zeros(40, 12, 12, dtype=torch.int16), r"images must be uint8 \(0..255\) or float"),
    (IMAGES, torch.zeros(40, 144, dtype=torch.uint8), r"images must be \[N, H, W\], got shape \(40, 144\)"),
    (LABELS, torch.zeros(39, dtype=torch.uint8), r"holds 40 images but train-labels-idx1-ubyte holds 39"),
    (LABELS, torch.zeros(40, dtype=torch.float32), r"labels must be integers, got torch.float32"),
], ids=["test-size", "negative-label", "label-255", "no-images", "nan-pixels", "pixel-2", "int16-images",
        "2d-images", "count-mismatch", "float-labels"])
def test_bad_idx_data_is_refused_before_training(tmp_path: Path, stem: str, array: torch.Tensor,
                                                 message: str) -> None:
    write_mnist_like(tmp_path)
    _replace(tmp_path, stem, array)
    with pytest.raises(ValueError, match=message):
        D.load_dataset("mnist", tmp_path)


def test_float_images_in_range_are_taken_as_they_are(tmp_path: Path) -> None:
    write_mnist_like(tmp_path)
    images = torch.rand(40, 12, 12, generator=torch.Generator().manual_seed(1))
    _replace(tmp_path, IMAGES, images)
    _replace(tmp_path, TEST_IMAGES, images[:20].double())
    split = D.load_dataset("mnist", tmp_path)
    assert torch.equal(split.train_x[:, 0], images) and split.test_x.dtype == torch.float32


def test_missing_idx_file_is_named(tmp_path: Path) -> None:
    write_mnist_like(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        D.load_dataset("mnist", tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.load_dataset("mnist", tmp_path / "nowhere")
    with pytest.raises(ValueError, match="--data-dir"):
        D.load_dataset("mnist")
    with pytest.raises(ValueError, match="takes no --data-dir"):
        D.load_dataset("digits", tmp_path)
    with pytest.raises(ValueError, match="dataset must be one of digits, mnist, fashion-mnist"):
        D.load_dataset("cifar")


def test_registry_checks_what_a_new_loader_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(D, "DATASETS", dict(D.DATASETS))
    good = D.Split("tiny", torch.rand(4, 1, 4, 4), torch.tensor([0, 1, 2, 0]), torch.rand(2, 1, 4, 4),
                   torch.tensor([1, 2]), n_classes=3)
    D.register(D.Dataset("tiny", lambda _: good, 3, "four images"))
    assert D.load_dataset("tiny") is good
    with pytest.raises(ValueError, match="already registered"):
        D.register(D.Dataset("tiny", lambda _: good, 3, "again"))
    bad = D.Split("odd", good.train_x, good.train_y, torch.rand(2, 1, 5, 5), good.test_y, n_classes=3)
    D.register(D.Dataset("odd", lambda _: bad, 3, "test images of another size"))
    with pytest.raises(ValueError, match="train images are 4x4 px but test images are 5x5 px"):
        D.load_dataset("odd")
    wrong = D.Split("wrong", good.train_x, torch.tensor([0, 1, 3, 0]), good.test_x, good.test_y, n_classes=3)
    D.register(D.Dataset("wrong", lambda _: wrong, 3, "a label out of range"))
    with pytest.raises(ValueError, match=r"train labels: label 3 at index 2 is outside 0\.\.2"):
        D.load_dataset("wrong")


def test_digits_split_is_fixed_and_stratified(digits: D.Split) -> None:
    again = D.load_digits()
    assert torch.equal(digits.test_y, again.test_y) and torch.equal(digits.train_x, again.train_x)
    assert (len(digits.train_y), len(digits.test_y)) == (1347, 450) and digits.input_shape == (1, 8, 8)
    # every class is split 3:1 to within one image
    train, test = torch.bincount(digits.train_y, minlength=10), torch.bincount(digits.test_y, minlength=10)
    assert bool(((3 * test - train).abs() <= 3).all())
    assert float(digits.train_x.min()) == 0.0 and float(digits.train_x.max()) == 1.0
    assert set((digits.train_x * 16).unique().tolist()) == set(range(17))  # 0..16 scaled exactly


def test_batches_depend_on_seed_and_epoch_only() -> None:
    first = D.epoch_batches(100, 32, seed=1, epoch=3)
    assert [len(b) for b in first] == [32, 32, 32, 4]
    assert sorted(torch.cat(first).tolist()) == list(range(100))
    again = D.epoch_batches(100, 32, seed=1, epoch=3)
    assert all(torch.equal(x, y) for x, y in zip(first, again, strict=True))
    assert not torch.equal(first[0], D.epoch_batches(100, 32, seed=1, epoch=4)[0])
    assert not torch.equal(first[0], D.epoch_batches(100, 32, seed=2, epoch=3)[0])
    assert [len(b) for b in D.epoch_batches(10, 10**30, seed=0, epoch=1)] == [10]  # one batch, no overflow


def test_shards_partition_a_batch() -> None:
    batch = torch.arange(11)
    parts = [D.shard(batch, r, 3) for r in range(3)]
    assert [p.tolist() for p in parts] == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]


@pytest.mark.parametrize("p", [0.02, 0.1, 0.5, 0.9])
def test_poisson_rate_is_unbiased(p: float) -> None:
    # 2,000,000 Bernoulli draws: 5 standard errors of the rate stay below 2 % of p for p >= 0.1, so
    # a 2 % bias fails the test (a tolerance of 0.03 over 4,000 draws would let it through).
    n = 2_000_000
    x = torch.full((n // 4,), p)
    spikes = D.encode(x, 4, "poisson", D.generator(0, 1, 2))
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(float(spikes.double().mean()) - p) < 5 * sigma
    assert 5 * sigma < 0.02 * p or p < 0.1


def test_encodings() -> None:
    x = torch.tensor([[0.0, 0.5, 1.0]]).expand(4000, 3)
    spikes = D.encode(x, 3, "poisson", D.generator(0, 1, 2))
    assert spikes.shape == (3, 4000, 3) and set(spikes.unique().tolist()) == {0.0, 1.0}
    assert float(spikes[..., 0].max()) == 0 and float(spikes[..., 2].min()) == 1  # p = 0 never, p = 1 always
    assert torch.equal(spikes, D.encode(x, 3, "poisson", D.generator(0, 1, 2)))
    other = D.encode(x, 3, "poisson", D.generator(0, 1, 3))
    assert not torch.equal(spikes, other)
    # distinct keys give independent draws: they agree on a p = 0.5 pixel about half the time
    agree = float((spikes[..., 1] == other[..., 1]).double().mean())
    assert abs(agree - 0.5) < 5 * math.sqrt(0.25 / 12000)
    assert torch.equal(D.encode(x, 2, "direct")[1], x)
    with pytest.raises(ValueError, match="encoding"):
        D.encode(x, 2, "rate")
    with pytest.raises(ValueError, match="T must be"):
        D.encode(x, 0, "direct")
