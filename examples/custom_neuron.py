"""A neuron of your own, written SpikingJelly's way: subclass BaseNode, define neuronal_charge.

The charge below is a leaky quadratic integrate-and-fire step. spikegrad traces it (with the
surrogate inside) into fused multi-step kernels for the forward and the backward, so the new
neuron trains as fast as the built-in ones; ``backend='reference'`` runs the same step in a
plain Python loop, the oracle the kernels are checked against.

    python examples/custom_neuron.py
    python examples/custom_neuron.py --tiny
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from spikegrad import encoding, functional, layer, neuron, surrogate


class LeakyQuadraticNode(neuron.BaseNode):
    r"""``H_t = decay V_{t-1} + gain V_{t-1}^2 + X_t``: a leak, plus a quadratic term that makes
    a neuron near its threshold charge faster (as in a quadratic integrate-and-fire neuron)."""

    def __init__(self, decay: float = 0.8, gain: float = 0.3, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.decay = decay  # floats become runtime scalars of the fused kernels
        self.gain = gain

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self.v = self.decay * self.v + self.gain * self.v * self.v + x


def main(tiny: bool = False) -> float:
    torch.manual_seed(0)
    # The fused kernels and the reference loop compute the same spikes and gradients.
    fused = LeakyQuadraticNode(step_mode="m", surrogate_function=surrogate.Sigmoid())
    reference = LeakyQuadraticNode(step_mode="m", surrogate_function=surrogate.Sigmoid(), backend="reference")
    x_seq = torch.rand(6, 3, 4, requires_grad=True)
    same = torch.equal(fused(x_seq), reference(x_seq))
    print(f"{fused!r}\nfused == reference loop: {same}")

    digits = load_digits()
    # a shuffled split: the last 297 images are the test set
    order = torch.randperm(len(digits.target), generator=torch.Generator().manual_seed(0))
    x = torch.tensor(digits.images, dtype=torch.float32)[order].reshape(-1, 64) / 16
    y = torch.tensor(digits.target)[order]
    T, epochs, n_train = (4, 1, 200) if tiny else (8, 6, 1500)
    net = nn.Sequential(layer.Linear(64, 256), LeakyQuadraticNode(), layer.Linear(256, 10))  # readout last
    functional.set_step_mode(net, "m")
    encoder = encoding.PoissonEncoder()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)

    def scores(inputs: torch.Tensor) -> torch.Tensor:
        out = net(encoder(inputs.expand(T, *inputs.shape))).mean(0)  # the readout averaged over time
        functional.reset_net(net)
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
