"""ALIF (Bellec et al. 2018) against its equations, written out here a second time as the
oracle: a plain loop over time on explicit state (values and, through autograd, every
gradient), plus the properties the model is for."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from spikegrad import neuron, surrogate

STEP_MODES = ("s", "m")
BACKENDS = ("reference", "fused")


def oracle(
    x_seq: Tensor,
    v: Tensor,
    a: Tensor,
    tau_m: float,
    tau_a: float,
    beta: float,
    theta: float,
    v_reset: float | None,
    decay_input: bool,
    detach_reset: bool,
    alpha_sg: float,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The docstring's equations, with the ATan surrogate spelled out."""
    alpha, rho = math.exp(-1 / tau_m), math.exp(-1 / tau_a)
    rest = 0.0 if v_reset is None else v_reset
    spikes, vs = [], []
    for x in x_seq:
        threshold = theta + beta * a
        if decay_input:
            h = alpha * (v - rest) + rest + (1 - alpha) * x
        else:
            h = alpha * (v - rest) + rest + x
        z = h - threshold
        # ATan: Heaviside forward, (alpha/2) / (1 + (pi alpha z / 2)^2) backward
        smooth = torch.atan(math.pi / 2 * alpha_sg * z) / math.pi + 0.5
        s = (z >= 0).to(z.dtype) + smooth - smooth.detach()
        r = s.detach() if detach_reset else s
        v = h - r * threshold if v_reset is None else r * v_reset + (1 - r) * h
        a = rho * a + (1 - rho) * s
        spikes.append(s)
        vs.append(v)
    return torch.stack(spikes), v, a, torch.stack(vs)


CONFIGS = [
    {"tau_m": 4.0, "tau_a": 20.0, "beta": 1.8, "v_reset": None, "decay_input": True, "detach_reset": False},
    {"tau_m": 3.0, "tau_a": 50.0, "beta": 0.7, "v_reset": 0.0, "decay_input": False, "detach_reset": True},
    {"tau_m": 2.0, "tau_a": 8.0, "beta": 2.5, "v_reset": -0.2, "decay_input": True, "detach_reset": False},
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("step_mode", STEP_MODES)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"v_reset={c['v_reset']}")
def test_matches_the_equations(config: dict, step_mode: str, backend: str) -> None:
    gen = torch.Generator().manual_seed(7)
    x_seq = torch.rand(12, 3, 4, generator=gen, dtype=torch.float64) * 3.0 - 0.5
    v0 = torch.rand(3, 4, generator=gen, dtype=torch.float64) * 0.5
    a0 = torch.rand(3, 4, generator=gen, dtype=torch.float64) * 0.2
    node = neuron.ALIFNode(
        **config,
        surrogate_function=surrogate.ATan(alpha=2.0),
        step_mode=step_mode,
        store_v_seq=True,
        backend=backend,
    )

    def run(fn) -> list[Tensor]:
        x, v, a = (t.clone().requires_grad_() for t in (x_seq, v0, a0))
        spikes, v_final, a_final, v_seq = fn(x, v, a)
        weights = torch.linspace(-1, 2, spikes.numel(), dtype=spikes.dtype).view_as(spikes)
        loss = (
            (spikes * weights).sum() + (v_seq * weights.flip(0)).sum() + v_final.sum() + 0.5 * a_final.sum()
        )
        return [spikes, v_final, a_final, v_seq, *torch.autograd.grad(loss, (x, v, a))]

    def ours(x: Tensor, v: Tensor, a: Tensor) -> tuple[Tensor, ...]:
        node.reset()
        node.v, node.a = v, a
        spikes = node(x) if step_mode == "m" else torch.stack([node(xt) for xt in x])
        return spikes, node.v, node.a, node.v_seq

    def equations(x: Tensor, v: Tensor, a: Tensor) -> tuple[Tensor, ...]:
        return oracle(x, v, a, **config, theta=1.0, alpha_sg=2.0)

    got, want = run(ours), run(equations)
    assert 0 < got[0].sum() < got[0].numel()
    names = ["spikes", "v", "a", "v_seq", "grad x", "grad v0", "grad a0"]
    for name, g, w in zip(names, got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12, msg=name)


def test_threshold_adapts_to_the_firing() -> None:
    node = neuron.ALIFNode(tau_m=5.0, tau_a=100.0, beta=1.0, step_mode="m")
    spikes = node(torch.full((200, 1), 3.0, dtype=torch.float64)).flatten()
    times = spikes.nonzero().flatten()
    assert len(times) > 10
    assert spikes[:20].sum() > spikes[-20:].sum()  # the rate drops as the threshold rises
    assert node.a.item() > 0.2
    lif = neuron.ALIFNode(tau_m=5.0, tau_a=100.0, beta=0.0, step_mode="m")
    lif_spikes = lif(torch.full((200, 1), 3.0, dtype=torch.float64)).flatten()
    assert abs(lif_spikes[:100].sum() - lif_spikes[100:].sum()) <= 1  # beta = 0: a steady LIF


def test_beta_zero_is_an_exponential_lif() -> None:
    x = torch.rand(20, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 2.0
    alif = neuron.ALIFNode(tau_m=4.0, beta=0.0, v_reset=0.0, step_mode="m", store_v_seq=True)
    lif = neuron.LIFNode(tau=1 / (1 - math.exp(-1 / 4.0)), step_mode="m", store_v_seq=True)
    torch.testing.assert_close(alif(x), lif(x), rtol=0, atol=0)
    torch.testing.assert_close(alif.v_seq, lif.v_seq, rtol=1e-13, atol=1e-13)


def test_adaptation_decays_with_rho_between_spikes() -> None:
    node = neuron.ALIFNode(tau_a=30.0, step_mode="m")
    node.a = torch.tensor([0.5], dtype=torch.float64)
    node(torch.zeros(10, 1, dtype=torch.float64))
    assert node.a.item() == pytest.approx(0.5 * math.exp(-10 / 30.0), rel=1e-14)
