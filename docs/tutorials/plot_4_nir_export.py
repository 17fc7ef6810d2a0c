"""
Export to NIR and back
======================

NIR, the Neuromorphic Intermediate Representation, describes a spiking network as a graph of
continuous-time nodes that other simulators and neuromorphic chips read. This tutorial
exports a network with a recurrent layer, looks at the graph, writes it to a file and reads
it back, in spikegrad and in SpikingJelly when it is installed.
"""

# %%
# A network to export
# -------------------
import tempfile
from pathlib import Path

import torch
from torch import nn

from spikegrad import functional, layer, neuron
from spikegrad.nir_exchange import export_to_nir, import_from_nir

torch.manual_seed(0)
net = nn.Sequential(
    layer.Conv2d(1, 4, 3, padding=1),
    neuron.IFNode(),
    layer.AvgPool2d(2),
    layer.Flatten(),
    layer.Linear(4 * 4 * 4, 16),
    layer.LinearRecurrentContainer(neuron.LIFNode(tau=2.0), 16, 16),
    layer.Linear(16, 3),
    neuron.LIFNode(tau=4.0, decay_input=False),
)
with torch.no_grad():  # weights that make every layer fire
    for name, p in net.named_parameters():
        if name.endswith("weight"):
            p.normal_(3 / p[0].numel(), 2 / p[0].numel() ** 0.5)
functional.set_step_mode(net, "m")

# %%
# The graph
# ---------
# ``export_to_nir`` needs one example input for the shapes: ``[T, N, C, H, W]`` here, since
# the network is multi-step. Time constants are written in seconds against ``dt``.
x_seq = torch.rand(10, 2, 1, 8, 8)
path = Path(tempfile.mkdtemp()) / "net.nir"
graph = export_to_nir(net, x_seq, save_path=path, dt=1e-4)
for name, node in graph.nodes.items():
    print(f"{name:22} {type(node).__name__}")
print("edges:", graph.edges)

# %%
# The recurrent container became a cycle: ``5.neuron -> 5.recurrent_weight -> 5.neuron``.
# The LIF neurons' ``tau = 2`` steps became 0.2 ms at ``dt = 0.1 ms``:
print(graph.nodes["5.neuron"].tau[:3], graph.nodes["5.neuron"].r[:3])

# %%
# Back into spikegrad
# -------------------
copy = import_from_nir(path, step_mode="m")
print(copy)
with torch.no_grad():
    expected = net(x_seq)
    functional.reset_net(net)
    print("same spikes:", torch.equal(copy(x_seq), expected), f"(firing rate {expected.mean().item():.2f})")

# %%
# Into SpikingJelly
# -----------------
# SpikingJelly 2.0's importer returns a module called with explicit state, one step at a time.
try:
    from spikingjelly.activation_based.nir_exchange import import_from_nir as spikingjelly_import
except ImportError:
    print("SpikingJelly 2.0 with nirtorch is not installed here")
else:
    theirs, state, outputs = spikingjelly_import(path), None, []
    for step in x_seq:
        output, state = theirs(step, state)
        outputs.append(output)
    print("SpikingJelly computes the same spikes:", torch.equal(torch.stack(outputs), expected))
