"""Helpers shared by the neuron tests.

``BACKENDS_UNDER_TEST`` lists the multi-step kernels every neuron test runs against;
adding a backend is one line here.
"""

from __future__ import annotations

from typing import Any

import torch

from spikegrad import neuron

BACKENDS_UNDER_TEST = ("reference", "fused")

KINDS = ("if", "lif", "plif")


def make_node(kind: str, decay_input: bool = True, tau: float = 2.0, **kwargs: Any) -> neuron.BaseNode:
    """An IF / LIF / PLIF node; ``tau`` and ``decay_input`` are ignored for IF."""
    if kind == "if":
        return neuron.IFNode(**kwargs)
    if kind == "lif":
        return neuron.LIFNode(tau=tau, decay_input=decay_input, **kwargs)
    if kind == "plif":
        return neuron.ParametricLIFNode(init_tau=tau, decay_input=decay_input, **kwargs)
    raise ValueError(kind)


def random_inputs(shape: tuple[int, ...], seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Inputs around the threshold so that neurons both fire and stay silent."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=dtype) * 1.6 - 0.2
