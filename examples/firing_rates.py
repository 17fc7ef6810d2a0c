"""Watch how often each layer fires while a network trains, with a FiringRateMonitor.

Firing rates tell whether a spiking network works at all: a layer that never fires passes no
gradient (its surrogate sees potentials far below threshold), one that always fires carries
no information. The monitor accumulates spike counts through hooks, without keeping spikes.

    python examples/firing_rates.py
    python examples/firing_rates.py --tiny
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from spikegrad import encoding, functional, layer, monitor, neuron


def main(tiny: bool = False) -> dict[str, float]:
    torch.manual_seed(0)
    digits = load_digits()
    # a shuffled split: the last 297 images are the test set
    order = torch.randperm(len(digits.target), generator=torch.Generator().manual_seed(0))
    x = torch.tensor(digits.images, dtype=torch.float32)[order].reshape(-1, 64) / 16
    y = torch.tensor(digits.target)[order]
    T, epochs, n_train = (4, 2, 100) if tiny else (8, 4, 1500)
    net = nn.Sequential(
        layer.Linear(64, 128), neuron.LIFNode(), layer.Linear(128, 64), neuron.LIFNode(),
        layer.Linear(64, 10), neuron.LIFNode(),
    )  # fmt: skip
    functional.set_step_mode(net, "m")
    encoder = encoding.PoissonEncoder()
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)

    rates: dict[str, float] = {}
    for epoch in range(epochs):
        with monitor.FiringRateMonitor(net) as fr:  # every neuron layer, by default
            for i in range(0, n_train, 50):
                rate = net(encoder(x[i : i + 50].expand(T, -1, -1))).mean(0)
                functional.reset_net(net)
                loss = F.mse_loss(rate, F.one_hot(y[i : i + 50], 10).float())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            rates = fr.rates()
        per_layer = "  ".join(f"layer {name}: {value:.3f}" for name, value in rates.items())
        print(f"epoch {epoch}: loss {loss.item():.4f}  spikes per neuron and step  {per_layer}")

    with monitor.FiringRateMonitor(net) as fr, torch.no_grad():
        net(encoder(x[1500:].expand(T, -1, -1)))
        functional.reset_net(net)
        silent = (fr.activity()["1"].neuron_rates() == 0).float().mean().item()
    print(f"hidden neurons that never fired on the test set: {silent:.1%}")
    return rates


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="a few batches only (a smoke run)")
    main(parser.parse_args().tiny)
