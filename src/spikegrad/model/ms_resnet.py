r"""MS-ResNet (membrane shortcut) and Max-ResNet: residual networks that add membrane potentials.

In a membrane-shortcut block the neurons come *before* each convolution, so the shortcut
carries real-valued membrane input past every neuron and the sum stays in membrane space:

.. math::
    U \leftarrow U + \mathrm{BN}(\mathrm{Conv}(\mathrm{SN}(\mathrm{BN}(\mathrm{Conv}(\mathrm{SN}(U))))))

A block that changes the shape has a 1x1 convolution with batch norm on the shortcut. The
network is a stem (conv-BN), three or four stages of such blocks, a last neuron, average
pooling and a linear head; the outputs of the ``T`` steps are averaged: ``[N, num_classes]``.

* MS-ResNet: LIF neurons ``tau=4/3``, ``v_threshold=0.5``, ``decay_input=False``,
  ``detach_reset=True``, ``surrogate.Rect(alpha=2.0)``; batch norm weights start at 0.5 and
  the last one of each branch at 0. Hu et al., *Advancing spiking neural networks towards
  deep residual learning*, IEEE TNNLS 2024 (https://arxiv.org/abs/2112.08954).
* Max-ResNet: the transition blocks down-sample by 3x3 max-pooling (stride 2) between their
  two convolutions instead of a strided convolution; LIF neurons ``tau=2``,
  ``detach_reset=True``; unit batch norm weights. *Spiking neural networks need high frequency
  information* (https://arxiv.org/abs/2505.18608).

Neurons: ``spiking_neuron=None`` (default) builds the paper's LIF neurons with ``**kwargs``
overriding their parameters; a neuron class is built with ``**kwargs`` alone. The model is
multi-step only (``step_mode='m'``); ``functional.set_step_mode`` leaves it so.

Example:
    >>> import torch
    >>> from spikegrad import functional
    >>> from spikegrad.model import ms_resnet
    >>> net = ms_resnet.MSResNet(T=2, num_classes=10, layers=(1, 1, 1), base_channels=8)
    >>> net(torch.rand(2, 3, 32, 32)).shape  # an image, repeated over T steps; outputs averaged
    torch.Size([2, 10])
    >>> functional.reset_net(net)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import Tensor, nn

from .. import layer, surrogate
from ..layer.attention import make_multi_step_neuron
from ._common import MultiStepModel, NeuronFactory, check_positive_int, image_sequence

__all__ = ["MSResNet", "MaxResNet", "max_resnet18", "ms_resnet18", "ms_resnet34"]


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> layer.Conv2d:
    return layer.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False, step_mode="m")


def _conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> layer.Conv2d:
    return layer.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False, step_mode="m")


def _batch_norm(channels: int, weight: float) -> layer.BatchNorm2d:
    bn = layer.BatchNorm2d(channels, step_mode="m")
    nn.init.constant_(bn.weight, weight)
    return bn


class _MSBlock(MultiStepModel, nn.Module):
    """The membrane-shortcut block: ``shortcut(U) + BN(Conv(SN(BN(Conv(SN(U))))))``."""

    tau: ClassVar[float] = 4.0 / 3.0
    bn_weight: ClassVar[float] = 0.5
    zero_init: ClassVar[bool] = True

    @classmethod
    def _make_lif(cls, spiking_neuron: NeuronFactory | None, kwargs: dict[str, Any]) -> nn.Module:
        defaults = {
            "tau": cls.tau,
            "v_threshold": 0.5,
            "detach_reset": True,
            "decay_input": False,
            "surrogate_function": surrogate.Rect(alpha=2.0),
        }
        return make_multi_step_neuron(spiking_neuron, kwargs, defaults)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        downsample: nn.Module | None,
        spiking_neuron: NeuronFactory | None,
        neuron_kwargs: dict[str, Any],
    ) -> None:
        super().__init__()
        self.spike1 = self._make_lif(spiking_neuron, neuron_kwargs)
        self.conv1 = _conv3x3(in_channels, out_channels, stride)
        self.bn1 = _batch_norm(out_channels, self.bn_weight)
        self.spike2 = self._make_lif(spiking_neuron, neuron_kwargs)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.bn2 = _batch_norm(out_channels, 0.0 if self.zero_init else self.bn_weight)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn1(self.conv1(self.spike1(x)))
        return self.bn2(self.conv2(self.spike2(out))) + identity  # type: ignore[no-any-return]


class _MaxResNetBlock(_MSBlock):
    """Max-ResNet's block: the membrane-shortcut block with its LIF neurons and unit batch norms."""

    tau: ClassVar[float] = 2.0
    bn_weight: ClassVar[float] = 1.0
    zero_init: ClassVar[bool] = False

    @classmethod
    def _make_lif(cls, spiking_neuron: NeuronFactory | None, kwargs: dict[str, Any]) -> nn.Module:
        return make_multi_step_neuron(spiking_neuron, kwargs, {"tau": cls.tau, "detach_reset": True})


class _MaxResNetMaxBlock(_MaxResNetBlock):
    """Max-ResNet's transition block: 3x3 max-pooling (the stride) between the two convolutions."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        downsample: nn.Module | None,
        spiking_neuron: NeuronFactory | None,
        neuron_kwargs: dict[str, Any],
    ) -> None:
        super().__init__(in_channels, out_channels, 1, downsample, spiking_neuron, neuron_kwargs)
        self.max_pool = layer.MaxPool2d(kernel_size=3, stride=stride, padding=1, step_mode="m")

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.max_pool(self.bn1(self.conv1(self.spike1(x))))
        return self.bn2(self.conv2(self.spike2(out))) + identity  # type: ignore[no-any-return]


class MSResNet(MultiStepModel, nn.Module):
    """MS-ResNet (see the module docstring): stem, 3 or 4 stages of membrane-shortcut blocks, head.

    Args:
        T: time steps a static image is repeated over (default 6).
        in_channels: image channels (default 3).
        num_classes: outputs (default 1000).
        layers: blocks per stage, three or four numbers (default ``(2, 2, 2, 2)``).
        base_channels: the stem's output channels (default 64).
        stem_kernel_size: the stem convolution's kernel size (default 7; padding ``k // 2``).
        stem_stride: the stem convolution's stride (default 2).
        stem_pool: 3x3 max-pooling (stride 2) after the stem (default False).
        stage_channels: channels of each stage (default ``None``: ``base_channels`` doubled
            at every stage).
        spiking_neuron: the neuron class (default ``None``: the paper's LIF neurons).
        **kwargs: the neurons' arguments.

    Shape:
        ``[N, in_channels, H, W]`` (repeated over ``T`` steps) or ``[T', N, in_channels, H, W]``
        to ``[N, num_classes]`` (the mean over the steps).

    Raises:
        ValueError: ``layers`` without 3 or 4 entries; ``stage_channels`` of another length; a
            bad ``T``; an input that is neither 4- nor 5-dimensional.
    """

    _block_type: ClassVar[type[_MSBlock]] = _MSBlock
    _transition_block_type: ClassVar[type[_MSBlock]] = _MSBlock
    _first_stage_stride: ClassVar[int] = 2
    _bn_weight: ClassVar[float] = 0.5

    def __init__(
        self,
        T: int = 6,
        in_channels: int = 3,
        num_classes: int = 1000,
        layers: Sequence[int] = (2, 2, 2, 2),
        base_channels: int = 64,
        stem_kernel_size: int = 7,
        stem_stride: int = 2,
        stem_pool: bool = False,
        stage_channels: Sequence[int] | None = None,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if len(layers) not in (3, 4):
            raise ValueError(f"{owner}: layers must give the blocks of 3 or 4 stages, got {layers!r}")
        if stage_channels is None:
            stage_channels = tuple(base_channels * 2**i for i in range(len(layers)))
        if len(stage_channels) != len(layers):
            raise ValueError(
                f"{owner}: stage_channels {stage_channels!r} must have one entry per stage of "
                f"layers {layers!r}"
            )
        self.T = check_positive_int(owner, "T", T)
        self.inplanes = base_channels
        stem_conv = layer.Conv2d(
            in_channels,
            base_channels,
            stem_kernel_size,
            stride=stem_stride,
            padding=stem_kernel_size // 2,
            bias=False,
            step_mode="m",
        )
        self.stem = nn.Sequential(stem_conv, _batch_norm(base_channels, self._bn_weight))
        if stem_pool:
            self.stem.append(layer.MaxPool2d(3, stride=2, padding=1, step_mode="m"))
        neurons = (spiking_neuron, kwargs)
        self.layer1 = self._make_layer(stage_channels[0], layers[0], self._first_stage_stride, *neurons)
        self.layer2 = self._make_layer(stage_channels[1], layers[1], 2, *neurons)
        self.layer3 = self._make_layer(stage_channels[2], layers[2], 2, *neurons)
        four_stages = len(layers) == 4
        self.layer4 = self._make_layer(stage_channels[3], layers[3], 2, *neurons) if four_stages else None
        self.head_lif = self._block_type._make_lif(spiking_neuron, kwargs)
        self.avgpool = layer.AdaptiveAvgPool2d((1, 1), step_mode="m")
        self.head = layer.Linear(stage_channels[-1], num_classes, step_mode="m")

    def _make_layer(
        self,
        out_channels: int,
        blocks: int,
        stride: int,
        spiking_neuron: NeuronFactory | None,
        neuron_kwargs: dict[str, Any],
    ) -> nn.Sequential:
        """One stage: a transition block (stride, shortcut projection), then ``blocks - 1`` blocks."""
        downsample = None
        if stride != 1 or self.inplanes != out_channels:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, out_channels, stride), _batch_norm(out_channels, self._bn_weight)
            )
        first_type = self._transition_block_type if stride != 1 else self._block_type
        first = first_type(self.inplanes, out_channels, stride, downsample, spiking_neuron, neuron_kwargs)
        self.inplanes = out_channels
        rest = [
            self._block_type(out_channels, out_channels, 1, None, spiking_neuron, neuron_kwargs)
            for _ in range(1, blocks)
        ]
        return nn.Sequential(first, *rest)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(image_sequence(type(self).__name__, x, self.T))
        x = self.layer3(self.layer2(self.layer1(x)))
        if self.layer4 is not None:
            x = self.layer4(x)
        x = self.avgpool(self.head_lif(x)).flatten(2)
        return self.head(x).mean(0)  # type: ignore[no-any-return]


class MaxResNet(MSResNet):
    """Max-ResNet: :class:`MSResNet` with max-pooling transitions, LIF ``tau=2``, unit batch norms.

    The first stage keeps the stem's resolution (stride 1). Arguments, shapes and errors as
    :class:`MSResNet`.
    """

    _block_type = _MaxResNetBlock
    _transition_block_type = _MaxResNetMaxBlock
    _first_stage_stride = 1
    _bn_weight = 1.0


def ms_resnet18(
    T: int = 6,
    in_channels: int = 3,
    num_classes: int = 1000,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> MSResNet:
    """MS-ResNet-18: stages of 64, 128, 256, 512 channels with 2 blocks each, 7x7 stride-2 stem.

    Args:
        T: time steps a static image is repeated over (default 6).
        in_channels: image channels (default 3).
        num_classes: outputs (default 1000).
        spiking_neuron: the neuron class (default ``None``: the paper's LIF neurons).
        **kwargs: the neurons' arguments.
    """
    return MSResNet(T, in_channels, num_classes, spiking_neuron=spiking_neuron, **kwargs)


def ms_resnet34(
    T: int = 6,
    in_channels: int = 3,
    num_classes: int = 1000,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> MSResNet:
    """MS-ResNet-34: stages of 64, 128, 256, 512 channels with 3, 4, 6, 3 blocks, 7x7 stride-2 stem.

    Args:
        T: time steps a static image is repeated over (default 6).
        in_channels: image channels (default 3).
        num_classes: outputs (default 1000).
        spiking_neuron: the neuron class (default ``None``: the paper's LIF neurons).
        **kwargs: the neurons' arguments.
    """
    return MSResNet(T, in_channels, num_classes, (3, 4, 6, 3), spiking_neuron=spiking_neuron, **kwargs)


def max_resnet18(
    T: int = 4,
    in_channels: int = 3,
    num_classes: int = 10,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> MaxResNet:
    """Max-ResNet-18 for CIFAR: 3x3 stride-1 stem, stages of 128, 256, 512 channels with 3, 3, 2 blocks.

    Args:
        T: time steps a static image is repeated over (default 4).
        in_channels: image channels (default 3).
        num_classes: outputs (default 10).
        spiking_neuron: the neuron class (default ``None``: the paper's LIF neurons).
        **kwargs: the neurons' arguments.
    """
    return MaxResNet(
        T,
        in_channels,
        num_classes,
        layers=(3, 3, 2),
        stage_channels=(128, 256, 512),
        stem_kernel_size=3,
        stem_stride=1,
        stem_pool=False,
        spiking_neuron=spiking_neuron,
        **kwargs,
    )
