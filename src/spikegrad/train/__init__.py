"""Training spiking networks: data, models, the training loop, checkpoints, multi-process runs.

The library side of ``spikegrad train`` and ``spikegrad compare``:

* :mod:`.data`: scikit-learn's bundled digits and MNIST-style IDX files; seeded batches and encodings.
* :mod:`.models`: the spiking MLP and conv net.
* :mod:`.loop`: :class:`~.loop.TrainConfig` and :func:`~.loop.fit`.
* :mod:`.checkpoint`: atomic checkpoints loadable with ``weights_only=True``.
* :mod:`.distributed`: DistributedDataParallel under ``torchrun``.
* :mod:`.compare`: the shape-vs-scale surrogate study.
* :mod:`.report`: metrics tables and plots.

Example:
    >>> from spikegrad.train import TrainConfig, fit
    >>> result = fit(TrainConfig(epochs=1, max_batches=2, T=2, hidden=16))
    >>> len(result.metrics)
    1
"""

from __future__ import annotations

from .loop import Result, TrainConfig, fit

__all__ = ["Result", "TrainConfig", "fit"]
