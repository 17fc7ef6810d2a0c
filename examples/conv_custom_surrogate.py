"""A spiking conv net trained with a surrogate gradient you define yourself.

The surrogate is one function, its derivative ``g'(x)``; ``from_derivative`` turns it into a
surrogate class like the built-ins, fused kernels included.

    python examples/conv_custom_surrogate.py
    python examples/conv_custom_surrogate.py --tiny
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from spikegrad import functional, layer, neuron, surrogate


@surrogate.from_derivative
def Tent(x: torch.Tensor, width: float = 1.0) -> torch.Tensor:
    """g'(x) = max(0, 1 - |x| / width): a triangle of height 1 and area ``width``."""
    return torch.clamp(1 - x.abs() / width, min=0)


def main(tiny: bool = False) -> float:
    torch.manual_seed(0)
    digits = load_digits()
    # a shuffled split: the last 297 images are the test set
    order = torch.randperm(len(digits.target), generator=torch.Generator().manual_seed(0))
    x = torch.tensor(digits.images, dtype=torch.float32)[order].unsqueeze(1) / 16
    y = torch.tensor(digits.target)[order]
    T, epochs, n_train = (2, 1, 100) if tiny else (4, 4, 1500)

    def spiking() -> nn.Module:
        return neuron.LIFNode(tau=2.0, surrogate_function=Tent(width=1.0))

    net = nn.Sequential(
        layer.Conv2d(1, 16, 3, padding=1), layer.BatchNorm2d(16), spiking(), layer.AvgPool2d(2),  # 4x4
        layer.Flatten(), layer.Linear(16 * 4 * 4, 10),  # the readout, averaged over time
    )  # fmt: skip
    functional.set_step_mode(net, "m")
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    print(net[2].surrogate_function, "peak", net[2].surrogate_function.peak)

    def scores(images: torch.Tensor) -> torch.Tensor:
        out = net(images.expand(T, *images.shape)).mean(0)  # direct encoding: the image at every step
        functional.reset_net(net)
        return out

    accuracy = 0.0
    for epoch in range(epochs):
        net.train()
        for i in range(0, n_train, 32):
            loss = F.cross_entropy(scores(x[i : i + 32]), y[i : i + 32])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        net.eval()
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
