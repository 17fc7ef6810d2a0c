"""The modules an imported NIR graph may need beyond spikegrad's layers and neurons.

* :class:`Scale`: NIR's ``Scale`` node, an element-wise product with a fixed tensor.
* :class:`ScaledFeedback`: the feedback ``x + s * y`` of a neuron whose output comes back to
  it through a ``Scale`` node (the ``element_wise_function`` of an
  :class:`~spikegrad.layer.ElementWiseRecurrentContainer`).
* :class:`GraphNetwork`: a graph that is not a chain (branches, skip connections): its nodes
  run in topological order, and a node with several inputs gets their sum, as NIR defines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn


class Scale(nn.Module):
    r"""Multiply each step by a fixed tensor: ``y = x * scale`` (NIR's ``Scale`` node).

    The factor broadcasts against one sample's trailing dimensions, so the module works in
    both step modes (``[N, *shape]`` or ``[T, N, *shape]``) without a ``step_mode``.

    Args:
        scale: the factor, shaped like one sample (or broadcastable to it); kept as a buffer.

    Raises:
        TypeError: ``scale`` is not a floating-point tensor.

    Example:
        >>> import torch
        >>> from spikegrad.nir_exchange import Scale
        >>> Scale(torch.tensor([1.0, 2.0]))(torch.ones(3, 2))
        tensor([[1., 2.],
                [1., 2.],
                [1., 2.]])
    """

    scale: Tensor

    def __init__(self, scale: Tensor) -> None:
        super().__init__()
        if not isinstance(scale, Tensor) or not scale.is_floating_point():
            raise TypeError(f"Scale: scale must be a floating-point tensor, got {scale!r}")
        self.register_buffer("scale", scale.detach().clone())

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale

    def extra_repr(self) -> str:
        return f"shape={list(self.scale.shape)}"


class ScaledFeedback(nn.Module):
    r"""``f(y, x) = x + scale * y``: a neuron's last output ``y``, scaled, added to its input.

    The ``element_wise_function`` of an :class:`~spikegrad.layer.ElementWiseRecurrentContainer`
    imported from a NIR cycle through a ``Scale`` node. A module rather than a lambda, so the
    network pickles and the factor follows ``.to()``.

    Args:
        scale: the feedback factor, broadcastable against one step.

    Example:
        >>> import torch
        >>> from spikegrad import layer, neuron
        >>> from spikegrad.nir_exchange import ScaledFeedback
        >>> rnn = layer.ElementWiseRecurrentContainer(neuron.IFNode(), ScaledFeedback(torch.tensor(0.5)))
        >>> [rnn(torch.tensor([0.6])).item() for _ in range(3)]  # x + 0.5 y reaches 1.1 at step 3
        [0.0, 1.0, 1.0]
    """

    scale: Tensor

    def __init__(self, scale: Tensor) -> None:
        super().__init__()
        if not isinstance(scale, Tensor) or not scale.is_floating_point():
            raise TypeError(f"ScaledFeedback: scale must be a floating-point tensor, got {scale!r}")
        self.register_buffer("scale", scale.detach().clone())

    def forward(self, y: Tensor, x: Tensor) -> Tensor:
        return x + self.scale * y

    def extra_repr(self) -> str:
        return f"shape={list(self.scale.shape)}"


class GraphNetwork(nn.Module):
    """Modules wired as a directed acyclic graph; each node gets the sum of its inputs.

    Args:
        nodes: the modules by name, in an order where every node comes after its inputs.
        inputs: for each node, the names of the nodes it reads (``input`` is the network's
            input); their outputs are summed.
        output: the names whose outputs, summed, are the network's output.

    Raises:
        ValueError: a node reads a name that is neither ``input`` nor an earlier node, or
            has no input.

    Example:
        >>> import torch
        >>> from spikegrad.nir_exchange import GraphNetwork, Scale
        >>> net = GraphNetwork({"a": Scale(torch.tensor(2.0)), "b": Scale(torch.tensor(3.0))},
        ...                    {"a": ["input"], "b": ["input", "a"]}, ["b"])
        >>> net(torch.ones(1))  # 3 * (x + 2 x)
        tensor([9.])
    """

    #: The name of the network's input among the nodes' inputs.
    INPUT = "input"

    def __init__(
        self, nodes: Mapping[str, nn.Module], inputs: Mapping[str, Sequence[str]], output: Sequence[str]
    ) -> None:
        super().__init__()
        self.nodes = nn.ModuleDict(dict(nodes))
        known = {self.INPUT}
        for name in self.nodes:
            sources = tuple(inputs.get(name, ()))
            if not sources:
                raise ValueError(f"GraphNetwork: node {name!r} has no input")
            unknown = [s for s in sources if s not in known]
            if unknown:
                raise ValueError(f"GraphNetwork: node {name!r} reads {unknown}, which are not earlier nodes")
            known.add(name)
        unknown = [s for s in output if s not in known]
        if not output or unknown:
            raise ValueError(f"GraphNetwork: the output must name nodes, got {list(output)}")
        self.inputs = {name: tuple(inputs[name]) for name in self.nodes}
        self.output = tuple(output)

    def forward(self, x: Tensor) -> Tensor:
        values = {self.INPUT: x}
        for name, module in self.nodes.items():
            values[name] = module(_sum(values[s] for s in self.inputs[name]))
        return _sum(values[s] for s in self.output)

    def extra_repr(self) -> str:
        return "inputs=" + ", ".join(f"{n}<-{'+'.join(s)}" for n, s in self.inputs.items())


def _sum(tensors: object) -> Tensor:
    # An explicit fold (not sum(), which starts from 0): the first tensor as it is, so that
    # torch.fx records only tensor additions when the network is exported again.
    iterator = iter(tensors)  # type: ignore[call-overload]
    total: Tensor = next(iterator)
    for tensor in iterator:
        total = total + tensor
    return total


__all__ = ["GraphNetwork", "Scale", "ScaledFeedback"]
