r"""Spikformer: a vision transformer whose tokens, queries, keys and values are spikes.

A convolutional patch stem turns an image sequence ``[T, N, C_in, H, W]`` into spiking
feature maps ``[T, N, D, H/p, W/p]`` (four conv-BN-LIF stages of ``D/8, D/4, D/2, D``
channels, max-pooling in all four stages for patch size ``p = 16``, in the last two for
``p = 4``, plus a conv-BN-LIF relative position embedding added back). Each block then
applies, on the ``L = HW/p^2`` tokens,

.. math::
    X \leftarrow X + \mathrm{SSA}(X), \qquad X \leftarrow X + \mathrm{MLP}(X)

with spiking self-attention (:class:`~spikegrad.layer.SpikingSelfAttention`: no softmax,
``SN(s V K^T Q)``) and a two-layer MLP of 1x1 convolutions, batch norm and LIF neurons. The
tokens are averaged and a linear head gives ``[T, N, num_classes]`` (one output per step).

Zhou et al., *Spikformer: when spiking neural network meets transformer*, ICLR 2023
(https://arxiv.org/abs/2209.15425).

Neurons: with ``spiking_neuron=None`` (default) every neuron is ``neuron.LIFNode(tau=2.0,
detach_reset=True)`` (attention map: ``v_threshold=0.5``) and ``**kwargs`` override these
defaults, except that the attention keeps its own ``tau`` and ``detach_reset`` (as in
SpikingJelly); with a neuron class, every neuron is ``spiking_neuron(**kwargs)``. All run in
``step_mode='m'``: the model is multi-step only, and ``functional.set_step_mode`` leaves it so.

Example:
    >>> import torch
    >>> from spikegrad import functional
    >>> from spikegrad.model import spikformer
    >>> net = spikformer.Spikformer(
    ...     T=2, img_size_h=32, img_size_w=32, patch_size=4, num_classes=10,
    ...     embed_dims=32, num_heads=4, depths=1,
    ... )
    >>> net(torch.rand(2, 3, 32, 32)).shape  # an image, repeated over T steps: [T, N, classes]
    torch.Size([2, 2, 10])
    >>> functional.reset_net(net)
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from .. import layer
from ..layer.attention import make_multi_step_neuron
from ._common import MultiStepModel, NeuronFactory, check_positive_int, image_sequence

__all__ = [
    "Spikformer",
    "SpikformerBlock",
    "SpikformerConv2dBN",
    "SpikformerConv2dBNLIF",
    "SpikformerMLP",
    "SpikformerPatchStem",
    "spikformer_cifar10",
    "spikformer_s",
    "spikformer_ti",
]

#: The paper's LIF neuron, the default of every neuron position.
_LIF = {"tau": 2.0, "detach_reset": True}


class SpikformerConv2dBN(MultiStepModel, nn.Module):
    """Convolution (no bias) and batch norm over a sequence, optionally 3x3 max-pooling (stride 2).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: of the convolution.
        stride: of the convolution (default 1).
        padding: of the convolution (default 0).
        pool: append ``MaxPool2d(3, stride=2, padding=1)`` (default False).

    Shape:
        ``[T, N, in_channels, H, W]`` to ``[T, N, out_channels, H', W']``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        pool: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels, out_channels, kernel_size=kernel_size, stride=stride, padding=padding, bias=False
            ),
            nn.BatchNorm2d(out_channels),
        ]
        if pool:
            layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        self.block = layer.SeqToANNContainer(*layers)

    def forward(self, x_seq: Tensor) -> Tensor:
        return self.block(x_seq)  # type: ignore[no-any-return]


class SpikformerConv2dBNLIF(MultiStepModel, nn.Module):
    """:class:`SpikformerConv2dBN` followed by a spiking neuron.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, pool: as
            :class:`SpikformerConv2dBN`.
        spiking_neuron: the neuron class (default ``None``: ``LIFNode(tau=2.0, detach_reset=True)``).
        **kwargs: the neuron's arguments (override the defaults of the default neuron).

    Shape:
        ``[T, N, in_channels, H, W]`` to ``[T, N, out_channels, H', W']``.

    Raises:
        ValueError: ``kwargs`` asks for ``step_mode`` other than ``'m'``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        pool: bool = False,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.conv_bn = SpikformerConv2dBN(in_channels, out_channels, kernel_size, stride, padding, pool)
        self.neuron = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)

    def forward(self, x_seq: Tensor) -> Tensor:
        return self.neuron(self.conv_bn(x_seq))  # type: ignore[no-any-return]


class SpikformerPatchStem(MultiStepModel, nn.Module):
    """The spiking patch stem: four conv-BN-LIF stages and a residual position embedding.

    Stage ``i`` has ``embed_dims / 2^(3-i)`` channels (3x3 convolutions) and pools by 2: all
    four for ``patch_size=16``, the last two for ``patch_size=4``. The position embedding is
    one more conv-BN-LIF whose output is added to its input.

    Args:
        img_size_h, img_size_w: image height and width (default 224; for ``grid_size``).
        patch_size: 4 or 16 (default 16): the total down-sampling.
        in_channels: image channels (default 3).
        embed_dims: output channels (default 256), at least 8.
        spiking_neuron: the neuron class (default ``None``: ``LIFNode(tau=2.0, detach_reset=True)``).
        **kwargs: the neurons' arguments.

    Shape:
        ``[T, N, in_channels, H, W]`` to ``[T, N, embed_dims, H/p, W/p]`` (rounded up).

    Raises:
        ValueError: ``patch_size`` not 4 or 16; ``embed_dims`` not an integer >= 8.
    """

    def __init__(
        self,
        img_size_h: int = 224,
        img_size_w: int = 224,
        patch_size: int = 16,
        in_channels: int = 3,
        embed_dims: int = 256,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if patch_size not in (4, 16):
            raise ValueError(f"{owner}: patch_size must be 4 or 16, got {patch_size!r}")
        if check_positive_int(owner, "embed_dims", embed_dims) < 8:
            raise ValueError(f"{owner}: embed_dims must be at least 8 (its first stage has embed_dims // 8)")
        self.image_size = (img_size_h, img_size_w)
        self.patch_size = patch_size
        self.embed_dims = embed_dims
        stage_dims = (embed_dims // 8, embed_dims // 4, embed_dims // 2, embed_dims)
        pool_from = 2 if patch_size == 4 else 0
        stages = []
        in_c = in_channels
        for index, out_c in enumerate(stage_dims):
            stages.append(
                SpikformerConv2dBNLIF(in_c, out_c, 3, 1, 1, index >= pool_from, spiking_neuron, **kwargs)
            )
            in_c = out_c
        self.stages = nn.Sequential(*stages)
        self.positional_encoding = SpikformerConv2dBNLIF(
            embed_dims, embed_dims, 3, 1, 1, False, spiking_neuron, **kwargs
        )
        self.grid_size = (img_size_h // patch_size, img_size_w // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]

    def forward(self, x_seq: Tensor) -> Tensor:
        x_seq = self.stages(x_seq)
        return self.positional_encoding(x_seq) + x_seq  # type: ignore[no-any-return]


class SpikformerMLP(MultiStepModel, nn.Module):
    """Two 1x1 convolutions over tokens, each with batch norm and a neuron.

    Args:
        in_features: input channels.
        hidden_features: hidden channels.
        out_features: output channels.
        spiking_neuron: the neuron class (default ``None``: ``LIFNode(tau=2.0, detach_reset=True)``).
        **kwargs: the neurons' arguments.

    Shape:
        ``[T, N, in_features, L]`` to ``[T, N, out_features, L]``.
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        out_features: int,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.fc1 = layer.SeqToANNContainer(
            nn.Conv1d(in_features, hidden_features, kernel_size=1, bias=False),
            nn.BatchNorm1d(hidden_features),
        )
        self.neuron1 = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)
        self.fc2 = layer.SeqToANNContainer(
            nn.Conv1d(hidden_features, out_features, kernel_size=1, bias=False), nn.BatchNorm1d(out_features)
        )
        self.neuron2 = make_multi_step_neuron(spiking_neuron, kwargs, _LIF)

    def forward(self, x_seq: Tensor) -> Tensor:
        return self.neuron2(self.fc2(self.neuron1(self.fc1(x_seq))))  # type: ignore[no-any-return]


class SpikformerBlock(MultiStepModel, nn.Module):
    """A Spikformer block: ``X + SSA(X)``, then ``X + MLP(X)``, on the feature map's tokens.

    Args:
        dim: channels, divisible by ``num_heads``.
        num_heads: attention heads.
        mlp_ratio: hidden channels of the MLP per channel (default 4.0).
        spiking_neuron: the neuron class (default ``None``: the paper's LIF neurons; the
            attention's keep their own ``tau`` and ``detach_reset``).
        **kwargs: the neurons' arguments.

    Shape:
        ``[T, N, dim, H, W]`` to ``[T, N, dim, H, W]``.

    Raises:
        ValueError: ``dim`` not divisible by ``num_heads``; an input that is not 5-dimensional.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        attention_kwargs = kwargs
        if spiking_neuron is None:
            # SpikingJelly keeps the attention's default tau and detach_reset for the default neuron
            attention_kwargs = {key: value for key, value in kwargs.items() if key not in _LIF}
        self.attn = layer.SpikingSelfAttention(dim, num_heads, spiking_neuron, **attention_kwargs)
        self.mlp = SpikformerMLP(dim, int(dim * mlp_ratio), dim, spiking_neuron, **kwargs)

    def forward(self, x_seq: Tensor) -> Tensor:
        if not isinstance(x_seq, Tensor) or x_seq.dim() != 5:
            got = tuple(x_seq.shape) if isinstance(x_seq, Tensor) else type(x_seq).__name__
            raise ValueError(f"{type(self).__name__} expects [T, N, C, H, W], got {got}")
        tokens = x_seq.flatten(3)  # [T, N, C, L]
        tokens = tokens + self.attn(tokens)
        tokens = tokens + self.mlp(tokens)
        return tokens.reshape(x_seq.shape)


class Spikformer(MultiStepModel, nn.Module):
    """Spikformer (see the module docstring): patch stem, ``depths`` blocks, a linear head per step.

    Args:
        T: time steps a static image is repeated over (default 4).
        in_channels: image channels (default 3).
        img_size_h, img_size_w: image size (default 224).
        patch_size: 4 or 16 (default 16).
        num_classes: outputs of the head (default 1000).
        embed_dims: token channels (default 256), divisible by ``num_heads``.
        num_heads: attention heads (default 8).
        mlp_ratio: hidden channels of the MLPs per channel (default 4.0).
        depths: the number of blocks (default 4).
        spiking_neuron: the neuron class (default ``None``: the paper's LIF neurons).
        **kwargs: the neurons' arguments.

    Shape:
        ``[N, in_channels, H, W]`` (repeated over ``T`` steps) or ``[T', N, in_channels, H, W]``
        to ``[T or T', N, num_classes]``.

    Raises:
        ValueError: a bad ``T``, ``patch_size``, ``embed_dims`` or ``num_heads``; an input
            that is neither 4- nor 5-dimensional.
    """

    def __init__(
        self,
        T: int = 4,
        in_channels: int = 3,
        img_size_h: int = 224,
        img_size_w: int = 224,
        patch_size: int = 16,
        num_classes: int = 1000,
        embed_dims: int = 256,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        depths: int = 4,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.T = check_positive_int(type(self).__name__, "T", T)
        self.num_classes = num_classes
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.depths = depths
        self.patch_embed = SpikformerPatchStem(
            img_size_h, img_size_w, patch_size, in_channels, embed_dims, spiking_neuron, **kwargs
        )
        self.blocks = nn.ModuleList(
            [
                SpikformerBlock(embed_dims, num_heads, mlp_ratio, spiking_neuron, **kwargs)
                for _ in range(depths)
            ]
        )
        self.head = layer.Linear(embed_dims, num_classes, step_mode="m")
        self._init_weights()

    def _init_weights(self) -> None:
        """Truncated-normal (std 0.02) weights of linear layers and convolutions, zero biases, unit norms."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.0)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.constant_(m.weight, 1.0)
                nn.init.constant_(m.bias, 0.0)

    def forward_features(self, x_seq: Tensor) -> Tensor:
        """The token features averaged over tokens: ``[T, N, C, H, W]`` to ``[T, N, embed_dims]``."""
        x_seq = self.patch_embed(x_seq)
        for block in self.blocks:
            x_seq = block(x_seq)
        return x_seq.flatten(3).mean(dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        x_seq = image_sequence(type(self).__name__, x, self.T)
        return self.head(self.forward_features(x_seq))  # type: ignore[no-any-return]


def spikformer_ti(
    T: int = 4,
    in_channels: int = 3,
    img_size_h: int = 224,
    img_size_w: int = 224,
    num_classes: int = 1000,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> Spikformer:
    """Spikformer-Ti: 256 channels, 8 heads, 4 blocks, 16x16 patches.

    Args:
        T: time steps a static image is repeated over (default 4).
        in_channels: image channels (default 3).
        img_size_h, img_size_w: image size (default 224).
        num_classes: outputs (default 1000).
        spiking_neuron: the neuron class (default ``None``: the paper's LIF neurons).
        **kwargs: the neurons' arguments.
    """
    return Spikformer(
        T, in_channels, img_size_h, img_size_w, 16, num_classes, 256, 8, 4.0, 4, spiking_neuron, **kwargs
    )


def spikformer_s(
    T: int = 4,
    in_channels: int = 3,
    img_size_h: int = 224,
    img_size_w: int = 224,
    num_classes: int = 1000,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> Spikformer:
    """Spikformer-S: 384 channels, 12 heads, 6 blocks, 16x16 patches.

    Args:
        T: time steps a static image is repeated over (default 4).
        in_channels: image channels (default 3).
        img_size_h, img_size_w: image size (default 224).
        num_classes: outputs (default 1000).
        spiking_neuron: the neuron class (default ``None``: the paper's LIF neurons).
        **kwargs: the neurons' arguments.
    """
    return Spikformer(
        T, in_channels, img_size_h, img_size_w, 16, num_classes, 384, 12, 4.0, 6, spiking_neuron, **kwargs
    )


def spikformer_cifar10(
    T: int = 4, num_classes: int = 10, spiking_neuron: NeuronFactory | None = None, **kwargs: Any
) -> Spikformer:
    """The CIFAR-10 Spikformer: 32x32 RGB images, 4x4 patches, 384 channels, 12 heads, 4 blocks.

    Reset the model (``functional.reset_net``) between independent samples.

    Args:
        T: time steps a static image is repeated over (default 4).
        num_classes: outputs (default 10).
        spiking_neuron: the neuron class (default ``None``: the paper's LIF neurons).
        **kwargs: the neurons' arguments.
    """
    return Spikformer(T, 3, 32, 32, 4, num_classes, 384, 12, 4.0, 4, spiking_neuron, **kwargs)
