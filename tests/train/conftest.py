"""Shared helpers for the training tests: tiny configs and small IDX files written on the fly."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest
import torch

from spikegrad.train.data import Split, load_digits
from spikegrad.train.loop import TrainConfig

# IDX element type byte of each dtype the writer supports.
IDX_TYPE = {torch.uint8: 0x08, torch.int8: 0x09, torch.int16: 0x0B, torch.int32: 0x0C, torch.float32: 0x0D,
            torch.float64: 0x0E}


def tiny_config(**overrides: object) -> TrainConfig:
    """A config that trains in well under a second: few steps, a narrow layer, few batches."""
    values: dict[str, object] = {"T": 3, "hidden": 16, "epochs": 2, "batch_size": 32, "max_batches": 3}
    values.update(overrides)
    return TrainConfig(**values)  # type: ignore[arg-type]


def write_idx(path: Path, array: torch.Tensor, compress: bool = False) -> Path:
    """Write ``array`` as an IDX file (the MNIST format), big-endian, in its own dtype; return the path."""
    header = bytes([0, 0, IDX_TYPE[array.dtype], array.dim()]) + struct.pack(f">{array.dim()}I", *array.shape)
    payload = header + array.contiguous().numpy().astype(array.numpy().dtype.newbyteorder(">")).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def write_mnist_like(folder: Path, n_train: int = 40, n_test: int = 20, size: int = 12,
                     compress: bool = False) -> None:
    """Four small IDX files in ``folder``: class k images have a bright k-th row."""
    folder.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    for part, n in (("train", n_train), ("t10k", n_test)):
        labels = torch.arange(n) % 10
        images = torch.randint(0, 40, (n, size, size), generator=gen, dtype=torch.uint8)
        images[torch.arange(n), labels] = 255
        write_idx(folder / f"{part}-images-idx3-ubyte", images, compress)
        write_idx(folder / f"{part}-labels-idx1-ubyte", labels.to(torch.uint8), compress)


@pytest.fixture
def mnist_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "mnist"
    write_mnist_like(folder, compress=True)
    return folder


@pytest.fixture(scope="session")
def digits() -> Split:
    """The bundled digits, loaded once (the tests never modify it)."""
    return load_digits()


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of a model's state."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Bit-identical states (same keys, every tensor equal)."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
