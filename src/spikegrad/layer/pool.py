"""Pooling with ``step_mode``: max, average, adaptive average and max-unpooling, in 1d/2d/3d.

Each takes its torch parent's arguments in SpikingJelly's positional order, then
``step_mode``. In ``'s'`` mode the layer is its torch parent; in ``'m'`` it runs once over
``[T*N, ...]``. Max-pooling with ``return_indices=True`` returns values and indices, both
``[T, N, ...]``, which the matching ``MaxUnpool`` layer takes back.

Example:
    >>> import torch
    >>> from spikegrad import layer
    >>> pool = layer.AdaptiveAvgPool2d((1, 1), step_mode="m")
    >>> pool(torch.rand(4, 2, 8, 5, 5)).shape  # [T, N, C, H, W]
    torch.Size([4, 2, 8, 1, 1])
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torch.nn.common_types import _size_1_t, _size_2_t, _size_3_t, _size_any_opt_t

from ._base import LAYOUTS, StepModeLayer, merge_time


class MaxPool1d(StepModeLayer, nn.MaxPool1d):
    """:class:`torch.nn.MaxPool1d` with ``step_mode``; ``'m'`` input ``[T, N, C, L]``.

    Args:
        kernel_size, stride, padding, dilation, return_indices, ceil_mode: as
            :class:`torch.nn.MaxPool1d`.
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    step_dims = (3,)
    layout = LAYOUTS[1]

    def __init__(
        self,
        kernel_size: _size_1_t,
        stride: _size_1_t | None = None,
        padding: _size_1_t = 0,
        dilation: _size_1_t = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        self.step_mode = step_mode


class MaxPool2d(StepModeLayer, nn.MaxPool2d):
    """:class:`torch.nn.MaxPool2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``.

    Args:
        kernel_size, stride, padding, dilation, return_indices, ceil_mode: as
            :class:`torch.nn.MaxPool2d`.
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    step_dims = (4,)
    layout = LAYOUTS[2]

    def __init__(
        self,
        kernel_size: _size_2_t,
        stride: _size_2_t | None = None,
        padding: _size_2_t = 0,
        dilation: _size_2_t = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        self.step_mode = step_mode


class MaxPool3d(StepModeLayer, nn.MaxPool3d):
    """:class:`torch.nn.MaxPool3d` with ``step_mode``; ``'m'`` input ``[T, N, C, D, H, W]``.

    Args:
        kernel_size, stride, padding, dilation, return_indices, ceil_mode: as
            :class:`torch.nn.MaxPool3d`.
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    step_dims = (5,)
    layout = LAYOUTS[3]

    def __init__(
        self,
        kernel_size: _size_3_t,
        stride: _size_3_t | None = None,
        padding: _size_3_t = 0,
        dilation: _size_3_t = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        self.step_mode = step_mode


class AvgPool1d(StepModeLayer, nn.AvgPool1d):
    """:class:`torch.nn.AvgPool1d` with ``step_mode``; ``'m'`` input ``[T, N, C, L]``.

    Args:
        kernel_size, stride, padding, ceil_mode, count_include_pad: as
            :class:`torch.nn.AvgPool1d`.
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    step_dims = (3,)
    layout = LAYOUTS[1]

    def __init__(
        self,
        kernel_size: _size_1_t,
        stride: _size_1_t | None = None,
        padding: _size_1_t = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)  # type: ignore[arg-type]
        self.step_mode = step_mode


class AvgPool2d(StepModeLayer, nn.AvgPool2d):
    """:class:`torch.nn.AvgPool2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``.

    Args:
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override: as
            :class:`torch.nn.AvgPool2d`.
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    step_dims = (4,)
    layout = LAYOUTS[2]

    def __init__(
        self,
        kernel_size: _size_2_t,
        stride: _size_2_t | None = None,
        padding: _size_2_t = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        self.step_mode = step_mode


class AvgPool3d(StepModeLayer, nn.AvgPool3d):
    """:class:`torch.nn.AvgPool3d` with ``step_mode``; ``'m'`` input ``[T, N, C, D, H, W]``.

    Args:
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override: as
            :class:`torch.nn.AvgPool3d`.
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    step_dims = (5,)
    layout = LAYOUTS[3]

    def __init__(
        self,
        kernel_size: _size_3_t,
        stride: _size_3_t | None = None,
        padding: _size_3_t = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        self.step_mode = step_mode


class AdaptiveAvgPool1d(StepModeLayer, nn.AdaptiveAvgPool1d):
    """:class:`torch.nn.AdaptiveAvgPool1d` with ``step_mode``; ``'m'`` input ``[T, N, C, L]``.

    Args:
        output_size: as :class:`torch.nn.AdaptiveAvgPool1d`.
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    step_dims = (3,)
    layout = LAYOUTS[1]

    def __init__(self, output_size: _size_1_t, step_mode: str = "s") -> None:
        super().__init__(output_size)
        self.step_mode = step_mode


class AdaptiveAvgPool2d(StepModeLayer, nn.AdaptiveAvgPool2d):
    """:class:`torch.nn.AdaptiveAvgPool2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``.

    Args:
        output_size: as :class:`torch.nn.AdaptiveAvgPool2d` (``None`` keeps that size).
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    step_dims = (4,)
    layout = LAYOUTS[2]

    def __init__(self, output_size: _size_any_opt_t, step_mode: str = "s") -> None:
        super().__init__(output_size)
        self.step_mode = step_mode


class AdaptiveAvgPool3d(StepModeLayer, nn.AdaptiveAvgPool3d):
    """:class:`torch.nn.AdaptiveAvgPool3d` with ``step_mode``; ``'m'`` input ``[T, N, C, D, H, W]``.

    Args:
        output_size: as :class:`torch.nn.AdaptiveAvgPool3d` (``None`` keeps that size).
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    step_dims = (5,)
    layout = LAYOUTS[3]

    def __init__(self, output_size: _size_any_opt_t, step_mode: str = "s") -> None:
        super().__init__(output_size)
        self.step_mode = step_mode


class _UnpoolStepMode(StepModeLayer):
    """``'m'`` for max-unpooling, whose forward takes values, indices and ``output_size``."""

    def forward(  # type: ignore[override]
        self, x: Tensor, indices: Tensor, output_size: Sequence[int] | None = None
    ) -> Tensor:
        parent = super(StepModeLayer, self).forward  # type: ignore[misc]  # the torch layer's
        if self.step_mode == "s":
            return parent(x, indices, output_size)  # type: ignore[no-any-return]
        self.check_multi_step_input(x)
        if not isinstance(indices, Tensor) or indices.shape != x.shape:
            got = tuple(indices.shape) if isinstance(indices, Tensor) else type(indices).__name__
            raise ValueError(
                f"{type(self).__name__}: indices must have the shape of x {tuple(x.shape)}, got {got}"
            )
        # torch reads only the spatial part of output_size, so one step's size fits the merged call
        return merge_time(lambda values, index: parent(values, index, output_size), x, indices)  # type: ignore[no-any-return]


class MaxUnpool1d(_UnpoolStepMode, nn.MaxUnpool1d):
    """:class:`torch.nn.MaxUnpool1d` with ``step_mode``; ``'m'`` input ``[T, N, C, L]``.

    ``forward(x, indices, output_size=None)``: in ``'m'`` mode ``x`` and ``indices`` are both
    ``[T, N, C, L]``; ``output_size`` is one step's spatial size (``[L]``) or full size.

    Args:
        kernel_size, stride, padding: as :class:`torch.nn.MaxUnpool1d`.
        step_mode: ``'s'`` (default) or ``'m'``.

    Raises:
        ValueError: (forward, ``'m'``) ``indices`` not shaped like ``x``.
    """

    step_dims = (3,)
    layout = LAYOUTS[1]

    def __init__(
        self,
        kernel_size: _size_1_t,
        stride: _size_1_t | None = None,
        padding: _size_1_t = 0,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.step_mode = step_mode


class MaxUnpool2d(_UnpoolStepMode, nn.MaxUnpool2d):
    """:class:`torch.nn.MaxUnpool2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``.

    ``forward(x, indices, output_size=None)``: in ``'m'`` mode ``x`` and ``indices`` are both
    ``[T, N, C, H, W]``; ``output_size`` is one step's spatial size (``[H, W]``) or full size.

    Args:
        kernel_size, stride, padding: as :class:`torch.nn.MaxUnpool2d`.
        step_mode: ``'s'`` (default) or ``'m'``.

    Raises:
        ValueError: (forward, ``'m'``) ``indices`` not shaped like ``x``.
    """

    step_dims = (4,)
    layout = LAYOUTS[2]

    def __init__(
        self,
        kernel_size: _size_2_t,
        stride: _size_2_t | None = None,
        padding: _size_2_t = 0,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.step_mode = step_mode


class MaxUnpool3d(_UnpoolStepMode, nn.MaxUnpool3d):
    """:class:`torch.nn.MaxUnpool3d` with ``step_mode``; ``'m'`` input ``[T, N, C, D, H, W]``.

    ``forward(x, indices, output_size=None)``: in ``'m'`` mode ``x`` and ``indices`` are both
    ``[T, N, C, D, H, W]``; ``output_size`` is one step's spatial size (``[D, H, W]``) or full size.

    Args:
        kernel_size, stride, padding: as :class:`torch.nn.MaxUnpool3d`.
        step_mode: ``'s'`` (default) or ``'m'``.

    Raises:
        ValueError: (forward, ``'m'``) ``indices`` not shaped like ``x``.
    """

    step_dims = (5,)
    layout = LAYOUTS[3]

    def __init__(
        self,
        kernel_size: _size_3_t,
        stride: _size_3_t | None = None,
        padding: _size_3_t = 0,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.step_mode = step_mode
