"""Normalisations designed for spiking networks, which treat time specially.

* :class:`ThresholdDependentBatchNorm1d/2d/3d` (tdBN): batch norm over time and batch whose
  scale starts at ``alpha * v_th``.
* :class:`TemporalEffectiveBatchNorm1d/2d/3d` (TEBN): batch norm over time and batch, then a
  learnable scale per time step.
* :class:`BatchNormThroughTime1d/2d/3d` (BNTT): one batch norm (without bias) per time step.
* :class:`NeuNorm`: subtracts a running, channel-pooled average of the input spikes.

Example:
    >>> import torch
    >>> from spikegrad import layer
    >>> bn = layer.TemporalEffectiveBatchNorm2d(T=4, num_features=3)
    >>> bn(torch.rand(4, 2, 3, 5, 5)).shape  # [T, N, C, H, W]
    torch.Size([4, 2, 3, 5, 5])
"""

from __future__ import annotations

import math
from string import Template
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..base import MemoryModule
from ._base import LAYOUTS, MultiStepOnly, check_sequence, merge_time


def _check_positive_int(owner: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return value


class _SequenceBatchNorm(MultiStepOnly, _BatchNorm):
    """Batch norm over time and batch of ``[T, N, C, *]`` (multi-step only).

    ``step_dims`` gives the dimensions one step ``[N, C, *]`` may have.
    """

    step_dims: ClassVar[tuple[int, ...]] = ()
    layout: ClassVar[str] = ""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in self.step_dims:
            raise ValueError(
                f"{type(self).__name__} expects {self.layout} (time first), got one step of "
                f"shape {tuple(input.shape)}"
            )

    def _normalize(self, x_seq: Tensor) -> Tensor:
        check_sequence(type(self).__name__, x_seq, 2, self.layout)
        if x_seq.dim() - 1 not in self.step_dims:
            raise ValueError(
                f"{type(self).__name__} expects {self.layout} (time first), got shape {tuple(x_seq.shape)}"
            )
        return merge_time(super().forward, x_seq)  # type: ignore[no-any-return]


class _ThresholdDependentBatchNorm(_SequenceBatchNorm):
    def __init__(
        self,
        alpha: float,
        v_th: float,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        name = type(self).__name__
        if not affine:
            raise ValueError(f"{name} needs affine=True: its scale starts at alpha * v_th")
        for label, value in (("alpha", alpha), ("v_th", v_th)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name}: {label} must be a finite number, got {value!r}")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self.alpha = alpha
        self.v_th = v_th
        nn.init.constant_(self.weight, alpha * v_th)

    def forward(self, x_seq: Tensor) -> Tensor:
        return self._normalize(x_seq)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, v_th={self.v_th}, {super().extra_repr()}"


_TDBN_DOC = Template(r"""Threshold-dependent batch norm (tdBN) over ``${layout}``, multi-step only.

    Batch norm whose statistics are taken over time and batch together, with the scale
    ``weight`` initialised to ``alpha * v_th`` instead of 1, so that pre-activations are
    normalised to the firing threshold:

    .. math::
        y = \alpha V_{th} \frac{x - \mathrm E[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} + \beta
        \quad\text{(at initialisation)}

    Zheng et al., *Going deeper with directly-trained larger spiking neural networks*,
    AAAI 2021.

    Args:
        alpha: scale factor (the paper uses 1, or ``1/sqrt(2)`` before a residual sum).
        v_th: the following neurons' threshold.
        num_features, eps, momentum, affine, track_running_stats: as
            :class:`torch.nn.BatchNorm${d}d` (``affine`` must be ``True``).
        device, dtype: keyword-only, as in torch.

    Raises:
        ValueError: ``affine=False``; ``alpha`` or ``v_th`` not a finite number; an input
            that is not ``${layout}``.

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> bn = layer.ThresholdDependentBatchNorm${d}d(alpha=1.0, v_th=0.5, num_features=3)
        >>> bn.weight
        Parameter containing:
        tensor([0.5000, 0.5000, 0.5000], requires_grad=True)
""")


class ThresholdDependentBatchNorm1d(_ThresholdDependentBatchNorm):
    __doc__ = _TDBN_DOC.substitute(layout="[T, N, C] or [T, N, C, L]", d=1)
    step_dims = (2, 3)
    layout = "[T, N, C] or [T, N, C, L]"


class ThresholdDependentBatchNorm2d(_ThresholdDependentBatchNorm):
    __doc__ = _TDBN_DOC.substitute(layout=LAYOUTS[2], d=2)
    step_dims = (4,)
    layout = LAYOUTS[2]


class ThresholdDependentBatchNorm3d(_ThresholdDependentBatchNorm):
    __doc__ = _TDBN_DOC.substitute(layout=LAYOUTS[3], d=3)
    step_dims = (5,)
    layout = LAYOUTS[3]


class _TemporalEffectiveBatchNorm(_SequenceBatchNorm):
    def __init__(
        self,
        T: int,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        steps = _check_positive_int(type(self).__name__, "T", T)
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self.scale = nn.Parameter(torch.ones(steps, device=device, dtype=dtype))

    def forward(self, x_seq: Tensor) -> Tensor:
        y_seq = self._normalize(x_seq)
        if y_seq.shape[0] != self.scale.shape[0]:
            raise ValueError(
                f"{type(self).__name__} has a scale for T={self.scale.shape[0]} steps, "
                f"got a sequence of {y_seq.shape[0]}"
            )
        return y_seq * self.scale.view(-1, *(1,) * (y_seq.dim() - 1))

    def extra_repr(self) -> str:
        return f"T={self.scale.shape[0]}, {super().extra_repr()}"


_TEBN_DOC = Template(r"""Temporal effective batch norm (TEBN) over ``${layout}``, multi-step only.

    Batch norm over time and batch together, then a learnable scale ``p[t]`` per time step
    (``scale``, initialised to 1):

    .. math::
        y[t] = p[t] \left(\gamma \frac{x[t] - \mathrm E[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}}
        + \beta\right)

    Duan et al., *Temporal effective batch normalization in spiking neural networks*,
    NeurIPS 2022.

    Args:
        T: the number of time steps.
        num_features, eps, momentum, affine, track_running_stats: as
            :class:`torch.nn.BatchNorm${d}d`.
        device, dtype: keyword-only, as in torch.

    Raises:
        ValueError: ``T`` is not a positive integer; an input that is not ``${layout}`` or
            whose length is not ``T``.

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> bn = layer.TemporalEffectiveBatchNorm${d}d(4, 3)
        >>> bn.scale
        Parameter containing:
        tensor([1., 1., 1., 1.], requires_grad=True)
""")


class TemporalEffectiveBatchNorm1d(_TemporalEffectiveBatchNorm):
    __doc__ = _TEBN_DOC.substitute(layout="[T, N, C] or [T, N, C, L]", d=1)
    step_dims = (2, 3)
    layout = "[T, N, C] or [T, N, C, L]"


class TemporalEffectiveBatchNorm2d(_TemporalEffectiveBatchNorm):
    __doc__ = _TEBN_DOC.substitute(layout=LAYOUTS[2], d=2)
    step_dims = (4,)
    layout = LAYOUTS[2]


class TemporalEffectiveBatchNorm3d(_TemporalEffectiveBatchNorm):
    __doc__ = _TEBN_DOC.substitute(layout=LAYOUTS[3], d=3)
    step_dims = (5,)
    layout = LAYOUTS[3]


class _BatchNormThroughTime(MemoryModule):
    batch_norm: ClassVar[type[_BatchNorm]] = nn.BatchNorm2d
    t: int  # a memory: the index of the last step run since the reset

    def __init__(
        self,
        T: int,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        step_mode: str = "s",
    ) -> None:
        super().__init__(step_mode)
        self.T = _check_positive_int(type(self).__name__, "T", T)
        self.bn_list = nn.ModuleList(
            self.batch_norm(num_features, eps, momentum, affine, track_running_stats) for _ in range(T)
        )
        for bn in self.bn_list:
            bn.register_parameter("bias", None)  # BNTT learns a scale per step, no shift
        self.register_memory("t", -1)

    def single_step_forward(self, x: Tensor) -> Tensor:
        t = self.t + 1
        if t >= self.T:
            raise ValueError(
                f"{type(self).__name__} has batch norms for T={self.T} steps and got step {t + 1}; "
                "call spikegrad.functional.reset_net(net) before each sequence"
            )
        y = self.bn_list[t](x)
        self.t = t
        return y  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"T={self.T}, step_mode={self.step_mode!r}"


_BNTT_DOC = Template(r"""Batch norm through time (BNTT): a separate batch norm, without bias, per time step.

    Step ``t`` (counted since the last :func:`~spikegrad.functional.reset_net`) is
    normalised by ``bn_list[t]``, with its own statistics and scale:

    .. math::
        y[t] = \gamma_t \frac{x[t] - \mathrm E[x[t]]}{\sqrt{\mathrm{Var}[x[t]] + \epsilon}}

    Kim & Panda, *Revisiting batch normalization for training low-latency deep spiking
    neural networks from scratch*, Frontiers in Neuroscience 2021.

    Args:
        T: the number of time steps (batch norms).
        num_features, eps, momentum, affine, track_running_stats: as
            :class:`torch.nn.BatchNorm${d}d`.
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        ``'s'``: one step ``${step}``; ``'m'``: ``[T, *step]``.

    Raises:
        ValueError: ``T`` is not a positive integer; more than ``T`` steps since the last reset.

    Example:
        >>> import torch
        >>> from spikegrad import functional, layer
        >>> bn = layer.BatchNormThroughTime${d}d(T=4, num_features=3, step_mode="m")
        >>> bn(torch.rand(4, 2, ${example})).shape[0]
        4
        >>> functional.reset_net(bn)  # step 0 again
""")


class BatchNormThroughTime1d(_BatchNormThroughTime):
    __doc__ = _BNTT_DOC.substitute(d=1, step="[N, C] or [N, C, L]", example="3")
    batch_norm = nn.BatchNorm1d


class BatchNormThroughTime2d(_BatchNormThroughTime):
    __doc__ = _BNTT_DOC.substitute(d=2, step="[N, C, H, W]", example="3, 5, 5")
    batch_norm = nn.BatchNorm2d


class BatchNormThroughTime3d(_BatchNormThroughTime):
    __doc__ = _BNTT_DOC.substitute(d=3, step="[N, C, D, H, W]", example="3, 2, 5, 5")
    batch_norm = nn.BatchNorm3d


class NeuNorm(MemoryModule):
    r"""NeuNorm: subtract a running average of the spikes pooled over channels.

    For input spikes ``X[t]`` of shape ``[N, C, H, W]``, an auxiliary neuron per pixel
    integrates the channel sum, and the layer subtracts it with a learnable weight ``w``:

    .. math::
        Z[t] = k_0 Z[t-1] + k_1 \sum_c X[t]_{c}, \qquad Y[t] = X[t] - w \odot Z[t]

    with ``k0 = k``, ``k1 = (1 - k) / C**2`` and ``Z[-1] = 0``. ``w`` has shape
    ``[C, H, W]`` (``[1, H, W]`` if ``shared_across_channels``), initialised like a conv
    weight (Kaiming uniform). Wu et al., *Direct training for spiking neural networks:
    faster, larger, better*, AAAI 2019.

    Args:
        in_channels: ``C``.
        height: ``H``.
        width: ``W``.
        k: the decay ``k0`` (default 0.9).
        shared_across_channels: one ``w`` for all channels (default ``False``).
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        ``'s'``: ``[N, C, H, W]``; ``'m'``: ``[T, N, C, H, W]``.

    Raises:
        ValueError: ``in_channels``, ``height`` or ``width`` not positive integers; an input
            that is not ``[N, C, H, W]`` steps; a step shape that differs from the stored state
            (call ``reset_net`` between batches).

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> norm = layer.NeuNorm(3, 5, 5, step_mode="m")
        >>> norm(torch.rand(4, 2, 3, 5, 5)).shape
        torch.Size([4, 2, 3, 5, 5])
    """

    x: Tensor | float  # a memory: Z, [N, 1, H, W] once set

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        k: float = 0.9,
        shared_across_channels: bool = False,
        step_mode: str = "s",
    ) -> None:
        super().__init__(step_mode)
        name = type(self).__name__
        for label, value in (("in_channels", in_channels), ("height", height), ("width", width)):
            _check_positive_int(name, label, value)
        self.k0 = k
        self.k1 = (1.0 - k) / in_channels**2
        self.w = nn.Parameter(torch.empty(1 if shared_across_channels else in_channels, height, width))
        nn.init.kaiming_uniform_(self.w, a=math.sqrt(5))
        self.register_memory("x", 0.0)

    def single_step_forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(
                f"{type(self).__name__} expects steps [N, C, H, W], got step shape {tuple(x.shape)}"
            )
        pooled = x.sum(dim=1, keepdim=True)
        state = self.x
        if not isinstance(state, Tensor):
            state = torch.full_like(pooled, state)
        elif state.shape != pooled.shape:
            raise ValueError(
                f"{type(self).__name__}: the input's step shape {tuple(x.shape)} does not fit the stored "
                f"state {tuple(state.shape)}; call spikegrad.functional.reset_net(net) between batches"
            )
        self.x = self.k0 * state + self.k1 * pooled
        return x - self.w * self.x

    def extra_repr(self) -> str:
        return f"shape={tuple(self.w.shape)}, k={self.k0}, step_mode={self.step_mode!r}"
