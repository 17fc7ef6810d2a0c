"""How much memory a training run needs, estimated from its config before anything is allocated.

``--T 100000000`` or ``--hidden 99999999999`` would otherwise end in an allocator traceback (or
an out-of-memory kill) minutes into a run. :func:`estimate` counts, from the config and the data's
shape alone:

* the parameters, four times (weights, gradients and Adam's two moments), 4 bytes each;
* one training batch: every layer's output at every time step (the input sequence, each layer's
  output, the membrane potential and spikes a neuron keeps for the backward pass), twice
  (forward values and their gradients);
* one evaluation batch (256 images, no gradients).

It is an estimate of the peak to within a small factor, not a measurement. :func:`check` refuses a
run whose estimate exceeds the memory the device has available, with both numbers.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import TrainConfig

#: Bytes per value (float32 training).
_FLOAT = 4
#: The batch size of evaluation (see :func:`spikegrad.train.loop.evaluate`).
EVAL_BATCH = 256


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run needs, by part.

    Attributes:
        parameters: weights, gradients and Adam's two moments.
        batch: one training batch's activations and their gradients (or an evaluation batch's,
            if larger).
        per_sample_step: values one sample keeps per time step (what ``batch`` multiplies).
    """

    parameters: int
    batch: int
    per_sample_step: int

    @property
    def total(self) -> int:
        """The estimated peak in bytes."""
        return self.parameters + self.batch


def parameter_count(config: TrainConfig, input_shape: tuple[int, ...], n_classes: int) -> int:
    """The number of trainable scalars :func:`~spikegrad.train.models.build_model` creates."""
    hidden, ch = config.hidden, config.channels
    plif = config.neuron == "plif"  # one learned time constant per layer of neurons
    readout = hidden * n_classes + n_classes
    inputs = math.prod(input_shape)
    if config.model == "mlp":
        return inputs * hidden + hidden + readout + plif
    if config.model == "recurrent":  # input layer, then W [s_in; s] + b of the recurrent layer
        return inputs * hidden + hidden + 2 * hidden * hidden + hidden + readout + 2 * plif
    c, h, w = input_shape
    c2 = 2 * ch
    convs = (c * 9 * ch + ch) + (ch * 9 * c2 + c2)
    return convs + c2 * (h // 4) * (w // 4) * hidden + hidden + readout + 3 * plif


def activations_per_step(config: TrainConfig, input_shape: tuple[int, ...], n_classes: int) -> int:
    """Values one sample keeps per time step: the input and every layer's outputs."""
    neuron = 3  # the layer's output (the neuron's input), the potential kept for backward, the spikes
    values = math.prod(input_shape) + neuron * config.hidden + n_classes
    if config.model == "recurrent":  # the concatenated [s_in; s] and the second layer of neurons
        values += 2 * config.hidden + neuron * config.hidden
    if config.model == "conv":
        h, w = input_shape[1:]
        ch, c2 = config.channels, 2 * config.channels
        pooled = 3  # the pooled values and their int64 argmax indices (two floats' worth)
        values += ch * h * w * neuron + ch * (h // 2) * (w // 2) * pooled
        values += c2 * (h // 2) * (w // 2) * neuron + c2 * (h // 4) * (w // 4) * pooled
    return values


def estimate(config: TrainConfig, input_shape: tuple[int, ...], n_classes: int, n_train: int,
             n_test: int = EVAL_BATCH) -> MemoryEstimate:
    """Estimate the memory a run of ``config`` needs on data of ``input_shape`` (see the module doc).

    Args:
        config: the run.
        input_shape: the input at one step, ``(C, H, W)`` or ``(channels,)``.
        n_classes: outputs of the readout.
        n_train: training images (a batch is never larger).
        n_test: test images (an evaluation batch is never larger).
    """
    per_step = activations_per_step(config, input_shape, n_classes)
    train = _FLOAT * config.T * min(config.batch_size, n_train) * per_step * 2
    evaluation = _FLOAT * config.T * min(EVAL_BATCH, n_test) * per_step
    return MemoryEstimate(parameters=_FLOAT * 4 * parameter_count(config, input_shape, n_classes),
                          batch=max(train, evaluation), per_sample_step=per_step)


def available(device: torch.device) -> int | None:
    """Bytes the device can still hand out (``None`` when the system does not say).

    CUDA: the free memory of the device. CPU: ``MemAvailable`` of ``/proc/meminfo``, lowered to
    the container's limit (cgroup) when there is one.
    """
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    candidates = [n for n in (_meminfo_available(), _cgroup_room()) if n is not None]
    if not candidates:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            candidates.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return min(candidates) if candidates else None


def _meminfo_available() -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def _cgroup_room() -> int | None:
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        with contextlib.suppress(OSError, ValueError):
            text = Path(limit).read_text().strip()
            if text == "max" or int(text) >= 1 << 60:  # no limit
                return None
            return max(int(text) - int(Path(usage).read_text().strip()), 0)
    return None


def human(n: float) -> str:
    """Bytes in words: ``512 B``, ``1.5 MiB``, ``27.1 TiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check(config: TrainConfig, input_shape: tuple[int, ...], n_classes: int, n_train: int, n_test: int,
          device: torch.device) -> MemoryEstimate:
    """Refuse a run that cannot fit: its estimate (:func:`estimate`) above what ``device`` has free.

    Returns:
        The estimate.

    Raises:
        ValueError: one line with the estimate, its parts, what the device has, and what to lower.
    """
    need = estimate(config, input_shape, n_classes, n_train, n_test)
    have = available(device)
    if have is not None and need.total > have:
        raise ValueError(
            f"this run needs about {human(need.total)} of memory (parameters and Adam state "
            f"{human(need.parameters)}, one batch {human(need.batch)} for T={config.T} x batch "
            f"{min(config.batch_size, n_train)} x {need.per_sample_step:,} values per sample and step), "
            f"but {device.type} has {human(have)} available; lower T, hidden or batch size")
    return need


__all__ = ["EVAL_BATCH", "MemoryEstimate", "activations_per_step", "available", "check", "estimate",
           "human", "parameter_count"]
