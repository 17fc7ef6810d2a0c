"""What a training run computes: :class:`TrainConfig`, its validation, and its learning-rate schedule.

The config is saved as ``config.json`` in the run folder and inside every checkpoint; a resumed
run continues with the checkpoint's config. Only the number of epochs (and the data folder's
path) may change on resume; :func:`resumed_config` applies such a change and refuses every other.

The learning rate follows a cosine from ``lr`` at epoch 1 towards 0 after the last epoch:

.. math::

    \\eta(e) = \\eta_0 \\cdot \\tfrac12\\left(1 + \\cos\\frac{\\pi (e - 1)}{E}\\right).

When a resumed run changes ``epochs`` from ``E`` to ``E'``, the schedule does not jump: from the
epoch ``s`` whose rate ``a`` was used last (the epoch in progress, or the last one completed), it
continues as a new cosine from ``a`` towards 0 after epoch ``E'``,
``\\eta(e) = a \\cdot \\tfrac12(1 + \\cos(\\pi (e - s) / (E' - s + 1)))`` for ``e >= s``.
Each change is recorded in :attr:`TrainConfig.lr_segments`, so the schedule stays a function of
the config and the epoch alone.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .. import surrogate as sg
from .defaults import DEFAULTS

ENCODINGS = ("poisson", "direct", "spikes", "counts")
MODELS = ("mlp", "conv", "recurrent")
NEURONS = ("if", "lif", "plif", "alif")
BACKENDS = ("fused", "reference")
#: Seeds are 63-bit non-negative integers (torch's generators take at most 64 bits).
MAX_SEED = 2**63 - 1
#: Adam's learning rate must lie in (0, MAX_LR]: larger steps diverge at once.
MAX_LR = 1.0
#: The fields a resumed run may change (the data folder may have moved; more or fewer epochs).
RESUMABLE_CHANGES = ("epochs", "data_dir")


@dataclass
class TrainConfig:
    """Everything that decides what a training run computes (saved as ``config.json``).

    Attributes:
        dataset: a name of :data:`spikegrad.train.data.DATASETS` (``'digits'`` is bundled).
        data_dir: folder with the data set's files (data sets read from disk only).
        model: ``'mlp'``, ``'conv'`` or ``'recurrent'``.
        neuron: ``'if'``, ``'lif'``, ``'plif'`` or ``'alif'`` (adaptive threshold, Bellec et al. 2018).
        tau: membrane time constant (PLIF: its initial value; ALIF: ``tau_m``), > 1.
        surrogate: surrogate name, e.g. ``'atan'``.
        surrogate_params: the surrogate's parameters, e.g. ``{'alpha': 2.0}``.
        detach_reset: cut the gradient through the neurons' reset.
        encoding: for images ``'poisson'`` or ``'direct'``; for event data ``'spikes'`` or ``'counts'``
            (see :func:`spikegrad.train.data.encode`).
        T: time steps per sample (for event data, the frames each sample is binned into).
        epochs: passes over the training set.
        batch_size: global batch size (shared among the processes of a multi-process run).
        lr: Adam's peak learning rate, in (0, 1], cosine-annealed towards 0 over the epochs.
        hidden: width of the hidden spiking layer.
        channels: channels of the first conv layer.
        seed: seed of the weights, the batch order and the Poisson spikes, in ``[0, 2**63)``.
        backend: the neurons' multi-step backend (``None``: the neurons' default).
        max_batches: stop each epoch after this many batches (quick smoke runs).
        downsample: event data: ``k x k`` pixels (SHD: ``k`` channels) pooled into one; 1 for images.
        lr_segments: where a resumed run changed ``epochs``: per change, the schedule's new cosine
            start ``{"from_epoch": s, "lr": a, "previous_epochs": E}`` (see the module docstring;
            ``E`` keeps the rates of the epochs before ``s``). Empty for a run that kept its epochs.
    """

    dataset: str = "digits"
    data_dir: str | None = None
    model: str = DEFAULTS.model
    neuron: str = DEFAULTS.neuron
    tau: float = DEFAULTS.tau
    surrogate: str = DEFAULTS.surrogate
    surrogate_params: dict[str, float] = field(default_factory=dict)
    detach_reset: bool = False
    encoding: str = DEFAULTS.encoding
    T: int = DEFAULTS.T
    epochs: int = DEFAULTS.epochs
    batch_size: int = DEFAULTS.batch_size
    lr: float = DEFAULTS.lr
    hidden: int = DEFAULTS.hidden
    channels: int = DEFAULTS.channels
    seed: int = 0
    backend: str | None = None
    max_batches: int | None = None
    downsample: int = 1
    lr_segments: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def for_dataset(cls, dataset: str, **changes: Any) -> TrainConfig:
        """A config for ``dataset`` with the settings that suit it (its registry ``defaults``, e.g.
        the conv net and the ``spikes`` encoding for N-MNIST), and ``changes`` on top.

        Raises:
            ValueError: an unknown data set.

        Example:
            >>> config = TrainConfig.for_dataset("shd", hidden=128)
            >>> config.model, config.encoding, config.hidden
            ('recurrent', 'spikes', 128)
        """
        from .data import DATASETS

        if dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
        return cls(**{"dataset": dataset, **DATASETS[dataset].defaults, **changes})

    def validate(self) -> None:
        """Check every field's type and range, and that the surrogate can be built.

        Raises:
            ValueError: a field out of range or of the wrong type, naming it and the rule.
        """
        from .data import DATASETS

        choices = {"dataset": tuple(DATASETS), "model": MODELS, "neuron": NEURONS, "encoding": ENCODINGS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name in ("T", "epochs", "batch_size", "hidden", "channels", "downsample"):
            _check_int(name, getattr(self, name), low=1)
        self._validate_data_kind(DATASETS[self.dataset].events)
        if self.max_batches is not None:
            _check_int("max_batches", self.max_batches, low=1)
        _check_int("seed", self.seed, low=0, high=MAX_SEED)
        if not (_real(self.lr) and 0 < self.lr <= MAX_LR):
            raise ValueError(f"lr must be a finite number in (0, {MAX_LR:g}], got {self.lr!r}")
        if not (_real(self.tau) and self.tau > 1):
            raise ValueError(f"tau must be a finite number > 1, got {self.tau!r}")
        if not isinstance(self.detach_reset, bool):
            raise ValueError(f"detach_reset must be True or False, got {self.detach_reset!r}")
        if self.backend is not None and self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)} or None, got {self.backend!r}")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ValueError(f"data_dir must be a path (str) or None, got {self.data_dir!r}")
        if not isinstance(self.surrogate, str):
            raise ValueError(f"surrogate must be a name (str), got {self.surrogate!r}")
        if not isinstance(self.surrogate_params, dict) or not all(
                isinstance(k, str) and _real(v) for k, v in self.surrogate_params.items()):
            raise ValueError(f"surrogate_params must map parameter names to numbers, "
                             f"got {self.surrogate_params!r}")
        self._validate_segments()
        try:
            self.make_surrogate()
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    def _validate_data_kind(self, events: bool) -> None:
        from .data import IMAGE_ENCODINGS, SEQUENCE_ENCODINGS

        allowed = SEQUENCE_ENCODINGS if events else IMAGE_ENCODINGS
        if self.encoding not in allowed:
            kind = "event frames" if events else "static images"
            raise ValueError(f"encoding {self.encoding!r} does not apply to {self.dataset}, whose samples "
                             f"are {kind}: use one of {', '.join(allowed)}")
        if not events and self.downsample != 1:
            raise ValueError(f"downsample applies to event data sets only; {self.dataset} takes 1, "
                             f"got {self.downsample!r}")

    def _validate_segments(self) -> None:
        if not isinstance(self.lr_segments, list):
            raise ValueError(f"lr_segments must be a list, got {self.lr_segments!r}")
        previous = 0
        for segment in self.lr_segments:
            if not (isinstance(segment, dict) and set(segment) == {"from_epoch", "lr", "previous_epochs"}
                    and isinstance(segment["from_epoch"], int)
                    and previous < segment["from_epoch"] <= self.epochs
                    and isinstance(segment["previous_epochs"], int) and segment["previous_epochs"] >= 1
                    and _real(segment["lr"]) and 0 <= segment["lr"] <= MAX_LR):
                raise ValueError("lr_segments must hold {'from_epoch': e, 'lr': a, 'previous_epochs': n} "
                                 f"with increasing e up to {self.epochs}, 0 <= a <= {MAX_LR:g} and n >= 1, "
                                 f"got {segment!r}")
            previous = segment["from_epoch"]

    def make_surrogate(self) -> sg.Surrogate:
        """The configured surrogate module (raises ``ValueError``/``TypeError`` for bad parameters)."""
        cls: Any = sg.get(self.surrogate)
        surrogate: sg.Surrogate = cls(**self.surrogate_params)
        return surrogate

    def lr_at(self, epoch: int) -> float:
        """The learning rate of ``epoch`` (1-based): a function of the config and the epoch alone.

        Epochs before a change of ``epochs`` keep the rates they were trained with.
        """
        start, peak, end = 1, self.lr, self.epochs
        for segment in self.lr_segments:
            if epoch < segment["from_epoch"]:
                end = int(segment["previous_epochs"])
                break
            start, peak = int(segment["from_epoch"]), float(segment["lr"])
        return peak * 0.5 * (1.0 + math.cos(math.pi * (epoch - start) / (end - start + 1)))

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-able values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Any) -> TrainConfig:
        """Rebuild and validate a config from :meth:`to_dict`'s output.

        Unknown keys are ignored (``config.json`` also records the device and the number of
        processes); missing keys take their defaults.

        Raises:
            ValueError: not a dict, or a field of the wrong type or out of range.
        """
        if not isinstance(values, dict):
            raise ValueError(f"a training config must be a dict, got {type(values).__name__}")
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in values.items() if k in known})
        config.validate()
        return config


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    if (isinstance(value, bool) or not isinstance(value, int) or value < low
            or (high is not None and value > high)):
        rule = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"
        raise ValueError(f"{name} must be {rule}, got {value!r}")


def same_surrogate(a: TrainConfig, b: TrainConfig) -> bool:
    """Whether two configs build the same surrogate (``'atan'`` with no parameters == alpha 2)."""
    sa, sb = a.make_surrogate(), b.make_surrogate()
    return type(sa) is type(sb) and repr(sa) == repr(sb)


def differences(saved: TrainConfig, requested: TrainConfig) -> list[str]:
    """The fields in which ``requested`` differs from ``saved`` (surrogate name and parameters as one).

    ``lr_segments`` is left out: it records the run's history, not a setting.
    """
    skip = ("surrogate", "surrogate_params", "lr_segments")
    names = [f.name for f in fields(TrainConfig) if f.name not in skip]
    changed = [name for name in names if getattr(saved, name) != getattr(requested, name)]
    if not same_surrogate(saved, requested):
        changed.append("surrogate")
    return changed


def resumed_config(saved: TrainConfig, requested: TrainConfig, epochs_done: int,
                   batches_done: int) -> TrainConfig:
    """The config a resumed run continues with: the saved one, with the changes the request may make.

    Args:
        saved: the run's config (from its checkpoint).
        requested: what the caller asks for.
        epochs_done: epochs the checkpoint has completed.
        batches_done: batches of the next epoch it has completed (0 at an epoch boundary).

    Returns:
        ``saved`` with the requested ``epochs`` and ``data_dir``. A change of ``epochs`` appends
        a schedule segment so that the learning rate continues from the last one used.

    Raises:
        ValueError: a change of any other field (named), or ``epochs`` at or below the completed
            epochs (unless it is the run's own).
    """
    changed = [name for name in differences(saved, requested) if name not in RESUMABLE_CHANGES]
    if changed:
        name = changed[0]
        if name == "surrogate":
            was, now = repr(saved.make_surrogate()), repr(requested.make_surrogate())
        else:
            was, now = repr(getattr(saved, name)), repr(getattr(requested, name))
        raise ValueError(f"{name} is {now}, but the run was trained with {was}; a resumed run keeps its "
                         f"settings (only {' and '.join(RESUMABLE_CHANGES)} may change)")
    config = TrainConfig(**{**saved.to_dict(), "data_dir": requested.data_dir})
    config.lr_segments = [dict(s) for s in saved.lr_segments]
    if requested.epochs != saved.epochs:
        if requested.epochs <= epochs_done:
            raise ValueError(f"epochs must be more than the {epochs_done} the run has completed "
                             f"(or its own {saved.epochs}), got {requested.epochs}")
        if epochs_done or batches_done:
            # The epoch whose rate was used last: the one in progress, or the last completed one.
            last = epochs_done + 1 if batches_done else epochs_done
            segment = {"from_epoch": last, "lr": saved.lr_at(last), "previous_epochs": saved.epochs}
            if config.lr_segments and config.lr_segments[-1]["from_epoch"] == last:
                # changed again before any epoch ran on the last change: the same start and rate
                segment["previous_epochs"] = config.lr_segments.pop()["previous_epochs"]
            config.lr_segments.append(segment)
        config.epochs = requested.epochs
    return config


__all__ = ["BACKENDS", "ENCODINGS", "MAX_LR", "MAX_SEED", "MODELS", "NEURONS", "RESUMABLE_CHANGES",
           "TrainConfig", "differences", "resumed_config", "same_surrogate"]
