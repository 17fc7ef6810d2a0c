"""Layers that act along time: a synaptic filter, a delay, and spike-count conversions.

* :class:`SynapseFilter` and :class:`Delay` keep state across steps (memory modules, reset
  by :func:`~spikegrad.functional.reset_net`).
* :class:`SpikeCountToBinary` and :class:`TemporalBinSum` change the number of time steps
  (multi-step only): they convert between binary spikes and spike counts of bins of steps.

Example:
    >>> import torch
    >>> from spikegrad import layer
    >>> delay = layer.Delay(2, step_mode="m")
    >>> delay(torch.tensor([1.0, 2.0, 3.0, 4.0])).tolist()
    [0.0, 0.0, 1.0, 2.0]
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..base import MemoryModule
from ._base import MultiStepOnly, check_sequence


class SynapseFilter(MemoryModule):
    r"""A first-order synaptic current driven by spikes, reset to its input at each spike.

    .. math::
        I[t] = I[t-1] - (1 - S[t]) \frac{I[t-1]}{\tau} + S[t], \qquad I[-1] = 0

    Without input the current decays exponentially with time constant ``tau``; a spike
    ``S[t] = 1`` adds 1 and suspends the decay for that step. With ``learnable=True`` the
    rate is ``sigmoid(w)`` with ``w`` learned, initialised to ``-ln(tau - 1)`` so that it
    starts at ``1/tau`` (as PLIF's time constant). Used as a trace of presynaptic spikes,
    e.g. by Diehl & Cook's STDP network and by the SLAYER-style losses.

    Args:
        tau: the time constant, ``> 1`` (default 100).
        learnable: learn the rate as ``sigmoid(w)`` (default ``False``).
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        ``'s'``: any ``[*shape]``; ``'m'``: ``[T, *shape]``. Output: the input's shape.

    Raises:
        ValueError: ``tau`` not a finite number > 1; a step shape that differs from the stored
            current (call ``reset_net`` between batches).

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> syn = layer.SynapseFilter(tau=2.0, step_mode="m")
        >>> syn(torch.tensor([1.0, 0.0, 0.0, 1.0])).tolist()
        [1.0, 0.5, 0.25, 1.25]
    """

    out_i: Tensor | float  # a memory: the current I

    def __init__(self, tau: float = 100.0, learnable: bool = False, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        if isinstance(tau, bool) or not isinstance(tau, int | float) or not (math.isfinite(tau) and tau > 1):
            raise ValueError(f"{type(self).__name__}: tau must be a finite number > 1, got {tau!r}")
        self.learnable = bool(learnable)
        if self.learnable:
            self.w = nn.Parameter(torch.as_tensor(-math.log(tau - 1.0)))
        else:
            self.tau = tau
        self.register_memory("out_i", 0.0)

    def rate(self) -> Tensor | float:
        """The decay rate ``1/tau`` (``sigmoid(w)`` when learnable)."""
        return self.w.sigmoid() if self.learnable else 1.0 / self.tau

    def single_step_forward(self, x: Tensor) -> Tensor:
        current = self.out_i
        if not isinstance(current, Tensor):
            current = torch.full_like(x, current)
        elif current.shape != x.shape:
            raise ValueError(
                f"{type(self).__name__}: the input's step shape {tuple(x.shape)} differs from the stored "
                f"current {tuple(current.shape)}; call spikegrad.functional.reset_net(net) between batches"
            )
        self.out_i = current - (1.0 - x) * current * self.rate() + x
        return self.out_i

    def extra_repr(self) -> str:
        if self.learnable:
            tau = 1.0 / torch.sigmoid(self.w.detach()).item()
        else:
            tau = self.tau
        return f"tau={tau}, learnable={self.learnable}, step_mode={self.step_mode!r}"


class Delay(MemoryModule):
    r"""Delay the input by ``delay_steps`` time steps: ``y[t] = x[t - d]``, and 0 for ``t < d``.

    The last ``d`` inputs are kept (a memory) across calls until
    :func:`~spikegrad.functional.reset_net`, so a sequence fed in pieces (or step by step)
    gives the same output as fed at once.

    Args:
        delay_steps: ``d``, a non-negative integer (read-only afterwards).
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        ``'s'``: any ``[*shape]``; ``'m'``: ``[T, *shape]``. Output: the input's shape.

    Raises:
        ValueError: ``delay_steps`` not a non-negative integer; a step shape that differs from
            the stored inputs (call ``reset_net`` between batches).

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> delay = layer.Delay(1)
        >>> [delay(torch.tensor(v)).item() for v in (5.0, 6.0, 7.0)]
        [0.0, 5.0, 6.0]
    """

    queue: Tensor | None  # a memory: the last d inputs, oldest first, [d, *shape]

    def __init__(self, delay_steps: int, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        if isinstance(delay_steps, bool) or not isinstance(delay_steps, int) or delay_steps < 0:
            raise ValueError(
                f"{type(self).__name__}: delay_steps must be an integer >= 0, got {delay_steps!r}"
            )
        self._delay_steps = delay_steps
        self.register_memory("queue", None)

    @property
    def delay_steps(self) -> int:
        """The delay ``d`` in time steps."""
        return self._delay_steps

    def _pending(self, step: Tensor) -> Tensor:
        """The stored last ``d`` inputs (zeros before the first call), ``[d, *step_shape]``."""
        if self.queue is None:
            return step.new_zeros(self.delay_steps, *step.shape)
        if self.queue.shape[1:] != step.shape:
            raise ValueError(
                f"{type(self).__name__}: the input's step shape {tuple(step.shape)} differs from the "
                f"stored inputs {tuple(self.queue.shape[1:])}; call spikegrad.functional.reset_net(net) "
                "between batches"
            )
        return self.queue

    def single_step_forward(self, x: Tensor) -> Tensor:
        return self.multi_step_forward(x.unsqueeze(0)).squeeze(0)

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        check_sequence(type(self).__name__, x_seq, 1, "[T, *shape]")
        if self.delay_steps == 0:
            return x_seq
        history = torch.cat((self._pending(x_seq[0]), x_seq))
        self.queue = history[-self.delay_steps :]
        return history[: x_seq.shape[0]]

    def extra_repr(self) -> str:
        return f"delay_steps={self.delay_steps}, step_mode={self.step_mode!r}"


def _check_num_slots(owner: str, num_slots: object) -> int:
    if isinstance(num_slots, bool) or not isinstance(num_slots, int) or num_slots < 1:
        raise ValueError(f"{owner}: num_slots must be an integer >= 1, got {num_slots!r}")
    return num_slots


class SpikeCountToBinary(MultiStepOnly, nn.Module):
    r"""Expand spike counts into binary spikes: each step becomes ``num_slots`` steps.

    A count ``c`` at step ``t`` becomes ``c`` spikes followed by ``num_slots - c`` zeros in
    slots ``t*K ... t*K + K-1`` (``K = num_slots``; counts are clipped to ``[0, K]`` by the
    comparison ``slot < c``). The backward is a straight-through estimate: each slot passes
    ``1/K`` of its gradient to the count, the derivative of the proxy ``c/K``.

    For multi-level spiking networks trained with spike counts and deployed on binary
    hardware: by default the conversion runs only in eval mode (``always_convert=False``),
    and in training the layer is the identity.

    Args:
        num_slots: ``K``, the binary steps per input step, ``>= 1``.
        always_convert: convert in training too (default ``False``).

    Shape:
        input ``[T, N, *shape]``; output ``[T*K, N, *shape]`` (when converting).

    Raises:
        ValueError: ``num_slots`` not an integer ``>= 1``; an input with fewer than two
            dimensions or no time step.

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> to_binary = layer.SpikeCountToBinary(3).eval()
        >>> to_binary(torch.tensor([[2.0], [0.0]])).flatten().tolist()
        [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """

    def __init__(self, num_slots: int, always_convert: bool = False) -> None:
        super().__init__()
        self.num_slots = _check_num_slots(type(self).__name__, num_slots)
        self.always_convert = bool(always_convert)

    def forward(self, x_seq: Tensor) -> Tensor:
        if self.training and not self.always_convert:
            return x_seq
        _check_spike_sequence(type(self).__name__, x_seq)
        counts = x_seq.unsqueeze(1)  # [T, 1, N, *]
        slots = torch.arange(self.num_slots, device=x_seq.device)
        slots = slots.view(1, self.num_slots, *(1,) * (x_seq.dim() - 1))
        spikes = (slots < counts).to(x_seq.dtype)  # [T, K, N, *]
        proxy = counts / self.num_slots
        return (spikes + (proxy - proxy.detach())).flatten(0, 1)

    def extra_repr(self) -> str:
        return f"num_slots={self.num_slots}, always_convert={self.always_convert}"


class TemporalBinSum(MultiStepOnly, nn.Module):
    r"""Sum the steps of each bin of ``num_slots`` consecutive steps: binary spikes to counts.

    Step ``t`` of the output is ``sum_{k<K} x[t*K + k]``; a last, incomplete bin is padded
    with zeros. The inverse of :class:`SpikeCountToBinary` on its outputs. By default it runs
    only in eval mode (``always_convert=False``); in training the layer is the identity.

    Args:
        num_slots: ``K``, the steps per bin, ``>= 1``.
        always_convert: convert in training too (default ``False``).

    Shape:
        input ``[T, N, *shape]``; output ``[ceil(T/K), N, *shape]`` (when converting).

    Raises:
        ValueError: ``num_slots`` not an integer ``>= 1``; an input with fewer than two
            dimensions or no time step.

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> bins = layer.TemporalBinSum(2).eval()
        >>> bins(torch.tensor([[1.0], [1.0], [0.0], [1.0], [1.0]])).flatten().tolist()
        [2.0, 1.0, 1.0]
    """

    def __init__(self, num_slots: int, always_convert: bool = False) -> None:
        super().__init__()
        self.num_slots = _check_num_slots(type(self).__name__, num_slots)
        self.always_convert = bool(always_convert)

    def forward(self, x_seq: Tensor) -> Tensor:
        if self.training and not self.always_convert:
            return x_seq
        _check_spike_sequence(type(self).__name__, x_seq)
        missing = -x_seq.shape[0] % self.num_slots
        if missing:
            x_seq = torch.cat((x_seq, x_seq.new_zeros(missing, *x_seq.shape[1:])))
        return x_seq.unflatten(0, (-1, self.num_slots)).sum(dim=1)

    def extra_repr(self) -> str:
        return f"num_slots={self.num_slots}, always_convert={self.always_convert}"


def _check_spike_sequence(owner: str, x_seq: Tensor) -> None:
    check_sequence(owner, x_seq, 2, "[T, N, *shape]")
    if x_seq.shape[0] == 0:
        raise ValueError(f"{owner} needs at least one time step, got T = 0")
