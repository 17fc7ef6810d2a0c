"""What the model-zoo files share: building neurons, refusing downloads, time layouts.

A model takes its neuron as SpikingJelly's do: ``spiking_neuron`` (a class, or any callable
returning a neuron module) and ``**kwargs`` for it; every neuron gets its own deep copy of
``kwargs``, so no two neurons share a surrogate instance.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from torch import Tensor, nn

from ..base import MultiStepModule

#: A neuron class, or any callable that returns a neuron module.
NeuronFactory = Callable[..., nn.Module]

_Constructor = TypeVar("_Constructor", bound=Callable[..., nn.Module])


def documented(summary: str, details: str) -> Callable[[_Constructor], _Constructor]:
    """Give a family's constructor functions their docstrings: one summary line each, shared details."""

    def document(constructor: _Constructor) -> _Constructor:
        constructor.__doc__ = f"{summary}\n{details}"
        return constructor

    return document


def check_spiking_neuron(owner: str, spiking_neuron: object) -> NeuronFactory:
    """Return ``spiking_neuron`` if it can build neurons, else raise.

    Raises:
        TypeError: ``spiking_neuron`` is ``None`` or not callable.
    """
    if not callable(spiking_neuron):
        raise TypeError(
            f"{owner} needs spiking_neuron, the neuron class to build (e.g. spikegrad.neuron.IFNode, "
            "with the neuron's arguments as keyword arguments: spiking_neuron=neuron.LIFNode, tau=2.0), "
            f"got {spiking_neuron!r}"
        )
    return spiking_neuron  # type: ignore[return-value]


def new_neuron(spiking_neuron: NeuronFactory, kwargs: dict[str, Any]) -> nn.Module:
    """``spiking_neuron(**kwargs)`` with a deep copy of ``kwargs`` (no shared surrogate)."""
    return spiking_neuron(**copy.deepcopy(kwargs))


def refuse_download(constructor: str, url: str) -> None:
    """Raise the error of ``pretrained=True``: nothing is downloaded.

    Raises:
        ValueError: always, saying where the weights are and how to load a local copy.
    """
    raise ValueError(
        f"{constructor}(pretrained=True) would download ImageNet weights ({url}); spikegrad never "
        f"downloads. Build the model with pretrained=False and load a local copy of the file: "
        "model.load_state_dict(torch.load(path)) (strict=False if the neurons have parameters, "
        "e.g. ParametricLIFNode's w)."
    )


def check_positive_int(owner: str, name: str, value: object) -> int:
    """Return ``value`` if it is a positive int (not a bool), else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return value


def image_sequence(owner: str, x: object, T: int) -> Tensor:
    """A static image ``[N, C, H, W]`` repeated ``T`` times, or a sequence ``[T', N, C, H, W]`` as is.

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: ``x`` has neither 4 nor 5 dimensions.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner} expects a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 4:
        return x.unsqueeze(0).expand(T, *x.shape)
    if x.dim() == 5:
        return x
    raise ValueError(
        f"{owner} expects an image [N, C, H, W] (repeated over T = {T} steps) or a sequence "
        f"[T, N, C, H, W], got shape {tuple(x.shape)}"
    )


def flatten_features(x: Tensor, step_mode: str) -> Tensor:
    """Flatten pooled feature maps to vectors: ``[N, C, 1, 1]`` or ``[T, N, C, 1, 1]`` to ``[.., C]``."""
    return x.flatten(1) if step_mode == "s" else x.flatten(2)


class MultiStepModel(MultiStepModule):
    """Mixin for models and blocks that only run over whole sequences (``step_mode`` is ``'m'``).

    :func:`~spikegrad.functional.set_step_mode` leaves them and everything inside in ``'m'``
    (``steps_its_children``): their neurons must see the time steps of a sequence in order.
    """

    steps_its_children: ClassVar[bool] = True
