"""A spiking MLP on scikit-learn's bundled digits: Poisson spikes in, a time-averaged readout out.

python examples/digits_mlp.py            # about 96 % test accuracy after 8 epochs
python examples/digits_mlp.py --tiny     # a smoke run (what the tests execute)
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from spikegrad import encoding, functional, layer, neuron, surrogate


def main(tiny: bool = False) -> float:
    torch.manual_seed(0)
    digits = load_digits()
    order = torch.randperm(len(digits.target), generator=torch.Generator().manual_seed(0))
    x = torch.tensor(digits.images, dtype=torch.float32)[order].reshape(-1, 64) / 16  # [N, 64] in [0, 1]
    y = torch.tensor(digits.target)[order]
    T, epochs, n_train = (4, 1, 200) if tiny else (8, 8, 1500)  # the last 297 images are the test set

    net = nn.Sequential(
        layer.Linear(64, 256),
        neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan()),
        layer.Linear(256, 10),  # the readout: its outputs averaged over time are the class scores
    )
    functional.set_step_mode(net, "m")  # every layer takes [T, N, ...]
    encoder = encoding.PoissonEncoder()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)

    def scores(images: torch.Tensor) -> torch.Tensor:
        out = net(encoder(images.expand(T, *images.shape))).mean(0)  # Poisson spikes in, [N, 10] out
        functional.reset_net(net)  # the next batch starts from rest
        return out

    accuracy = 0.0
    for epoch in range(epochs):
        for i in range(0, n_train, 32):
            loss = F.cross_entropy(scores(x[i : i + 32]), y[i : i + 32])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            accuracy = (scores(x[1500:]).argmax(1) == y[1500:]).float().mean().item()
        print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy {accuracy:.1%}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="a few batches only (a smoke run)")
    main(parser.parse_args().tiny)
