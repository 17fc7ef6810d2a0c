"""Encoders that turn static inputs into spike trains.

Example:
    >>> import torch
    >>> from spikegrad import encoding
    >>> encoder = encoding.PoissonEncoder()
    >>> image = torch.tensor([0.0, 0.5, 1.0])
    >>> x_seq = torch.stack([encoder(image) for _ in range(4)])  # [T, *shape]
    >>> x_seq[:, 0].tolist(), x_seq[:, 2].tolist()
    ([0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import StepModule


class PoissonEncoder(nn.Module, StepModule):
    """Rate coding: each element spikes with probability equal to its value, independently.

    ``S = 1 if U < x else 0`` with ``U ~ Uniform[0, 1)``, so ``P(S = 1) = x`` exactly, a
    value of 0 never spikes and 1 always does. ``U`` is drawn in float32 (float64 for float64
    inputs) whatever the input's dtype: uniform draws rounded to bfloat16 or float16 would
    make low rates fire too often (bfloat16: 0.3 % instead of 0.1 %). Every call draws fresh
    randomness: call it once per time step, or give it the input repeated over time. The encoder is stateless,
    so both step modes do the same thing; ``step_mode`` is there so that
    :func:`~spikegrad.functional.set_step_mode` can treat a whole network alike.

    Args:
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        input: probabilities of any shape, in ``[0, 1]``; output: spikes of the same shape
        and dtype.

    Raises:
        TypeError: a non-floating input.
        ValueError: values outside ``[0, 1]`` (or NaN).
    """

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__()
        self.step_mode = step_mode

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point():
            got = x.dtype if isinstance(x, Tensor) else type(x).__name__
            raise TypeError(f"PoissonEncoder expects a floating-point tensor of probabilities, got {got}")
        if x.numel() and not bool(((x >= 0) & (x <= 1)).all()):
            bad = x[~((x >= 0) & (x <= 1))].flatten()[0].item()
            raise ValueError(f"PoissonEncoder: inputs are spike probabilities, so in [0, 1]; got {bad}")
        draws = torch.rand(x.shape, dtype=torch.promote_types(x.dtype, torch.float32), device=x.device)
        return (draws < x).to(x.dtype)

    def extra_repr(self) -> str:
        return f"step_mode={self.step_mode!r}"
