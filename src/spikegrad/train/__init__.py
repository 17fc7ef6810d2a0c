"""Training spiking networks: data, models, the training loop, checkpoints, multi-process runs.

The library side of ``spikegrad train`` and ``spikegrad compare``:

* :mod:`.config`: :class:`~.config.TrainConfig`, its validation and learning-rate schedule.
* :mod:`.data`: the data-set registry (with checks), the bundled digits, seeded batches and
  encodings; :mod:`.idx`: MNIST-style IDX files.
* :mod:`.models`: the spiking MLP and conv net.
* :mod:`.loop`: :func:`~.loop.fit`.
* :mod:`.checkpoint`: atomic checkpoints, verified (CRC-32, entries, shapes) before they are loaded
  with ``weights_only=True``.
* :mod:`.rundir`: the run folder's lock and files; :mod:`.interrupts`: Ctrl-C and SIGTERM at batch
  boundaries; :mod:`.errors`: how a run stops early; :mod:`.memory`: the memory a run needs.
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

from .config import TrainConfig
from .errors import CheckpointError, RunFolderError, RunFolderInUse, TrainingDiverged, TrainingInterrupted
from .loop import Result, fit

__all__ = ["CheckpointError", "Result", "RunFolderError", "RunFolderInUse", "TrainConfig", "TrainingDiverged",
           "TrainingInterrupted", "fit"]
