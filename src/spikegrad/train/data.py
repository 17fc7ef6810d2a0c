"""Data sets for the training command: a small registry, checks, the bundled digits, batches, encodings.

Every data set comes back as a :class:`Split`, already split into train and test parts and
checked (:func:`check_split`) before any training starts, with int64 labels in
``[0, n_classes)``. Its samples are either

* static images: float32 ``[N, C, H, W]`` in ``[0, 1]``, turned into a sequence of ``T`` steps by
  the ``poisson`` or ``direct`` encoding; or
* sequences that already have a time axis (event data binned into frames): uint8 event counts
  ``[N, T, *shape]`` (``sequences=True``), fed as they are (``counts``) or as spikes, 1 where a
  frame holds an event (``spikes``).

The batch order and the Poisson spike trains are drawn from generators seeded by
``(seed, epoch, batch)``, never from the global RNG, so that a resumed run and a multi-process
run see exactly the batches of a single uninterrupted run.

Adding a data set is one :func:`register` call with a :class:`Dataset` whose ``load`` returns a
:class:`Split`; ``--dataset`` lists the registry, and :func:`load_dataset` checks what ``load``
returns. Loaders name the file and the problem in a ``ValueError`` (one line) for any bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

if TYPE_CHECKING:
    from ..datasets import Binning, FrameCache
    from .config import TrainConfig

#: Encodings of static images, and of sequences that already have a time axis.
IMAGE_ENCODINGS = ("poisson", "direct")
SEQUENCE_ENCODINGS = ("spikes", "counts")


@dataclass
class Split:
    """A data set split into train and test parts.

    Attributes:
        name: the data set's name.
        train_x: training samples: images ``[N, C, H, W]`` float32 in ``[0, 1]``, or (``sequences``)
            frames ``[N, T, *shape]`` uint8 event counts.
        train_y: training labels, ``[N]`` int64 in ``[0, n_classes)``.
        test_x: test samples.
        test_y: test labels.
        n_classes: number of classes.
        sequences: the samples already have a time axis (event frames).
        class_names: a name per class (default: the class numbers).
    """

    name: str
    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    n_classes: int
    sequences: bool = False
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.class_names:
            self.class_names = tuple(str(i) for i in range(self.n_classes))

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of the network's input at one time step: ``(C, H, W)`` or ``(channels,)``."""
        return tuple(self.train_x.shape[2:] if self.sequences else self.train_x.shape[1:])

    @property
    def sample_size(self) -> str:
        """One sample in words: ``8x8 px`` or ``16 frames of 2x34x34 event counts``."""
        if not self.sequences:
            return image_size(self.train_x)
        shape = "x".join(str(n) for n in self.input_shape)
        return f"{self.train_x.shape[1]} frames of {shape} event counts"


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Dataset:
    """One entry of the data-set registry (what ``--dataset NAME`` refers to).

    Attributes:
        name: the name users pass.
        load: ``load(data_dir)`` returns the :class:`Split` (``data_dir`` is ``None`` for bundled
            sets); for event data, ``load(data_dir, binning, cache)`` with a
            :class:`~spikegrad.datasets.Binning` and a :class:`~spikegrad.datasets.FrameCache`.
        n_classes: the number of classes every label must stay below.
        summary: one line for ``--help``.
        files: what the data folder must hold (``''`` for a bundled set, which takes no folder).
        events: event data, binned into frames (the config's ``T`` and ``downsample`` apply).
        defaults: the config values that suit the data set (e.g. ``{'model': 'conv'}``), applied
            by :meth:`~spikegrad.train.config.TrainConfig.for_dataset` and ``--dataset`` where
            the user does not choose.
    """

    name: str
    load: Callable[..., Split]
    n_classes: int
    summary: str
    files: str = ""
    events: bool = False
    defaults: Mapping[str, Any] = field(default_factory=dict, hash=False)

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


def load_dataset(name: str, data_dir: str | Path | None = None, *, binning: Binning | None = None,
                 cache: FrameCache | None = None) -> Split:
    """Load a registered data set by name and check it (:func:`check_split`).

    Args:
        name: a name of :data:`DATASETS`.
        data_dir: the folder with its files (``None`` for a bundled set).
        binning: for event data, the frames per sample and down-sampling (default: 16 frames and
            the data set's own down-sampling); ignored otherwise.
        cache: for event data, where binned frames are cached (default:
            :class:`~spikegrad.datasets.FrameCache` ()).

    Raises:
        ValueError: unknown name, a folder given to a bundled set or missing for one read from
            disk, or bad data (naming the file and the problem).
        FileNotFoundError: the folder or one of its files is missing (named, with where the data
            set is published).
        ImportError: the bundled digits without scikit-learn, SHD without h5py.
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    dataset = DATASETS[name]
    if dataset.needs_data_dir and data_dir is None:
        raise ValueError(f"--dataset {name} needs --data-dir DIR (a folder with {dataset.files})")
    if not dataset.needs_data_dir and data_dir is not None:
        raise ValueError(f"--dataset {name} is bundled and takes no --data-dir")
    path = Path(data_dir) if data_dir is not None else None
    if dataset.events:
        from ..datasets import Binning, FrameCache
        from .defaults import DEFAULTS

        if binning is None:
            binning = Binning(DEFAULTS.T, int(dataset.defaults.get("downsample", 1)))
        split = dataset.load(path, binning, cache if cache is not None else FrameCache())
    else:
        split = dataset.load(path)
    check_split(split, dataset.n_classes)
    return split


def load_for_config(config: TrainConfig, data_dir: str | Path | None = None,
                    cache: FrameCache | None = None) -> Split:
    """The data set a config trains on: event data binned into ``config.T`` frames, down-sampled by
    ``config.downsample``.

    Args:
        config: the run's config.
        data_dir: the data folder, if not the config's own (the data moved).
        cache: where binned frames are cached.

    Raises:
        The errors of :func:`load_dataset`.
    """
    from ..datasets import Binning

    folder = data_dir if data_dir is not None else config.data_dir
    binning = Binning(config.T, config.downsample) if DATASETS[config.dataset].events else None
    return load_dataset(config.dataset, folder, binning=binning, cache=cache)


def check_split(split: Split, n_classes: int) -> None:
    """Check what a loader returned: shapes, dtypes, value ranges and labels, train against test.

    Images must be float32 ``[N, C, H, W]`` within ``[0, 1]``; sequences (``split.sequences``)
    uint8 event counts ``[N, T, *shape]`` with at least one value per step.

    Raises:
        ValueError: the first problem found, naming the part (train or test) and the rule.
    """
    where = split.name
    what = "samples" if split.sequences else "images"
    if split.n_classes != n_classes:
        raise ValueError(f"{where}: has {split.n_classes} classes, the data set defines {n_classes}")
    if len(split.class_names) != n_classes:
        raise ValueError(f"{where}: has {len(split.class_names)} class names for {n_classes} classes")
    for part, x, y in (("train", split.train_x, split.train_y), ("test", split.test_x, split.test_y)):
        if split.sequences and (x.dtype != torch.uint8 or x.dim() < 3):
            raise ValueError(f"{where}: {part} samples must be uint8 event counts [N, T, *shape], got "
                             f"{x.dtype} {tuple(x.shape)}")
        if not split.sequences and (x.dtype != torch.float32 or x.dim() != 4):
            raise ValueError(f"{where}: {part} images must be float32 [N, C, H, W], got {x.dtype} "
                             f"{tuple(x.shape)}")
        if len(x) == 0:
            raise ValueError(f"{where}: the {part} part holds no {what}")
        if y.dtype != torch.int64 or y.shape != (len(x),):
            raise ValueError(f"{where}: {part} labels must be int64 [{len(x)}], "
                             f"got {y.dtype} {tuple(y.shape)}")
        if not split.sequences:
            check_unit_range(f"{where}: {part} images", x)
        check_labels(f"{where}: {part} labels", y, n_classes)
    if split.train_x.shape[1:] != split.test_x.shape[1:]:
        size = (lambda x: f"{tuple(x.shape[1:])}") if split.sequences else image_size
        raise ValueError(f"{where}: train {what} are {size(split.train_x)} but test {what} are "
                         f"{size(split.test_x)}; both parts must have the same size")


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
    """Turn a batch of samples into the network's ``[T, B, *shape]`` float32 input sequence.

    Args:
        x: images ``[B, C, H, W]`` with values in ``[0, 1]`` (``poisson``, ``direct``), or
            frames ``[B, T, *shape]`` of event counts (``spikes``, ``counts``).
        T: number of time steps.
        encoding: for images, ``'poisson'`` (a spike with probability equal to the pixel value,
            drawn independently per step) or ``'direct'`` (the analog image repeated at every
            step; the first layer's neurons do the encoding); for frames, ``'spikes'`` (1 where a
            frame holds at least one event, else 0) or ``'counts'`` (the event counts).
        gen: CPU generator for the Poisson draws (the result is moved to ``x.device``).

    Raises:
        ValueError: unknown encoding, ``T < 1``, or frames with another number of steps than ``T``.

    Example:
        >>> frames = torch.tensor([[[0, 3], [1, 0]]], dtype=torch.uint8)  # 1 sample, 2 frames, 2 cells
        >>> encode(frames, 2, "spikes").tolist()
        [[[0.0, 1.0]], [[1.0, 0.0]]]
    """
    if T < 1:
        raise ValueError(f"T must be an integer >= 1, got {T!r}")
    if encoding in SEQUENCE_ENCODINGS:
        if x.dim() < 3 or x.shape[1] != T:
            raise ValueError(f"encoding {encoding!r} takes frames [B, T={T}, *shape], got {tuple(x.shape)}")
        steps = x.transpose(0, 1)
        return (steps > 0).float() if encoding == "spikes" else steps.float()
    if encoding == "direct":
        return x.unsqueeze(0).expand(T, *x.shape)
    if encoding == "poisson":
        u = torch.rand((T, *x.shape), generator=gen, dtype=x.dtype)
        return (u.to(x.device) < x.unsqueeze(0)).to(x.dtype)
    raise ValueError(f"encoding must be one of {', '.join(IMAGE_ENCODINGS + SEQUENCE_ENCODINGS)}, "
                     f"got {encoding!r}")


# Data sets read from disk register themselves when their module is imported (after the names above
# exist, which they use); a new file format is one more such module.
from .idx import IDX_FILES, find_idx_file, load_idx_dataset, read_idx  # noqa: E402
from .neuromorphic import EVENT_DATASETS  # noqa: E402

__all__ = ["DATASETS", "EVENT_DATASETS", "IDX_FILES", "IMAGE_ENCODINGS", "SEQUENCE_ENCODINGS", "Dataset",
           "Split", "check_split", "encode", "epoch_batches", "find_idx_file", "generator", "load_dataset",
           "load_digits", "load_for_config", "load_idx_dataset", "read_idx", "register", "shard"]
