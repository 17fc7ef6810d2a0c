"""Layers that reshape or resample each step, with ``step_mode``: ``Flatten`` and ``Upsample``.

Example:
    >>> import torch
    >>> from spikegrad import layer
    >>> up = layer.Upsample(scale_factor=2, step_mode="m")
    >>> up(torch.rand(4, 2, 3, 5, 5)).shape  # [T, N, C, H, W]
    torch.Size([4, 2, 3, 10, 10])
"""

from __future__ import annotations

from torch import nn
from torch.nn.common_types import _ratio_any_t, _size_any_t

from ._base import StepModeLayer


class Flatten(StepModeLayer, nn.Flatten):
    """:class:`torch.nn.Flatten` with ``step_mode``; ``start_dim``/``end_dim`` count within one step.

    Args:
        start_dim, end_dim: as :class:`torch.nn.Flatten` (default ``1`` and ``-1``: everything
            but the batch dimension).
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1, step_mode: str = "s") -> None:
        super().__init__(start_dim, end_dim)
        self.step_mode = step_mode


class Upsample(StepModeLayer, nn.Upsample):
    """:class:`torch.nn.Upsample` with ``step_mode``; ``'m'`` input ``[T, N, C, *spatial]``.

    One step has one to three spatial dimensions: ``[N, C, L]`` to ``[N, C, D, H, W]``.

    Args:
        size, scale_factor, mode, align_corners, recompute_scale_factor: as
            :class:`torch.nn.Upsample`.
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    step_dims = (3, 4, 5)
    layout = "[T, N, C, L], [T, N, C, H, W] or [T, N, C, D, H, W]"

    def __init__(
        self,
        size: _size_any_t | None = None,
        scale_factor: _ratio_any_t | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
        step_mode: str = "s",
    ) -> None:
        super().__init__(size, scale_factor, mode, align_corners, recompute_scale_factor)
        self.step_mode = step_mode
