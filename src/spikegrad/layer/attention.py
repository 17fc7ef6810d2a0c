"""Attention for spiking networks: spiking self-attention of the spiking transformers, and
attention over time, channels and space that gates a sequence.

All are multi-step only. The layers with spiking neurons take the neuron as SpikingJelly
does: ``spiking_neuron`` (a class, default :class:`spikegrad.neuron.LIFNode` with
``tau=2``, ``detach_reset=True`` and, for the attention map, ``v_threshold=0.5``) and
``**kwargs`` for its constructor (with a custom neuron, only ``kwargs`` are passed).
Every neuron runs in ``step_mode='m'``; each gets its own deep copy of ``kwargs`` (a
surrogate instance is not shared).

Example:
    >>> import torch
    >>> from spikegrad import layer, neuron, surrogate
    >>> attn = layer.SpikingSelfAttention(16, num_heads=4, surrogate_function=surrogate.ATan())
    >>> attn(torch.rand(4, 2, 16, 10)).shape  # [T, N, C, L]
    torch.Size([4, 2, 16, 10])
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import neuron
from ._base import MultiStepOnly
from .container import SeqToANNContainer
from .conv import Conv2d
from .norm import BatchNorm2d

NeuronFactory = Callable[..., nn.Module]


def make_multi_step_neuron(
    spiking_neuron: NeuronFactory | None, kwargs: dict[str, Any], defaults: dict[str, Any]
) -> nn.Module:
    """A neuron in ``step_mode='m'``, built as SpikingJelly's attention layers build theirs.

    Args:
        spiking_neuron: the neuron class (or factory); ``None``: ``neuron.LIFNode`` with
            ``defaults`` overridden by ``kwargs``.
        kwargs: the constructor's keyword arguments (deep-copied).
        defaults: used only for the default neuron.

    Raises:
        ValueError: ``kwargs`` asks for ``step_mode`` other than ``'m'``.
    """
    step_mode = kwargs.get("step_mode", "m")
    if step_mode != "m":
        raise ValueError(f"the spiking neurons of an attention layer run in step_mode 'm', got {step_mode!r}")
    if spiking_neuron is None:
        spiking_neuron = neuron.LIFNode
        parameters = {**copy.deepcopy(defaults), **copy.deepcopy(kwargs)}
    else:
        parameters = copy.deepcopy(kwargs)
    parameters["step_mode"] = "m"
    return spiking_neuron(**parameters)


_LIF = {"tau": 2.0, "detach_reset": True}
_ATTENTION_LIF = {"tau": 2.0, "v_threshold": 0.5, "detach_reset": True}


def _check_heads(owner: str, dim: int, num_heads: int) -> None:
    for label, value in (("dim", dim), ("num_heads", num_heads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{owner}: {label} must be a positive integer, got {value!r}")
    if dim % num_heads:
        raise ValueError(f"{owner}: dim {dim} must be divisible by num_heads {num_heads}")


def _check_input(owner: str, x: object, dims: int, layout: str, channels: int) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner} expects a torch.Tensor {layout}, got {type(x).__name__}")
    if x.dim() != dims or x.shape[2] != channels:
        raise ValueError(f"{owner} expects {layout} with C = {channels}, got shape {tuple(x.shape)}")
    return x


def _conv1x1_bn(dim_in: int, dim_out: int) -> SeqToANNContainer:
    return SeqToANNContainer(nn.Conv1d(dim_in, dim_out, kernel_size=1, bias=False), nn.BatchNorm1d(dim_out))


class SpikingSelfAttention(MultiStepOnly, nn.Module):
    r"""Spiking self-attention (SSA) of Spikformer, on token sequences ``[T, N, C, L]``.

    Queries, keys and values are spikes (1x1 conv, batch norm, LIF). Without softmax, the
    product is computed as ``(V K^T) Q`` per head, scaled by ``s = 0.125`` and passed through
    a LIF neuron of threshold 0.5, then projected (1x1 conv, batch norm, LIF):

    .. math::
        Q, K, V = \mathrm{SN}(\mathrm{BN}(\mathrm{Conv}(X))), \qquad
        Y = \mathrm{SN}(\mathrm{BN}(\mathrm{Conv}(\mathrm{SN}_{0.5}(s\, V K^\top Q))))

    Zhou et al., *Spikformer: when spiking neural network meets transformer*, ICLR 2023.

    Args:
        dim: channels ``C``, divisible by ``num_heads``.
        num_heads: attention heads (default 8).
        spiking_neuron: neuron class (default ``neuron.LIFNode``; see the module docstring).
        **kwargs: the neurons' constructor arguments.

    Shape:
        ``[T, N, C, L]`` to ``[T, N, C, L]``.

    Raises:
        ValueError: ``dim`` not divisible by ``num_heads``; ``kwargs`` with ``step_mode``
            other than ``'m'``; an input that is not ``[T, N, dim, L]``.
    """

    def __init__(
        self, dim: int, num_heads: int = 8, spiking_neuron: NeuronFactory | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        _check_heads(type(self).__name__, dim, num_heads)
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = 0.125
        self.qkv_conv_bn = _conv1x1_bn(dim, 3 * dim)
        self.qkv_lif = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)
        self.attn_lif = make_multi_step_neuron(spiking_neuron, kwargs, _ATTENTION_LIF)
        self.proj_conv_bn = _conv1x1_bn(dim, dim)
        self.proj_lif = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)

    def forward(self, x_seq: Tensor) -> Tensor:
        x_seq = _check_input(type(self).__name__, x_seq, 4, "[T, N, C, L]", self.dim)
        steps, batch, channels, length = x_seq.shape
        qkv = self.qkv_lif(self.qkv_conv_bn(x_seq))  # [T, N, 3C, L]
        q, k, v = qkv.reshape(steps, batch, 3, self.num_heads, self.head_dim, length).unbind(2)
        attended = (v @ k.transpose(-2, -1)) @ q * self.scale  # [T, N, heads, C/heads, L]
        out = self.attn_lif(attended).reshape(steps, batch, channels, length)
        return self.proj_lif(self.proj_conv_bn(out))  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}"


class QKAttention(MultiStepOnly, nn.Module):
    r"""Q-K attention of QKFormer, on token sequences ``[T, N, C, L]``: a spiking gate from Q.

    Queries and keys are spikes (1x1 conv, batch norm, LIF). Per head, the queries are
    summed over channels (``'token'``: one gate per token) or over tokens (``'channel'``:
    one gate per channel); a LIF neuron of threshold 0.5 turns the sum into a binary
    attention vector that masks the keys; a projection (1x1 conv, batch norm, LIF) follows.

    .. math::
        A = \mathrm{SN}_{0.5}\Big(\sum_{c} Q_{c,\cdot}\Big) \;\text{(token)}, \qquad
        Y = \mathrm{SN}(\mathrm{BN}(\mathrm{Conv}(A \odot K)))

    Zhou et al., *QKFormer: hierarchical spiking transformer using Q-K attention*,
    NeurIPS 2024.

    Args:
        dim: channels ``C``, divisible by ``num_heads``.
        num_heads: attention heads (default 8).
        qka_type: ``'token'`` (default) or ``'channel'``.
        spiking_neuron: neuron class (default ``neuron.LIFNode``; see the module docstring).
        **kwargs: the neurons' constructor arguments.

    Shape:
        ``[T, N, C, L]`` to ``[T, N, C, L]``.

    Raises:
        ValueError: ``dim`` not divisible by ``num_heads``; an unknown ``qka_type``;
            ``kwargs`` with ``step_mode`` other than ``'m'``; an input that is not
            ``[T, N, dim, L]``.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        qka_type: str = "token",
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        _check_heads(name, dim, num_heads)
        if qka_type not in ("token", "channel"):
            raise ValueError(f"{name}: qka_type must be 'token' or 'channel', got {qka_type!r}")
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self._qka_type = qka_type
        self.qk_conv_bn = _conv1x1_bn(dim, 2 * dim)
        self.qk_lif = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)
        # the query dimension summed: channels within a head (token) or tokens (channel)
        self.sum_dim = 3 if qka_type == "token" else 4
        self.attn_lif = make_multi_step_neuron(spiking_neuron, kwargs, _ATTENTION_LIF)
        self.proj_conv_bn = _conv1x1_bn(dim, dim)
        self.proj_lif = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)

    @property
    def qka_type(self) -> str:
        """``'token'`` or ``'channel'``."""
        return self._qka_type

    def forward(self, x_seq: Tensor) -> Tensor:
        x_seq = _check_input(type(self).__name__, x_seq, 4, "[T, N, C, L]", self.dim)
        steps, batch, _, length = x_seq.shape
        qk = self.qk_lif(self.qk_conv_bn(x_seq))  # [T, N, 2C, L]
        q, k = qk.reshape(steps, batch, 2, self.num_heads, self.head_dim, length).unbind(2)
        gate = self.attn_lif(q.sum(dim=self.sum_dim, keepdim=True))
        out = (gate * k).flatten(2, 3)  # [T, N, C, L]
        return self.proj_lif(self.proj_conv_bn(out))  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, qka_type={self.qka_type}"


class TokenQKAttention(QKAttention):
    """:class:`QKAttention` with ``qka_type='token'``.

    Args:
        dim, num_heads, spiking_neuron, **kwargs: as :class:`QKAttention`.
    """

    def __init__(
        self, dim: int, num_heads: int = 8, spiking_neuron: NeuronFactory | None = None, **kwargs: Any
    ) -> None:
        super().__init__(dim, num_heads, qka_type="token", spiking_neuron=spiking_neuron, **kwargs)


class ChannelQKAttention(QKAttention):
    """:class:`QKAttention` with ``qka_type='channel'``.

    Args:
        dim, num_heads, spiking_neuron, **kwargs: as :class:`QKAttention`.
    """

    def __init__(
        self, dim: int, num_heads: int = 8, spiking_neuron: NeuronFactory | None = None, **kwargs: Any
    ) -> None:
        super().__init__(dim, num_heads, qka_type="channel", spiking_neuron=spiking_neuron, **kwargs)


class SpikeDrivenSelfAttention(MultiStepOnly, nn.Module):
    r"""Spike-driven self-attention (SDSA) of the Spike-driven Transformer, on ``[T, N, C, H, W]``.

    The input passes a LIF neuron (the shortcut spikes); Q, K, V are spikes (1x1 conv, batch
    norm, LIF). Per head, the column sums of ``K \odot V`` over the tokens pass a LIF neuron
    of threshold 0.5 and mask Q; a projection (1x1 conv with bias, batch norm) follows, and
    the input is added back:

    .. math::
        Y = X + \mathrm{BN}(\mathrm{Conv}(Q \odot \mathrm{SN}_{0.5}(\textstyle\sum_{\text{tokens}}
        K \odot V)))

    Yao et al., *Spike-driven transformer*, NeurIPS 2023.

    Args:
        dim: channels ``C``, divisible by ``num_heads``.
        num_heads: attention heads (default 8).
        spiking_neuron: neuron class (default ``neuron.LIFNode``; see the module docstring).
        **kwargs: the neurons' constructor arguments.

    Shape:
        ``[T, N, C, H, W]`` to ``[T, N, C, H, W]``.

    Raises:
        ValueError: ``dim`` not divisible by ``num_heads``; ``kwargs`` with ``step_mode``
            other than ``'m'``; an input that is not ``[T, N, dim, H, W]``.
    """

    def __init__(
        self, dim: int, num_heads: int = 8, spiking_neuron: NeuronFactory | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        _check_heads(type(self).__name__, dim, num_heads)
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.shortcut_lif = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)
        self.q_conv = Conv2d(dim, dim, 1, bias=False, step_mode="m")
        self.q_bn = BatchNorm2d(dim, step_mode="m")
        self.q_lif = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)
        self.k_conv = Conv2d(dim, dim, 1, bias=False, step_mode="m")
        self.k_bn = BatchNorm2d(dim, step_mode="m")
        self.k_lif = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)
        self.v_conv = Conv2d(dim, dim, 1, bias=False, step_mode="m")
        self.v_bn = BatchNorm2d(dim, step_mode="m")
        self.v_lif = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)
        self.attn_lif = make_multi_step_neuron(spiking_neuron, kwargs, _ATTENTION_LIF)
        self.proj_conv = Conv2d(dim, dim, 1, step_mode="m")
        self.proj_bn = BatchNorm2d(dim, step_mode="m")

    def _heads(self, x: Tensor) -> Tensor:
        """``[T, N, C, H, W]`` to ``[T, N, heads, H*W, C/heads]``."""
        steps, batch = x.shape[:2]
        tokens = x.flatten(3).transpose(-1, -2)  # [T, N, H*W, C]
        return tokens.reshape(steps, batch, -1, self.num_heads, self.head_dim).permute(0, 1, 3, 2, 4)

    def forward(self, x: Tensor) -> Tensor:
        x = _check_input(type(self).__name__, x, 5, "[T, N, C, H, W]", self.dim)
        shortcut = self.shortcut_lif(x)
        q = self._heads(self.q_lif(self.q_bn(self.q_conv(shortcut))))
        k = self._heads(self.k_lif(self.k_bn(self.k_conv(shortcut))))
        v = self._heads(self.v_lif(self.v_bn(self.v_conv(shortcut))))
        kv = self.attn_lif((k * v).sum(dim=-2, keepdim=True))  # [T, N, heads, 1, C/heads]
        out = (q * kv).transpose(3, 4).reshape(x.shape)
        return self.proj_bn(self.proj_conv(out)) + x  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}"


def _check_reduction(owner: str, label: str, size: int, reduction: int, size_label: str) -> None:
    for name, value in ((size_label, size), (label, reduction)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    if reduction > size:
        raise ValueError(f"{owner}: {label} ({reduction}) cannot be greater than {size_label} ({size})")


class TemporalWiseAttention(MultiStepOnly, nn.Module):
    r"""Temporal-wise attention (TA): a learned weight in ``(0, 1)`` per time step and sample.

    Each step is squeezed to two numbers, its mean and its maximum over all other
    dimensions; a shared two-layer MLP over time (``T -> T/r -> T``, no bias) maps both, and
    the sigmoid of their sum scales the step:

    .. math::
        s = \sigma\big(\mathrm{MLP}(\mathrm{avg}(X)) + \mathrm{MLP}(\max(X))\big) \in (0, 1)^T,
        \qquad Y[t] = s_t X[t]

    Yao et al., *Temporal-wise attention spiking neural networks for event streams
    classification*, ICCV 2021.

    Args:
        T: the number of time steps.
        reduction: ``r``, with ``1 <= r <= T`` (default 16).
        dimension: 4 for ``[T, N, C, H, W]`` input (default) or 2 for ``[T, N, M]``.

    Raises:
        ValueError: ``dimension`` not 2 or 4; ``reduction`` greater than ``T``; an input of
            another layout or length.
    """

    def __init__(self, T: int, reduction: int = 16, dimension: int = 4) -> None:
        super().__init__()
        name = type(self).__name__
        if dimension not in (2, 4):
            raise ValueError(
                f"{name}: dimension must be 4 ([T, N, C, H, W]) or 2 ([T, N, M]), got {dimension!r}"
            )
        _check_reduction(name, "reduction", T, reduction, "T")
        self.T = T
        self.dimension = dimension
        self.sharedMLP = nn.Sequential(
            nn.Linear(T, T // reduction, bias=False), nn.ReLU(), nn.Linear(T // reduction, T, bias=False)
        )

    def forward(self, x_seq: Tensor) -> Tensor:
        layout = "[T, N, C, H, W]" if self.dimension == 4 else "[T, N, M]"
        if not isinstance(x_seq, Tensor) or x_seq.dim() != self.dimension + 1 or x_seq.shape[0] != self.T:
            got = tuple(x_seq.shape) if isinstance(x_seq, Tensor) else type(x_seq).__name__
            raise ValueError(f"{type(self).__name__} expects {layout} with T = {self.T}, got {got}")
        x = x_seq.transpose(0, 1)  # [N, T, ...]: time as channels
        if self.dimension == 2:
            avg, peak = F.adaptive_avg_pool1d(x, 1), F.adaptive_max_pool1d(x, 1)
        else:
            avg, peak = F.adaptive_avg_pool3d(x, 1), F.adaptive_max_pool3d(x, 1)
        batch = x.shape[0]
        scores = torch.sigmoid(
            self.sharedMLP(avg.view(batch, self.T)) + self.sharedMLP(peak.view(batch, self.T))
        )
        return (x * scores.view(batch, self.T, *(1,) * (x.dim() - 2))).transpose(0, 1)

    def extra_repr(self) -> str:
        return f"T={self.T}, dimension={self.dimension}"


class _AxisAttention(nn.Module):
    """A gate in ``(0, 1)`` per entry of one axis of ``[N, T, C, H, W]`` (time, or channels)."""

    def __init__(self, size: int, reduction: int, channel_axis: bool) -> None:
        super().__init__()
        self.channel_axis = channel_axis
        self.sharedMLP = nn.Sequential(
            nn.Conv3d(size, size // reduction, 1, bias=False),
            nn.ReLU(),
            nn.Conv3d(size // reduction, size, 1, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        if self.channel_axis:
            x = x.transpose(1, 2)  # [N, C, T, H, W]: channels first
        avg, peak = F.adaptive_avg_pool3d(x, 1), F.adaptive_max_pool3d(x, 1)
        score = torch.sigmoid(self.sharedMLP(avg) + self.sharedMLP(peak))
        return score.transpose(1, 2) if self.channel_axis else score


class _SpatialAttention(nn.Module):
    """A gate in ``(0, 1)`` per pixel of ``[N, T, C, H, W]``, from its mean and max over T and C."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(1, 2)  # [N, T*C, H, W]
        pooled = torch.cat((x.mean(dim=1, keepdim=True), x.max(dim=1, keepdim=True).values), dim=1)
        return torch.sigmoid(self.conv(pooled)).unsqueeze(1)


class MultiDimensionalAttention(MultiStepOnly, nn.Module):
    r"""Multi-dimensional attention (MA): temporal, channel and spatial gates in sequence.

    On ``X`` of shape ``[T, N, C, H, W]``, each enabled gate multiplies the running result:
    a temporal gate (per step, from the mean and max over ``C, H, W``, shared MLP of 1x1x1
    convolutions ``T -> T/r_t -> T``), a channel gate (likewise per channel,
    ``C -> C/r_c -> C``) and a spatial gate (per pixel, a ``k x k`` convolution of the mean
    and max over ``T`` and ``C``); a ReLU follows:

    .. math::
        Y = \mathrm{ReLU}\big(A_s \odot (A_c \odot (A_t \odot X))\big)

    Yao et al., *Attention spiking neural networks*, IEEE TPAMI 2023.

    Args:
        T: the number of time steps.
        C: the number of channels.
        reduction_t: ``r_t``, ``1 <= r_t <= T`` (default 16).
        reduction_c: ``r_c``, ``1 <= r_c <= C`` (default 16).
        kernel_size: of the spatial gate, 3 (default) or 7.
        use_temporal, use_channel, use_spatial: which gates to use (default all; at least one).

    Raises:
        ValueError: no gate enabled; a reduction greater than its size; ``kernel_size`` not 3
            or 7; an input that is not ``[T, N, C, H, W]`` with this ``T`` and ``C``.
    """

    def __init__(
        self,
        T: int,
        C: int,
        reduction_t: int = 16,
        reduction_c: int = 16,
        kernel_size: int = 3,
        use_temporal: bool = True,
        use_channel: bool = True,
        use_spatial: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if not (use_temporal or use_channel or use_spatial):
            raise ValueError(
                f"{name}: at least one of use_temporal, use_channel and use_spatial must be True"
            )
        if use_temporal:
            _check_reduction(name, "reduction_t", T, reduction_t, "T")
        if use_channel:
            _check_reduction(name, "reduction_c", C, reduction_c, "C")
        if kernel_size not in (3, 7):
            raise ValueError(f"{name}: kernel_size must be 3 or 7, got {kernel_size!r}")
        self.T, self.C = T, C
        self.ta = _AxisAttention(T, reduction_t, channel_axis=False) if use_temporal else None
        self.ca = _AxisAttention(C, reduction_c, channel_axis=True) if use_channel else None
        self.sa = _SpatialAttention(kernel_size) if use_spatial else None
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        wrong_steps = self.ta is not None and x.shape[0] != self.T if isinstance(x, Tensor) else True
        wrong_channels = self.ca is not None and x.dim() == 5 and x.shape[2] != self.C
        if not isinstance(x, Tensor) or x.dim() != 5 or wrong_steps or wrong_channels:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"{type(self).__name__} expects [T, N, C, H, W] with T = {self.T} and C = {self.C}, got {got}"
            )
        out = x.transpose(0, 1)  # [N, T, C, H, W]
        for gate in (self.ta, self.ca, self.sa):
            if gate is not None:
                out = gate(out) * out
        return self.relu(out).transpose(0, 1)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"T={self.T}, C={self.C}"
