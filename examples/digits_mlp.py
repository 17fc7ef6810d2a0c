"""A spiking MLP on scikit-learn's bundled digits: Poisson spikes in, firing rates out.

    python examples/digits_mlp.py            # about 95 % test accuracy in a few seconds
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
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16  # [N, 1, 8, 8] in [0, 1]
    y = torch.tensor(digits.target)
    T, epochs, n_train = (4, 1, 200) if tiny else (8, 5, 1500)

    net = nn.Sequential(
        layer.Flatten(),
        layer.Linear(64, 128),
        neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan()),
        layer.Linear(128, 10),
        neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan()),
    )
    functional.set_step_mode(net, "m")  # every layer takes [T, N, ...]
    encoder = encoding.PoissonEncoder()
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)

    def firing_rate(images: torch.Tensor) -> torch.Tensor:
        rate = net(encoder(images.expand(T, *images.shape))).mean(0)  # [N, 10]
        functional.reset_net(net)  # the next batch starts from rest
        return rate

    accuracy = 0.0
    for epoch in range(epochs):
        for i in range(0, n_train, 50):
            loss = F.mse_loss(firing_rate(x[i : i + 50]), F.one_hot(y[i : i + 50], 10).float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            accuracy = (firing_rate(x[1500:]).argmax(1) == y[1500:]).float().mean().item()
        print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy {accuracy:.1%}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="a few batches only (a smoke run)")
    main(parser.parse_args().tiny)
