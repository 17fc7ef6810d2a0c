"""Spiking VGG: torchvision's VGG with every ReLU replaced by a spiking neuron.

``features`` is a stack of 3x3 convolutions (padding 1), each followed by a neuron (or batch
norm and a neuron, in the ``_bn`` variants), with 2x2 max-pooling where the configuration
says ``"M"``; then adaptive average pooling to 7x7 and the classifier::

    Linear(C*7*7, 4096) - SN - Dropout - Linear(4096, 4096) - SN - Dropout - Linear(4096, num_classes)

Configurations (channels per convolution): A (VGG-11), B (VGG-13), D (VGG-16), E (VGG-19).

Simonyan and Zisserman, *Very deep convolutional networks for large-scale image
recognition*, ICLR 2015 (https://arxiv.org/abs/1409.1556).

Every constructor takes ``spiking_neuron`` (a neuron class, required) and passes ``**kwargs``
to the neuron, apart from :class:`SpikingVGG`'s keyword arguments (``num_classes``,
``init_weights``). Built in single-step mode; ``functional.set_step_mode(net, 'm')`` makes it
take ``[T, N, 3, H, W]`` and return ``[T, N, num_classes]``.

Example:
    >>> import torch
    >>> from spikegrad import functional, neuron
    >>> from spikegrad.model import spiking_vgg
    >>> net = spiking_vgg.SpikingVGG([8, "M", 16, "M"], batch_norm=True, spiking_neuron=neuron.IFNode)
    >>> net.classifier[0]  # the classifier's input follows the last convolution's channels
    Linear(in_features=784, out_features=4096, bias=True, step_mode='s')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor, nn

from .. import layer
from ._common import (
    NeuronFactory,
    check_spiking_neuron,
    documented,
    flatten_features,
    new_neuron,
    refuse_download,
)

__all__ = [
    "SpikingVGG",
    "spiking_vgg11",
    "spiking_vgg11_bn",
    "spiking_vgg13",
    "spiking_vgg13_bn",
    "spiking_vgg16",
    "spiking_vgg16_bn",
    "spiking_vgg19",
    "spiking_vgg19_bn",
]

#: torchvision's ImageNet weights of the ANN VGGs, which SpikingJelly's ``pretrained=True`` loads.
model_urls = {
    "vgg11": "https://download.pytorch.org/models/vgg11-8a719046.pth",
    "vgg13": "https://download.pytorch.org/models/vgg13-19584684.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "vgg11_bn": "https://download.pytorch.org/models/vgg11_bn-6002323d.pth",
    "vgg13_bn": "https://download.pytorch.org/models/vgg13_bn-abd245e5.pth",
    "vgg16_bn": "https://download.pytorch.org/models/vgg16_bn-6c64b313.pth",
    "vgg19_bn": "https://download.pytorch.org/models/vgg19_bn-c79401a0.pth",
}

#: The feature configurations: output channels of each 3x3 convolution, ``"M"`` for 2x2 max-pooling.
cfgs: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}

NormLayer = Callable[[int], nn.Module]


def _check_cfg(cfg: object) -> list[int | str]:
    entries = list(cfg) if isinstance(cfg, Sequence) and not isinstance(cfg, str) else None
    if entries is None or not all(
        entry == "M" or (isinstance(entry, int) and not isinstance(entry, bool) and entry > 0)
        for entry in entries
    ):
        raise ValueError(f"SpikingVGG: cfg must be a list of positive channel counts and 'M', got {cfg!r}")
    return entries


class SpikingVGG(nn.Module):
    """Spiking VGG (see the module docstring): ``features``, ``avgpool`` (7x7), ``classifier``.

    Args:
        cfg: the features: output channels of each 3x3 convolution, ``"M"`` for max-pooling
            (e.g. ``cfgs["A"]``).
        batch_norm: put a normalisation layer between each convolution and its neuron
            (default False).
        norm_layer: that layer's class, taking the channels (default ``layer.BatchNorm2d``).
        num_classes: outputs of the classifier (default 1000).
        init_weights: initialise as torchvision's VGG: Kaiming-normal convolutions
            (fan-out), unit batch norms, linear weights from N(0, 0.01), zero biases (default True).
        spiking_neuron: the neuron class (required), e.g. ``neuron.IFNode``.
        **kwargs: the neurons' arguments (a deep copy for each neuron).

    Shape:
        ``'s'``: ``[N, 3, H, W]`` to ``[N, num_classes]``; ``'m'``: ``[T, N, 3, H, W]`` to
        ``[T, N, num_classes]``.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
        ValueError: a ``cfg`` entry that is neither a positive int nor ``"M"``.
    """

    def __init__(
        self,
        cfg: Sequence[int | str],
        batch_norm: bool = False,
        norm_layer: NormLayer | None = None,
        num_classes: int = 1000,
        init_weights: bool = True,
        spiking_neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        spiking_neuron = check_spiking_neuron(type(self).__name__, spiking_neuron)
        self.features = self.make_layers(cfg, batch_norm, norm_layer, spiking_neuron, **kwargs)
        channels = next((entry for entry in reversed(_check_cfg(cfg)) if entry != "M"), 3)
        self.avgpool = layer.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            layer.Linear(int(channels) * 7 * 7, 4096),
            new_neuron(spiking_neuron, kwargs),
            layer.Dropout(),
            layer.Linear(4096, 4096),
            new_neuron(spiking_neuron, kwargs),
            layer.Dropout(),
            layer.Linear(4096, num_classes),
        )
        if init_weights:
            self._initialize_weights()

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(flatten_features(x, self.avgpool.step_mode))  # type: ignore[no-any-return]

    def _initialize_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, layer.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, layer.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, layer.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    @staticmethod
    def make_layers(
        cfg: Sequence[int | str],
        batch_norm: bool = False,
        norm_layer: NormLayer | None = None,
        neuron: NeuronFactory | None = None,
        **kwargs: Any,
    ) -> nn.Sequential:
        """The feature layers of ``cfg`` on 3-channel input.

        Args:
            cfg: output channels of each 3x3 convolution, ``"M"`` for 2x2 max-pooling.
            batch_norm: a ``norm_layer`` between each convolution and its neuron.
            norm_layer: normalisation class taking the channels (default ``layer.BatchNorm2d``).
            neuron: the neuron class (required).
            **kwargs: the neurons' arguments.

        Raises:
            TypeError: ``neuron`` is not callable.
            ValueError: a ``cfg`` entry that is neither a positive int nor ``"M"``.
        """
        neuron = check_spiking_neuron("SpikingVGG.make_layers", neuron)
        norm_layer = layer.BatchNorm2d if norm_layer is None else norm_layer
        layers: list[nn.Module] = []
        in_channels = 3
        for entry in _check_cfg(cfg):
            if entry == "M":
                layers.append(layer.MaxPool2d(kernel_size=2, stride=2))
                continue
            channels = int(entry)
            layers.append(layer.Conv2d(in_channels, channels, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(norm_layer(channels))
            layers.append(new_neuron(neuron, kwargs))
            in_channels = channels
        return nn.Sequential(*layers)


def _spiking_vgg(
    arch: str,
    cfg: str,
    batch_norm: bool,
    pretrained: bool,
    norm_layer: NormLayer | None,
    spiking_neuron: NeuronFactory | None,
    kwargs: dict[str, Any],
) -> SpikingVGG:
    if pretrained:
        refuse_download(f"spiking_{arch}", model_urls[arch])
    return SpikingVGG(
        cfgs[cfg],
        batch_norm=batch_norm,
        norm_layer=norm_layer if batch_norm else None,
        spiking_neuron=spiking_neuron,
        **kwargs,
    )


_DETAILS = """
    Args:
        pretrained: must be False: nothing is downloaded (the error says where torchvision's
            ImageNet weights are; load a local copy with ``model.load_state_dict``).
        progress: accepted for SpikingJelly's signature; no effect.
        spiking_neuron: the neuron class (required), e.g. ``neuron.IFNode``.
        **kwargs: :class:`SpikingVGG`'s keyword arguments (``num_classes``, ``init_weights``)
            and the neurons' arguments.

    Returns:
        The network, in single-step mode.

    Raises:
        ValueError: ``pretrained=True``.
        TypeError: ``spiking_neuron`` is not callable.
"""

_DETAILS_BN = _DETAILS.replace(
    "        spiking_neuron:",
    "        norm_layer: the normalisation class, taking the channels (default ``layer.BatchNorm2d``).\n"
    "        spiking_neuron:",
)


@documented("Spiking VGG-11 (configuration A).", _DETAILS)
def spiking_vgg11(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingVGG:
    return _spiking_vgg("vgg11", "A", False, pretrained, None, spiking_neuron, kwargs)


@documented("Spiking VGG-11 (configuration A) with batch norm.", _DETAILS_BN)
def spiking_vgg11_bn(
    pretrained: bool = False,
    progress: bool = True,
    norm_layer: NormLayer | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingVGG:
    return _spiking_vgg("vgg11_bn", "A", True, pretrained, norm_layer, spiking_neuron, kwargs)


@documented("Spiking VGG-13 (configuration B).", _DETAILS)
def spiking_vgg13(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingVGG:
    return _spiking_vgg("vgg13", "B", False, pretrained, None, spiking_neuron, kwargs)


@documented("Spiking VGG-13 (configuration B) with batch norm.", _DETAILS_BN)
def spiking_vgg13_bn(
    pretrained: bool = False,
    progress: bool = True,
    norm_layer: NormLayer | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingVGG:
    return _spiking_vgg("vgg13_bn", "B", True, pretrained, norm_layer, spiking_neuron, kwargs)


@documented("Spiking VGG-16 (configuration D).", _DETAILS)
def spiking_vgg16(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingVGG:
    return _spiking_vgg("vgg16", "D", False, pretrained, None, spiking_neuron, kwargs)


@documented("Spiking VGG-16 (configuration D) with batch norm.", _DETAILS_BN)
def spiking_vgg16_bn(
    pretrained: bool = False,
    progress: bool = True,
    norm_layer: NormLayer | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingVGG:
    return _spiking_vgg("vgg16_bn", "D", True, pretrained, norm_layer, spiking_neuron, kwargs)


@documented("Spiking VGG-19 (configuration E).", _DETAILS)
def spiking_vgg19(
    pretrained: bool = False,
    progress: bool = True,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingVGG:
    return _spiking_vgg("vgg19", "E", False, pretrained, None, spiking_neuron, kwargs)


@documented("Spiking VGG-19 (configuration E) with batch norm.", _DETAILS_BN)
def spiking_vgg19_bn(
    pretrained: bool = False,
    progress: bool = True,
    norm_layer: NormLayer | None = None,
    spiking_neuron: NeuronFactory | None = None,
    **kwargs: Any,
) -> SpikingVGG:
    return _spiking_vgg("vgg19_bn", "E", True, pretrained, norm_layer, spiking_neuron, kwargs)
