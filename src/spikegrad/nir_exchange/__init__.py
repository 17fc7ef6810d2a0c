"""NIR exchange: move spiking networks to and from other simulators and neuromorphic chips.

`NIR <https://neuroir.org>`_ (the Neuromorphic Intermediate Representation) is a graph of
continuous-time nodes that SpikingJelly, snnTorch, Norse, Sinabs, Lava and several chips read
and write. The functions have SpikingJelly 2.0's names and arguments:

* :func:`export_to_nir`: a spikegrad network as a ``nir.NIRGraph`` (and an HDF5 file);
* :func:`import_from_nir`: a ``nir.NIRGraph`` or file as a spikegrad network.

How the neurons' parameters are converted at the time step ``dt`` (and how a soft reset is
kept) is in :mod:`spikegrad.nir_exchange.neurons`. Needs the ``nir`` package:
``pip install 'spikegrad[nir]'``.

Example:
    >>> import torch
    >>> from spikegrad import functional, layer, neuron
    >>> from spikegrad.nir_exchange import export_to_nir, import_from_nir
    >>> net = torch.nn.Sequential(layer.Linear(2, 2), neuron.IFNode())
    >>> graph = export_to_nir(net, torch.rand(1, 2))
    >>> [type(graph.nodes[name]).__name__ for name in ("0", "1")]
    ['Affine', 'IF']
    >>> [type(module).__name__ for module in import_from_nir(graph)]
    ['Linear', 'IFNode']
"""

from __future__ import annotations

from .from_nir import import_from_nir
from .modules import GraphNetwork, Scale, ScaledFeedback
from .to_nir import export_to_nir

__all__ = ["GraphNetwork", "Scale", "ScaledFeedback", "export_to_nir", "import_from_nir"]
