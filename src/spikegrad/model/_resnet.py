"""The ResNet skeleton shared by Spiking ResNet and SEW ResNet.

torchvision's ResNet (V1.5: the stride of a bottleneck is in its 3x3 convolution) with every
ReLU replaced by a spiking neuron, built from spikegrad's step-mode aware layers so that the
network runs in either step mode (``functional.set_step_mode(net, 'm')`` for ``[T, N, ...]``).
The two families differ only in their blocks: where the shortcut joins the residual branch.

Layout (``state_dict`` keys as torchvision's ResNet, plus the neurons' parameters if any)::

    conv1 (7x7, stride 2) - bn1 - sn1 - maxpool (3x3, stride 2)
    layer1 (64) - layer2 (128, stride 2) - layer3 (256, stride 2) - layer4 (512, stride 2)
    avgpool (to 1x1) - flatten - fc
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from torch import Tensor, nn

from .. import layer
from ._common import NeuronFactory, check_spiking_neuron, flatten_features, new_neuron

NormLayer = Callable[[int], nn.Module]


def conv3x3(
    in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1
) -> layer.Conv2d:
    """A 3x3 convolution without bias, padded by ``dilation`` to keep the size at stride 1.

    Args:
        in_planes: input channels.
        out_planes: output channels.
        stride: stride (default 1).
        groups: groups (default 1).
        dilation: dilation and padding (default 1).
    """
    return layer.Conv2d(
        in_planes,
        out_planes,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> layer.Conv2d:
    """A 1x1 convolution without bias.

    Args:
        in_planes: input channels.
        out_planes: output channels.
        stride: stride (default 1).
    """
    return layer.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlockBase(nn.Module):
    """Two 3x3 convolutions with batch norm and a neuron after the first; the join is the subclass's.

    ``residual(x) = bn2(conv2(sn1(bn1(conv1(x)))))``; ``sn2`` is applied by the subclass.

    Raises:
        ValueError: ``groups != 1`` or ``base_width != 64`` (use :class:`BottleneckBase`).
        NotImplementedError: ``dilation > 1``.
    """

    expansion: ClassVar[int] = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        downsample: nn.Module | None,
        groups: int,
        base_width: int,
        dilation: int,
        norm_layer: NormLayer | None,
        spiking_neuron: NeuronFactory | None,
        kwargs: dict[str, Any],
    ) -> None:
        super().__init__()
        spiking_neuron = check_spiking_neuron(type(self).__name__, spiking_neuron)
        norm_layer = layer.BatchNorm2d if norm_layer is None else norm_layer
        if groups != 1 or base_width != 64:
            raise ValueError(
                f"{type(self).__name__} only supports groups=1 and base_width=64, got groups={groups}, "
                f"base_width={base_width} (the Bottleneck block supports both)"
            )
        if dilation > 1:
            raise NotImplementedError(f"{type(self).__name__} does not support dilation > 1, got {dilation}")
        # conv1 and downsample both reduce the size when stride != 1
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.sn1 = new_neuron(spiking_neuron, kwargs)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.sn2 = new_neuron(spiking_neuron, kwargs)
        self.downsample = downsample
        self.stride = stride

    def residual(self, x: Tensor) -> Tensor:
        """The residual branch up to (not including) its last neuron ``sn2``."""
        return self.bn2(self.conv2(self.sn1(self.bn1(self.conv1(x)))))  # type: ignore[no-any-return]


class BottleneckBase(nn.Module):
    """1x1 (reduce), 3x3 (stride, groups), 1x1 (expand by 4) convolutions with batch norm.

    ``residual(x) = bn3(conv3(sn2(bn2(conv2(sn1(bn1(conv1(x))))))))``; ``sn3`` is applied by the
    subclass. The inner width is ``int(planes * base_width / 64) * groups``.
    """

    expansion: ClassVar[int] = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        downsample: nn.Module | None,
        groups: int,
        base_width: int,
        dilation: int,
        norm_layer: NormLayer | None,
        spiking_neuron: NeuronFactory | None,
        kwargs: dict[str, Any],
    ) -> None:
        super().__init__()
        spiking_neuron = check_spiking_neuron(type(self).__name__, spiking_neuron)
        norm_layer = layer.BatchNorm2d if norm_layer is None else norm_layer
        width = int(planes * (base_width / 64.0)) * groups
        # conv2 and downsample both reduce the size when stride != 1 (ResNet V1.5)
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.sn1 = new_neuron(spiking_neuron, kwargs)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.sn2 = new_neuron(spiking_neuron, kwargs)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.sn3 = new_neuron(spiking_neuron, kwargs)
        self.downsample = downsample
        self.stride = stride

    def residual(self, x: Tensor) -> Tensor:
        """The residual branch up to (not including) its last neuron ``sn3``."""
        out = self.sn1(self.bn1(self.conv1(x)))
        out = self.sn2(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))  # type: ignore[no-any-return]


class ResNetBase(nn.Module):
    """The ResNet stem, four stages of ``block`` and the classifier (see the module docstring).

    Subclasses pass the arguments their blocks take besides the shared ones in
    ``block_kwargs`` (SEW's ``cnf``).

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
        ValueError: ``replace_stride_with_dilation`` does not have 3 entries; ``layers`` does
            not have 4.
    """

    def __init__(
        self,
        block: type[nn.Module],
        layers: Sequence[int],
        num_classes: int,
        zero_init_residual: bool,
        groups: int,
        width_per_group: int,
        replace_stride_with_dilation: Sequence[bool] | None,
        norm_layer: NormLayer | None,
        spiking_neuron: NeuronFactory | None,
        block_kwargs: dict[str, Any],
        neuron_kwargs: dict[str, Any],
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        spiking_neuron = check_spiking_neuron(owner, spiking_neuron)
        if len(layers) != 4:
            raise ValueError(f"{owner}: layers must give the number of blocks of 4 stages, got {layers!r}")
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(
                f"{owner}: replace_stride_with_dilation must be None or 3 booleans (stages 2 to 4), "
                f"got {replace_stride_with_dilation!r}"
            )
        norm_layer = layer.BatchNorm2d if norm_layer is None else norm_layer
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = layer.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.sn1 = new_neuron(spiking_neuron, neuron_kwargs)
        self.maxpool = layer.MaxPool2d(kernel_size=3, stride=2, padding=1)
        stage = {"spiking_neuron": spiking_neuron, **block_kwargs, **neuron_kwargs}
        self.layer1 = self._make_layer(block, 64, layers[0], **stage)
        self.layer2 = self._make_layer(block, 128, layers[1], 2, replace_stride_with_dilation[0], **stage)
        self.layer3 = self._make_layer(block, 256, layers[2], 2, replace_stride_with_dilation[1], **stage)
        self.layer4 = self._make_layer(block, 512, layers[3], 2, replace_stride_with_dilation[2], **stage)
        self.avgpool = layer.AdaptiveAvgPool2d((1, 1))
        self.fc = layer.Linear(512 * block.expansion, num_classes)  # type: ignore[attr-defined]
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        """Kaiming-normal convolutions (fan-out), unit norm layers; optionally each last BN at zero.

        Zeroing the last batch norm of every residual branch makes each block start as the
        identity (Goyal et al., 2017, https://arxiv.org/abs/1706.02677).
        """
        for m in self.modules():
            if isinstance(m, layer.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (layer.BatchNorm2d, layer.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BottleneckBase):
                    nn.init.constant_(m.bn3.weight, 0)  # type: ignore[arg-type]
                elif isinstance(m, BasicBlockBase):
                    nn.init.constant_(m.bn2.weight, 0)  # type: ignore[arg-type]

    def _make_layer(
        self,
        block: type[nn.Module],
        planes: int,
        blocks: int,
        stride: int = 1,
        dilate: bool = False,
        **block_arguments: Any,
    ) -> nn.Sequential:
        """One stage: ``blocks`` blocks of width ``planes``, the first one with the stride."""
        norm_layer = self._norm_layer
        expansion: int = block.expansion  # type: ignore[attr-defined]
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * expansion, stride), norm_layer(planes * expansion)
            )
        first = block(
            self.inplanes,
            planes,
            stride,
            downsample,
            self.groups,
            self.base_width,
            previous_dilation,
            norm_layer,
            **block_arguments,
        )
        self.inplanes = planes * expansion
        rest = [
            block(
                self.inplanes,
                planes,
                groups=self.groups,
                base_width=self.base_width,
                dilation=self.dilation,
                norm_layer=norm_layer,
                **block_arguments,
            )
            for _ in range(1, blocks)
        ]
        return nn.Sequential(first, *rest)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.sn1(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = flatten_features(self.avgpool(x), self.avgpool.step_mode)
        return self.fc(x)  # type: ignore[no-any-return]


#: torchvision's ImageNet weights of the ANN ResNets, which SpikingJelly's ``pretrained=True`` loads.
model_urls = {
    "resnet18": "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "resnet34": "https://download.pytorch.org/models/resnet34-b627a593.pth",
    "resnet50": "https://download.pytorch.org/models/resnet50-0676ba61.pth",
    "resnet101": "https://download.pytorch.org/models/resnet101-63fe2227.pth",
    "resnet152": "https://download.pytorch.org/models/resnet152-394f9c45.pth",
    "resnext50_32x4d": "https://download.pytorch.org/models/resnext50_32x4d-7cdf4587.pth",
    "resnext101_32x8d": "https://download.pytorch.org/models/resnext101_32x8d-8ba56ff5.pth",
    "wide_resnet50_2": "https://download.pytorch.org/models/wide_resnet50_2-95faca4d.pth",
    "wide_resnet101_2": "https://download.pytorch.org/models/wide_resnet101_2-32ee1156.pth",
}

#: Each architecture: (block kind, blocks per stage, fixed constructor arguments).
ARCHITECTURES: dict[str, tuple[str, list[int], dict[str, int]]] = {
    "resnet18": ("basic", [2, 2, 2, 2], {}),
    "resnet34": ("basic", [3, 4, 6, 3], {}),
    "resnet50": ("bottleneck", [3, 4, 6, 3], {}),
    "resnet101": ("bottleneck", [3, 4, 23, 3], {}),
    "resnet152": ("bottleneck", [3, 8, 36, 3], {}),
    "resnext50_32x4d": ("bottleneck", [3, 4, 6, 3], {"groups": 32, "width_per_group": 4}),
    "resnext101_32x8d": ("bottleneck", [3, 4, 23, 3], {"groups": 32, "width_per_group": 8}),
    "wide_resnet50_2": ("bottleneck", [3, 4, 6, 3], {"width_per_group": 128}),
    "wide_resnet101_2": ("bottleneck", [3, 4, 23, 3], {"width_per_group": 128}),
}


def describe(arch: str) -> str:
    """The architecture in words, from :data:`ARCHITECTURES` (for the constructors' docstrings)."""
    kind, layers, fixed = ARCHITECTURES[arch]
    text = f"{kind} blocks, {'-'.join(map(str, layers))} per stage"
    if "groups" in fixed:
        return f"{text}, {fixed['groups']} groups of width {fixed['width_per_group']} (ResNeXt)"
    if "width_per_group" in fixed:
        return f"{text}, bottlenecks twice as wide (Wide ResNet)"
    return text
