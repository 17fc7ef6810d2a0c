"""The neurons under test, their configurations, and how to build each on both sides.

A :class:`Case` names a spikegrad class, its SpikingJelly 2.0 twin (same name), the
arguments of one configuration (given identically to both), the state variables and a
scale for the inputs (the quadratic and exponential neurons diverge on large inputs).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import torch
from torch import Tensor, nn

from spikegrad import neuron, surrogate

SURROGATES = {"Sigmoid": {"alpha": 4.0}, "ATan": {"alpha": 2.0}}


@dataclasses.dataclass(frozen=True)
class Case:
    cls: type[neuron.BaseNode]
    kwargs: dict[str, Any]
    states: tuple[str, ...] = ("v",)
    scale: float = 1.0
    #: the value every learnable parameter is set to before a run (1 is too special for KLIF's k)
    parameter_value: float | None = None

    @property
    def name(self) -> str:
        return self.cls.__name__

    def id(self) -> str:
        parts = [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        return "-".join([self.name, *parts])


def _short(value: Any) -> str:
    if isinstance(value, nn.Module):
        return type(value).__name__
    return getattr(value, "__name__", repr(value))


def _cases() -> list[Case]:
    out: list[Case] = []
    for v_reset, detach in [(0.0, False), (-0.2, True), (None, False), (None, True)]:
        out.append(
            Case(neuron.SimpleIFNode, {"v_threshold": 0.9, "v_reset": v_reset, "detach_reset": detach})
        )
    for decay, v_reset, detach in [
        (True, 0.0, False),
        (False, 0.0, True),
        (True, -0.2, True),
        (False, -0.2, False),
    ]:
        kwargs = {"tau": 1.8, "decay_input": decay, "v_reset": v_reset, "detach_reset": detach}
        out.append(Case(neuron.SimpleLIFNode, kwargs, scale=1.6))
    for v_reset, detach in [(-0.1, False), (-0.1, True), (None, False), (None, True)]:
        out.append(
            Case(
                neuron.QIFNode,
                {
                    "tau": 2.5,
                    "v_c": 0.7,
                    "a0": 1.2,
                    "v_rest": 0.05,
                    "v_reset": v_reset,
                    "detach_reset": detach,
                },
                scale=0.5,
            )
        )
        out.append(
            Case(
                neuron.EIFNode,
                {"tau": 2.5, "delta_T": 0.8, "theta_rh": 0.7, "v_reset": v_reset, "detach_reset": detach},
                scale=0.5,
            )
        )
    for v_reset, detach in [(0.0, False), (0.0, True), (None, False), (None, True)]:
        izhikevich = {
            "tau": 2.5,
            "a": 0.3,
            "b": 0.2,
            "tau_w": 3.0,
            "v_reset": v_reset,
            "detach_reset": detach,
        }
        out.append(Case(neuron.IzhikevichNode, izhikevich, states=("v", "w"), scale=1.2))
        cuba = {"c_decay": 0.6, "v_decay": 0.7, "v_reset": v_reset, "detach_reset": detach}
        out.append(Case(neuron.CUBALIFNode, cuba, states=("v", "c"), scale=0.5))
    for scale_reset, decay, v_reset, detach in [
        (False, True, 0.0, False),
        (True, True, 0.0, True),
        (False, False, None, True),
        (True, False, None, False),
    ]:
        kwargs = {"scale_reset": scale_reset, "tau": 1.8, "decay_input": decay, "v_reset": v_reset}
        out.append(Case(neuron.KLIFNode, {**kwargs, "detach_reset": detach}, scale=1.6, parameter_value=1.3))
    for detach in (False, True):
        out.append(Case(neuron.HalfThresholdIFNode, {"v_threshold": 0.9, "detach_reset": detach}))
    for act, related, v_reset, decay in [
        (torch.tanh, True, 0.0, True),
        (torch.sigmoid, False, None, False),
        ("Tanh", False, 0.0, False),
        ("PReLU", True, None, True),
    ]:
        kwargs = {
            "act": act,
            "threshold_related": related,
            "tau": 1.8,
            "v_reset": v_reset,
            "decay_input": decay,
        }
        out.append(Case(neuron.LIAFNode, kwargs, scale=1.6, parameter_value=0.3))
    return out


#: Every configuration compared with SpikingJelly (on the reference loop).
CASES = _cases()
#: One configuration per class, compared with SpikingJelly through the fused kernels too.
FUSABLE = [c for c in CASES if not (c.name == "LIAFNode" and c.kwargs["act"] == "PReLU")]
ONE_PER_CLASS = list({c.name: c for c in reversed(FUSABLE)}.values())


def materialize(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A fresh module for each module-valued argument (named by its class)."""
    return {k: getattr(nn, v)() if k == "act" and isinstance(v, str) else v for k, v in kwargs.items()}


def ours(
    case: Case, sg: str, step_mode: str, store_v_seq: bool, backend: str, dtype: torch.dtype
) -> neuron.BaseNode:
    sg_module = surrogate.REGISTRY[sg](**SURROGATES[sg])
    node = case.cls(
        **materialize(case.kwargs),
        surrogate_function=sg_module,
        step_mode=step_mode,
        store_v_seq=store_v_seq,
        backend=backend,
    )
    return _prepared(node, case, dtype)


def theirs(case: Case, sg: str, step_mode: str, store_v_seq: bool, dtype: torch.dtype) -> nn.Module:
    from spikingjelly.activation_based import neuron as sj_neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    cls = getattr(sj_neuron, case.name)
    wanted = {
        **materialize(case.kwargs),
        "surrogate_function": getattr(sj_surrogate, sg)(**SURROGATES[sg]),
        "step_mode": step_mode,
        "store_v_seq": store_v_seq,
    }
    accepted = inspect.signature(cls).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    node = cls(**{k: v for k, v in wanted.items() if takes_all or k in accepted})
    for k, v in wanted.items():
        if not (takes_all or k in accepted) and k != "store_v_seq":
            setattr(node, k, v)  # CUBALIFNode's constructor takes five arguments
    if not (takes_all or "store_v_seq" in accepted) and hasattr(node, "store_v_seq"):
        node.store_v_seq = store_v_seq
    return _prepared(node, case, dtype)


def _prepared(node: nn.Module, case: Case, dtype: torch.dtype) -> nn.Module:
    node = node.to(dtype)
    if case.parameter_value is not None:
        with torch.no_grad():
            for p in node.parameters():
                p.fill_(case.parameter_value)
    return node


def inputs(case: Case, shape: tuple[int, ...], seed: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """Around the threshold, so that neurons both fire and stay silent."""
    g = torch.Generator().manual_seed(seed)
    return ((torch.rand(shape, generator=g, dtype=torch.float64) * 1.6 - 0.2) * case.scale).to(dtype)


def initial_states(case: Case, shape: tuple[int, ...], seed: int, dtype: torch.dtype) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        name: (torch.rand(shape, generator=g, dtype=torch.float64) * 0.6 - 0.1).to(dtype)
        for name in case.states
    }
