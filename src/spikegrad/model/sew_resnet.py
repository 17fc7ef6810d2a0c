r"""SEW ResNet: spike-element-wise residual blocks that keep the identity mapping.

The shortcut joins *after* the residual branch's last neuron, by an element-wise function
``g`` of two spike tensors (the connect function, ``cnf``):

.. math::
    O = g\big(\mathrm{SN}(F(S)),\ \mathrm{shortcut}(S)\big), \qquad
    g \in \{\mathrm{ADD}: A + B,\ \mathrm{AND}: A B,\ \mathrm{IAND}: A (1 - B)\}

A shortcut that changes the shape is a 1x1 convolution with batch norm followed by its own
neuron (``downsample_sn``). With ``ADD`` and a branch that learns to stay silent, a block is
exactly the identity, so deep SEW ResNets train as ANN ResNets do. As in SpikingJelly, the
basic block calls ``g(shortcut, branch)`` and the bottleneck ``g(branch, shortcut)``: the
two agree for ``ADD`` and ``AND``; for ``IAND`` the basic block computes
``shortcut * (1 - branch)`` (the paper's form) and the bottleneck ``branch * (1 - shortcut)``.

Fang et al., *Deep residual learning in spiking neural networks*, NeurIPS 2021
(https://arxiv.org/abs/2102.04159).

Every constructor takes ``cnf`` (required: ``'ADD'``, ``'AND'`` or ``'IAND'``) and
``spiking_neuron`` (a neuron class, required), and passes ``**kwargs`` to the neuron apart
from the keyword arguments of :class:`SEWResNet`. Built in single-step mode;
``functional.set_step_mode(net, 'm')`` makes it take ``[T, N, 3, H, W]``.

Example:
    >>> import torch
    >>> from spikegrad import functional, neuron, surrogate
    >>> from spikegrad.model import sew_resnet
    >>> net = sew_resnet.sew_resnet18(
    ...     cnf="ADD", spiking_neuron=neuron.LIFNode, surrogate_function=surrogate.ATan(), num_classes=10
    ... )
    >>> functional.set_step_mode(net, "m")
    >>> net(torch.rand(2, 1, 3, 16, 16)).shape  # [T, N, classes]
    torch.Size([2, 1, 10])
    >>> functional.reset_net(net)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from ._common import NeuronFactory, documented, new_neuron, refuse_download
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
    "SEWResNet",
    "conv1x1",
    "conv3x3",
    "sew_function",
    "sew_resnet18",
    "sew_resnet34",
    "sew_resnet50",
    "sew_resnet101",
    "sew_resnet152",
    "sew_resnext50_32x4d",
    "sew_resnext101_32x8d",
    "sew_wide_resnet50_2",
    "sew_wide_resnet101_2",
]

#: The connect functions ``g(x, y)``.
CONNECT_FUNCTIONS = ("ADD", "AND", "IAND")


def check_cnf(owner: str, cnf: object) -> str:
    """Return ``cnf`` if it names a connect function, else raise ``ValueError``."""
    if cnf not in CONNECT_FUNCTIONS:
        raise ValueError(
            f"{owner}: cnf must be 'ADD' (x + y), 'AND' (x * y) or 'IAND' (x * (1 - y)), got {cnf!r}"
        )
    return cnf  # type: ignore[return-value]


def sew_function(x: Tensor, y: Tensor, cnf: str) -> Tensor:
    """The spike-element-wise connect function ``g(x, y)``.

    Args:
        x, y: tensors of the same shape (spikes).
        cnf: ``'ADD'`` (``x + y``), ``'AND'`` (``x * y``) or ``'IAND'`` (``x * (1 - y)``).

    Raises:
        ValueError: an unknown ``cnf``.

    Example:
        >>> import torch
        >>> x, y = torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([0.0, 1.0, 0.0, 1.0])
        >>> [sew_function(x, y, cnf).tolist() for cnf in ("ADD", "AND", "IAND")]
        [[0.0, 1.0, 1.0, 2.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]]
    """
    cnf = check_cnf("sew_function", cnf)
    if cnf == "ADD":
        return x + y
    if cnf == "AND":
        return x * y
    return x * (1.0 - y)


class BasicBlock(BasicBlockBase):
    """Two 3x3 conv-BN-SN layers joined to the shortcut by ``g(shortcut, branch)``.

    Args:
        inplanes: input channels.
        planes: output channels.
        stride: of the first convolution (default 1).
        downsample: the shortcut's layers when the shape changes (default ``None``:
            identity); a neuron ``downsample_sn`` follows them.
        groups, base_width: must be 1 and 64.
        dilation: must be 1.
        norm_layer: normalisation class taking the channels (default ``layer.BatchNorm2d``).
        cnf: the connect function, ``'ADD'``, ``'AND'`` or ``'IAND'`` (required).
        spiking_neuron: the neuron class (required).
        **kwargs: the neuron's arguments.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
        ValueError: an unknown ``cnf``; ``groups != 1`` or ``base_width != 64``.
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
        cnf: str | None = None,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        cnf = check_cnf(type(self).__name__, cnf)
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
        if downsample is not None:
            self.downsample_sn = new_neuron(spiking_neuron, kwargs)  # type: ignore[arg-type]
        self.cnf = cnf

    def forward(self, x: Tensor) -> Tensor:
        out = self.sn2(self.residual(x))
        identity = x if self.downsample is None else self.downsample_sn(self.downsample(x))
        return sew_function(identity, out, self.cnf)

    def extra_repr(self) -> str:
        return f"cnf={self.cnf!r}"


class Bottleneck(BottleneckBase):
    """1x1, 3x3, 1x1 conv-BN-SN layers (4x expansion) joined to the shortcut by ``g(branch, shortcut)``.

    Args:
        inplanes: input channels.
        planes: the bottleneck's channels; the output has ``4 * planes``.
        stride: of the 3x3 convolution (default 1).
        downsample: the shortcut's layers when the shape changes (default ``None``:
            identity); a neuron ``downsample_sn`` follows them.
        groups: groups of the 3x3 convolution (default 1; ResNeXt: 32).
        base_width: channels per group at ``planes = 64`` (default 64).
        dilation: of the 3x3 convolution (default 1).
        norm_layer: normalisation class taking the channels (default ``layer.BatchNorm2d``).
        cnf: the connect function, ``'ADD'``, ``'AND'`` or ``'IAND'`` (required).
        spiking_neuron: the neuron class (required).
        **kwargs: the neuron's arguments.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
        ValueError: an unknown ``cnf``.
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
        cnf: str | None = None,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        cnf = check_cnf(type(self).__name__, cnf)
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
        if downsample is not None:
            self.downsample_sn = new_neuron(spiking_neuron, kwargs)  # type: ignore[arg-type]
        self.cnf = cnf

    def forward(self, x: Tensor) -> Tensor:
        out = self.sn3(self.residual(x))
        identity = x if self.downsample is None else self.downsample_sn(self.downsample(x))
        return sew_function(out, identity, self.cnf)

    def extra_repr(self) -> str:
        return f"cnf={self.cnf!r}"


class SEWResNet(ResNetBase):
    """SEW ResNet (see the module docstring): stem, four stages of ``block``, classifier.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck` (or a class with their signature).
        layers: blocks per stage, four numbers.
        num_classes: outputs of the classifier (default 1000).
        zero_init_residual: zero the last batch norm's weight of each residual branch
            (default False).
        groups: groups of the bottlenecks' 3x3 convolutions (default 1).
        width_per_group: channels per group at the first stage (default 64).
        replace_stride_with_dilation: three booleans: replace the stride of stages 2 to 4 by
            a dilation (default ``None``: no).
        norm_layer: normalisation class taking the channels (default ``layer.BatchNorm2d``).
        cnf: the connect function, ``'ADD'``, ``'AND'`` or ``'IAND'`` (required).
        spiking_neuron: the neuron class (required), e.g. ``neuron.IFNode``.
        **kwargs: the neurons' arguments (a deep copy for each neuron).

    Shape:
        ``'s'``: ``[N, 3, H, W]`` to ``[N, num_classes]``; ``'m'``: ``[T, N, 3, H, W]`` to
        ``[T, N, num_classes]``.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
        ValueError: an unknown ``cnf``; ``layers`` without 4 entries,
            ``replace_stride_with_dilation`` without 3, and the blocks' errors.
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
        cnf: str | None = None,
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
            {"cnf": check_cnf(type(self).__name__, cnf)},
            kwargs,
        )


def _sew_resnet(
    arch: str, pretrained: bool, cnf: str | None, spiking_neuron: NeuronFactory | None, kwargs: dict[str, Any]
) -> SEWResNet:
    if pretrained:
        refuse_download(f"sew_{arch}", model_urls[arch])
    kind, layers, fixed = ARCHITECTURES[arch]
    block = BasicBlock if kind == "basic" else Bottleneck
    return SEWResNet(block, layers, cnf=cnf, spiking_neuron=spiking_neuron, **{**kwargs, **fixed})


_DETAILS = """
    Args:
        pretrained: must be False: nothing is downloaded (the error says where torchvision's
            ImageNet weights are; load a local copy with ``model.load_state_dict``).
        progress: accepted for SpikingJelly's signature; no effect.
        cnf: the connect function, ``'ADD'``, ``'AND'`` or ``'IAND'`` (required).
        spiking_neuron: the neuron class (required), e.g. ``neuron.IFNode``.
        **kwargs: :class:`SEWResNet`'s keyword arguments (``num_classes`` ...) and the
            neurons' arguments.

    Returns:
        The network, in single-step mode.

    Raises:
        ValueError: ``pretrained=True``; an unknown ``cnf``.
        TypeError: ``spiking_neuron`` is not callable.
"""


@documented(f"SEW ResNet-18: {describe('resnet18')}.", _DETAILS)
def sew_resnet18(
    pretrained: bool = False,
    progress: bool = True,
    cnf: str | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SEWResNet:
    return _sew_resnet("resnet18", pretrained, cnf, spiking_neuron, kwargs)


@documented(f"SEW ResNet-34: {describe('resnet34')}.", _DETAILS)
def sew_resnet34(
    pretrained: bool = False,
    progress: bool = True,
    cnf: str | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SEWResNet:
    return _sew_resnet("resnet34", pretrained, cnf, spiking_neuron, kwargs)


@documented(f"SEW ResNet-50: {describe('resnet50')}.", _DETAILS)
def sew_resnet50(
    pretrained: bool = False,
    progress: bool = True,
    cnf: str | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SEWResNet:
    return _sew_resnet("resnet50", pretrained, cnf, spiking_neuron, kwargs)


@documented(f"SEW ResNet-101: {describe('resnet101')}.", _DETAILS)
def sew_resnet101(
    pretrained: bool = False,
    progress: bool = True,
    cnf: str | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SEWResNet:
    return _sew_resnet("resnet101", pretrained, cnf, spiking_neuron, kwargs)


@documented(f"SEW ResNet-152: {describe('resnet152')}.", _DETAILS)
def sew_resnet152(
    pretrained: bool = False,
    progress: bool = True,
    cnf: str | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SEWResNet:
    return _sew_resnet("resnet152", pretrained, cnf, spiking_neuron, kwargs)


@documented(f"SEW ResNeXt-50 32x4d: {describe('resnext50_32x4d')}.", _DETAILS)
def sew_resnext50_32x4d(
    pretrained: bool = False,
    progress: bool = True,
    cnf: str | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SEWResNet:
    return _sew_resnet("resnext50_32x4d", pretrained, cnf, spiking_neuron, kwargs)


@documented(f"SEW ResNeXt-101 32x8d: {describe('resnext101_32x8d')}.", _DETAILS)
def sew_resnext101_32x8d(
    pretrained: bool = False,
    progress: bool = True,
    cnf: str | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SEWResNet:
    return _sew_resnet("resnext101_32x8d", pretrained, cnf, spiking_neuron, kwargs)


@documented(f"SEW Wide ResNet-50-2: {describe('wide_resnet50_2')}.", _DETAILS)
def sew_wide_resnet50_2(
    pretrained: bool = False,
    progress: bool = True,
    cnf: str | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SEWResNet:
    return _sew_resnet("wide_resnet50_2", pretrained, cnf, spiking_neuron, kwargs)


@documented(f"SEW Wide ResNet-101-2: {describe('wide_resnet101_2')}.", _DETAILS)
def sew_wide_resnet101_2(
    pretrained: bool = False,
    progress: bool = True,
    cnf: str | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SEWResNet:
    return _sew_resnet("wide_resnet101_2", pretrained, cnf, spiking_neuron, kwargs)
