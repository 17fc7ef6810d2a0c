"""Spiking networks of the literature, with SpikingJelly 2.0's model-zoo names and arguments.

One module per family, as in ``spikingjelly.activation_based.model``; the class names,
constructor functions, their arguments and the ``state_dict`` keys are SpikingJelly's, so a
SpikingJelly checkpoint loads strictly and gives the same outputs:

* :mod:`~spikegrad.model.spiking_resnet`: ``SpikingResNet``, ``spiking_resnet18`` ...
  ``spiking_wide_resnet101_2``;
* :mod:`~spikegrad.model.sew_resnet`: ``SEWResNet``, ``sew_resnet18`` ... (``cnf=``);
* :mod:`~spikegrad.model.spiking_vgg`: ``SpikingVGG``, ``spiking_vgg11`` ... ``spiking_vgg19_bn``;
* :mod:`~spikegrad.model.parametric_lif_net`: the PLIF paper's ``MNISTNet`` ... ``DVSGestureNet``;
* :mod:`~spikegrad.model.spikformer`: ``Spikformer``, ``spikformer_ti/s/cifar10``;
* :mod:`~spikegrad.model.ms_resnet`: ``MSResNet``, ``MaxResNet``, ``ms_resnet18/34``,
  ``max_resnet18``;
* :mod:`~spikegrad.model.spike_driven_transformer`: ``SpikeDrivenTransformer``, ``sdt_8_384``.

Every constructor takes the neuron as ``spiking_neuron`` (a class) and passes ``**kwargs`` to
it. The first four families have no default neuron (as in SpikingJelly) and are built in
single-step mode; the transformers and MS-ResNet default to the paper's LIF neurons and are
multi-step only. Nothing is downloaded: ``pretrained=True`` is an error that says where the
weights are.

Example:
    >>> import torch
    >>> from spikegrad import functional, neuron, surrogate
    >>> from spikegrad.model import sew_resnet
    >>> net = sew_resnet.sew_resnet18(
    ...     cnf="ADD", spiking_neuron=neuron.IFNode, surrogate_function=surrogate.ATan()
    ... )
    >>> functional.set_step_mode(net, "m")
    >>> net(torch.rand(2, 1, 3, 16, 16)).shape  # [T, N, classes]
    torch.Size([2, 1, 1000])
    >>> functional.reset_net(net)
"""

from __future__ import annotations

from . import (
    ms_resnet,
    parametric_lif_net,
    sew_resnet,
    spike_driven_transformer,
    spikformer,
    spiking_resnet,
    spiking_vgg,
)
from .ms_resnet import MaxResNet, MSResNet, max_resnet18, ms_resnet18, ms_resnet34
from .spike_driven_transformer import SpikeDrivenTransformer, sdt_8_384
from .spikformer import Spikformer, spikformer_cifar10, spikformer_s, spikformer_ti

__all__ = [
    "MSResNet",
    "MaxResNet",
    "SpikeDrivenTransformer",
    "Spikformer",
    "max_resnet18",
    "ms_resnet",
    "ms_resnet18",
    "ms_resnet34",
    "parametric_lif_net",
    "sdt_8_384",
    "sew_resnet",
    "spike_driven_transformer",
    "spikformer",
    "spikformer_cifar10",
    "spikformer_s",
    "spikformer_ti",
    "spiking_resnet",
    "spiking_vgg",
]
