"""Step-mode aware layers: PyTorch's layers that also take sequences ``[T, N, ...]``.

In ``step_mode='s'`` each layer is exactly its ``torch.nn`` parent. In ``'m'`` it runs once
over all time steps by merging time into the batch (:func:`~spikegrad.functional.seq_to_ann_forward`),
so batch norm computes its statistics over ``T * N`` samples. The constructor takes the
parent's arguments plus a keyword ``step_mode``.

Example:
    >>> import torch
    >>> from spikegrad import layer
    >>> conv = layer.Conv2d(1, 4, 3, padding=1, step_mode="m")
    >>> conv(torch.rand(8, 2, 1, 5, 5)).shape  # [T, N, C, H, W]
    torch.Size([8, 2, 4, 5, 5])
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .base import MemoryModule, StepModule
from .functional import merged_time


class SeqToANNContainer(nn.Sequential, StepModule):
    """Run stateless layers once over a sequence by merging time into the batch.

    ``[T, N, *shape]`` becomes ``[T*N, *shape]`` for the wrapped layers and is split back
    afterwards. The wrapped layers always see single steps, so
    :func:`~spikegrad.functional.set_step_mode` leaves them alone; the container itself is
    multi-step only.

    Args:
        *layers: ``torch.nn`` layers (or spikegrad layers in ``step_mode='s'``) applied in order.

    Shape:
        input ``[T, N, *shape]``, output ``[T, N, *out_shape]``.

    Raises:
        ValueError: a wrapped spikegrad layer is in ``'m'`` mode, or a stateful
            (memory) module is wrapped: merging time into the batch would mix its steps.

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> block = layer.SeqToANNContainer(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4))
        >>> block(torch.rand(8, 2, 1, 5, 5)).shape
        torch.Size([8, 2, 4, 3, 3])
    """

    step_modes: ClassVar[tuple[str, ...]] = ("m",)
    #: set_step_mode does not descend: the wrapped layers always run single steps.
    steps_its_children: ClassVar[bool] = True

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__(*layers)
        for index, module in enumerate(layers):
            for sub in module.modules():
                if isinstance(sub, MemoryModule):
                    raise ValueError(
                        f"SeqToANNContainer: layer {index} contains the stateful {type(sub).__name__}; "
                        "merging time into the batch would mix its time steps. Put it outside."
                    )
                if isinstance(sub, StepModule) and sub.step_mode != "s":
                    raise ValueError(
                        f"SeqToANNContainer: layer {index} ({type(sub).__name__}) has step_mode "
                        f"{sub.step_mode!r}; layers inside the container must be in step_mode 's'"
                    )
        self._step_mode = "m"

    def forward(self, x_seq: Tensor) -> Tensor:
        return merged_time(x_seq, super().forward)


class _SeqToANN(StepModule):
    """Mixin: ``'s'`` runs the torch parent, ``'m'`` runs it over ``[T*N, ...]``.

    ``step_dims`` lists the number of dimensions one step may have in ``'m'`` mode
    (``None``: any with a batch dimension).
    """

    step_dims: ClassVar[tuple[int, ...] | None] = None
    layout: ClassVar[str] = "[T, N, *shape]"

    def __init__(self, *args: Any, step_mode: str = "s", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step_mode = step_mode

    def forward(self, x: Tensor) -> Tensor:
        parent = super().forward  # type: ignore[misc]
        if self.step_mode == "s":
            return parent(x)
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor, got {type(x).__name__}")
        ok = x.dim() >= 2 if self.step_dims is None else x.dim() - 1 in self.step_dims
        if not ok:
            raise ValueError(
                f"{type(self).__name__} in step_mode 'm' expects {self.layout} (time first), "
                f"got shape {tuple(x.shape)}"
            )
        return merged_time(x, parent)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, step_mode={self.step_mode!r}"  # type: ignore[misc]


class Linear(_SeqToANN, nn.Linear):
    """:class:`torch.nn.Linear` with ``step_mode``; input ``[N, *, in]`` or ``[T, N, *, in]``."""


class Conv2d(_SeqToANN, nn.Conv2d):
    """:class:`torch.nn.Conv2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``."""

    step_dims = (4,)
    layout = "[T, N, C, H, W]"


class BatchNorm1d(_SeqToANN, nn.BatchNorm1d):
    """:class:`torch.nn.BatchNorm1d` with ``step_mode``; ``'m'`` input ``[T, N, C]`` or ``[T, N, C, L]``.

    In ``'m'`` mode the statistics are taken over time and batch together.
    """

    step_dims = (2, 3)
    layout = "[T, N, C] or [T, N, C, L]"


class BatchNorm2d(_SeqToANN, nn.BatchNorm2d):
    """:class:`torch.nn.BatchNorm2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``.

    In ``'m'`` mode the statistics are taken over time and batch together.
    """

    step_dims = (4,)
    layout = "[T, N, C, H, W]"


class Flatten(_SeqToANN, nn.Flatten):
    """:class:`torch.nn.Flatten` with ``step_mode``; ``start_dim``/``end_dim`` count within one step."""


class MaxPool2d(_SeqToANN, nn.MaxPool2d):
    """:class:`torch.nn.MaxPool2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``."""

    step_dims = (4,)
    layout = "[T, N, C, H, W]"


class AvgPool2d(_SeqToANN, nn.AvgPool2d):
    """:class:`torch.nn.AvgPool2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``."""

    step_dims = (4,)
    layout = "[T, N, C, H, W]"


class Dropout(MemoryModule):
    """Dropout whose mask is drawn once per sequence and shared by all its time steps.

    Dropping different units at every step would turn dropout into noise on the spike
    trains; sharing the mask drops whole neurons for the sequence. The mask is drawn at the
    first call after a reset, shaped like one step, and kept (a memory) until
    :func:`~spikegrad.functional.reset_net`: broadcast over ``T`` in ``'m'`` mode, reused at
    every call in ``'s'`` mode. Kept units are scaled by ``1/(1-p)``; in eval mode the layer
    is the identity.

    Args:
        p: probability of dropping a unit, ``0 <= p < 1`` (default 0.5).
        step_mode: ``'s'`` (default) or ``'m'``.

    Raises:
        ValueError: ``p`` outside ``[0, 1)``; an input of another step shape than the
            stored mask (call ``reset_net`` between batches).
    """

    mask: Tensor | None  # a memory

    def __init__(self, p: float = 0.5, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be a number with 0 <= p < 1, got {p!r}")
        self.p = float(p)
        self.register_memory("mask", None)

    def _mask(self, step: Tensor) -> Tensor:
        if self.mask is None:
            keep = torch.empty_like(step).bernoulli_(1.0 - self.p)
            self.mask = keep / (1.0 - self.p)
        elif self.mask.shape != step.shape:
            raise ValueError(
                f"Dropout: the input's step shape {tuple(step.shape)} differs from the stored mask "
                f"{tuple(self.mask.shape)}; call spikegrad.functional.reset_net(net) between batches"
            )
        return self.mask.to(step)

    def single_step_forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        return x * self._mask(x)

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x_seq
        if x_seq.dim() < 1:
            raise ValueError(f"Dropout in step_mode 'm' expects [T, *shape], got shape {tuple(x_seq.shape)}")
        return x_seq * self._mask(x_seq[0])

    def extra_repr(self) -> str:
        return f"p={self.p}, step_mode={self.step_mode!r}"
