"""Normalisation with ``step_mode``: ``BatchNorm1d/2d/3d`` and ``GroupNorm``.

In ``'m'`` mode batch norm runs once over ``[T*N, ...]``, so its statistics (and running
statistics) are taken over time and batch together, as in SpikingJelly. The SNN-specific
normalisations over time (threshold-dependent, temporal-effective, through-time, NeuNorm)
are in :mod:`spikegrad.layer.temporal_norm`.

Example:
    >>> import torch
    >>> from spikegrad import layer
    >>> bn = layer.BatchNorm3d(2, step_mode="m")
    >>> bn(torch.rand(4, 3, 2, 2, 5, 5)).shape  # [T, N, C, D, H, W]
    torch.Size([4, 3, 2, 2, 5, 5])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ._base import LAYOUTS, StepModeLayer


class BatchNorm1d(StepModeLayer, nn.BatchNorm1d):
    """:class:`torch.nn.BatchNorm1d` with ``step_mode``; ``'m'`` input ``[T, N, C]`` or ``[T, N, C, L]``.

    In ``'m'`` mode the statistics are taken over time and batch together.

    Args:
        num_features, eps, momentum, affine, track_running_stats: as :class:`torch.nn.BatchNorm1d`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.
    """

    step_dims = (2, 3)
    layout = "[T, N, C] or [T, N, C, L]"

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self.step_mode = step_mode


class BatchNorm2d(StepModeLayer, nn.BatchNorm2d):
    """:class:`torch.nn.BatchNorm2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``.

    In ``'m'`` mode the statistics are taken over time and batch together.

    Args:
        num_features, eps, momentum, affine, track_running_stats: as :class:`torch.nn.BatchNorm2d`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.
    """

    step_dims = (4,)
    layout = LAYOUTS[2]

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self.step_mode = step_mode


class BatchNorm3d(StepModeLayer, nn.BatchNorm3d):
    """:class:`torch.nn.BatchNorm3d` with ``step_mode``; ``'m'`` input ``[T, N, C, D, H, W]``.

    In ``'m'`` mode the statistics are taken over time and batch together.

    Args:
        num_features, eps, momentum, affine, track_running_stats: as :class:`torch.nn.BatchNorm3d`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.
    """

    step_dims = (5,)
    layout = LAYOUTS[3]

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self.step_mode = step_mode


class GroupNorm(StepModeLayer, nn.GroupNorm):
    """:class:`torch.nn.GroupNorm` with ``step_mode``; ``'m'`` input ``[T, N, C, *]``.

    Group norm normalises each sample on its own, so ``'m'`` gives the same result as
    normalising every time step separately.

    Args:
        num_groups, num_channels, eps, affine: as :class:`torch.nn.GroupNorm`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.
    """

    min_step_dims = 2
    layout = "[T, N, C, *]"

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(num_groups, num_channels, eps, affine, device=device, dtype=dtype)
        self.step_mode = step_mode
