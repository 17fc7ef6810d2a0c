"""Step-mode aware layers and containers, with SpikingJelly 2.0's names and arguments.

Every layer runs in single-step mode (``step_mode='s'``: one time step per call) or
multi-step mode (``'m'``: a whole sequence ``[T, N, ...]`` per call, time first). A layer
wrapping a torch layer takes the torch layer's arguments in SpikingJelly's positional order
followed by ``step_mode``, has the torch layer's parameters and ``state_dict`` keys, and in
``'s'`` mode is exactly the torch layer; in ``'m'`` it runs once over all time steps by
merging time into the batch (batch norm then takes its statistics over ``T * N``).

Modules by concept:

* :mod:`~spikegrad.layer.conv`, :mod:`~spikegrad.layer.linear`, :mod:`~spikegrad.layer.pool`,
  :mod:`~spikegrad.layer.norm`, :mod:`~spikegrad.layer.shape`: torch layers with ``step_mode``
  (and weight-standardised ``WSConv2d``, ``WSLinear``);
* :mod:`~spikegrad.layer.dropout`: dropout with one mask per sequence, DropConnect;
* :mod:`~spikegrad.layer.temporal_norm`: normalisations over time (tdBN, TEBN, BNTT, NeuNorm);
* :mod:`~spikegrad.layer.temporal`: layers along time (synaptic filter, delay, spike counts);
* :mod:`~spikegrad.layer.attention`: spiking self-attention and temporal/channel/spatial gates;
* :mod:`~spikegrad.layer.container`: containers over time and recurrent wrappers;
* :mod:`~spikegrad.layer.online_learning`: OTTT's spike-and-trace routing;
* :mod:`~spikegrad.layer.misc`: voting and shape printing.

Example:
    >>> import torch
    >>> from spikegrad import layer
    >>> conv = layer.Conv2d(1, 4, 3, padding=1, step_mode="m")
    >>> conv(torch.rand(8, 2, 1, 5, 5)).shape  # [T, N, C, H, W]
    torch.Size([8, 2, 4, 5, 5])
"""

from __future__ import annotations

from .attention import (
    ChannelQKAttention,
    MultiDimensionalAttention,
    QKAttention,
    SpikeDrivenSelfAttention,
    SpikingSelfAttention,
    TemporalWiseAttention,
    TokenQKAttention,
)
from .container import (
    ElementWiseRecurrentContainer,
    LinearRecurrentContainer,
    MultiStepContainer,
    SeqToANNContainer,
    StepModeContainer,
    TLastMultiStepContainer,
    TLastSeqToANNContainer,
)
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, WSConv2d
from .dropout import DropConnectLinear, Dropout, Dropout2d
from .linear import Linear, WSLinear
from .misc import PrintShapeModule, VotingLayer
from .norm import BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm
from .online_learning import GradwithTrace, OTTTSequential, ReplaceforGrad, SpikeTraceOp
from .pool import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
)
from .shape import Flatten, Upsample
from .temporal import Delay, SpikeCountToBinary, SynapseFilter, TemporalBinSum
from .temporal_norm import (
    BatchNormThroughTime1d,
    BatchNormThroughTime2d,
    BatchNormThroughTime3d,
    NeuNorm,
    TemporalEffectiveBatchNorm1d,
    TemporalEffectiveBatchNorm2d,
    TemporalEffectiveBatchNorm3d,
    ThresholdDependentBatchNorm1d,
    ThresholdDependentBatchNorm2d,
    ThresholdDependentBatchNorm3d,
)

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "BatchNormThroughTime1d",
    "BatchNormThroughTime2d",
    "BatchNormThroughTime3d",
    "ChannelQKAttention",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Delay",
    "DropConnectLinear",
    "Dropout",
    "Dropout2d",
    "ElementWiseRecurrentContainer",
    "Flatten",
    "GradwithTrace",
    "GroupNorm",
    "Linear",
    "LinearRecurrentContainer",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "MultiDimensionalAttention",
    "MultiStepContainer",
    "NeuNorm",
    "OTTTSequential",
    "PrintShapeModule",
    "QKAttention",
    "ReplaceforGrad",
    "SeqToANNContainer",
    "SpikeCountToBinary",
    "SpikeDrivenSelfAttention",
    "SpikeTraceOp",
    "SpikingSelfAttention",
    "StepModeContainer",
    "SynapseFilter",
    "TLastMultiStepContainer",
    "TLastSeqToANNContainer",
    "TemporalBinSum",
    "TemporalEffectiveBatchNorm1d",
    "TemporalEffectiveBatchNorm2d",
    "TemporalEffectiveBatchNorm3d",
    "TemporalWiseAttention",
    "ThresholdDependentBatchNorm1d",
    "ThresholdDependentBatchNorm2d",
    "ThresholdDependentBatchNorm3d",
    "TokenQKAttention",
    "Upsample",
    "VotingLayer",
    "WSConv2d",
    "WSLinear",
]
