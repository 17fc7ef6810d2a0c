"""The neurons of this package's tests, built the same way in spikegrad and in SpikingJelly 2.0.

A :class:`Recurrence` describes one of the ``BaseNode`` neurons whose state runs through
the fused kernels: its positional arguments (identical in both libraries), its state
variables, whether it has SpikingJelly's reset options, and how strongly to drive it so
that it both fires and stays silent. :data:`CONFIGS` samples surrogates and resets so
that a configuration's kernels serve several tests (a configuration compiles once per
process; single steps and whole sequences share it). The ``run_*`` functions run a neuron
and return everything a comparison checks.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor

from kernels.harness import TOL
from spikegrad import neuron, surrogate

#: Surrogates of the differential tests, with explicit parameters identical on both sides.
SURROGATES: dict[str, dict[str, Any]] = {"Sigmoid": {"alpha": 4.0}, "ATan": {"alpha": 2.0}}


@dataclasses.dataclass(frozen=True)
class Recurrence:
    name: str
    args: tuple[Any, ...] = ()
    states: tuple[str, ...] = ("v",)
    #: takes v_reset and detach_reset
    resets: bool = True
    #: takes surrogate_function (I-LIF's is fixed to a multi-level spike count)
    surrogates: bool = True
    #: takes store_v_seq
    store_v_seq: bool = True
    scale: float = 1.0

    def __str__(self) -> str:
        return self.name

    @property
    def configs(self) -> tuple[tuple[str, float | None, bool], ...]:
        """The (surrogate, v_reset, detach_reset) configurations this class is tested in."""
        if self.resets:
            return CONFIGS
        if self.surrogates:
            return (("Sigmoid", None, False), ("ATan", None, False))
        return (("MultiLevelSpikeCount", None, False), ("MultiLevelSpikeCount", None, True))


#: (surrogate, v_reset, detach_reset): both surrogates with hard and soft reset, and a
#: detached reset of each kind.
CONFIGS: tuple[tuple[str, float | None, bool], ...] = (
    ("Sigmoid", 0.0, False),
    ("Sigmoid", None, False),
    ("ATan", -0.2, True),
    ("ATan", None, True),
)

RECURRENCES = (
    Recurrence("TernaryIFNode", scale=1.5),
    Recurrence("RAFNode", (-0.3, 1.2, 0.8), states=("v", "u"), scale=2.0),
    Recurrence("ComplementaryLIFNode", (1.7, 0.9), states=("v", "m"), resets=False, store_v_seq=False),
    Recurrence("ILIFNode", (1.5, 0.8), surrogates=False, resets=False, scale=3.0),
)


def inputs(
    shape: tuple[int, ...], scale: float = 1.0, seed: int = 0, dtype: torch.dtype = torch.float64
) -> Tensor:
    """Around the threshold, so that neurons both fire and stay silent."""
    gen = torch.Generator().manual_seed(seed)
    return ((torch.randn(shape, generator=gen, dtype=torch.float64) * 1.2 + 0.4) * scale).to(dtype)


def ours_surrogate(name: str) -> surrogate.Surrogate:
    return surrogate.REGISTRY[name](**SURROGATES[name])  # type: ignore[no-any-return]


def recurrence_kwargs(case: Recurrence, v_reset: float | None, detach_reset: bool) -> dict[str, Any]:
    """The reset arguments of a configuration, those the class takes."""
    if case.resets:
        return {"v_reset": v_reset, "detach_reset": detach_reset}
    if case.name == "ILIFNode":
        return {"detach_reset": detach_reset}
    return {}


#: Every (class, configuration) pair of the recurrence tests.
CASE_CONFIGS = [(case, config) for case in RECURRENCES for config in case.configs]


def make_ours(case: Recurrence, sg: str, **kwargs: Any) -> neuron.BaseNode:
    if case.surrogates:
        kwargs["surrogate_function"] = ours_surrogate(sg)
    return getattr(neuron, case.name)(*case.args, **kwargs)  # type: ignore[no-any-return]


def make_theirs(sj_neuron: Any, sj_surrogate: Any, case: Recurrence, sg: str, **kwargs: Any) -> Any:
    kwargs.pop("backend", None)
    if case.surrogates:
        kwargs["surrogate_function"] = getattr(sj_surrogate, sg)(**SURROGATES[sg])
    return getattr(sj_neuron, case.name)(*case.args, **kwargs)


def weights(t: Tensor, seed: int) -> Tensor:
    """Fixed weights of a loss term, so that every element's gradient is checked."""
    return torch.randn(t.shape, generator=torch.Generator().manual_seed(seed), dtype=t.dtype)


def perturbed(module: torch.nn.Module, seed: int) -> dict[str, Tensor]:
    """The module's parameters moved away from their initial values (every gate differs)."""
    gen = torch.Generator().manual_seed(seed)
    return {
        k: v + torch.randn(v.shape, generator=gen, dtype=v.dtype) * 0.5
        for k, v in module.state_dict().items()
    }


def run_gated(node: Any, x_seq: Tensor) -> list[Tensor]:
    """Two calls (v carries over), then every gradient: input, initial v, each parameter."""
    x = x_seq.detach().clone().requires_grad_()
    v0 = inputs(x_seq.shape[1:], 0.3, seed=8, dtype=x_seq.dtype).requires_grad_()
    node.v = v0
    outs = [node(x), node(x.flip(0))]
    results = [*outs, node.v, node.u]
    loss = sum((t * weights(t, i)).sum() for i, t in enumerate(results))
    params = [p for _, p in sorted(node.named_parameters())]
    return [*results, *torch.autograd.grad(loss, [x, v0, *params])]


def run_online(node: Any, x_seq: Tensor) -> list[Tensor]:
    """One step per call: the outputs (with the trace in training), v after each step, and
    the input's gradient of a loss on the spikes and every v."""
    x = x_seq.detach().clone().requires_grad_()
    results: list[Tensor] = []
    loss = torch.zeros((), dtype=x.dtype)
    for t, x_t in enumerate(x):
        out = node(x_t)
        if isinstance(out, list):
            spike, trace = out
            results += [spike, trace.clone()]
        else:
            spike = out
            results.append(spike)
        loss = loss + (spike * weights(spike, t)).sum() + (node.v * weights(node.v, 100 + t)).sum()
        results.append(node.v)
    (grad,) = torch.autograd.grad(loss, x)
    return [*results, grad]


def close(a: list[torch.Tensor], b: list[torch.Tensor], dtype: torch.dtype, outputs: int) -> None:
    """The first ``outputs`` items exactly (spikes, states), the gradients to the tolerance."""
    rtol, atol = TOL[dtype]
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        tol = {"rtol": 0, "atol": 0} if i < outputs else {"rtol": rtol, "atol": atol}
        torch.testing.assert_close(u, v, **tol, msg=f"item {i}")
