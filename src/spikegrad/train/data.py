"""Data sets for the training command: scikit-learn's bundled digits and IDX files from disk.

Every data set comes back as float32 images in ``[0, 1]`` shaped ``[N, 1, H, W]`` with int64
labels, already split into train and test parts. The batch order and the Poisson spike trains
are drawn from generators seeded by ``(seed, epoch, batch)``, never from the global RNG, so that
a resumed run and a multi-process run see exactly the batches of a single uninterrupted run.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

#: The data sets ``--dataset`` accepts.
DATASETS = ("digits", "mnist", "fashion-mnist")

#: The standard IDX file names (MNIST and Fashion-MNIST share them).
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX type byte -> (struct code, torch dtype); see http://yann.lecun.com/exdb/mnist/.
_IDX_TYPES = {
    0x08: (">u1", torch.uint8),
    0x09: (">i1", torch.int8),
    0x0B: (">i2", torch.int16),
    0x0C: (">i4", torch.int32),
    0x0D: (">f4", torch.float32),
    0x0E: (">f8", torch.float64),
}


@dataclass
class Split:
    """A data set split into train and test parts.

    Attributes:
        name: the data set's name.
        train_x: training images, ``[N, C, H, W]`` float32 in ``[0, 1]``.
        train_y: training labels, ``[N]`` int64.
        test_x: test images.
        test_y: test labels.
        n_classes: number of classes.
    """

    name: str
    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    n_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one image, ``(C, H, W)``."""
        return tuple(self.train_x.shape[1:])


# --------------------------------------------------------------------------- loading


def load_digits(test_fraction: float = 0.25, split_seed: int = 0) -> Split:
    """scikit-learn's 1,797 bundled 8x8 digits, split stratified by class (no download).

    The split is fixed by ``split_seed`` (not by the training seed), so runs with different seeds
    are scored on the same test images.

    Args:
        test_fraction: share of each class held out for testing (default 0.25: 450 test images).
        split_seed: seed of the split.

    Returns:
        The split data set, pixel values scaled from 0..16 to ``[0, 1]``.
    """
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    x = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    idx_train, idx_test = train_test_split(
        range(len(y)), test_size=test_fraction, stratify=bunch.target, random_state=split_seed
    )
    tr, te = torch.as_tensor(idx_train), torch.as_tensor(idx_test)
    return Split("digits", x[tr], y[tr], x[te], y[te], n_classes=10)


def read_idx(path: str | Path) -> Tensor:
    """Read one IDX file (the MNIST format), gzipped (``.gz``) or not.

    Args:
        path: the file.

    Returns:
        The array it holds, with its stored dtype and shape.

    Raises:
        ValueError: the file is not a valid IDX file (bad magic number, type or size).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (its first two bytes must be zero)")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX element type 0x{type_code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    np_code, dtype = _IDX_TYPES[type_code]
    count = 1
    for n in shape:
        count *= n
    item = torch.empty((), dtype=dtype).element_size()
    if len(data) - header != count * item:
        raise ValueError(
            f"{path}: shape {tuple(shape)} needs {count * item} bytes of data, found {len(data) - header}"
        )
    import numpy as np

    array = np.frombuffer(data, dtype=np.dtype(np_code), offset=header).astype(np_code[1:])
    return torch.from_numpy(array.copy()).reshape(shape).to(dtype)


def find_idx_file(data_dir: Path, stem: str) -> Path:
    """The IDX file ``stem`` (or ``stem.gz``) in ``data_dir``.

    Raises:
        FileNotFoundError: neither exists; the message names the file and the folder.
    """
    for name in (stem, stem + ".gz"):
        if (data_dir / name).is_file():
            return data_dir / name
    raise FileNotFoundError(f"missing {stem} (or {stem}.gz) in {data_dir}")


def load_idx_dataset(name: str, data_dir: str | Path) -> Split:
    """MNIST or Fashion-MNIST from the four standard IDX files in ``data_dir``.

    Args:
        name: ``'mnist'`` or ``'fashion-mnist'`` (only the label of the result differs).
        data_dir: folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
            ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally ``.gz``.

    Raises:
        FileNotFoundError: the folder or one of the files is missing (named in the message).
        ValueError: a file is not valid IDX, or images and labels disagree.
    """
    folder = Path(data_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"data directory {str(folder)!r} does not exist")
    parts = {key: read_idx(find_idx_file(folder, stem)) for key, stem in IDX_FILES.items()}
    for part in ("train", "test"):
        images, labels = parts[f"{part}_images"], parts[f"{part}_labels"]
        if images.dim() != 3 or labels.dim() != 1 or len(images) != len(labels):
            raise ValueError(
                f"{folder}: {part} images {tuple(images.shape)} and labels {tuple(labels.shape)} "
                "must be [N, H, W] and [N]"
            )
    n_classes = int(max(parts["train_labels"].max(), parts["test_labels"].max())) + 1

    def as_images(t: Tensor) -> Tensor:
        scale = 255.0 if t.dtype == torch.uint8 else 1.0
        return (t.to(torch.float32) / scale).unsqueeze(1)

    return Split(
        name,
        as_images(parts["train_images"]),
        parts["train_labels"].to(torch.int64),
        as_images(parts["test_images"]),
        parts["test_labels"].to(torch.int64),
        n_classes=max(n_classes, 10),
    )


def load_dataset(name: str, data_dir: str | Path | None = None) -> Split:
    """Load a data set by name (see :data:`DATASETS`).

    Raises:
        ValueError: unknown name, or an IDX data set without ``data_dir``.
        FileNotFoundError: see :func:`load_idx_dataset`.
    """
    if name == "digits":
        return load_digits()
    if name in ("mnist", "fashion-mnist"):
        if data_dir is None:
            raise ValueError(f"--dataset {name} needs --data-dir DIR (a folder with the IDX files)")
        return load_idx_dataset(name, data_dir)
    raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")


# --------------------------------------------------------------------------- batches and encoding


def generator(*key: int) -> torch.Generator:
    """A CPU generator seeded from a tuple of integers, e.g. ``(seed, epoch, batch)``."""
    # Mix the key into one 63-bit seed; distinct small tuples give distinct seeds.
    acc = 0x9E3779B97F4A7C15
    for k in key:
        acc = (acc ^ (k + 0x632BE59BD9B4E019 + (acc << 6) + (acc >> 2))) & 0x7FFF_FFFF_FFFF_FFFF
    return torch.Generator().manual_seed(acc)


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, shuffle: bool = True) -> list[Tensor]:
    """The global batches of one epoch: index tensors, a permutation fixed by ``(seed, epoch)``.

    The last batch may be smaller. Every process of a multi-process run computes the same list.
    """
    order = torch.randperm(n, generator=generator(seed, epoch)) if shuffle else torch.arange(n)
    return list(order.split(batch_size))


def shard(indices: Tensor, rank: int, world_size: int) -> Tensor:
    """This process's share of a global batch: every ``world_size``-th sample from ``rank`` on."""
    return indices[rank::world_size]


def encode(x: Tensor, T: int, encoding: str, gen: torch.Generator | None = None) -> Tensor:
    """Turn static images into a ``[T, *x.shape]`` input sequence.

    Args:
        x: images with values in ``[0, 1]``.
        T: number of time steps.
        encoding: ``'poisson'`` (a spike with probability equal to the pixel value, drawn
            independently per step) or ``'direct'`` (the analog image repeated at every step;
            the first layer's neurons do the encoding).
        gen: CPU generator for the Poisson draws (the result is moved to ``x.device``).

    Raises:
        ValueError: unknown encoding or ``T < 1``.
    """
    if T < 1:
        raise ValueError(f"T must be an integer >= 1, got {T!r}")
    if encoding == "direct":
        return x.unsqueeze(0).expand(T, *x.shape)
    if encoding == "poisson":
        u = torch.rand((T, *x.shape), generator=gen, dtype=x.dtype)
        return (u.to(x.device) < x.unsqueeze(0)).to(x.dtype)
    raise ValueError(f"encoding must be 'poisson' or 'direct', got {encoding!r}")
