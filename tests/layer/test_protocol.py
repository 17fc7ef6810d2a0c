"""Every layer: SpikingJelly's name exists, and the module protocol (pickle, deepcopy, dtype, repr)."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from torch import nn

from spikegrad import layer, neuron

sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")

# name -> a constructor call and one input it accepts (default step mode)
MAKE = {
    "AdaptiveAvgPool1d": (lambda: layer.AdaptiveAvgPool1d(2), (2, 3, 6)),
    "AdaptiveAvgPool2d": (lambda: layer.AdaptiveAvgPool2d(2), (2, 3, 6, 6)),
    "AdaptiveAvgPool3d": (lambda: layer.AdaptiveAvgPool3d(2), (2, 3, 4, 4, 4)),
    "AvgPool1d": (lambda: layer.AvgPool1d(2), (2, 3, 6)),
    "AvgPool2d": (lambda: layer.AvgPool2d(2), (2, 3, 6, 6)),
    "AvgPool3d": (lambda: layer.AvgPool3d(2), (2, 3, 4, 4, 4)),
    "BatchNorm1d": (lambda: layer.BatchNorm1d(3), (2, 3)),
    "BatchNorm2d": (lambda: layer.BatchNorm2d(3), (2, 3, 4, 4)),
    "BatchNorm3d": (lambda: layer.BatchNorm3d(3), (2, 3, 2, 2, 2)),
    "BatchNormThroughTime1d": (lambda: layer.BatchNormThroughTime1d(2, 3), (2, 3)),
    "BatchNormThroughTime2d": (lambda: layer.BatchNormThroughTime2d(2, 3), (2, 3, 4, 4)),
    "BatchNormThroughTime3d": (lambda: layer.BatchNormThroughTime3d(2, 3), (2, 3, 2, 2, 2)),
    "ChannelQKAttention": (lambda: layer.ChannelQKAttention(4, 2, backend="reference"), (2, 2, 4, 3)),
    "Conv1d": (lambda: layer.Conv1d(3, 2, 3), (2, 3, 6)),
    "Conv2d": (lambda: layer.Conv2d(3, 2, 3), (2, 3, 6, 6)),
    "Conv3d": (lambda: layer.Conv3d(3, 2, 3), (2, 3, 4, 4, 4)),
    "ConvTranspose1d": (lambda: layer.ConvTranspose1d(3, 2, 3), (2, 3, 6)),
    "ConvTranspose2d": (lambda: layer.ConvTranspose2d(3, 2, 3), (2, 3, 6, 6)),
    "ConvTranspose3d": (lambda: layer.ConvTranspose3d(3, 2, 3), (2, 3, 4, 4, 4)),
    "Delay": (lambda: layer.Delay(2), (2, 3)),
    "DropConnectLinear": (lambda: layer.DropConnectLinear(3, 2), (2, 3)),
    "Dropout": (lambda: layer.Dropout(), (2, 3)),
    "Dropout2d": (lambda: layer.Dropout2d(), (2, 3, 4, 4)),
    "ElementWiseRecurrentContainer": (
        lambda: layer.ElementWiseRecurrentContainer(neuron.IFNode(), torch.add),
        (2, 3),
    ),
    "Flatten": (lambda: layer.Flatten(), (2, 3, 4)),
    "GradwithTrace": (lambda: layer.GradwithTrace(nn.Linear(3, 2)), None),
    "GroupNorm": (lambda: layer.GroupNorm(1, 3), (2, 3, 4)),
    "Linear": (lambda: layer.Linear(3, 2), (2, 3)),
    "LinearRecurrentContainer": (lambda: layer.LinearRecurrentContainer(neuron.IFNode(), 3, 3), (2, 3)),
    "MaxPool1d": (lambda: layer.MaxPool1d(2), (2, 3, 6)),
    "MaxPool2d": (lambda: layer.MaxPool2d(2), (2, 3, 6, 6)),
    "MaxPool3d": (lambda: layer.MaxPool3d(2), (2, 3, 4, 4, 4)),
    "MaxUnpool1d": (lambda: layer.MaxUnpool1d(2), None),
    "MaxUnpool2d": (lambda: layer.MaxUnpool2d(2), None),
    "MaxUnpool3d": (lambda: layer.MaxUnpool3d(2), None),
    "MultiDimensionalAttention": (lambda: layer.MultiDimensionalAttention(2, 4, 1, 2), (2, 2, 4, 3, 3)),
    "MultiStepContainer": (lambda: layer.MultiStepContainer(nn.Linear(3, 2), neuron.IFNode()), (2, 2, 3)),
    "NeuNorm": (lambda: layer.NeuNorm(3, 4, 4), (2, 3, 4, 4)),
    "OTTTSequential": (lambda: layer.OTTTSequential(nn.Linear(3, 2)), (2, 3)),
    "PrintShapeModule": (lambda: layer.PrintShapeModule(), None),
    "QKAttention": (lambda: layer.QKAttention(4, 2, backend="reference"), (2, 2, 4, 3)),
    "ReplaceforGrad": (None, None),
    "SeqToANNContainer": (lambda: layer.SeqToANNContainer(nn.Linear(3, 2)), (2, 2, 3)),
    "SpikeCountToBinary": (lambda: layer.SpikeCountToBinary(2), (2, 2, 3)),
    "SpikeDrivenSelfAttention": (
        lambda: layer.SpikeDrivenSelfAttention(4, 2, backend="reference"),
        (2, 2, 4, 2, 2),
    ),
    "SpikeTraceOp": (lambda: layer.SpikeTraceOp(nn.ReLU()), None),
    "SpikingSelfAttention": (lambda: layer.SpikingSelfAttention(4, 2, backend="reference"), (2, 2, 4, 3)),
    "StepModeContainer": (
        lambda: layer.StepModeContainer(True, "m", nn.Linear(3, 2), neuron.IFNode()),
        (2, 2, 3),
    ),
    "SynapseFilter": (lambda: layer.SynapseFilter(learnable=True), (2, 3)),
    "TLastMultiStepContainer": (lambda: layer.TLastMultiStepContainer(neuron.IFNode()), (2, 3, 4)),
    "TLastSeqToANNContainer": (lambda: layer.TLastSeqToANNContainer(nn.ReLU()), (2, 3, 4)),
    "TemporalBinSum": (lambda: layer.TemporalBinSum(2), (4, 2, 3)),
    "TemporalEffectiveBatchNorm1d": (lambda: layer.TemporalEffectiveBatchNorm1d(2, 3), (2, 2, 3)),
    "TemporalEffectiveBatchNorm2d": (lambda: layer.TemporalEffectiveBatchNorm2d(2, 3), (2, 2, 3, 2, 2)),
    "TemporalEffectiveBatchNorm3d": (lambda: layer.TemporalEffectiveBatchNorm3d(2, 3), (2, 2, 3, 2, 2, 2)),
    "TemporalWiseAttention": (lambda: layer.TemporalWiseAttention(4, 2), (4, 2, 3, 2, 2)),
    "ThresholdDependentBatchNorm1d": (lambda: layer.ThresholdDependentBatchNorm1d(1.0, 1.0, 3), (2, 2, 3)),
    "ThresholdDependentBatchNorm2d": (
        lambda: layer.ThresholdDependentBatchNorm2d(1.0, 1.0, 3),
        (2, 2, 3, 2, 2),
    ),
    "ThresholdDependentBatchNorm3d": (
        lambda: layer.ThresholdDependentBatchNorm3d(1.0, 1.0, 3),
        (2, 2, 3, 2, 2, 2),
    ),
    "TokenQKAttention": (lambda: layer.TokenQKAttention(4, 2, backend="reference"), (2, 2, 4, 3)),
    "Upsample": (lambda: layer.Upsample(scale_factor=2), (2, 3, 4)),
    "VotingLayer": (lambda: layer.VotingLayer(2), (2, 4)),
    "WSConv2d": (lambda: layer.WSConv2d(3, 2, 3), (2, 3, 6, 6)),
    "WSLinear": (lambda: layer.WSLinear(3, 2), (2, 3)),
}


def test_every_spikingjelly_layer_name_exists_and_nothing_else():
    theirs = {name for name in dir(sj_layer) if isinstance(getattr(sj_layer, name), type)}
    assert theirs - {"Tensor"} == set(layer.__all__) == set(MAKE)


@pytest.mark.parametrize("name", sorted(n for n, (make, shape) in MAKE.items() if shape is not None))
def test_pickle_deepcopy_and_float64(name):
    make, shape = MAKE[name]
    torch.manual_seed(0)
    module = make().double().eval()
    x = torch.rand(shape, dtype=torch.float64) + 0.5
    out = module(x)
    assert out.dtype == torch.float64
    for clone in (copy.deepcopy(module), pickle.loads(pickle.dumps(module))):
        assert repr(clone) == repr(module)
        assert clone.state_dict().keys() == module.state_dict().keys()
        for key, value in module.state_dict().items():
            assert torch.equal(clone.state_dict()[key], value)
