"""Export a trained spiking network to NIR, read it back, and check the outputs are the same.

NIR files are read by SpikingJelly, snnTorch, Norse, Sinabs, Lava and neuromorphic chips.
When SpikingJelly 2.0 is installed, the script also runs the file in SpikingJelly.

    pip install 'spikegrad[nir]'
    python examples/nir_round_trip.py [--out digits.nir]
    python examples/nir_round_trip.py --tiny
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from spikegrad import encoding, functional, layer, neuron
from spikegrad.nir_exchange import export_to_nir, import_from_nir


def main(tiny: bool = False, out: Path | None = None) -> bool:
    torch.manual_seed(0)
    digits = load_digits()
    # a shuffled split: the last 297 images are the test set
    order = torch.randperm(len(digits.target), generator=torch.Generator().manual_seed(0))
    x = torch.tensor(digits.images, dtype=torch.float32)[order].reshape(-1, 64) / 16
    y = torch.tensor(digits.target)[order]
    T, n_train = (4, 200) if tiny else (8, 1500)
    net = nn.Sequential(
        layer.Linear(64, 128), neuron.LIFNode(tau=2.0), layer.Linear(128, 10), neuron.LIFNode(tau=2.0)
    )
    functional.set_step_mode(net, "m")
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    encoder = encoding.PoissonEncoder()
    for _ in range(1 if tiny else 4):
        for i in range(0, n_train, 32):
            rate = net(encoder(x[i : i + 32].expand(T, -1, -1))).mean(0)  # output firing rates
            functional.reset_net(net)
            loss = F.cross_entropy(10 * rate, y[i : i + 32])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    path = out or Path(tempfile.mkdtemp()) / "digits.nir"
    spikes_in = encoder(x[1500:].expand(T, -1, -1))  # [T, N, 64]
    graph = export_to_nir(net, spikes_in, save_path=path)  # dt = 1e-4 s, as SpikingJelly and snnTorch read it
    print(
        f"wrote {path}: " + ", ".join(f"{name} ({type(node).__name__})" for name, node in graph.nodes.items())
    )

    copy = import_from_nir(path, step_mode="m")
    with torch.no_grad():
        expected = net(spikes_in)
        functional.reset_net(net)
        same = torch.equal(copy(spikes_in), expected)
    accuracy = (expected.mean(0).argmax(1) == y[1500:]).float().mean().item()
    print(f"test accuracy {accuracy:.1%}; spikegrad reads back the same spikes: {same}")

    try:
        from spikingjelly.activation_based.nir_exchange import import_from_nir as spikingjelly_import
    except ImportError:
        print("SpikingJelly 2.0 (with nirtorch) is not installed: skipping the SpikingJelly check")
        return same
    theirs, state, outputs = spikingjelly_import(path), None, []
    for step in spikes_in:  # SpikingJelly's imported graph takes one step and its state per call
        output, state = theirs(step, state)
        outputs.append(output)
    same_in_spikingjelly = torch.equal(torch.stack(outputs), expected)
    print(f"SpikingJelly 2.0 computes the same spikes: {same_in_spikingjelly}")
    return same and same_in_spikingjelly


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="a few batches only (a smoke run)")
    parser.add_argument(
        "--out", type=Path, default=None, help="where to write the NIR file (default: a temp dir)"
    )
    args = parser.parse_args()
    main(args.tiny, args.out)
