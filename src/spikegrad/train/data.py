"""Data sets for the training command: a small registry, checks, the bundled digits, batches, encodings.

Every data set comes back as a :class:`Split`: float32 images in ``[0, 1]`` shaped ``[N, C, H, W]``
with int64 labels in ``[0, n_classes)``, already split into train and test parts, and checked
(:func:`check_split`) before any training starts. The batch order and the Poisson spike trains are
drawn from generators seeded by ``(seed, epoch, batch)``, never from the global RNG, so that a
resumed run and a multi-process run see exactly the batches of a single uninterrupted run.

Adding a data set is one :func:`register` call with a :class:`Dataset` whose ``load`` returns a
:class:`Split`; ``--dataset`` lists the registry, and :func:`load_dataset` checks what ``load``
returns. Loaders name the file and the problem in a ``ValueError`` (one line) for any bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor


@dataclass
class Split:
    """A data set split into train and test parts.

    Attributes:
        name: the data set's name.
        train_x: training images, ``[N, C, H, W]`` float32 in ``[0, 1]``.
        train_y: training labels, ``[N]`` int64 in ``[0, n_classes)``.
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


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Dataset:
    """One entry of the data-set registry (what ``--dataset NAME`` refers to).

    Attributes:
        name: the name users pass.
        load: ``load(data_dir)`` returns the :class:`Split` (``data_dir`` is ``None`` for bundled sets).
        n_classes: the number of classes every label must stay below.
        summary: one line for ``--help``.
        files: what the data folder must hold (``''`` for a bundled set, which takes no folder).
    """

    name: str
    load: Callable[[Path | None], Split]
    n_classes: int
    summary: str
    files: str = ""

    @property
    def needs_data_dir(self) -> bool:
        """Whether the data set is read from a folder (``--data-dir``)."""
        return bool(self.files)


#: Every data set ``--dataset`` accepts, by name, in registration order.
DATASETS: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Add a data set to :data:`DATASETS` (returned unchanged).

    Raises:
        ValueError: a data set of that name already exists.
    """
    if dataset.name in DATASETS:
        raise ValueError(f"a data set named {dataset.name!r} is already registered")
    DATASETS[dataset.name] = dataset
    return dataset


def load_dataset(name: str, data_dir: str | Path | None = None) -> Split:
    """Load a registered data set by name and check it (:func:`check_split`).

    Raises:
        ValueError: unknown name, a folder given to a bundled set or missing for one read from
            disk, or bad data (naming the file and the problem).
        FileNotFoundError: the folder or one of its files is missing (named).
        ImportError: the bundled digits without scikit-learn.
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    dataset = DATASETS[name]
    if dataset.needs_data_dir and data_dir is None:
        raise ValueError(f"--dataset {name} needs --data-dir DIR (a folder with {dataset.files})")
    if not dataset.needs_data_dir and data_dir is not None:
        raise ValueError(f"--dataset {name} is bundled and takes no --data-dir")
    split = dataset.load(Path(data_dir) if data_dir is not None else None)
    check_split(split, dataset.n_classes)
    return split


def check_split(split: Split, n_classes: int) -> None:
    """Check what a loader returned: shapes, dtypes, value ranges and labels, train against test.

    Raises:
        ValueError: the first problem found, naming the part (train or test) and the rule.
    """
    where = split.name
    if split.n_classes != n_classes:
        raise ValueError(f"{where}: has {split.n_classes} classes, the data set defines {n_classes}")
    for part, x, y in (("train", split.train_x, split.train_y), ("test", split.test_x, split.test_y)):
        if x.dtype != torch.float32 or x.dim() != 4:
            raise ValueError(f"{where}: {part} images must be float32 [N, C, H, W], got {x.dtype} "
                             f"{tuple(x.shape)}")
        if len(x) == 0:
            raise ValueError(f"{where}: the {part} part holds no images")
        if y.dtype != torch.int64 or y.shape != (len(x),):
            raise ValueError(f"{where}: {part} labels must be int64 [{len(x)}], "
                             f"got {y.dtype} {tuple(y.shape)}")
        check_unit_range(f"{where}: {part} images", x)
        check_labels(f"{where}: {part} labels", y, n_classes)
    if split.train_x.shape[1:] != split.test_x.shape[1:]:
        raise ValueError(f"{where}: train images are {image_size(split.train_x)} but test images are "
                         f"{image_size(split.test_x)}; both parts must have the same size")


def image_size(x: Tensor) -> str:
    """The size of the images in ``x`` (``[N, C, H, W]``) in words: ``8x8 px`` or ``32x32 px, 3 channels``."""
    channels = f", {x.shape[1]} channels" if x.shape[1] != 1 else ""
    return f"{x.shape[-2]}x{x.shape[-1]} px{channels}"


def check_unit_range(what: str, x: Tensor) -> None:
    """Images are spike probabilities for the Poisson encoding: finite and within [0, 1]."""
    bad = ~torch.isfinite(x) | (x < 0) | (x > 1)
    if bool(bad.any()):
        i = int(bad.flatten().nonzero()[0])
        image = i // max(x[0].numel(), 1)
        raise ValueError(f"{what} must be finite and within [0, 1], but image {image} holds "
                         f"{float(x.flatten()[i])!r}")


def check_labels(what: str, y: Tensor, n_classes: int) -> None:
    """Every label must name a class: an integer in ``[0, n_classes)``."""
    bad = (y < 0) | (y >= n_classes)
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        raise ValueError(f"{what}: label {int(y[i])} at index {i} is outside 0..{n_classes - 1} "
                         f"(the data set has {n_classes} classes)")


# --------------------------------------------------------------------------- bundled digits


def load_digits(test_fraction: float = 0.25, split_seed: int = 0) -> Split:
    """scikit-learn's 1,797 bundled 8x8 digits, split stratified by class (no download).

    The split is fixed by ``split_seed`` (not by the training seed), so runs with different seeds
    are scored on the same test images.

    Args:
        test_fraction: share of each class held out for testing (default 0.25: 450 test images).
        split_seed: seed of the split.

    Returns:
        The split data set, pixel values scaled from 0..16 to ``[0, 1]``.

    Raises:
        ImportError: scikit-learn is not installed (the message says how to install it).
    """
    try:
        from sklearn.datasets import load_digits as sk_load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise ImportError("the digits data set comes with scikit-learn: pip install scikit-learn "
                          "(or pip install -e '.[train]' in a checkout of spikegrad)") from None

    bunch = sk_load_digits()
    x = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    idx_train, idx_test = train_test_split(
        range(len(y)), test_size=test_fraction, stratify=bunch.target, random_state=split_seed
    )
    tr, te = torch.as_tensor(idx_train), torch.as_tensor(idx_test)
    return Split("digits", x[tr], y[tr], x[te], y[te], n_classes=10)


register(Dataset("digits", lambda _: load_digits(), 10, "scikit-learn's 1,797 8x8 images, bundled"))


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
    return list(order.split(min(batch_size, max(n, 1))))


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


# Data sets read from disk register themselves when their module is imported (after the names above
# exist, which they use); a new file format is one more such module.
from .idx import IDX_FILES, find_idx_file, load_idx_dataset, read_idx  # noqa: E402

__all__ = ["DATASETS", "IDX_FILES", "Dataset", "Split", "check_split", "encode", "epoch_batches",
           "find_idx_file", "generator", "load_dataset", "load_digits", "load_idx_dataset", "read_idx",
           "register", "shard"]
