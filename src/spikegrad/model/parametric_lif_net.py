"""The networks of the parametric LIF (PLIF) paper, one per data set.

Each is a convolutional feature extractor (3x3 conv without bias, batch norm, neuron,
2x2 max-pooling) and a spiking classifier (dropout, linear, neuron, twice) whose output
neurons vote in groups of 10 (:class:`~spikegrad.layer.VotingLayer`): the firing rate of
each group is one class score.

============== ============= ============================================== ==============
class          input         convolutions (C channels)                      classifier
============== ============= ============================================== ==============
MNISTNet       1x28x28       2 x (conv, pool)                               C*7*7-2048-100
NMNISTNet      2x34x34       as MNISTNet                                    C*8*8-2048-100
CIFAR10Net     3x32x32       2 x (3 x conv, pool)                           C*8*8-2048-100
CIFAR10DVSNet  2x128x128     4 x (conv, pool)                               C*8*8-512-100
DVSGestureNet  2x128x128     5 x (conv, pool)                               C*4*4-512-110
============== ============= ============================================== ==============

Fang et al., *Incorporating learnable membrane time constant to enhance learning of spiking
neural networks*, ICCV 2021 (https://arxiv.org/abs/2007.05785). The paper uses
``spiking_neuron=neuron.ParametricLIFNode``; any neuron class works.

The networks are built in single-step mode (``[N, C, H, W]`` per step);
``functional.set_step_mode(net, 'm')`` makes them take ``[T, N, C, H, W]``.

Example:
    >>> import torch
    >>> from spikegrad import functional, neuron, surrogate
    >>> from spikegrad.model import parametric_lif_net
    >>> net = parametric_lif_net.MNISTNet(
    ...     channels=8, spiking_neuron=neuron.ParametricLIFNode, surrogate_function=surrogate.ATan()
    ... )
    >>> functional.set_step_mode(net, "m")
    >>> net(torch.rand(2, 1, 1, 28, 28)).shape  # [T, N, classes]: firing rates of 10 groups
    torch.Size([2, 1, 10])
    >>> functional.reset_net(net)
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from .. import layer
from ._common import NeuronFactory, check_spiking_neuron, new_neuron

__all__ = ["CIFAR10DVSNet", "CIFAR10Net", "DVSGestureNet", "FashionMNISTNet", "MNISTNet", "NMNISTNet"]


def _conv_bn_neuron(
    in_channels: int, out_channels: int, spiking_neuron: NeuronFactory, kwargs: dict[str, Any]
) -> list[nn.Module]:
    return [
        layer.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        layer.BatchNorm2d(out_channels),
        new_neuron(spiking_neuron, kwargs),
    ]


def _conv_pool_stages(
    stages: int, in_channels: int, channels: int, spiking_neuron: NeuronFactory, kwargs: dict[str, Any]
) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for _ in range(stages):
        layers += _conv_bn_neuron(in_channels, channels, spiking_neuron, kwargs)
        layers.append(layer.MaxPool2d(2, 2))
        in_channels = channels
    return layers


def _voting_classifier(
    in_features: int, hidden: int, outputs: int, spiking_neuron: NeuronFactory, kwargs: dict[str, Any]
) -> list[nn.Module]:
    return [
        layer.Flatten(),
        layer.Dropout(0.5),
        layer.Linear(in_features, hidden),
        new_neuron(spiking_neuron, kwargs),
        layer.Dropout(0.5),
        layer.Linear(hidden, outputs),
        new_neuron(spiking_neuron, kwargs),
        layer.VotingLayer(10),
    ]


class _PLIFNet(nn.Module):
    """The layers in one ``nn.Sequential``, ``conv_fc`` (the ``state_dict`` prefix)."""

    conv_fc: nn.Sequential

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_fc(x)  # type: ignore[no-any-return]


class MNISTNet(_PLIFNet):
    """The PLIF network for MNIST: two conv-pool stages, a 2048-100 classifier voting for 10 classes.

    Args:
        channels: channels of every convolution (default 128).
        spiking_neuron: the neuron class (required), e.g. ``neuron.ParametricLIFNode``.
        **kwargs: the neurons' arguments (a deep copy for each neuron).

    Shape:
        ``'s'``: ``[N, 1, 28, 28]`` to ``[N, 10]``; ``'m'``: ``[T, N, 1, 28, 28]`` to ``[T, N, 10]``.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
    """

    def __init__(
        self, channels: int = 128, spiking_neuron: NeuronFactory | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        spiking_neuron = check_spiking_neuron(type(self).__name__, spiking_neuron)
        self.conv_fc = nn.Sequential(
            *_conv_pool_stages(2, 1, channels, spiking_neuron, kwargs),
            *_voting_classifier(channels * 7 * 7, 2048, 100, spiking_neuron, kwargs),
        )


class FashionMNISTNet(MNISTNet):
    """The PLIF network for Fashion-MNIST: :class:`MNISTNet` (same arguments and shapes)."""


class NMNISTNet(MNISTNet):
    """The PLIF network for N-MNIST: :class:`MNISTNet` on 2-channel 34x34 event frames.

    Args:
        channels: channels of every convolution (default 128).
        spiking_neuron: the neuron class (required), e.g. ``neuron.ParametricLIFNode``.
        **kwargs: the neurons' arguments (a deep copy for each neuron).

    Shape:
        ``'s'``: ``[N, 2, 34, 34]`` to ``[N, 10]``; ``'m'``: ``[T, N, 2, 34, 34]`` to ``[T, N, 10]``.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
    """

    def __init__(
        self, channels: int = 128, spiking_neuron: NeuronFactory | None = None, **kwargs: Any
    ) -> None:
        super().__init__(channels, spiking_neuron, **kwargs)
        # MNISTNet's first convolution and first linear layer replaced after construction, as
        # SpikingJelly does, so that the same seed gives the same initial weights
        self.conv_fc[0] = layer.Conv2d(2, channels, kernel_size=3, padding=1, bias=False)
        self.conv_fc[-6] = layer.Linear(channels * 8 * 8, 2048)


class CIFAR10Net(_PLIFNet):
    """The PLIF network for CIFAR-10: two stages of three convolutions and a pool, a 2048-100 classifier.

    Args:
        channels: channels of every convolution (default 256).
        spiking_neuron: the neuron class (required), e.g. ``neuron.ParametricLIFNode``.
        **kwargs: the neurons' arguments (a deep copy for each neuron).

    Shape:
        ``'s'``: ``[N, 3, 32, 32]`` to ``[N, 10]``; ``'m'``: ``[T, N, 3, 32, 32]`` to ``[T, N, 10]``.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
    """

    def __init__(
        self, channels: int = 256, spiking_neuron: NeuronFactory | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        spiking_neuron = check_spiking_neuron(type(self).__name__, spiking_neuron)
        convs: list[nn.Module] = []
        for stage in range(2):
            for index in range(3):
                in_channels = 3 if stage == index == 0 else channels
                convs += _conv_bn_neuron(in_channels, channels, spiking_neuron, kwargs)
            convs.append(layer.MaxPool2d(2, 2))
        self.conv_fc = nn.Sequential(
            *convs, *_voting_classifier(channels * 8 * 8, 2048, 100, spiking_neuron, kwargs)
        )


class CIFAR10DVSNet(_PLIFNet):
    """The PLIF network for CIFAR10-DVS: four conv-pool stages, a 512-100 classifier voting for 10 classes.

    Args:
        channels: channels of every convolution (default 128).
        spiking_neuron: the neuron class (required), e.g. ``neuron.ParametricLIFNode``.
        **kwargs: the neurons' arguments (a deep copy for each neuron).

    Shape:
        ``'s'``: ``[N, 2, 128, 128]`` to ``[N, 10]``; ``'m'``: ``[T, N, 2, 128, 128]`` to ``[T, N, 10]``.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
    """

    def __init__(
        self, channels: int = 128, spiking_neuron: NeuronFactory | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        spiking_neuron = check_spiking_neuron(type(self).__name__, spiking_neuron)
        self.conv_fc = nn.Sequential(
            *_conv_pool_stages(4, 2, channels, spiking_neuron, kwargs),
            *_voting_classifier(channels * 8 * 8, 512, 100, spiking_neuron, kwargs),
        )


class DVSGestureNet(_PLIFNet):
    """The PLIF network for DVS128 Gesture: five conv-pool stages, a 512-110 classifier voting for 11 classes.

    Args:
        channels: channels of every convolution (default 128).
        spiking_neuron: the neuron class (required), e.g. ``neuron.ParametricLIFNode``.
        **kwargs: the neurons' arguments (a deep copy for each neuron).

    Shape:
        ``'s'``: ``[N, 2, 128, 128]`` to ``[N, 11]``; ``'m'``: ``[T, N, 2, 128, 128]`` to ``[T, N, 11]``.

    Raises:
        TypeError: ``spiking_neuron`` is not callable.
    """

    def __init__(
        self, channels: int = 128, spiking_neuron: NeuronFactory | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        spiking_neuron = check_spiking_neuron(type(self).__name__, spiking_neuron)
        self.conv_fc = nn.Sequential(
            *_conv_pool_stages(5, 2, channels, spiking_neuron, kwargs),
            *_voting_classifier(channels * 4 * 4, 512, 110, spiking_neuron, kwargs),
        )
