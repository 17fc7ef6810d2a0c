"""The spiking networks that ``spikegrad train`` and ``spikegrad compare`` train.

All run in multi-step mode on ``[T, B, *shape]`` input sequences (``[T, B, C, H, W]`` for images
and event cameras, ``[T, B, C]`` for SHD's channels). Hidden layers are spiking neurons (IF, LIF
or PLIF) with a surrogate gradient; the output layer is a non-spiking readout:
the class scores are the time average of the last linear layer's output, which is what a
leaky integrator with a long time constant would accumulate. Cross-entropy on those scores
trains the network.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import Tensor, nn

from .. import surrogate as sg
from .config import MODELS, NEURONS

#: The conv net's weights into spiking layers are drawn from N(0, (gain / sqrt(fan_in))^2).
CONV_INIT_GAIN = 4.0
#: The smallest image the conv net takes (two 2x2 poolings).
CONV_MIN_SIZE = 4


def make_neuron(kind: str, surrogate: sg.Surrogate, *, tau: float = 2.0, detach_reset: bool = False,
                backend: str | None = None, step_mode: str = "m") -> nn.Module:
    """One layer of spiking neurons, with its own copy of ``surrogate``.

    Args:
        kind: ``'if'``, ``'lif'``, ``'plif'`` (``tau`` is its initial time constant) or ``'alif'``
            (:class:`~spikegrad.neuron.ALIFNode`: ``tau`` is its ``tau_m``; its adaptation keeps
            the neuron's defaults, ``tau_a = 200`` steps and ``beta = 1.8``, and its soft reset).
        surrogate: the spike function; each neuron layer gets a deep copy.
        tau: membrane time constant (LIF/PLIF), > 1.
        detach_reset: cut the gradient through the reset.
        backend: the neurons' multi-step backend (``None``: the neurons' default).
        step_mode: ``'m'`` (default), or ``'s'`` for a neuron inside a recurrent container.

    Raises:
        ValueError: unknown ``kind``.
    """
    from .. import neuron

    kwargs: dict[str, Any] = {
        "surrogate_function": copy.deepcopy(surrogate),
        "detach_reset": detach_reset,
        "step_mode": step_mode,
    }
    if backend is not None:
        kwargs["backend"] = backend
    if kind == "if":
        return neuron.IFNode(**kwargs)
    if kind == "lif":
        return neuron.LIFNode(tau=tau, **kwargs)
    if kind == "plif":
        return neuron.ParametricLIFNode(init_tau=tau, **kwargs)
    if kind == "alif":
        return neuron.ALIFNode(tau_m=tau, **kwargs)
    raise ValueError(f"neuron must be one of {', '.join(NEURONS)}, got {kind!r}")


class SpikingClassifier(nn.Module):
    """A multi-step spiking network with a time-averaged linear readout.

    Args:
        features: the spiking part, ``[T, B, ...] -> [T, B, F]``.
        readout: the last linear layer, applied at every step and averaged over time.

    Shape:
        input ``[T, B, *shape]``; output ``[B, n_classes]`` (class scores).
    """

    def __init__(self, features: nn.Module, readout: nn.Module) -> None:
        super().__init__()
        self.features = features
        self.readout = readout

    def forward(self, x_seq: Tensor) -> Tensor:
        return self.readout(self.features(x_seq)).mean(0)


def build_model(
    kind: str,
    input_shape: tuple[int, ...],
    n_classes: int,
    surrogate: sg.Surrogate,
    *,
    neuron: str = "lif",
    tau: float = 2.0,
    detach_reset: bool = False,
    hidden: int = 128,
    channels: int = 16,
    backend: str | None = None,
) -> SpikingClassifier:
    """Build the spiking MLP, conv net or recurrent net, multi-step, reset with ``functional.reset_net``.

    ``mlp``: flatten -> linear(hidden) -> neurons -> readout.
    ``conv``: [conv3x3(channels) -> neurons -> maxpool2] -> [conv3x3(2 channels) -> neurons ->
    maxpool2] -> flatten -> linear(hidden) -> neurons -> readout. No batch norm, so that a
    multi-process run computes exactly what one process computes; instead the weights into its
    three spiking layers start larger than PyTorch's default (:func:`init_spiking_weights`), so
    that spikes reach the readout from the first batch.
    ``recurrent``: flatten -> linear(hidden) -> neurons -> a recurrent layer of neurons
    (:class:`~spikegrad.layer.LinearRecurrentContainer`: its input at step ``t`` is
    ``W [s_in[t]; s[t-1]] + b``, the first layer's spikes and its own spikes of the step before)
    -> readout. Every synapse carries spikes. Its weights start as the conv net's.

    Args:
        kind: ``'mlp'``, ``'conv'`` or ``'recurrent'``.
        input_shape: the input at one time step, ``(C, H, W)`` or ``(channels,)``.
        n_classes: number of outputs.
        surrogate: spike function of every neuron layer (each gets a copy).
        neuron: ``'if'``, ``'lif'``, ``'plif'`` or ``'alif'``.
        tau: membrane time constant (PLIF: initial value; ALIF: ``tau_m``).
        detach_reset: cut the gradient through the reset.
        hidden: width of the hidden spiking layer.
        channels: channels of the first conv layer (conv only).
        backend: the neurons' multi-step backend.

    Raises:
        ValueError: unknown ``kind`` or ``neuron``, a size < 1, or an input the model cannot take
            (:func:`check_model_input`).
    """
    from .. import functional, layer

    for name, value in (("hidden", hidden), ("channels", channels), ("n_classes", n_classes)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    check_model_input(kind, input_shape)

    def spiking(step_mode: str = "m") -> nn.Module:
        return make_neuron(neuron, surrogate, tau=tau, detach_reset=detach_reset, backend=backend,
                           step_mode=step_mode)

    features: nn.Sequential
    if kind == "mlp":
        features = nn.Sequential(layer.Flatten(), layer.Linear(math.prod(input_shape), hidden), spiking())
    elif kind == "recurrent":
        features = nn.Sequential(
            layer.Flatten(), layer.Linear(math.prod(input_shape), hidden), spiking(),
            layer.LinearRecurrentContainer(spiking("s"), hidden, hidden, step_mode="m"),
        )
        init_spiking_weights(features)
    else:  # the conv net (check_model_input refused every other kind)
        c, h, w = input_shape
        c2 = 2 * channels
        features = nn.Sequential(
            layer.Conv2d(c, channels, 3, padding=1), spiking(), layer.MaxPool2d(2),
            layer.Conv2d(channels, c2, 3, padding=1), spiking(), layer.MaxPool2d(2),
            layer.Flatten(), layer.Linear(c2 * (h // 4) * (w // 4), hidden), spiking(),
        )
        init_spiking_weights(features)
    model = SpikingClassifier(features, layer.Linear(hidden, n_classes))
    functional.set_step_mode(model, "m")
    return model


def check_model_input(kind: str, input_shape: tuple[int, ...]) -> None:
    """Refuse an input a model cannot take: the conv net needs ``(C, H, W)`` of at least 4x4 px.

    Raises:
        ValueError: unknown ``kind``, or the input does not fit (saying which models do).
    """
    if kind not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {kind!r}")
    if not input_shape or any(n < 1 for n in input_shape):
        raise ValueError(f"the input at one step must have a shape of sizes >= 1, got {input_shape}")
    if kind != "conv":
        return
    if len(input_shape) != 3:
        raise ValueError(f"the conv net takes images [C, H, W] at each step, but this data's steps are "
                         f"{'x'.join(map(str, input_shape))}; use the recurrent net or the mlp")
    if min(input_shape[1:]) < CONV_MIN_SIZE:
        raise ValueError(f"the conv net needs images of at least {CONV_MIN_SIZE}x{CONV_MIN_SIZE} px "
                         f"(it pools twice), got {input_shape[1]}x{input_shape[2]}; use the mlp")


@torch.no_grad()
def init_spiking_weights(features: nn.Module, gain: float = CONV_INIT_GAIN) -> None:
    """Draw every conv and linear weight of ``features`` from ``N(0, (gain / sqrt(fan_in))^2)``, biases 0.

    With PyTorch's default (uniform, standard deviation ``1 / sqrt(3 fan_in)``) the input current
    of a neuron stays well below the threshold of 1 for inputs in ``[0, 1]``: the first layer
    rarely fires, the layers after it stay silent, and the conv net sat at chance for its first
    epochs. A standard deviation of ``gain / sqrt(fan_in)`` with ``gain = 4`` makes the current's
    spread a few thresholds wide, so each layer fires from the first batch. (The MLP has one
    spiking layer, whose few spikes reach the readout directly; it keeps PyTorch's default.)
    """
    for module in features.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            fan_in = module.weight[0].numel()
            module.weight.normal_(0.0, gain / math.sqrt(fan_in))
            if module.bias is not None:
                module.bias.zero_()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def reset_state(model: nn.Module) -> None:
    """Return every neuron of ``model`` to its initial potential (before each batch)."""
    from .. import functional

    functional.reset_net(model)


__all__ = ["CONV_INIT_GAIN", "CONV_MIN_SIZE", "MODELS", "NEURONS", "SpikingClassifier", "build_model",
           "check_model_input", "count_parameters", "init_spiking_weights", "make_neuron", "reset_state"]
