r"""Parallel spiking neurons (PSN, Fang et al. 2023): a matrix product over time, then a spike.

A PSN has no reset, so its charge is a linear function of the inputs: all ``T`` charges are
one matrix product ``H = W X + b`` of a ``[T, T]`` weight and the inputs flattened to
``[T, N]``, and the spikes ``S = Theta(H)`` (the threshold lives in the bias, initially -1)
need no loop over time. The three variants differ in the weight:

* :class:`PSN`: a dense, learnable ``[T, T]`` weight; every step sees the whole sequence.
* :class:`MaskedPSN`: the weight is blended towards a causal band of width ``k`` as
  ``lambda_`` goes from 0 to 1 during training; at ``lambda_ = 1`` it runs step by step too.
* :class:`SlidingPSN`: ``k`` shared weights slide along time (a causal convolution, written
  as its banded Toeplitz matrix); any ``T``, step by step too.

Reference:
    W. Fang et al., "Parallel Spiking Neurons with High Efficiency and Ability to Learn
    Long-term Dependencies", NeurIPS 2023.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ..base import MemoryModule, MultiStepModule
from ..surrogate import ATan
from ._surrogate_default import surrogate_or
from .params import REQUIRED, check_number, flag, integer

__all__ = ["PSN", "MaskedPSN", "SlidingPSN"]

T_STEPS = integer("T", REQUIRED, "number of time steps of every input sequence", low=1)
ORDER = integer("k", REQUIRED, "order: how many recent steps a step sees", low=1)
EXP_INIT = flag("exp_init", True, "initial weights 1/2^(k-1), ..., 1/2, 1; else Kaiming-uniform")


def _check_input(owner: str, x: Any, multi_step: bool) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner} expects a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{owner} expects a floating-point input, got dtype {x.dtype}")
    if multi_step and x.dim() == 0:
        raise ValueError(f"{owner} in step_mode 'm' expects [T, *shape], got a 0-d tensor")
    return x


def _check_length(owner: str, steps: int, x_seq: Tensor) -> None:
    if x_seq.shape[0] != steps:
        raise ValueError(
            f"{owner}(T={steps}) expects inputs [T={steps}, *shape], got shape {tuple(x_seq.shape)}"
        )


def _spikes(surrogate_function: nn.Module, bias: Tensor, weight: Tensor, x_seq: Tensor) -> Tensor:
    """``surrogate(W X + b)`` over the inputs flattened to ``[T, N]``, back in ``x_seq``'s shape."""
    h_seq = torch.addmm(bias, weight, x_seq.reshape(x_seq.shape[0], -1))
    return surrogate_function(h_seq).view(x_seq.shape)  # type: ignore[no-any-return]


def _kaiming_weight(shape: tuple[int, ...]) -> Tensor:
    """``nn.Linear``'s initialisation (Kaiming-uniform with ``a = sqrt(5)``)."""
    weight = torch.empty(shape)
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    return weight


class PSN(nn.Module, MultiStepModule):
    r"""Parallel spiking neuron: every step's charge is a learned mix of the whole sequence.

    .. math::
        H = W X + B, \qquad S = \Theta(H)

    with ``X, H, S`` the sequences flattened to ``[T, N]``, ``W`` a learnable ``[T, T]``
    weight (Kaiming-uniform) and ``B`` a learnable ``[T, 1]`` bias (initially -1, the
    threshold). Not causal: step ``t`` sees later inputs too. Multi-step only.

    Args:
        T: number of time steps, an integer >= 1: every input is ``[T, *shape]``.
        surrogate_function: spike function of ``H``; ``None`` gives a fresh
            ``surrogate.ATan()``.

    Shape:
        input and output ``[T, *shape]``.

    Raises:
        ValueError: ``T < 1``; an input whose length is not ``T``.
        TypeError: a non-integer ``T``, a surrogate that is not a module, non-floating input.

    Reference:
        W. Fang et al., "Parallel Spiking Neurons with High Efficiency and Ability to Learn
        Long-term Dependencies", NeurIPS 2023.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> psn = neuron.PSN(T=4)
        >>> psn(torch.rand(4, 2, 8)).shape
        torch.Size([4, 2, 8])
        >>> psn.weight.shape, psn.bias.shape
        (torch.Size([4, 4]), torch.Size([4, 1]))
    """

    def __init__(self, T: int, surrogate_function: nn.Module | None = None) -> None:
        super().__init__()
        owner = type(self).__name__
        steps = T_STEPS.check(owner, "T", T)  # type: ignore[misc]
        self.surrogate_function = surrogate_or(owner, surrogate_function, ATan)
        self.weight = nn.Parameter(_kaiming_weight((steps, steps)))
        self.bias = nn.Parameter(torch.full((steps, 1), -1.0))

    @property
    def T(self) -> int:
        """The number of time steps (the size of the weight)."""
        return int(self.weight.shape[0])

    def forward(self, x_seq: Tensor) -> Tensor:
        owner = type(self).__name__
        _check_length(owner, self.T, _check_input(owner, x_seq, multi_step=True))
        return _spikes(self.surrogate_function, self.bias, self.weight, x_seq)

    def extra_repr(self) -> str:
        return f"T={self.T}, step_mode={self.step_mode!r}"


class MaskedPSN(MemoryModule):
    r"""Masked parallel spiking neuron: a PSN whose weight becomes causal, of order ``k``.

    .. math::
        H = \big((\lambda M_k + (1 - \lambda) \mathbf{1}) \odot W\big) X + B, \qquad
        S = \Theta(H)

    with ``M_k`` the band mask of the lower triangle of width ``k`` (step ``t`` sees steps
    ``t-k+1 .. t``) and ``lambda`` (``lambda_``, a buffer) raised from 0 to 1 during
    training; from ``lambda_ >= 1`` on, the weight is ``M_k W`` exactly and the neuron is
    causal, so it also runs one step per call (``step_mode='s'``, at most ``T`` steps
    between resets, keeping the last ``k`` inputs).

    Args:
        k: order, an integer >= 1.
        T: number of time steps, an integer >= 1.
        lambda_init: initial ``lambda_``, a finite number >= 0 (default 0.0).
        surrogate_function: spike function of ``H``; ``None`` gives a fresh
            ``surrogate.ATan()``.
        step_mode: ``'s'`` (default; needs ``lambda_ >= 1``) or ``'m'``.

    State:
        ``time_step`` (steps since the last reset, ``'s'`` mode) and ``queue`` (the last
        ``k`` inputs, flattened).

    Shape:
        ``'m'``: input and output ``[T, *shape]``; ``'s'``: ``[*shape]``.

    Raises:
        ValueError: arguments out of range; an input whose length is not ``T``; a
            single step while ``lambda_ < 1`` or after ``T`` steps since the last reset.
        TypeError: arguments of the wrong type, non-floating input.

    Reference:
        W. Fang et al., "Parallel Spiking Neurons with High Efficiency and Ability to Learn
        Long-term Dependencies", NeurIPS 2023.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> psn = neuron.MaskedPSN(k=2, T=4, step_mode="m")
        >>> psn(torch.rand(4, 3)).shape
        torch.Size([4, 3])
        >>> psn.mask0
        tensor([[1., 0., 0., 0.],
                [1., 1., 0., 0.],
                [0., 1., 1., 0.],
                [0., 0., 1., 1.]])
    """

    time_step: int
    queue: list[Tensor]
    weight: nn.Parameter
    bias: nn.Parameter
    mask0: Tensor
    mask1: Tensor
    _lambda_: Tensor

    def __init__(
        self,
        k: int,
        T: int,
        lambda_init: float = 0.0,
        surrogate_function: nn.Module | None = None,
        step_mode: str = "s",
    ) -> None:
        super().__init__(step_mode)
        owner = type(self).__name__
        order = ORDER.check(owner, "k", k)  # type: ignore[misc]
        steps = T_STEPS.check(owner, "T", T)  # type: ignore[misc]
        self._k = order
        self.surrogate_function = surrogate_or(owner, surrogate_function, ATan)
        self.register_memory("time_step", 0)
        self.register_memory("queue", [])
        self.register_buffer("_lambda_", torch.tensor(_check_lambda(owner, lambda_init)))
        self.weight = nn.Parameter(_kaiming_weight((steps, steps)))
        self.bias = nn.Parameter(torch.full((steps, 1), -1.0))
        ones = torch.ones(steps, steps)
        self.register_buffer("mask0", torch.tril(ones) * torch.triu(ones, -(order - 1)))
        self.register_buffer("mask1", ones)

    @property
    def T(self) -> int:
        """The number of time steps (the size of the weight)."""
        return int(self.weight.shape[0])

    @property
    def k(self) -> int:
        """The order: how many recent steps a step sees once the weight is causal."""
        return self._k

    @property
    def lambda_(self) -> Tensor:
        """The blend between the dense (0) and the causal band (1) weight; a 0-dim buffer."""
        return self._lambda_

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        self._lambda_.fill_(_check_lambda(type(self).__name__, value))

    @staticmethod
    def gen_masked_weight(lambda_: Tensor, mask0: Tensor, mask1: Tensor, weight: Tensor) -> Tensor:
        """``(lambda_ M_k + (1 - lambda_) 1) W``."""
        return (lambda_ * mask0 + (1.0 - lambda_) * mask1) * weight

    def masked_weight(self) -> Tensor:
        """The weight in use: ``lambda_`` beyond 1 counts as 1 (then it is ``M_k W`` exactly)."""
        return self.gen_masked_weight(self.lambda_.clamp(max=1.0), self.mask0, self.mask1, self.weight)

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        owner = type(self).__name__
        _check_length(owner, self.T, _check_input(owner, x_seq, multi_step=True))
        return _spikes(self.surrogate_function, self.bias, self.masked_weight(), x_seq)

    def single_step_forward(self, x: Tensor) -> Tensor:
        owner = type(self).__name__
        _check_input(owner, x, multi_step=False)
        if self.lambda_ < 1.0:
            raise ValueError(
                f"{owner} runs one step at a time only once its weight is causal (lambda_ >= 1), "
                f"got lambda_={float(self.lambda_)}; use step_mode='m'"
            )
        t = self.time_step
        if t >= self.T:
            raise ValueError(
                f"{owner}(T={self.T}) has already run {t} steps; call spikegrad.functional.reset_net(net) "
                "before the next sequence"
            )
        queue = _push(owner, self.queue, x, self.k)
        weight = self.masked_weight()[t, t + 1 - len(queue) : t + 1]
        h = self.bias[t] + weight @ torch.stack(queue)
        self.queue, self.time_step = queue, t + 1
        return self.surrogate_function(h).view(x.shape)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"k={self.k}, T={self.T}, lambda_={float(self.lambda_)}, step_mode={self.step_mode!r}"


class SlidingPSN(MemoryModule):
    r"""Sliding parallel spiking neuron: ``k`` shared weights slide along time.

    .. math::
        H_t = \sum_{i=0}^{\min(k, t+1) - 1} w_{k-1-i} X_{t-i} + b, \qquad S_t = \Theta(H_t)

    a causal convolution over time with learnable ``w`` (``[k]``) and ``b`` (a scalar,
    initially -1). In ``'m'`` mode it is one matrix product with the banded Toeplitz matrix
    of ``w`` (:meth:`gen_gemm_weight`), for any ``T``; in ``'s'`` mode the neuron keeps the
    last ``k`` inputs.

    Args:
        k: order, an integer >= 1.
        exp_init: initialise ``w`` to ``1/2^(k-1), ..., 1/2, 1`` (default True), else
            Kaiming-uniform.
        surrogate_function: spike function of ``H``; ``None`` gives a fresh
            ``surrogate.ATan()``.
        step_mode: ``'s'`` (default) or ``'m'``.

    State:
        ``queue``: the last ``k`` inputs, flattened (``'s'`` mode).

    Shape:
        ``'m'``: input and output ``[T, *shape]``; ``'s'``: ``[*shape]``.

    Raises:
        ValueError: ``k < 1``. TypeError: arguments of the wrong type, non-floating input.

    Reference:
        W. Fang et al., "Parallel Spiking Neurons with High Efficiency and Ability to Learn
        Long-term Dependencies", NeurIPS 2023.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> psn = neuron.SlidingPSN(k=2, step_mode="m")
        >>> psn.weight
        Parameter containing:
        tensor([0.5000, 1.0000], requires_grad=True)
        >>> psn.gen_gemm_weight(3)
        tensor([[1.0000, 0.0000, 0.0000],
                [0.5000, 1.0000, 0.0000],
                [0.0000, 0.5000, 1.0000]], grad_fn=<WhereBackward0>)
        >>> psn(torch.tensor([[0.5], [0.8], [0.7]])).flatten().tolist()
        [0.0, 1.0, 1.0]
    """

    queue: list[Tensor]

    def __init__(
        self,
        k: int,
        exp_init: bool = True,
        surrogate_function: nn.Module | None = None,
        step_mode: str = "s",
    ) -> None:
        super().__init__(step_mode)
        owner = type(self).__name__
        order = ORDER.check(owner, "k", k)  # type: ignore[misc]
        exp_init = EXP_INIT.check(owner, "exp_init", exp_init)  # type: ignore[misc]
        self.surrogate_function = surrogate_or(owner, surrogate_function, ATan)
        self.register_memory("queue", [])
        if exp_init:
            weight = torch.pow(2.0, -torch.arange(order - 1, -1, -1, dtype=torch.get_default_dtype()))
        else:
            weight = _kaiming_weight((1, order))[0]
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(torch.tensor(-1.0))

    @property
    def k(self) -> int:
        """The order: the number of sliding weights."""
        return int(self.weight.shape[0])

    def gen_gemm_weight(self, T: int) -> Tensor:
        """The ``[T, T]`` matrix of the sliding weights: row ``t`` holds ``w`` ending at column ``t``."""
        steps = torch.arange(T, device=self.weight.device)
        lag = steps.unsqueeze(1) - steps.unsqueeze(0)  # t - s
        inside = (lag >= 0) & (lag < self.k)
        taps = self.weight[(self.k - 1 - lag).clamp(0, self.k - 1)]
        return torch.where(inside, taps, taps.new_zeros(()))

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        _check_input(type(self).__name__, x_seq, multi_step=True)
        return _spikes(self.surrogate_function, self.bias, self.gen_gemm_weight(x_seq.shape[0]), x_seq)

    def single_step_forward(self, x: Tensor) -> Tensor:
        owner = type(self).__name__
        _check_input(owner, x, multi_step=False)
        queue = _push(owner, self.queue, x, self.k)
        h = self.bias + self.weight[self.k - len(queue) :] @ torch.stack(queue)
        self.queue = queue
        return self.surrogate_function(h).view(x.shape)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"k={self.k}, step_mode={self.step_mode!r}"


def _push(owner: str, queue: list[Tensor], x: Tensor, k: int) -> list[Tensor]:
    """The last ``k`` flattened inputs, ``x`` the newest (a new list: the old one is kept as it was)."""
    if queue and queue[-1].shape != (x.numel(),):
        raise ValueError(
            f"{owner}: the input has {x.numel()} elements, the queued ones {queue[-1].numel()}; call "
            "spikegrad.functional.reset_net(net) before a batch of another shape"
        )
    return [*queue, x.flatten()][-k:]


def _check_lambda(owner: str, value: Any) -> float:
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    return check_number(owner, "lambda_", value, 0.0, low_inclusive=True)
