"""The fused kernels against the reference loop for every class of this zoo.

Each class runs in two configurations (A: its defaults or a hard reset; B: the other reset
and the other switches), each with two surrogates and in two dtypes, arranged so that every
(configuration, surrogate, dtype) pair is covered without compiling the full product:
(A, Sigmoid, float64), (B, ATan, float64), (A, ATan, float32), (B, Sigmoid, float32). The
half types run on one two-state neuron. ``check`` compares outputs, every final state and
``v_seq`` exactly, and the gradients of the input, the initial potential and every
parameter to a per-dtype tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from kernels.harness import check
from spikegrad import neuron, surrogate


class AdaptiveIF(neuron.AdaptBaseNode):
    """A neuron defined only here: IF with the adaptation current of AdaptBaseNode."""

    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v + x - self.w


#: class -> (configuration A, configuration B, input scale)
CONFIGS: dict[str, tuple[type[neuron.BaseNode], dict[str, Any], dict[str, Any], float]] = {
    "SimpleIFNode": (neuron.SimpleIFNode, {}, {"v_reset": None, "detach_reset": True}, 1.0),
    "SimpleLIFNode": (
        neuron.SimpleLIFNode,
        {"tau": 1.8, "decay_input": True},
        {"tau": 1.8, "decay_input": False, "v_reset": None},
        1.5,
    ),
    "QIFNode": (neuron.QIFNode, {}, {"v_reset": None, "detach_reset": True}, 0.5),
    "EIFNode": (neuron.EIFNode, {}, {"v_reset": None, "detach_reset": True}, 0.5),
    "IzhikevichNode": (
        neuron.IzhikevichNode,
        {"a": 0.3, "b": 0.2, "w_rest": 0.1},
        {"a": 0.3, "b": 0.2, "w_rest": -0.1, "v_reset": None, "detach_reset": True},
        1.0,
    ),
    "AdaptiveIF": (AdaptiveIF, {"a": 0.2, "b": 0.3, "tau_w": 4.0}, {"b": 0.3, "v_reset": None}, 1.0),
    "CUBALIFNode": (neuron.CUBALIFNode, {}, {"v_reset": None, "detach_reset": True}, 0.5),
    "KLIFNode": (
        neuron.KLIFNode,
        {},
        {"scale_reset": True, "v_reset": None, "decay_input": False, "detach_reset": True},
        1.5,
    ),
    "HalfThresholdIFNode": (neuron.HalfThresholdIFNode, {}, {"detach_reset": True, "v_threshold": 0.8}, 1.0),
    "LIAFNode": (
        neuron.LIAFNode,
        {"act": torch.tanh, "threshold_related": True},
        {"act": "Sigmoid", "threshold_related": False, "v_reset": None},
        1.5,
    ),
    "ALIFNode": (
        neuron.ALIFNode,
        {"tau_m": 4.0, "tau_a": 20.0},
        {
            "tau_m": 3.0,
            "tau_a": 10.0,
            "beta": 0.5,
            "v_reset": 0.0,
            "decay_input": False,
            "detach_reset": True,
        },
        1.5,
    ),
}
PAIRS = [
    ("A", surrogate.Sigmoid, torch.float64),
    ("B", surrogate.ATan, torch.float64),
    ("A", surrogate.ATan, torch.float32),
    ("B", surrogate.Sigmoid, torch.float32),
]


def factory(cls: type[neuron.BaseNode], kwargs: dict[str, Any], sg: Callable[[], nn.Module]) -> Any:
    def make(backend: str) -> neuron.BaseNode:
        arguments = {
            k: getattr(nn, v)() if k == "act" and isinstance(v, str) else v for k, v in kwargs.items()
        }
        node = cls(surrogate_function=sg(), step_mode="m", store_v_seq=True, backend=backend, **arguments)
        with torch.no_grad():
            for p in node.parameters():
                p.fill_(1.3)  # KLIF's k: away from 1, where k and 1/k coincide
        return node

    return make


def inputs(scale: float, dtype: torch.dtype, shape: tuple[int, ...] = (6, 4, 3), seed: int = 0) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    return ((torch.randn(shape, generator=gen, dtype=torch.float64) * 1.2 + 0.4) * scale).to(dtype)


@pytest.mark.parametrize(("config", "sg", "dtype"), PAIRS, ids=lambda p: getattr(p, "__name__", str(p)))
@pytest.mark.parametrize("name", list(CONFIGS))
def test_fused_matches_reference(
    name: str, config: str, sg: Callable[[], nn.Module], dtype: torch.dtype
) -> None:
    cls, a, b, scale = CONFIGS[name]
    x = inputs(scale, dtype)
    v0 = torch.rand(x.shape[1:], generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 0.5
    # LIAF's output is act(h), an analog value: the kernel's tanh may differ from torch's by an ulp.
    got = check(
        factory(cls, a if config == "A" else b, sg), x, v0.to(dtype), exact_outputs=name != "LIAFNode"
    )
    out = got["out"]
    assert out is not None
    if name != "LIAFNode":
        assert 0 < out.sum() < out.numel()  # both firing and silence are exercised


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_half_types_on_a_two_state_neuron(dtype: torch.dtype) -> None:
    # Inputs on a grid of 1/16 and decays 1/2 and 3/4: most sums are exact in half precision.
    gen = torch.Generator().manual_seed(5)
    x = (torch.randint(-4, 12, (8, 64), generator=gen) / 16).to(dtype)
    got = check(factory(neuron.CUBALIFNode, {}, surrogate.ATan), x)
    assert got["c"] is not None and got["c"].dtype == dtype
