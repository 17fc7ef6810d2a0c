"""The ways a training run stops early, as exceptions that carry what the user needs next.

Each message is one line written for the person at the terminal; ``spikegrad train`` prints it as
is. The attributes let library callers react without parsing the text.
"""

from __future__ import annotations

from pathlib import Path


class CheckpointError(ValueError):
    """A checkpoint is damaged, incomplete, or does not fit the network its config builds."""


class RunFolderError(Exception):
    """A run folder cannot be used: not writable, not a folder, or it already holds another run."""


class RunFolderInUse(RunFolderError):
    """Another living process is training into the same run folder (it holds the folder's lock)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped at a batch boundary on SIGINT (Ctrl-C) or SIGTERM, after saving a checkpoint.

    A subclass of :class:`KeyboardInterrupt`, so code that stops on Ctrl-C keeps doing so.

    Attributes:
        run_dir: the run folder that holds the checkpoint (``--resume`` it to continue).
        epoch: epochs completed before the interrupted one.
        batch: batches of the next epoch already trained (0: the interrupt came between epochs).
        batches: batches per epoch.
        signal: the signal number that asked to stop.
    """

    def __init__(self, run_dir: Path, epoch: int, batch: int, batches: int, signal: int) -> None:
        where = (f"after epoch {epoch}" if batch == 0
                 else f"in epoch {epoch + 1} after batch {batch} of {batches}")
        super().__init__(f"interrupted; saved a checkpoint {where} in {run_dir}")
        self.run_dir, self.epoch, self.batch = run_dir, epoch, batch
        self.batches, self.signal = batches, signal


class TrainingDiverged(FloatingPointError):
    """The loss, the test loss or the weights became NaN or infinite; training stopped without saving.

    Attributes:
        epoch: the epoch in which it happened.
        batch: the training batch (1-based), or ``None`` when it showed after the epoch's training.
        value: the non-finite value.
        what: ``'training loss'``, ``'test loss'`` or ``'weights'``.
        kept: what stays on disk to roll back to (one sentence), or ``''`` when nothing is written.
    """

    def __init__(self, epoch: int, batch: int | None, value: float, kept: str = "",
                 what: str = "training loss") -> None:
        where = f"at epoch {epoch}, batch {batch}" if batch is not None else f"after epoch {epoch}"
        super().__init__(f"the {what} became {value} {where}; training stopped"
                         + (f". {kept}" if kept else "") + "; a lower learning rate usually helps")
        self.epoch, self.batch, self.value, self.what, self.kept = epoch, batch, value, what, kept


__all__ = ["CheckpointError", "RunFolderError", "RunFolderInUse", "TrainingDiverged", "TrainingInterrupted"]
