"""Fully connected layers with ``step_mode``: ``Linear`` and the weight-standardised ``WSLinear``.

A linear layer acts on the last dimension only, so ``'m'`` input ``[T, N, *, in]`` gives the
same result as running every time step on its own.

Example:
    >>> import torch
    >>> from spikegrad import layer
    >>> fc = layer.Linear(5, 4, True, "m")  # SpikingJelly's positional order
    >>> fc(torch.rand(8, 2, 5)).shape  # [T, N, in]
    torch.Size([8, 2, 4])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._base import StepModeLayer
from .conv import _check_eps, standardize_weight


class Linear(StepModeLayer, nn.Linear):
    """:class:`torch.nn.Linear` with ``step_mode``; input ``[N, *, in]`` or ``[T, *, in]``.

    The layer acts on the last dimension, so in ``'m'`` mode it runs on the whole sequence as
    it is (no merging needed).

    Args:
        in_features, out_features, bias: as :class:`torch.nn.Linear`.
        step_mode: ``'s'`` (default) or ``'m'``.
        device, dtype: keyword-only, as in torch.
    """

    layout = "[T, *, in_features]"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        step_mode: str = "s",
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        self.step_mode = step_mode

    def forward(self, x: Tensor) -> Tensor:
        if self.step_mode == "m":
            self.check_multi_step_input(x)
        return F.linear(x, self.weight, self.bias)


class WSLinear(Linear):
    r"""A :class:`Linear` whose weight is standardised at every call (scaled WS).

    Each output unit's weights get zero mean and variance ``1/in_features``, times a
    learnable ``gain`` (initialised to 1); see :func:`~spikegrad.layer.conv.standardize_weight`.
    Brock et al., ICLR 2021; used by OTTT's VGG.

    Args:
        in_features, out_features, bias: as :class:`torch.nn.Linear`.
        step_mode: ``'s'`` (default) or ``'m'``.
        gain: learn a per-unit scale ``gain`` of shape ``[out_features, 1]`` (default ``True``).
        eps: added to ``var * fan_in`` (default ``1e-4``).
        device, dtype: keyword-only, as in torch.

    Raises:
        ValueError: ``eps`` is not a finite number > 0; a bad ``step_mode``.

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> fc = layer.WSLinear(16, 4)
        >>> bool((fc.get_weight().var(dim=1) * 16 - 1).abs().max() < 1e-3)
        True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        step_mode: str = "s",
        gain: bool = True,
        eps: float = 1e-4,
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(in_features, out_features, bias, step_mode, device=device, dtype=dtype)
        self.eps = _check_eps(type(self).__name__, eps)
        self.gain: nn.Parameter | None
        if gain:
            self.gain = nn.Parameter(torch.ones(out_features, 1, device=device, dtype=dtype))
        else:
            self.register_parameter("gain", None)

    def get_weight(self) -> Tensor:
        """The standardised weight the layer uses."""
        return standardize_weight(self.weight, self.gain, self.eps)

    def forward(self, x: Tensor) -> Tensor:
        if self.step_mode == "m":
            self.check_multi_step_input(x)
        return F.linear(x, self.get_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gain={self.gain is not None}, eps={self.eps}"
