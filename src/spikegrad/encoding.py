r"""Encoders that turn static inputs into spike trains (SpikingJelly's names and arguments).

* Stateless (:class:`StatelessEncoder`): every call draws or computes one step on its own;
  :class:`PoissonEncoder` (rate coding).
* Stateful (:class:`StatefulEncoder`): the first call after a reset encodes the input into a
  whole spike train ``[T, *shape]``; each call then emits its next step, cycling with period
  ``T``: :class:`LatencyEncoder` (one spike, earlier for larger values),
  :class:`WeightedPhaseEncoder` (binary expansion with weights ``2^-k``),
  :class:`PeriodicEncoder` (a given pattern, repeated). Call
  :func:`spikegrad.functional.reset_net` before the next input.
* Population (:class:`PopEncoder`, :class:`PopSpikeEncoderDeterministic`,
  :class:`PopSpikeEncoderRandom`): each observation dimension drives ``pop_dim`` neurons with
  learnable Gaussian receptive fields, for reinforcement learning (Tang et al. 2020).

In ``step_mode='m'`` a stateful encoder takes ``[T', *shape]`` (the per-step input repeated
over time) and returns the next ``T'`` steps ``[T', *shape]``, exactly as ``T'`` single steps.

Example:
    >>> import torch
    >>> from spikegrad import encoding, functional
    >>> encoder = encoding.LatencyEncoder(T=4)
    >>> x = torch.tensor([0.0, 0.5, 1.0])  # brighter spikes earlier
    >>> torch.stack([encoder(x) for _ in range(4)])
    tensor([[0., 0., 1.],
            [0., 0., 0.],
            [0., 1., 0.],
            [1., 0., 0.]])
    >>> functional.reset_net(encoder)
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import MemoryModule, MultiStepModule, StepModule

__all__ = [
    "LatencyEncoder",
    "PeriodicEncoder",
    "PoissonEncoder",
    "PopEncoder",
    "PopSpikeEncoderDeterministic",
    "PopSpikeEncoderRandom",
    "StatefulEncoder",
    "StatelessEncoder",
    "WeightedPhaseEncoder",
]


# --------------------------------------------------------------------------- base classes


class StatelessEncoder(nn.Module, StepModule):
    """Base of encoders without state: subclasses implement ``forward(x)``.

    Each call encodes its input on its own; both step modes do the same thing, elementwise
    (``step_mode`` is there so that :func:`~spikegrad.functional.set_step_mode` treats a
    whole network alike).

    Args:
        step_mode: ``'s'`` (default) or ``'m'``.
    """

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__()
        self.step_mode = step_mode

    def forward(self, x: Tensor) -> Tensor:
        """Encode ``x`` (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def extra_repr(self) -> str:
        return f"step_mode={self.step_mode!r}"


class StatefulEncoder(MemoryModule):
    """Base of encoders that emit a precomputed spike train one step per call.

    At the first call after a reset, :meth:`single_step_encode` turns the input into the
    whole train ``spike`` ``[T, *shape]`` (a memory). Call ``t`` (counting from 0) returns
    ``spike[t % T]``; the input of later calls is not looked at until the next
    :meth:`reset`. Subclasses implement :meth:`single_step_encode`.

    Args:
        T: the period of the spike train, an integer >= 1.
        step_mode: ``'s'`` (default) or ``'m'`` (input ``[T', *shape]``, the per-step input
            repeated; output the next ``T'`` steps).

    Raises:
        TypeError: ``T`` is not an integer.
        ValueError: ``T < 1``; :meth:`single_step_encode` returned a train whose first
            dimension is not ``T``.
    """

    spike: Tensor | None  # memories
    t: int

    def __init__(self, T: int, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        self.T = _check_int(type(self).__name__, "T", T, low=1)
        self.register_memory("spike", None)
        self.register_memory("t", 0)

    def forward(self, x: Tensor | None = None) -> Tensor:
        """One step (``'s'``; ``x`` is read at the first call after a reset only) or ``x.shape[0]`` steps."""
        if self.step_mode == "s":
            return self.single_step_forward(x)
        if not isinstance(x, Tensor) or x.dim() < 1:
            raise ValueError(
                f"{type(self).__name__} in step_mode 'm' expects the per-step input repeated over time "
                f"[T', *shape], got {x if x is None else tuple(x.shape)}"
            )
        return self.multi_step_forward(x)

    def single_step_forward(self, x: Tensor | None = None) -> Tensor:
        if self.spike is None:
            spike = self.single_step_encode(x)  # type: ignore[arg-type]
            if not isinstance(spike, Tensor) or spike.dim() < 1 or spike.shape[0] != self.T:
                got = tuple(spike.shape) if isinstance(spike, Tensor) else type(spike).__name__
                raise ValueError(
                    f"{type(self).__name__}.single_step_encode must return a spike train [T, *shape] "
                    f"with T = {self.T}, got {got}"
                )
            self.spike = spike
        out = self.spike[self.t]
        self.t = (self.t + 1) % self.spike.shape[0]
        return out

    def single_step_encode(self, x: Tensor) -> Tensor:
        """Encode ``x`` into the spike train ``[T, *shape]`` (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement single_step_encode(x)")

    def extra_repr(self) -> str:
        return f"T={self.T}, step_mode={self.step_mode!r}"


# --------------------------------------------------------------------------- stateless


class PoissonEncoder(StatelessEncoder):
    """Rate coding: each element spikes with probability equal to its value, independently.

    ``S = 1 if U < x else 0`` with ``U ~ Uniform[0, 1)``, so ``P(S = 1) = x`` exactly, a
    value of 0 never spikes and 1 always does. ``U`` is drawn in float32 (float64 for float64
    inputs) whatever the input's dtype: uniform draws rounded to bfloat16 or float16 would
    make low rates fire too often (bfloat16: 0.3 % instead of 0.1 %). Every call draws fresh
    randomness: call it once per time step, or give it the input repeated over time.

    Args:
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        input: probabilities of any shape, in ``[0, 1]``; output: spikes of the same shape
        and dtype.

    Raises:
        TypeError: a non-floating input.
        ValueError: values outside ``[0, 1]`` (or NaN).

    Example:
        >>> import torch
        >>> from spikegrad import encoding
        >>> encoder = encoding.PoissonEncoder()
        >>> image = torch.tensor([0.0, 0.5, 1.0])
        >>> x_seq = torch.stack([encoder(image) for _ in range(4)])  # [T, *shape]
        >>> x_seq[:, 0].tolist(), x_seq[:, 2].tolist()
        ([0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0])
    """

    def forward(self, x: Tensor) -> Tensor:
        _check_probabilities(type(self).__name__, x, 1.0, "inputs are spike probabilities, so in [0, 1]")
        draws = torch.rand(x.shape, dtype=torch.promote_types(x.dtype, torch.float32), device=x.device)
        return (draws < x).to(x.dtype)


# --------------------------------------------------------------------------- stateful


class PeriodicEncoder(StatefulEncoder):
    """Emit a given spike pattern over and over: call ``t`` returns ``pattern[t % T]``.

    The pattern is the input of the first call after a reset (``[T, *shape]``, with ``T``
    taken from the ``spike`` given to the constructor); later inputs are ignored until
    :meth:`reset`.

    Args:
        spike: a pattern ``[T, *shape]`` that fixes the period ``T``.
        step_mode: ``'s'`` (default) or ``'m'``.

    Raises:
        TypeError: ``spike`` is not a tensor with a time dimension.
        ValueError: (at the first call) the input is missing or its period differs from ``T``.

    Example:
        >>> import torch
        >>> from spikegrad import encoding
        >>> pattern = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> encoder = encoding.PeriodicEncoder(pattern)
        >>> [encoder(pattern).tolist() for _ in range(3)]
        [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    """

    def __init__(self, spike: Tensor, step_mode: str = "s") -> None:
        if not isinstance(spike, Tensor) or spike.dim() < 1:
            got = f"shape {tuple(spike.shape)}" if isinstance(spike, Tensor) else type(spike).__name__
            raise TypeError(f"PeriodicEncoder: spike must be a pattern tensor [T, *shape], got {got}")
        super().__init__(spike.shape[0], step_mode)

    def single_step_encode(self, spike: Tensor) -> Tensor:
        """The pattern itself: the input ``[T, *shape]`` is the spike train."""
        if not isinstance(spike, Tensor):
            raise ValueError(
                f"PeriodicEncoder needs its spike pattern [T, *shape] (T = {self.T}) as the input of the "
                f"first call after a reset, got {type(spike).__name__}"
            )
        return spike


class LatencyEncoder(StatefulEncoder):
    r"""Latency (time-to-first-spike) coding: one spike per element, earlier for larger values.

    An input ``x`` in ``[0, 1]`` spikes once, at

    .. math::
        t_f(x) = \operatorname{round}\left((T - 1)(1 - x)\right) \quad\text{('linear')}, \qquad
        t_f(x) = \operatorname{round}\left(T - 1 - \ln(\alpha x + 1)\right),\
        \alpha = e^{T - 1} - 1 \quad\text{('log')}

    so ``x = 1`` spikes at ``t = 0`` and ``x = 0`` at ``t = T - 1``; the log code spreads
    small values over more steps.

    Args:
        T: the number of time steps, an integer >= 1.
        enc_function: ``'linear'`` (default) or ``'log'``.
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        input: ``[*shape]`` in ``[0, 1]``; output: one step ``[*shape]`` per call, in the
        input's dtype.

    Raises:
        ValueError: an unknown ``enc_function``, or (when called) inputs outside ``[0, 1]``.
        TypeError: a non-floating input.
    """

    def __init__(self, T: int, enc_function: str = "linear", step_mode: str = "s") -> None:
        super().__init__(T, step_mode)
        if enc_function not in ("linear", "log"):
            raise ValueError(f"LatencyEncoder: enc_function must be 'linear' or 'log', got {enc_function!r}")
        if enc_function == "log":
            self.alpha = math.exp(T - 1.0) - 1.0
        self.enc_function = enc_function

    def single_step_encode(self, x: Tensor) -> Tensor:
        """The spike train ``[T, *shape]`` with one spike per element at ``t_f(x)``."""
        _check_probabilities(type(self).__name__, x, 1.0, "inputs must lie in [0, 1]")
        if self.enc_function == "log":
            t_f = (self.T - 1.0 - torch.log(self.alpha * x + 1.0)).round().long()
        else:
            t_f = ((self.T - 1.0) * (1.0 - x)).round().long()
        return F.one_hot(t_f, num_classes=self.T).to(x).movedim(-1, 0)

    def extra_repr(self) -> str:
        return f"T={self.T}, enc_function={self.enc_function!r}, step_mode={self.step_mode!r}"


class WeightedPhaseEncoder(StatefulEncoder):
    r"""Weighted phase coding: the binary expansion of the input over ``K`` phases.

    Phase ``k`` (``k = 0 .. K-1``) carries the weight ``2^{-(k+1)}``; the spikes are the
    binary digits of ``x``, so ``x = \sum_k 2^{-(k+1)} s_k`` exactly for every multiple of
    ``2^{-K}`` in ``[0, 1 - 2^{-K}]``.

    Args:
        K: the number of phases (the period), an integer >= 1.
        step_mode: ``'s'`` (default) or ``'m'``.

    Raises:
        ValueError: (when called) inputs outside ``[0, 1 - 2^-K]``.
        TypeError: a non-floating input.

    Reference:
        J. Kim et al., "Deep neural networks with weighted spikes", Neurocomputing 2018.

    Example:
        >>> import torch
        >>> from spikegrad import encoding
        >>> encoder = encoding.WeightedPhaseEncoder(K=3)
        >>> torch.stack([encoder(torch.tensor([0.625])) for _ in range(3)]).flatten()  # 0.625 = 0.101b
        tensor([1., 0., 1.])
    """

    def __init__(self, K: int, step_mode: str = "s") -> None:
        super().__init__(K, step_mode)

    def single_step_encode(self, x: Tensor) -> Tensor:
        """The binary digits of ``x``, most significant first: ``[K, *shape]``."""
        high = 1 - 2.0 ** (-self.T)
        _check_probabilities(
            type(self).__name__, x, high, f"inputs must lie in [0, 1 - 2^-K] = [0, {high:g}]"
        )
        remainder = x.clone()
        spike = x.new_empty((self.T, *x.shape))
        weight = 0.5
        for phase in range(self.T):
            spike[phase] = remainder >= weight
            remainder -= weight * spike[phase]
            weight *= 0.5
        return spike


# --------------------------------------------------------------------------- populations


class _Population(nn.Module, MultiStepModule):
    """Learnable Gaussian receptive fields: ``pop_dim`` neurons per observation dimension.

    Neuron ``j`` of dimension ``i`` responds ``exp(-((obs_i - mean_ij) / std_ij)^2 / 2)``;
    the means start evenly spaced over ``mean_range``, every width at ``std``. Both are
    parameters ``[1, obs_dim, pop_dim]`` (``state_dict`` keys ``mean`` and ``std``).
    """

    #: The output is always a sequence [spike_ts, N, obs_dim * pop_dim]; set_step_mode does not descend.
    steps_its_children: ClassVar[bool] = True

    def __init__(
        self, obs_dim: int, pop_dim: int, spike_ts: int, mean_range: tuple[float, float], std: float
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.obs_dim = _check_int(name, "obs_dim", obs_dim, low=1)
        self.pop_dim = _check_int(name, "pop_dim", pop_dim, low=1)
        self.spike_ts = _check_int(name, "spike_ts", spike_ts, low=1)
        self.encoder_neuron_num = self.obs_dim * self.pop_dim
        if (
            not isinstance(mean_range, tuple | list)
            or len(mean_range) != 2
            or not all(_is_finite_number(m) for m in mean_range)
        ):
            raise ValueError(
                f"{name}: mean_range must be a pair of finite numbers (low, high), got {mean_range!r}"
            )
        if not _is_finite_number(std) or not std > 0:
            raise ValueError(f"{name}: std must be a finite number > 0, got {std!r}")
        mean = torch.linspace(mean_range[0], mean_range[1], self.pop_dim).expand(
            1, self.obs_dim, self.pop_dim
        )
        self.mean = nn.Parameter(mean.clone())
        self.std = nn.Parameter(torch.full_like(mean, float(std)))

    def activity(self, obs: Tensor) -> Tensor:
        """The receptive fields' response ``[N, obs_dim * pop_dim]`` to observations ``[N, obs_dim]``."""
        if not isinstance(obs, Tensor) or not obs.is_floating_point():
            got = obs.dtype if isinstance(obs, Tensor) else type(obs).__name__
            raise TypeError(
                f"{type(self).__name__} expects a floating-point tensor of observations, got {got}"
            )
        if obs.numel() % self.obs_dim:
            raise ValueError(
                f"{type(self).__name__}: observations must be [N, obs_dim] with obs_dim = {self.obs_dim}, "
                f"got shape {tuple(obs.shape)}"
            )
        obs = obs.reshape(-1, self.obs_dim, 1)
        return torch.exp(-0.5 * ((obs - self.mean) / self.std).square()).flatten(1)

    def extra_repr(self) -> str:
        return f"obs_dim={self.obs_dim}, pop_dim={self.pop_dim}, spike_ts={self.spike_ts}"


class PopEncoder(_Population):
    """Population coding with analog output: the receptive fields' activity, repeated over time.

    Args:
        obs_dim: observation dimensions, an integer >= 1.
        pop_dim: neurons per dimension, an integer >= 1.
        spike_ts: time steps of the output, an integer >= 1.
        mean_range: ``(low, high)``, where the receptive fields' centres start.
        std: their initial width, > 0.

    Shape:
        input ``[N, obs_dim]``; output ``[spike_ts, N, obs_dim * pop_dim]``.

    Raises:
        TypeError, ValueError: invalid arguments or observations.

    Reference:
        G. Tang et al., "Deep Reinforcement Learning with Population-Coded Spiking Neural
        Network for Continuous Control", CoRL 2020.

    Example:
        >>> import torch
        >>> from spikegrad import encoding
        >>> encoder = encoding.PopEncoder(obs_dim=2, pop_dim=3, spike_ts=4, mean_range=(-1, 1), std=0.5)
        >>> encoder(torch.zeros(5, 2)).shape
        torch.Size([4, 5, 6])
    """

    def forward(self, obs: Tensor) -> Tensor:
        return self.activity(obs).unsqueeze(0).repeat(self.spike_ts, 1, 1)


class PopSpikeEncoderDeterministic(_Population):
    """Population coding into spikes by an IF neuron per receptive field (deterministic).

    The activity drives ``neurons``, soft-reset IF neurons with threshold 0.999 and a
    straight-through (``DeterministicPass``) surrogate, for ``spike_ts`` steps. The neurons
    keep their potential across calls: call :func:`spikegrad.functional.reset_net` between
    observations.

    Args, Shape, Raises, Reference: as :class:`PopEncoder` (output spikes).
    """

    def __init__(
        self, obs_dim: int, pop_dim: int, spike_ts: int, mean_range: tuple[float, float], std: float
    ) -> None:
        super().__init__(obs_dim, pop_dim, spike_ts, mean_range, std)
        from . import neuron, surrogate

        self.neurons = neuron.IFNode(
            v_threshold=0.999,
            v_reset=None,
            surrogate_function=surrogate.DeterministicPass(),
            detach_reset=True,
            step_mode="m",
        )

    def forward(self, obs: Tensor) -> Tensor:
        return self.neurons(self.activity(obs).unsqueeze(0).repeat(self.spike_ts, 1, 1))


class PopSpikeEncoderRandom(_Population):
    """Population coding into spikes by sampling: ``bernoulli(activity)`` at every step.

    The gradient passes straight through the sampling (``surrogate.poisson_pass``).

    Args, Shape, Raises, Reference: as :class:`PopEncoder` (output spikes).
    """

    def forward(self, obs: Tensor) -> Tensor:
        from .surrogate import poisson_pass

        activity = self.activity(obs)
        return poisson_pass.apply(activity.unsqueeze(0).expand(self.spike_ts, *activity.shape))  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- checks


def _check_int(owner: str, name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{owner}: {name} must be >= {low}, got {value}")
    return int(value)


def _is_finite_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)


def _check_probabilities(owner: str, x: Any, high: float, rule: str) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"{owner} expects a floating-point tensor, got {got}")
    inside = (x >= 0) & (x <= high)
    if x.numel() and not bool(inside.all()):
        bad = x[~inside].flatten()[0].item()
        raise ValueError(f"{owner}: {rule}; got {bad}")
