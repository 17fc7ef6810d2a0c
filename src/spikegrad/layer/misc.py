"""Small helpers: population voting for the output layer, and printing shapes while debugging.

Example:
    >>> import torch
    >>> from spikegrad import layer
    >>> vote = layer.VotingLayer(voting_size=2)
    >>> vote(torch.tensor([[1.0, 0.0, 1.0, 1.0]])).tolist()  # 2 classes, 2 neurons each
    [[0.5, 1.0]]
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..base import StepModule


class VotingLayer(nn.Module, StepModule):
    """Average groups of ``voting_size`` consecutive features: population coding to class scores.

    An output layer of ``C * voting_size`` neurons gives ``C`` scores, each the mean of its
    group's values (firing rates). The layer acts on the last dimension only, so ``'s'`` and
    ``'m'`` give the same result.

    Args:
        voting_size: neurons per class, ``>= 1`` (default 10).
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        ``[*, C * voting_size]`` to ``[*, C]`` (``'m'``: ``[T, N, ...]``).

    Raises:
        ValueError: ``voting_size`` not a positive integer; a last dimension that is not a
            multiple of ``voting_size``.
    """

    def __init__(self, voting_size: int = 10, step_mode: str = "s") -> None:
        super().__init__()
        if isinstance(voting_size, bool) or not isinstance(voting_size, int) or voting_size < 1:
            raise ValueError(
                f"{type(self).__name__}: voting_size must be a positive integer, got {voting_size!r}"
            )
        self.voting_size = voting_size
        self.step_mode = step_mode

    def forward(self, x: Tensor) -> Tensor:
        size = self.voting_size
        if x.dim() == 0 or x.shape[-1] == 0 or x.shape[-1] % size:
            raise ValueError(
                f"{type(self).__name__} expects [..., C * {size}] (a last dimension that is a positive "
                f"multiple of voting_size={size}), got shape {tuple(x.shape)}"
            )
        rows = x.reshape(-1, 1, x.shape[-1])
        return F.avg_pool1d(rows, size, size).reshape(*x.shape[:-1], -1)

    def extra_repr(self) -> str:
        return f"voting_size={self.voting_size}, step_mode={self.step_mode!r}"


class PrintShapeModule(nn.Module):
    """Print the shape of what passes through, and pass it on unchanged (for debugging).

    Args:
        ext_str: the label printed before the shape (default ``'PrintShapeModule'``).

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> _ = layer.PrintShapeModule("after conv")(torch.zeros(2, 3))
        after conv shape=torch.Size([2, 3])
    """

    def __init__(self, ext_str: str = "PrintShapeModule") -> None:
        super().__init__()
        self.ext_str = ext_str

    def forward(self, x: Tensor) -> Tensor:
        print(f"{self.ext_str} shape={x.shape}")
        return x

    def extra_repr(self) -> str:
        return f"ext_str={self.ext_str!r}"
