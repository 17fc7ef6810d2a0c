"""Event data sets for ``spikegrad train``: N-MNIST, DVS128 Gesture and SHD from their original files.

Each registers a :class:`~.data.Dataset` (``events=True``) whose loader reads the data set with
:mod:`spikegrad.datasets`, binned into ``T`` frames (the config's time steps) and down-sampled by
``downsample``, from the on-disk frame cache when it holds them. The samples are uint8 event
counts ``[N, T, *shape]``; the ``spikes`` encoding (the default) feeds 1 where a frame holds an
event, ``counts`` the counts themselves.

=============  ===================================  ============  ====================  ===========
name           files in ``--data-dir``              one step      default model         classes
=============  ===================================  ============  ====================  ===========
``nmnist``     ``Train/0..9/*.bin``, ``Test/...``   2x34x34       conv                  10
``dvsgesture`` AEDAT 3.1 + labels + trials lists    2x32x32 (k=4) conv                  11
``shd``        ``shd_train.h5``, ``shd_test.h5``    700           recurrent             20
=============  ===================================  ============  ====================  ===========
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from ..datasets import Binning, FrameCache, dvsgesture, nmnist, shd
from .data import Dataset, Split, register


def _loader(name: str, module: ModuleType,
            classes: tuple[str, ...]) -> Callable[[Path | None, Binning, FrameCache], Split]:
    """The registry's ``load`` of an event data set: both parts of ``module.load_part`` as a Split."""

    def load(data_dir: Path | None, binning: Binning, cache: FrameCache) -> Split:
        if data_dir is None:
            raise ValueError(f"--dataset {name} needs --data-dir DIR (a folder with {module.FILES})")
        train = module.load_part(data_dir, "train", binning, cache)
        test = module.load_part(data_dir, "test", binning, cache)
        return Split(name, train.frames, train.labels, test.frames, test.labels, n_classes=len(classes),
                     sequences=True, class_names=classes)

    return load


#: The event data sets, by name (all registered in :data:`~.data.DATASETS`).
EVENT_DATASETS = {
    "nmnist": register(Dataset(
        "nmnist", _loader("nmnist", nmnist, tuple(str(i) for i in range(10))), 10,
        "N-MNIST event recordings (Orchard et al. 2015), 60,000 train / 10,000 test, 2x34x34",
        files=nmnist.FILES, events=True, defaults={"model": "conv", "encoding": "spikes", "downsample": 1})),
    "dvsgesture": register(Dataset(
        "dvsgesture", _loader("dvsgesture", dvsgesture, dvsgesture.CLASSES), len(dvsgesture.CLASSES),
        "DVS128 Gesture (Amir et al. 2017), 11 gestures, 1,176 train / 288 test, 2x128x128 "
        "(down-sampled 4x by default)",
        files=dvsgesture.FILES, events=True,
        defaults={"model": "conv", "encoding": "spikes", "downsample": 4})),
    "shd": register(Dataset(
        "shd", _loader("shd", shd, shd.CLASSES), len(shd.CLASSES),
        "Spiking Heidelberg Digits (Cramer et al. 2020), 20 spoken digits, 8,156 train / 2,264 test, "
        "700 channels",
        files=shd.FILES, events=True,
        defaults={"model": "recurrent", "neuron": "alif", "encoding": "spikes", "downsample": 1})),
}

__all__ = ["EVENT_DATASETS"]
