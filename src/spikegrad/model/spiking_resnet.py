r"""Spiking ResNet: torchvision's ResNet with every ReLU replaced by a spiking neuron.

A block adds the shortcut to the residual branch's membrane input, then spikes:

.. math::
    O = \mathrm{SN}\big(F(S) + \mathrm{shortcut}(S)\big)

where ``F`` is conv-BN-SN-conv-BN (basic block) or conv-BN-SN-conv-BN-SN-conv-BN
(bottleneck) and the shortcut is the identity or a 1x1 convolution with batch norm. Deep
plain Spiking ResNets are hard to train (the identity mapping is lost after the neuron);
:mod:`~spikegrad.model.sew_resnet` joins after the neuron instead.

He et al., *Deep residual learning for image recognition*, CVPR 2016
(https://arxiv.org/abs/1512.03385); the spiking form as compared in Fang et al., *Deep residual
learning in spiking neural networks*, NeurIPS 2021 (https://arxiv.org/abs/2102.04159).

Every constructor takes ``spiking_neuron`` (a neuron class, required) and passes ``**kwargs``
to the neuron, apart from the keyword arguments of :class:`SpikingResNet` (``num_classes``,
``zero_init_residual``, ``groups``, ``width_per_group``, ``replace_stride_with_dilation``,
``norm_layer``). The network is built in single-step mode; ``functional.set_step_mode(net,
'm')`` makes it take sequences ``[T, N, 3, H, W]`` and return ``[T, N, num_classes]``.

Example:
    >>> import torch
    >>> from spikegrad import functional, neuron
    >>> from spikegrad.model import spiking_resnet
    >>> net = spiking_resnet.spiking_resnet18(spiking_neuron=neuron.IFNode, num_classes=10)
    >>> functional.set_step_mode(net, "m")
    >>> net(torch.rand(2, 1, 3, 16, 16)).shape  # [T, N, classes]
    torch.Size([2, 1, 10])
    >>> functional.reset_net(net)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from ._common import NeuronFactory, documented, refuse_download
from ._resnet import (
    ARCHITECTURES,
    BasicBlockBase,
    BottleneckBase,
    NormLayer,
    ResNetBase,
    conv1x1,
    conv3x3,
    describe,
)
from ._resnet import model_urls as model_urls

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "SpikingResNet",
    "conv1x1",
    "conv3x3",
    "spiking_resnet18",
    "spiking_resnet34",
    "spiking_resnet50",
    "spiking_resnet101",
    "spiking_resnet152",
    "spiking_resnext50_32x4d",
    "spiking_resnext101_32x8d",
    "spiking_wide_resnet50_2",
    "spiking_wide_resnet101_2",
]


class BasicBlock(BasicBlockBase):
    """Two 3x3 conv-BN layers; the shortcut joins before the last neuron: ``sn2(F(x) + shortcut(x))``.

    Args:
        inplanes: input channels.
        planes: output channels.
        stride: of the first convolution (default 1).
        downsample: the shortcut's layers when the shape changes (default ``None``: identity).
        groups, base_width: must be 1 and 64.
        dilation: must be 1.
        norm_layer: normalisation class taking the channels (default ``layer.BatchNorm2d``).
        spiking_neuron: the neuron class (required).
        **kwargs: the neuron's arguments.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
        ValueError: ``groups != 1`` or ``base_width != 64``.
        NotImplementedError: ``dilation > 1``.
    """

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: NormLayer | None = None,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            inplanes,
            planes,
            stride,
            downsample,
            groups,
            base_width,
            dilation,
            norm_layer,
            spiking_neuron,
            kwargs,
        )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.sn2(self.residual(x) + identity)  # type: ignore[no-any-return]


class Bottleneck(BottleneckBase):
    """1x1, 3x3, 1x1 conv-BN layers (4x expansion); the shortcut joins before the last neuron.

    ``sn3(F(x) + shortcut(x))``. The 3x3 convolution has the stride (ResNet V1.5).

    Args:
        inplanes: input channels.
        planes: the bottleneck's channels; the output has ``4 * planes``.
        stride: of the 3x3 convolution (default 1).
        downsample: the shortcut's layers when the shape changes (default ``None``: identity).
        groups: groups of the 3x3 convolution (default 1; ResNeXt: 32).
        base_width: channels per group at ``planes = 64`` (default 64).
        dilation: of the 3x3 convolution (default 1).
        norm_layer: normalisation class taking the channels (default ``layer.BatchNorm2d``).
        spiking_neuron: the neuron class (required).
        **kwargs: the neuron's arguments.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
    """

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: NormLayer | None = None,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            inplanes,
            planes,
            stride,
            downsample,
            groups,
            base_width,
            dilation,
            norm_layer,
            spiking_neuron,
            kwargs,
        )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.sn3(self.residual(x) + identity)  # type: ignore[no-any-return]


class SpikingResNet(ResNetBase):
    """Spiking ResNet (see the module docstring): stem, four stages of ``block``, classifier.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck` (or a class with their signature).
        layers: blocks per stage, four numbers.
        num_classes: outputs of the classifier (default 1000).
        zero_init_residual: start each block as the identity by zeroing the last batch
            norm's weight of its residual branch (default False).
        groups: groups of the bottlenecks' 3x3 convolutions (default 1).
        width_per_group: channels per group at the first stage (default 64).
        replace_stride_with_dilation: three booleans: replace the stride of stages 2 to 4 by
            a dilation (default ``None``: no).
        norm_layer: normalisation class taking the channels (default ``layer.BatchNorm2d``).
        spiking_neuron: the neuron class (required), e.g. ``neuron.IFNode``.
        **kwargs: the neurons' arguments (a deep copy for each neuron).

    Shape:
        ``'s'``: ``[N, 3, H, W]`` to ``[N, num_classes]``; ``'m'``: ``[T, N, 3, H, W]`` to
        ``[T, N, num_classes]``.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
        ValueError: ``layers`` without 4 entries, ``replace_stride_with_dilation`` without 3,
            and the blocks' errors.
    """

    def __init__(
        self,
        block: type[nn.Module],
        layers: Sequence[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation: Sequence[bool] | None = None,
        norm_layer: NormLayer | None = None,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            block,
            layers,
            num_classes,
            zero_init_residual,
            groups,
            width_per_group,
            replace_stride_with_dilation,
            norm_layer,
            spiking_neuron,
            {},
            kwargs,
        )


def _spiking_resnet(
    arch: str, pretrained: bool, spiking_neuron: NeuronFactory | None, kwargs: dict[str, Any]
) -> SpikingResNet:
    if pretrained:
        refuse_download(f"spiking_{arch}", model_urls[arch])
    kind, layers, fixed = ARCHITECTURES[arch]
    block = BasicBlock if kind == "basic" else Bottleneck
    return SpikingResNet(block, layers, spiking_neuron=spiking_neuron, **{**kwargs, **fixed})


_DETAILS = """
    Args:
        pretrained: must be False: nothing is downloaded (the error says where torchvision's
            ImageNet weights are; load a local copy with ``model.load_state_dict``).
        progress: accepted for SpikingJelly's signature; no effect.
        spiking_neuron: the neuron class (required), e.g. ``neuron.IFNode``.
        **kwargs: :class:`SpikingResNet`'s keyword arguments (``num_classes`` ...) and the
            neurons' arguments.

    Returns:
        The network, in single-step mode.

    Raises:
        ValueError: ``pretrained=True``.
        TypeError: ``spiking_neuron`` is not callable.
"""


@documented(f"Spiking ResNet-18: {describe('resnet18')}.", _DETAILS)
def spiking_resnet18(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingResNet:
    return _spiking_resnet("resnet18", pretrained, spiking_neuron, kwargs)


@documented(f"Spiking ResNet-34: {describe('resnet34')}.", _DETAILS)
def spiking_resnet34(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingResNet:
    return _spiking_resnet("resnet34", pretrained, spiking_neuron, kwargs)


@documented(f"Spiking ResNet-50: {describe('resnet50')}.", _DETAILS)
def spiking_resnet50(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingResNet:
    return _spiking_resnet("resnet50", pretrained, spiking_neuron, kwargs)


@documented(f"Spiking ResNet-101: {describe('resnet101')}.", _DETAILS)
def spiking_resnet101(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingResNet:
    return _spiking_resnet("resnet101", pretrained, spiking_neuron, kwargs)


@documented(f"Spiking ResNet-152: {describe('resnet152')}.", _DETAILS)
def spiking_resnet152(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingResNet:
    return _spiking_resnet("resnet152", pretrained, spiking_neuron, kwargs)


@documented(f"Spiking ResNeXt-50 32x4d: {describe('resnext50_32x4d')}.", _DETAILS)
def spiking_resnext50_32x4d(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingResNet:
    return _spiking_resnet("resnext50_32x4d", pretrained, spiking_neuron, kwargs)


@documented(f"Spiking ResNeXt-101 32x8d: {describe('resnext101_32x8d')}.", _DETAILS)
def spiking_resnext101_32x8d(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingResNet:
    return _spiking_resnet("resnext101_32x8d", pretrained, spiking_neuron, kwargs)


@documented(f"Spiking Wide ResNet-50-2: {describe('wide_resnet50_2')}.", _DETAILS)
def spiking_wide_resnet50_2(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingResNet:
    return _spiking_resnet("wide_resnet50_2", pretrained, spiking_neuron, kwargs)


@documented(f"Spiking Wide ResNet-101-2: {describe('wide_resnet101_2')}.", _DETAILS)
def spiking_wide_resnet101_2(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingResNet:
    return _spiking_resnet("wide_resnet101_2", pretrained, spiking_neuron, kwargs)
