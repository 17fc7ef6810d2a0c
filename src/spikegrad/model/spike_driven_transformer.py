r"""Spike-driven Transformer (v1): attention by masks and additions only.

A four-stage spiking patch embedding (3x3 conv-BN, LIF after the first three, max-pooling
where ``pooling_stat`` has a ``"1"``; ``D/8, D/4, D/2, D`` channels) with a residual
conv-BN position embedding, then ``depths`` blocks of spike-driven self-attention
(:class:`~spikegrad.layer.SpikeDrivenSelfAttention`) and an MLP of 1x1 convolutions, both
with membrane shortcuts (neurons before the convolutions):

.. math::
    X \leftarrow X + \mathrm{BN}(\mathrm{Conv}(Q \odot \mathrm{SN}_{0.5}(\textstyle\sum_{\text{tokens}}
    K \odot V))), \qquad
    X \leftarrow X + \mathrm{BN}(\mathrm{Conv}(\mathrm{SN}(\mathrm{BN}(\mathrm{Conv}(\mathrm{SN}(X))))))

The token mean passes one last neuron; the linear head classifies its mean over time:
``[N, num_classes]``. When the MLP's hidden width equals ``D`` (``mlp_ratio=1``) its first
layer has a shortcut of its own.

Yao et al., *Spike-driven transformer*, NeurIPS 2023 (https://arxiv.org/abs/2304.11954).

Neurons: ``spiking_neuron=None`` (default) builds ``neuron.LIFNode`` with ``**kwargs`` (the
attention's own neurons default to ``tau=2``, ``detach_reset=True`` and ``v_threshold=0.5``
for the attention map); a neuron class is built with ``**kwargs`` alone. The model is
multi-step only (``step_mode='m'``); ``functional.set_step_mode`` leaves it so.

Example:
    >>> import torch
    >>> from spikegrad import functional
    >>> from spikegrad.model import spike_driven_transformer
    >>> net = spike_driven_transformer.SpikeDrivenTransformer(
    ...     T=2, num_classes=10, embed_dims=32, num_heads=4, depths=1, pooling_stat="0011"
    ... )
    >>> net(torch.rand(2, 3, 16, 16)).shape  # an image, repeated over T steps
    torch.Size([2, 10])
    >>> functional.reset_net(net)
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from .. import layer
from ..layer.attention import make_multi_step_neuron
from ._common import MultiStepModel, NeuronFactory, check_positive_int, image_sequence

__all__ = ["SpikeDrivenTransformer", "sdt_8_384"]


class _PatchEmbed(MultiStepModel, nn.Module):
    """Three conv-BN-SN stages and a conv-BN stage (each optionally pooled), then ``x + BN(Conv(SN(x)))``."""

    def __init__(
        self,
        in_channels: int,
        embed_dims: int,
        pooling_stat: str,
        spiking_neuron: NeuronFactory | None,
        neuron_kwargs: dict[str, Any],
    ) -> None:
        super().__init__()
        channels = (embed_dims // 8, embed_dims // 4, embed_dims // 2, embed_dims)
        self.stages = nn.ModuleList()
        previous = in_channels
        for pool, out_channels in zip(pooling_stat[:3], channels[:3], strict=True):
            stage: list[nn.Module] = [
                layer.Conv2d(previous, out_channels, 3, padding=1, step_mode="m"),
                layer.BatchNorm2d(out_channels, step_mode="m"),
                make_multi_step_neuron(spiking_neuron, neuron_kwargs, {}),
            ]
            if pool == "1":
                stage.append(layer.MaxPool2d(3, stride=2, padding=1, step_mode="m"))
            self.stages.append(nn.Sequential(*stage))
            previous = out_channels
        final_stage: list[nn.Module] = [
            layer.Conv2d(previous, embed_dims, 3, padding=1, step_mode="m"),
            layer.BatchNorm2d(embed_dims, step_mode="m"),
        ]
        if pooling_stat[3] == "1":
            final_stage.append(layer.MaxPool2d(3, stride=2, padding=1, step_mode="m"))
        self.final_stage = nn.Sequential(*final_stage)
        self.final_lif = make_multi_step_neuron(spiking_neuron, neuron_kwargs, {})
        self.rpe_conv = layer.Conv2d(embed_dims, embed_dims, 3, padding=1, bias=False, step_mode="m")
        self.rpe_bn = layer.BatchNorm2d(embed_dims, step_mode="m")

    def forward(self, x: Tensor) -> Tensor:
        for stage in self.stages:
            x = stage(x)
        x = self.final_stage(x)
        return self.rpe_bn(self.rpe_conv(self.final_lif(x))) + x  # type: ignore[no-any-return]


class _MLP(MultiStepModel, nn.Module):
    """Two membrane-shortcut 1x1 conv-BN layers (SN first); a shortcut around the first if widths agree."""

    def __init__(
        self, dim: int, hidden_dim: int, spiking_neuron: NeuronFactory | None, neuron_kwargs: dict[str, Any]
    ) -> None:
        super().__init__()
        self.residual = dim == hidden_dim
        self.fc1 = layer.Conv2d(dim, hidden_dim, 1, step_mode="m")
        self.bn1 = layer.BatchNorm2d(hidden_dim, step_mode="m")
        self.lif1 = make_multi_step_neuron(spiking_neuron, neuron_kwargs, {})
        self.fc2 = layer.Conv2d(hidden_dim, dim, 1, step_mode="m")
        self.bn2 = layer.BatchNorm2d(dim, step_mode="m")
        self.lif2 = make_multi_step_neuron(spiking_neuron, neuron_kwargs, {})

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.bn1(self.fc1(self.lif1(x)))
        if self.residual:
            hidden = hidden + x
            x = hidden
        return self.bn2(self.fc2(self.lif2(hidden))) + x  # type: ignore[no-any-return]


class _Block(MultiStepModel, nn.Module):
    """Spike-driven self-attention (with its shortcut), then the MLP."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float,
        spiking_neuron: NeuronFactory | None,
        neuron_kwargs: dict[str, Any],
    ) -> None:
        super().__init__()
        self.attn = layer.SpikeDrivenSelfAttention(
            dim, num_heads, spiking_neuron=spiking_neuron, **neuron_kwargs
        )
        self.mlp = _MLP(dim, int(dim * mlp_ratio), spiking_neuron, neuron_kwargs)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(self.attn(x))  # type: ignore[no-any-return]


class SpikeDrivenTransformer(MultiStepModel, nn.Module):
    """Spike-driven Transformer v1 (see the module docstring).

    Args:
        T: time steps a static image is repeated over (default 4).
        in_channels: image channels (default 3).
        num_classes: outputs (default 1000).
        embed_dims: token channels (default 384), divisible by ``num_heads``, at least 8.
        num_heads: attention heads (default 8).
        depths: the number of blocks (default 8).
        mlp_ratio: hidden channels of the MLPs per channel (default 4.0).
        pooling_stat: four characters ``"0"``/``"1"``: which patch-embedding stages
            max-pool (default ``"1111"``: 16x down-sampling).
        spiking_neuron: the neuron class (default ``None``: ``neuron.LIFNode``).
        **kwargs: the neurons' arguments.

    Shape:
        ``[N, in_channels, H, W]`` (repeated over ``T`` steps) or ``[T', N, in_channels, H, W]``
        to ``[N, num_classes]``.

    Raises:
        ValueError: ``pooling_stat`` not a four-character 0/1 mask; ``embed_dims`` not
            divisible by ``num_heads`` or below 8; a bad ``T``; an input that is neither 4- nor
            5-dimensional.
    """

    def __init__(
        self,
        T: int = 4,
        in_channels: int = 3,
        num_classes: int = 1000,
        embed_dims: int = 384,
        num_heads: int = 8,
        depths: int = 8,
        mlp_ratio: float = 4.0,
        pooling_stat: str = "1111",
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(pooling_stat, str) or len(pooling_stat) != 4 or set(pooling_stat) - {"0", "1"}:
            raise ValueError(
                f"{owner}: pooling_stat must be four characters '0' or '1' (which patch-embedding stages "
                f"pool), got {pooling_stat!r}"
            )
        if check_positive_int(owner, "embed_dims", embed_dims) < 8:
            raise ValueError(f"{owner}: embed_dims must be at least 8 (its first stage has embed_dims // 8)")
        self.T = check_positive_int(owner, "T", T)
        self.patch_embed = _PatchEmbed(in_channels, embed_dims, pooling_stat, spiking_neuron, kwargs)
        self.blocks = nn.ModuleList(
            [_Block(embed_dims, num_heads, mlp_ratio, spiking_neuron, kwargs) for _ in range(depths)]
        )
        self.head_lif = make_multi_step_neuron(spiking_neuron, kwargs, {})
        self.head = nn.Linear(embed_dims, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.patch_embed(image_sequence(type(self).__name__, x, self.T))
        for block in self.blocks:
            x = block(x)
        x = self.head_lif(x.flatten(3).mean(-1))  # [T, N, embed_dims]
        return self.head(x.mean(0))  # type: ignore[no-any-return]


def sdt_8_384(
    T: int = 4,
    in_channels: int = 3,
    num_classes: int = 1000,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikeDrivenTransformer:
    """Spike-driven Transformer 8-384: 384 channels, 8 heads, 8 blocks, 16x down-sampling.

    Args:
        T: time steps a static image is repeated over (default 4).
        in_channels: image channels (default 3).
        num_classes: outputs (default 1000).
        spiking_neuron: the neuron class (default ``None``: ``neuron.LIFNode``).
        **kwargs: the neurons' arguments.
    """
    return SpikeDrivenTransformer(
        T, in_channels, num_classes, 384, 8, 8, spiking_neuron=spiking_neuron, **kwargs
    )
