"""Convolutions with ``step_mode``: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d``, ``WSConv2d``.

Each takes its torch parent's arguments in SpikingJelly's positional order, then
``step_mode`` (so ``Conv2d(1, 4, 3, 1, 0, 1, 1, True, 'zeros', 'm')`` works as in
SpikingJelly), then the keyword-only ``device`` and ``dtype``. In ``'s'`` mode the layer is
its torch parent; in ``'m'`` it runs once over ``[T*N, ...]``.

Example:
    >>> import torch
    >>> from spikegrad import layer
    >>> conv = layer.Conv1d(2, 4, 3, padding=1, step_mode="m")
    >>> conv(torch.rand(8, 5, 2, 16)).shape  # [T, N, C, L]
    torch.Size([8, 5, 4, 16])
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.common_types import _size_1_t, _size_2_t, _size_3_t

from ._base import LAYOUTS, PaddingMode, StepModeLayer, merge_time


class Conv1d(StepModeLayer, nn.Conv1d):
    """:class:`torch.nn.Conv1d` with ``step_mode``; ``'m'`` input ``[T, N, C, L]``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode: as :class:`torch.nn.Conv1d`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.
    """

    step_dims = (3,)
    layout = LAYOUTS[1]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _size_1_t,
        stride: _size_1_t = 1,
        padding: str | _size_1_t = 0,
        dilation: _size_1_t = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: PaddingMode = "zeros",
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device=device, dtype=dtype,
        )  # fmt: skip
        self.step_mode = step_mode


class Conv2d(StepModeLayer, nn.Conv2d):
    """:class:`torch.nn.Conv2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode: as :class:`torch.nn.Conv2d`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.
    """

    step_dims = (4,)
    layout = LAYOUTS[2]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _size_2_t,
        stride: _size_2_t = 1,
        padding: str | _size_2_t = 0,
        dilation: _size_2_t = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: PaddingMode = "zeros",
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device=device, dtype=dtype,
        )  # fmt: skip
        self.step_mode = step_mode


class Conv3d(StepModeLayer, nn.Conv3d):
    """:class:`torch.nn.Conv3d` with ``step_mode``; ``'m'`` input ``[T, N, C, D, H, W]``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode: as :class:`torch.nn.Conv3d`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.
    """

    step_dims = (5,)
    layout = LAYOUTS[3]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _size_3_t,
        stride: _size_3_t = 1,
        padding: str | _size_3_t = 0,
        dilation: _size_3_t = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: PaddingMode = "zeros",
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device=device, dtype=dtype,
        )  # fmt: skip
        self.step_mode = step_mode


class _TransposedStepMode(StepModeLayer):
    """``'m'`` for transposed convolutions, whose forward also takes ``output_size``."""

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        parent = super(StepModeLayer, self).forward  # type: ignore[misc]  # the torch layer's
        if self.step_mode == "s":
            return parent(x, output_size)  # type: ignore[no-any-return]
        self.check_multi_step_input(x)
        # torch reads only the spatial part of output_size, so one step's size fits the merged call
        return merge_time(lambda merged: parent(merged, output_size), x)  # type: ignore[no-any-return]


class ConvTranspose1d(_TransposedStepMode, nn.ConvTranspose1d):
    """:class:`torch.nn.ConvTranspose1d` with ``step_mode``; ``'m'`` input ``[T, N, C, L]``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, output_padding, groups,
            bias, dilation, padding_mode: as :class:`torch.nn.ConvTranspose1d`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.

    ``forward(x, output_size=None)``: in ``'m'`` mode ``output_size`` may be one step's
    spatial size (``[L]``) or its full size ``[N, C, L]``.
    """

    step_dims = (3,)
    layout = LAYOUTS[1]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _size_1_t,
        stride: _size_1_t = 1,
        padding: _size_1_t = 0,
        output_padding: _size_1_t = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: _size_1_t = 1,
        padding_mode: PaddingMode = "zeros",
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
            dilation, padding_mode, device=device, dtype=dtype,
        )  # fmt: skip
        self.step_mode = step_mode


class ConvTranspose2d(_TransposedStepMode, nn.ConvTranspose2d):
    """:class:`torch.nn.ConvTranspose2d` with ``step_mode``; ``'m'`` input ``[T, N, C, H, W]``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, output_padding, groups,
            bias, dilation, padding_mode: as :class:`torch.nn.ConvTranspose2d`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.

    ``forward(x, output_size=None)``: in ``'m'`` mode ``output_size`` may be one step's
    spatial size (``[H, W]``) or its full size ``[N, C, H, W]``.
    """

    step_dims = (4,)
    layout = LAYOUTS[2]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _size_2_t,
        stride: _size_2_t = 1,
        padding: _size_2_t = 0,
        output_padding: _size_2_t = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: _size_2_t = 1,
        padding_mode: PaddingMode = "zeros",
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
            dilation, padding_mode, device=device, dtype=dtype,
        )  # fmt: skip
        self.step_mode = step_mode


class ConvTranspose3d(_TransposedStepMode, nn.ConvTranspose3d):
    """:class:`torch.nn.ConvTranspose3d` with ``step_mode``; ``'m'`` input ``[T, N, C, D, H, W]``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, output_padding, groups,
            bias, dilation, padding_mode: as :class:`torch.nn.ConvTranspose3d`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.

    ``forward(x, output_size=None)``: in ``'m'`` mode ``output_size`` may be one step's
    spatial size (``[D, H, W]``) or its full size ``[N, C, D, H, W]``.
    """

    step_dims = (5,)
    layout = LAYOUTS[3]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _size_3_t,
        stride: _size_3_t = 1,
        padding: _size_3_t = 0,
        output_padding: _size_3_t = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: _size_3_t = 1,
        padding_mode: PaddingMode = "zeros",
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
            dilation, padding_mode, device=device, dtype=dtype,
        )  # fmt: skip
        self.step_mode = step_mode


def standardize_weight(weight: Tensor, gain: Tensor | None, eps: float) -> Tensor:
    r"""Scaled weight standardisation of Brock et al. (2021), per output unit.

    .. math::
        \hat W_i = g_i \frac{W_i - \operatorname{mean}(W_i)}{\sqrt{\operatorname{var}(W_i)\,
        \mathrm{fan\_in} + \epsilon}}

    with the unbiased variance over the fan-in of output unit ``i`` (all dimensions but the
    first) and ``g`` the optional gain.

    Args:
        weight: ``[out, *fan_in_shape]``.
        gain: ``[out, 1, ...]`` (broadcast against ``weight``) or ``None``.
        eps: added to the scaled variance.
    """
    fan_in_dims = list(range(1, weight.dim()))
    fan_in = math.prod(weight.shape[1:])
    mean = weight.mean(dim=fan_in_dims, keepdim=True)
    var = weight.var(dim=fan_in_dims, keepdim=True)
    standardized = (weight - mean) / (var * fan_in + eps) ** 0.5
    return standardized if gain is None else standardized * gain


def _check_eps(owner: str, eps: object) -> float:
    if isinstance(eps, bool) or not isinstance(eps, int | float) or not eps > 0 or not math.isfinite(eps):
        raise ValueError(f"{owner}: eps must be a finite number > 0, got {eps!r}")
    return float(eps)


class WSConv2d(Conv2d):
    r"""A :class:`Conv2d` whose weight is standardised at every call (scaled WS).

    The convolution uses :func:`standardize_weight` of the stored ``weight``:
    zero mean and variance ``1/fan_in`` per output channel, times a learnable ``gain``
    (initialised to 1). Brock et al., *Characterizing signal propagation to close the
    performance gap in unnormalized ResNets* (ICLR 2021); used by OTTT's VGG.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode: as :class:`torch.nn.Conv2d`.
        step_mode: ``'s'`` (default) or ``'m'``.
        gain: learn a per-channel scale ``gain`` of shape ``[out_channels, 1, 1, 1]``
            (default ``True``; ``False``: no ``gain`` parameter).
        eps: added to ``var * fan_in`` (default ``1e-4``).
        device, dtype: keyword-only, as in torch.

    Raises:
        ValueError: ``eps`` is not a finite number > 0; a bad ``step_mode``.

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> conv = layer.WSConv2d(3, 8, 3, padding=1)
        >>> w = conv.get_weight()
        >>> bool(w.mean(dim=(1, 2, 3)).abs().max() < 1e-6)
        True
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _size_2_t,
        stride: _size_2_t = 1,
        padding: str | _size_2_t = 0,
        dilation: _size_2_t = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: PaddingMode = "zeros",
        step_mode: str = "s",
        gain: bool = True,
        eps: float = 1e-4,
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, step_mode, device=device, dtype=dtype,
        )  # fmt: skip
        self.eps = _check_eps(type(self).__name__, eps)
        self.gain: nn.Parameter | None
        if gain:
            self.gain = nn.Parameter(torch.ones(out_channels, 1, 1, 1, device=device, dtype=dtype))
        else:
            self.register_parameter("gain", None)

    def get_weight(self) -> Tensor:
        """The standardised weight the convolution uses."""
        return standardize_weight(self.weight, self.gain, self.eps)

    def _standardized_forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.get_weight(), self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if self.step_mode == "s":
            return self._standardized_forward(x)
        self.check_multi_step_input(x)
        return merge_time(self._standardized_forward, x)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gain={self.gain is not None}, eps={self.eps}"
