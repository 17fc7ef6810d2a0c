"""Dropout for spiking networks: one mask per sequence (``Dropout``, ``Dropout2d``) and DropConnect.

Dropping different units at every time step would turn dropout into noise on the spike
trains; sharing one mask over the sequence drops whole neurons (or channels) for it. The
mask is a memory: drawn at the first call after a reset, reused until
:func:`~spikegrad.functional.reset_net`.

Example:
    >>> import torch
    >>> from spikegrad import functional, layer
    >>> drop = layer.Dropout2d(0.5, step_mode="m")
    >>> out = drop(torch.ones(4, 2, 3, 5, 5))  # [T, N, C, H, W]
    >>> bool((out == out[0]).all())  # the same channels dropped at every step
    True
    >>> functional.reset_net(drop)  # a new mask for the next sequence
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import MemoryModule


def _check_probability(owner: str, p: object) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p < 1.0:
        raise ValueError(f"{owner}: p must be a number with 0 <= p < 1, got {p!r}")
    return float(p)


def _reset_hint(owner: str, what: str, stored: tuple[int, ...], got: tuple[int, ...]) -> ValueError:
    return ValueError(
        f"{owner}: the input's step shape {got} differs from the stored {what} {stored}; "
        "call spikegrad.functional.reset_net(net) between batches"
    )


class Dropout(MemoryModule):
    """Dropout whose mask is drawn once per sequence and shared by all its time steps.

    The mask is drawn at the first call after a reset, shaped like one step, and kept (a
    memory) until :func:`~spikegrad.functional.reset_net`: broadcast over ``T`` in ``'m'``
    mode, reused at every call in ``'s'`` mode. Kept units are scaled by ``1/(1-p)``; in
    eval mode the layer is the identity.

    Args:
        p: probability of dropping a unit, ``0 <= p < 1`` (default 0.5).
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        ``'s'``: any ``[*shape]``; ``'m'``: ``[T, *shape]``. Output: the input's shape.

    Raises:
        ValueError: ``p`` outside ``[0, 1)``; an input of another step shape than the
            stored mask (call ``reset_net`` between batches); no time steps in ``'m'`` mode.
        TypeError: an input that is not floating point (in training, with ``p > 0``).
    """

    mask: Tensor | None  # a memory

    def __init__(self, p: float = 0.5, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        self.p = _check_probability(type(self).__name__, p)
        self.register_memory("mask", None)

    def draw_mask(self, step: Tensor) -> Tensor:
        """A fresh mask for one step: ``bernoulli(1 - p) / (1 - p)`` per element."""
        return torch.empty_like(step).bernoulli_(1.0 - self.p).div_(1.0 - self.p)

    def _mask(self, step: Tensor) -> Tensor:
        if not step.is_floating_point():
            raise TypeError(
                f"{type(self).__name__} expects a floating-point tensor (a mask scaled by 1/(1-p)), "
                f"got dtype {step.dtype}"
            )
        if self.mask is None:
            self.mask = self.draw_mask(step)
        elif self.mask.shape != step.shape:
            raise _reset_hint(type(self).__name__, "mask", tuple(self.mask.shape), tuple(step.shape))
        return self.mask.to(step)

    def single_step_forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        return x * self._mask(x)

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x_seq
        if x_seq.dim() < 1 or x_seq.shape[0] == 0:
            raise ValueError(
                f"{type(self).__name__} in step_mode 'm' expects [T, *shape] with T >= 1, "
                f"got shape {tuple(x_seq.shape)}"
            )
        return x_seq * self._mask(x_seq[0])

    def extra_repr(self) -> str:
        return f"p={self.p}, step_mode={self.step_mode!r}"


class Dropout2d(Dropout):
    """Channel dropout with one mask per sequence: whole feature maps are dropped.

    As :class:`Dropout`, but each (sample, channel) pair of a step ``[N, C, *]`` is kept or
    dropped as a whole (like :func:`torch.nn.functional.dropout2d`, which also reads a
    three-dimensional step as ``[N, C, L]``).

    Args:
        p: probability of dropping a channel, ``0 <= p < 1`` (default 0.2).
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        ``'s'``: ``[N, C, *]``; ``'m'``: ``[T, N, C, *]``. Output: the input's shape.

    Raises:
        ValueError: ``p`` outside ``[0, 1)``; a step with fewer than two dimensions; an input
            of another step shape than the stored mask.
    """

    def __init__(self, p: float = 0.2, step_mode: str = "s") -> None:
        super().__init__(p, step_mode)

    def draw_mask(self, step: Tensor) -> Tensor:
        """A fresh mask for one step ``[N, C, *]``, constant over each channel's map."""
        if step.dim() < 2:
            raise ValueError(
                f"{type(self).__name__} expects steps [N, C, *] with at least two dimensions, "
                f"got step shape {tuple(step.shape)}"
            )
        per_channel = step.new_empty(*step.shape[:2], *(1,) * (step.dim() - 2))
        return per_channel.bernoulli_(1.0 - self.p).div_(1.0 - self.p).expand_as(step)


class DropConnectLinear(MemoryModule):
    r"""A linear layer with DropConnect: each weight is dropped with probability ``p``.

    In training every sample of the batch gets its own weight (and bias) mask, kept with
    probability ``1 - p``; the masks are redrawn at every step, or drawn once and kept (the
    memories ``weight_mask`` and ``bias_mask``) until :func:`~spikegrad.functional.reset_net`
    with ``invariant=True``. The output is ``activation(W_masked x + b_masked)``.

    In eval mode the pre-activation of each output is approximated by a Gaussian with the
    moments of the masked sum, and the output is the mean of ``activation`` over
    ``samples_num`` samples of it (Wan et al., *Regularization of neural networks using
    DropConnect*, ICML 2013):

    .. math::
        \mu = (1-p)(W x + b), \qquad \sigma^2 = p(1-p)(W^2 x^2 + b^2), \qquad
        y = \frac{1}{S}\sum_{s=1}^{S} a(u_s), \quad u_s \sim \mathcal N(\mu, \sigma^2)

    The eval output is a Monte Carlo estimate (random, and without gradient).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias (default ``True``).
        p: probability of dropping a weight, ``0 <= p < 1`` (default 0.5).
        samples_num: samples of the eval-mode Gaussian, ``>= 1`` (default 1024).
        invariant: keep the training masks until ``reset_net`` instead of redrawing them at
            every step (default ``False``).
        activation: module applied to the pre-activation (default a fresh ``nn.ReLU()``;
            ``None``: the identity).
        step_mode: ``'s'`` (default) or ``'m'`` (a loop over the steps).

    Shape:
        training: ``[N, in_features]`` per step; eval: ``[*, in_features]``.
        Output: ``[..., out_features]``.

    Raises:
        ValueError: ``p`` outside ``[0, 1)``; ``samples_num`` not a positive integer; a
            training step that is not ``[N, in_features]``; an invariant mask drawn for
            another batch size (call ``reset_net``).

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> fc = layer.DropConnectLinear(8, 3, p=0.5)
        >>> fc(torch.rand(4, 8)).shape
        torch.Size([4, 3])
    """

    weight_mask: Tensor | None  # memories: the kept weights and biases, [N, out, in] and [N, out]
    bias_mask: Tensor | None

    _DEFAULT_ACTIVATION: Any = object()

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        p: float = 0.5,
        samples_num: int = 1024,
        invariant: bool = False,
        activation: nn.Module | None = _DEFAULT_ACTIVATION,
        step_mode: str = "s",
    ) -> None:
        super().__init__(step_mode)
        name = type(self).__name__
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias: nn.Parameter | None
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        self.p = _check_probability(name, p)
        if isinstance(samples_num, bool) or not isinstance(samples_num, int) or samples_num < 1:
            raise ValueError(f"{name}: samples_num must be a positive integer, got {samples_num!r}")
        self.samples_num = samples_num
        self.invariant = bool(invariant)
        self.activation = nn.ReLU() if activation is self._DEFAULT_ACTIVATION else activation
        self.register_memory("weight_mask", None)
        self.register_memory("bias_mask", None)

    def reset_parameters(self) -> None:
        """Initialise ``weight`` and ``bias`` as :class:`torch.nn.Linear` does."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            nn.init.uniform_(self.bias, -bound, bound)

    def reset(self) -> None:
        """Forget the masks, and reset a stateful ``activation`` too."""
        super().reset()
        if isinstance(self.activation, MemoryModule):
            self.activation.reset()

    def draw_masks(self, batch_size: int) -> tuple[Tensor, Tensor | None]:
        """Draw and keep per-sample masks of the kept weights ``[N, out, in]`` and biases ``[N, out]``."""
        weight, bias = self.weight, self.bias
        self.weight_mask = (
            torch.rand(batch_size, *weight.shape, dtype=weight.dtype, device=weight.device) >= self.p
        )
        if bias is not None:
            self.bias_mask = (
                torch.rand(batch_size, *bias.shape, dtype=bias.dtype, device=bias.device) >= self.p
            )
        return self.weight_mask, self.bias_mask

    def single_step_forward(self, x: Tensor) -> Tensor:
        if self.training:
            return self._train_step(x)
        return self._expected_output(x)

    def _train_step(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"{name} in training expects steps [N, {self.in_features}], got {tuple(x.shape)}"
            )
        weight_mask, bias_mask = self.weight_mask, self.bias_mask
        if not self.invariant or weight_mask is None:
            weight_mask, bias_mask = self.draw_masks(x.shape[0])
        elif weight_mask.shape[0] != x.shape[0]:
            raise ValueError(
                f"{name}: the invariant masks were drawn for a batch of {weight_mask.shape[0]}, got "
                f"{x.shape[0]}; call spikegrad.functional.reset_net(net) between batches"
            )
        # the masked weights are recomputed at every step, so that kept masks never hold a graph
        out = torch.bmm(self.weight * weight_mask, x.unsqueeze(-1)).squeeze(-1)
        if self.bias is not None and bias_mask is not None:
            out = out + self.bias * bias_mask
        return out if self.activation is None else self.activation(out)

    def _expected_output(self, x: Tensor) -> Tensor:
        mean = (1.0 - self.p) * F.linear(x, self.weight, self.bias)
        bias_sq = None if self.bias is None else self.bias.square()
        variance = self.p * (1.0 - self.p) * F.linear(x.square(), self.weight.square(), bias_sq)
        shape = (self.samples_num, *mean.shape)
        with torch.no_grad():
            samples = torch.normal(mean.expand(shape), variance.sqrt().expand(shape))
        if self.activation is not None:
            samples = self.activation(samples)
        return samples.mean(dim=0)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, p={self.p}, invariant={self.invariant}, "
            f"samples_num={self.samples_num}, step_mode={self.step_mode!r}"
        )
