"""Online training through time (OTTT): layers that pass spikes forward and traces backward.

In OTTT (Xiao et al., *Online training through time for spiking neural networks*, NeurIPS
2022) an OTTT neuron in training emits a pair ``[spike, trace]``: the spikes, and a
presynaptic trace (a low-pass filter of them). The next layer computes its output from the
spikes, but its weight gradient from the trace, so that gradients need no backpropagation
through time. :class:`OTTTSequential` routes such pairs through ordinary layers.

The neuron that emits the pairs, ``spikegrad.neuron.OTTTLIFNode``, is looked up when an
:class:`OTTTSequential` is built; without it, the container is an ``nn.Sequential`` that
also accepts a ``[spike, trace]`` input.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


class ReplaceforGrad(torch.autograd.Function):
    """Forward the second input, backward the gradient to both: ``f(x, x_r) = x_r``.

    ``ReplaceforGrad.apply(x, x_r)`` has the value of ``x_r`` and sends its gradient to ``x``
    as well as to ``x_r``: an output computed from ``x`` is replaced by ``x_r`` without
    cutting ``x``'s gradient.
    """

    @staticmethod
    def forward(x: Tensor, x_r: Tensor) -> Tensor:
        return x_r  # autograd gives the output its own node (an alias of x_r)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        pass

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor]:
        return grad, grad


def grad_with_trace(module: nn.Module, spike_and_trace: list[Tensor]) -> Tensor:
    """``module(spike)`` in value, with ``module``'s weight gradient taken at the trace.

    The output has the value of ``module(spike)`` (computed without gradient); its gradient
    reaches ``module``'s parameters as if the input had been ``trace``, and ``spike`` as if it
    had been the input.
    """
    spike, trace = spike_and_trace
    with torch.no_grad():
        out = module(spike)
    out_for_grad = module(ReplaceforGrad.apply(spike, trace))
    return ReplaceforGrad.apply(out_for_grad, out)  # type: ignore[no-any-return]


def spike_and_trace_through(module: nn.Module, spike_and_trace: list[Tensor]) -> list[Tensor]:
    """Apply a parameter-free ``module`` to the spikes and (without gradient) to the trace."""
    spike, trace = spike_and_trace
    spike = module(spike)
    with torch.no_grad():
        trace = module(trace)
    return [spike, trace]


class GradwithTrace(nn.Module):
    """Wrap ``module`` so that a ``[spike, trace]`` input is handled by :func:`grad_with_trace`.

    Args:
        module: a layer with parameters (convolution, linear...).
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: list[Tensor]) -> Tensor:
        return grad_with_trace(self.module, x)


class SpikeTraceOp(nn.Module):
    """Wrap a parameter-free ``module`` (pooling, flatten...) to act on both ``[spike, trace]``.

    Args:
        module: a layer without parameters.
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: list[Tensor]) -> list[Tensor]:
        return spike_and_trace_through(self.module, x)


def _online_neuron_types() -> tuple[type, ...]:
    """The neuron classes that take the spikes of a ``[spike, trace]`` pair (if available)."""
    from .. import neuron  # lazily: the neurons import the layers' base modules

    found = getattr(neuron, "OTTTLIFNode", None)
    return (found,) if isinstance(found, type) else ()


class OTTTSequential(nn.Sequential):
    """An ``nn.Sequential`` that routes OTTT's ``[spike, trace]`` pairs through its layers.

    While the value between layers is a tensor, each layer is simply called. When it is a
    list ``[spike, trace]`` (an OTTT neuron's training output), the next layer gets:

    * an OTTT neuron: the spikes only;
    * a layer with parameters: :func:`grad_with_trace` (output from the spikes, weight
      gradient from the trace);
    * a layer without parameters: :func:`spike_and_trace_through` (both, the trace without
      gradient).

    Args:
        *layers: the modules, in order.

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> block = layer.OTTTSequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> spike, trace = torch.ones(2, 2, 2), torch.full((2, 2, 2), 0.5)
        >>> block([spike, trace]).shape  # flattened both, then the linear layer's output
        torch.Size([2, 3])
    """

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__(*layers)
        self._online_neurons = _online_neuron_types()

    def forward(self, input: Any) -> Any:
        for module in self:
            if not isinstance(input, list):
                input = module(input)
            elif isinstance(module, self._online_neurons):
                input = module(input[0])
            elif next(module.parameters(), None) is None:
                input = spike_and_trace_through(module, input)
            else:
                input = grad_with_trace(module, input)
        return input
