"""MNIST-style data sets from IDX files on disk (``--dataset mnist|fashion-mnist --data-dir DIR``).

The IDX format (http://yann.lecun.com/exdb/mnist/) stores one array per file: a 4-byte magic
number (two zero bytes, the element type, the number of dimensions), the dimensions as big-endian
32-bit integers, then the data. Each file is checked on its own (format, shape, element type,
pixel range, labels within the classes) and then against its partner, and every error names
the file, before any training starts.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from .data import Dataset, Split, check_labels, check_unit_range, image_size, register

#: The standard IDX file names (MNIST and Fashion-MNIST share them).
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX type byte -> (numpy code, torch dtype).
_IDX_TYPES = {
    0x08: (">u1", torch.uint8),
    0x09: (">i1", torch.int8),
    0x0B: (">i2", torch.int16),
    0x0C: (">i4", torch.int32),
    0x0D: (">f4", torch.float32),
    0x0E: (">f8", torch.float64),
}



def read_idx(path: str | Path) -> Tensor:
    """Read one IDX file (the MNIST format), gzipped (``.gz``) or not.

    Args:
        path: the file.

    Returns:
        The array it holds, with its stored dtype and shape.

    Raises:
        ValueError: the file is not a valid IDX file (bad magic number, type or size) or a
            damaged gzip file; the message names the file.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: damaged gzip file ({exc})") from None
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
    item = torch.empty((), dtype=dtype).element_size()
    if len(data) - header != math.prod(shape) * item:
        raise ValueError(
            f"{path}: shape {tuple(shape)} needs {math.prod(shape) * item} bytes of data, "
            f"found {len(data) - header}"
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


def read_idx_images(path: Path) -> Tensor:
    """An IDX file of images as float32 ``[N, 1, H, W]`` in ``[0, 1]``.

    ``uint8`` pixels are divided by 255; float pixels must already lie in ``[0, 1]``.

    Raises:
        ValueError: not ``[N, H, W]``, no images, another element type, or a pixel out of range.
    """
    images = read_idx(path)
    if images.dim() != 3:
        raise ValueError(f"{path}: images must be [N, H, W], got shape {tuple(images.shape)}")
    if len(images) == 0 or images[0].numel() == 0:
        raise ValueError(f"{path}: holds no images (shape {tuple(images.shape)})")
    if images.dtype == torch.uint8:
        return (images.to(torch.float32) / 255.0).unsqueeze(1)
    if not images.is_floating_point():
        raise ValueError(f"{path}: images must be uint8 (0..255) or float (0..1), got {images.dtype}")
    check_unit_range(str(path), images)
    return images.to(torch.float32).unsqueeze(1)


def read_idx_labels(path: Path, n_classes: int) -> Tensor:
    """An IDX file of class labels as int64 ``[N]``, each in ``[0, n_classes)``.

    Raises:
        ValueError: not one-dimensional, not integers, or a label out of range.
    """
    labels = read_idx(path)
    if labels.dim() != 1:
        raise ValueError(f"{path}: labels must be [N], got shape {tuple(labels.shape)}")
    if labels.is_floating_point():
        raise ValueError(f"{path}: labels must be integers, got {labels.dtype}")
    labels = labels.to(torch.int64)
    check_labels(str(path), labels, n_classes)
    return labels


def load_idx_dataset(name: str, data_dir: str | Path, n_classes: int = 10) -> Split:
    """MNIST or Fashion-MNIST from the four standard IDX files in ``data_dir``, checked file by file.

    Args:
        name: ``'mnist'`` or ``'fashion-mnist'`` (only the label of the result differs).
        data_dir: folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
            ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally ``.gz``.
        n_classes: labels must lie in ``0..n_classes-1``.

    Raises:
        FileNotFoundError: the folder or one of the files is missing (named in the message).
        ValueError: a file is not valid IDX or holds bad values, images and labels disagree, or
            train and test images differ in size (the files are named).
    """
    folder = Path(data_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"data directory {str(folder)!r} does not exist")
    paths = {key: find_idx_file(folder, stem) for key, stem in IDX_FILES.items()}
    parts: dict[str, tuple[Tensor, Tensor]] = {}
    for part in ("train", "test"):
        image_path, label_path = paths[f"{part}_images"], paths[f"{part}_labels"]
        images, labels = read_idx_images(image_path), read_idx_labels(label_path, n_classes)
        if len(images) != len(labels):
            raise ValueError(f"{image_path.name} holds {len(images)} images but {label_path.name} holds "
                             f"{len(labels)} labels (in {folder})")
        parts[part] = images, labels
    (train_x, train_y), (test_x, test_y) = parts["train"], parts["test"]
    if train_x.shape[1:] != test_x.shape[1:]:
        raise ValueError(f"{paths['train_images'].name} holds {image_size(train_x)} images but "
                         f"{paths['test_images'].name} holds {image_size(test_x)} (in {folder}); "
                         "both must match")
    return Split(name, train_x, train_y, test_x, test_y, n_classes=n_classes)


def _idx_loader(name: str) -> Callable[[Path | None], Split]:
    def load(data_dir: Path | None) -> Split:
        if data_dir is None:
            raise ValueError(f"--dataset {name} needs --data-dir DIR")
        return load_idx_dataset(name, data_dir)

    return load


_IDX_SUMMARY = "the four IDX files (train-/t10k- images and labels, each may be .gz)"
register(Dataset("mnist", _idx_loader("mnist"), 10, "handwritten digits, 28x28, from --data-dir",
                 files=_IDX_SUMMARY))
register(Dataset("fashion-mnist", _idx_loader("fashion-mnist"), 10, "clothing, 28x28, from --data-dir",
                 files=_IDX_SUMMARY))
