r"""spikegrad's neurons as NIR's neuron nodes, and back: the time-step conventions in one place.

NIR describes neurons in continuous time; spikegrad's (SpikingJelly's) are their forward-Euler
discretisation with step ``dt`` (seconds). Per node, with ``tau`` etc. NIR's values and
``tau_sj = tau / dt`` spikegrad's time constant in steps:

========================  ==========================================================================
spikegrad                 NIR
========================  ==========================================================================
``IFNode``                ``IF(r = 1/dt, v_threshold, v_reset)``: ``dt dv/dt = dt r I`` adds ``x`` per step
``LIFNode(tau_sj)``       ``LIF(tau = tau_sj dt, r, v_leak = v_reset, v_threshold, v_reset)`` with
                          ``r = 1`` (``decay_input=True``: ``h = v + (x - (v - v_leak)) / tau_sj``)
                          or ``r = tau_sj`` (``decay_input=False``: ``h = v - (v - v_leak) / tau_sj + x``)
``ParametricLIFNode``     ``LIF`` with its current ``tau = 1 / sigmoid(w)`` (imported as ``LIFNode``)
``CUBALIFNode(c, v)``     ``CubaLIF(tau_syn = dt/(1-c), tau_mem = dt/(1-v), r = tau_mem/dt,
                          w_in = tau_syn/dt, v_leak = 0)``: ``i = c i + x``, ``h = v v + i``
========================  ==========================================================================

These are SpikingJelly 2.0's conventions (and snnTorch's for ``r = tau/dt``), so graphs move
between the three libraries with the same numbers at the same ``dt``.

**Reset.** NIR's nodes reset to ``v_reset`` (a hard reset). A spikegrad neuron with a soft
reset (``v_reset=None``: subtract the threshold) is written with ``v_reset = 0``, ``v_leak = 0``
and the node metadata ``{"reset": "subtract"}``, which :func:`neuron_from_nir` reads back.
Other readers ignore the metadata and reset to 0 instead, so :func:`export_to_nir` warns.

**Firing.** spikegrad fires when ``h >= v_threshold``, NIR's text says ``h > v_threshold``; the
two differ only when the charge lands exactly on the threshold. Training-only settings (the
surrogate's gradient, ``detach_reset``, the backend) are not part of a NIR graph.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from torch import nn

from .. import neuron
from ..surrogate import Surrogate
from ._nir import nir

#: NIR metadata key and value that mark a soft reset (subtract the threshold).
RESET_KEY = "reset"
SUBTRACT = "subtract"

#: Relative tolerance when a NIR value must equal what spikegrad's discretisation implies
#: (files store float32, so ``r = tau / dt`` is only close to the float64 quotient).
RTOL = 1e-5


def check_dt(dt: Any) -> float:
    """Return ``dt`` as a float if it is a finite number > 0.

    Raises:
        TypeError: ``dt`` is not a number.
        ValueError: ``dt`` is not finite and positive.
    """
    if isinstance(dt, bool) or not isinstance(dt, int | float):
        raise TypeError(f"dt must be a number (the time step in seconds), got {type(dt).__name__}")
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0 (the time step in seconds), got {dt!r}")
    return float(dt)


# --------------------------------------------------------------------------- export


def exportable_neurons() -> dict[type[nn.Module], Callable[[Any, tuple[int, ...], float], Any]]:
    """The neuron classes :func:`neuron_to_nir` writes, each with its writer (exact classes:
    a subclass may have other dynamics)."""
    writers: dict[type[nn.Module], Callable[[Any, tuple[int, ...], float], Any]] = {
        neuron.IFNode: _if_to_nir,
        neuron.LIFNode: _lif_to_nir,
        neuron.ParametricLIFNode: _lif_to_nir,
    }
    cuba = getattr(neuron, "CUBALIFNode", None)
    if cuba is not None:
        writers[cuba] = _cuba_lif_to_nir
    return writers


def is_neuron(module: nn.Module) -> bool:
    """Whether ``module`` is a spiking neuron (of any class)."""
    return isinstance(module, neuron.BaseNode)


def check_neuron(module: nn.Module, path: str) -> None:
    """Raise unless :func:`neuron_to_nir` can write ``module``.

    Raises:
        ValueError: a neuron class without a NIR node, or a spike function that is not the
            Heaviside step (a stochastic or multi-level forward, or ``spiking=False``).
    """
    if type(module) not in exportable_neurons():
        names = ", ".join(cls.__name__ for cls in exportable_neurons())
        raise ValueError(
            f"{path} ({type(module).__name__}) has no NIR node: NIR's spiking neurons are IF, LIF and "
            f"CubaLIF, written from {names}; {type(module).__name__} would need a NIR node with its own "
            "dynamics"
        )
    spike_fn = module.surrogate_function
    ok = isinstance(spike_fn, Surrogate) and spike_fn.spiking and type(spike_fn).spike is Surrogate.spike
    if not ok:
        raise ValueError(
            f"{path} ({type(module).__name__}) fires through {spike_fn!r}, whose forward is not the "
            "Heaviside step; NIR's neurons emit spikes H(v - v_threshold) (use a surrogate with "
            "spiking=True and no special forward)"
        )


def neuron_to_nir(module: nn.Module, path: str, shape: tuple[int, ...], dt: float) -> Any:
    """The NIR node of one layer of neurons.

    Args:
        module: an ``IFNode``, ``LIFNode``, ``ParametricLIFNode`` or ``CUBALIFNode``.
        path: its name in the network, for messages.
        shape: one sample's shape at the neurons (no time or batch dimension).
        dt: the time step in seconds.

    Raises:
        ValueError: as :func:`check_neuron`.
    """
    check_neuron(module, path)
    return exportable_neurons()[type(module)](module, shape, dt)


def _full(shape: tuple[int, ...], value: float) -> np.ndarray:
    return np.full(shape, float(value), dtype=np.float64)


def _reset_fields(module: Any, shape: tuple[int, ...]) -> dict[str, Any]:
    """``v_reset`` and, for a soft reset, the metadata that says so."""
    if module.v_reset is None:
        return {"v_reset": _full(shape, 0.0), "metadata": {RESET_KEY: SUBTRACT}}
    return {"v_reset": _full(shape, module.v_reset)}


def _if_to_nir(module: Any, shape: tuple[int, ...], dt: float) -> Any:
    return nir().IF(
        r=_full(shape, 1.0 / dt), v_threshold=_full(shape, module.v_threshold), **_reset_fields(module, shape)
    )


def _lif_to_nir(module: Any, shape: tuple[int, ...], dt: float) -> Any:
    tau = float(module.tau)  # PLIF: its current 1 / sigmoid(w)
    return nir().LIF(
        tau=_full(shape, tau * dt),
        r=_full(shape, 1.0 if module.decay_input else tau),
        v_leak=_full(shape, module.v_rest),
        v_threshold=_full(shape, module.v_threshold),
        **_reset_fields(module, shape),
    )


def _cuba_lif_to_nir(module: Any, shape: tuple[int, ...], dt: float) -> Any:
    for name in ("c_decay", "v_decay"):
        value = float(getattr(module, name))
        if not 0.0 <= value < 1.0:
            raise ValueError(
                f"CUBALIFNode.{name} = {value} has no NIR time constant: tau = dt / (1 - {name}) needs "
                f"{name} in [0, 1)"
            )
    tau_syn = dt / (1.0 - float(module.c_decay))
    tau_mem = dt / (1.0 - float(module.v_decay))
    return nir().CubaLIF(
        tau_syn=_full(shape, tau_syn),
        tau_mem=_full(shape, tau_mem),
        r=_full(shape, tau_mem / dt),
        v_leak=_full(shape, 0.0),
        v_threshold=_full(shape, module.v_threshold),
        w_in=_full(shape, tau_syn / dt),
        **_reset_fields(module, shape),
    )


def warn_soft_reset(paths: list[str]) -> None:
    """Warn once that other NIR readers reset these neurons to 0 instead of subtracting."""
    if paths:
        warnings.warn(
            f"{', '.join(paths)}: soft reset (v_reset=None) is not part of NIR's neuron nodes; it is "
            f"written as node metadata {{'{RESET_KEY}': '{SUBTRACT}'}}, which spikegrad reads back but "
            "other NIR readers ignore (they reset to v_reset = 0)",
            UserWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------- import


def importable_neuron_nodes() -> tuple[type, ...]:
    """The NIR node classes :func:`neuron_from_nir` reads."""
    return (nir().IF, nir().LIF, nir().CubaLIF)


def neuron_from_nir(node: Any, name: str, dt: float) -> neuron.BaseNode:
    """A spikegrad neuron (in ``step_mode='s'``) from a NIR ``IF``, ``LIF`` or ``CubaLIF`` node.

    Args:
        node: the NIR node.
        name: its name in the graph, for messages.
        dt: the time step in seconds.

    Raises:
        ValueError: a parameter that differs between neurons of the node (spikegrad's neurons
            share one value per layer), or that does not fit spikegrad's discretisation at
            ``dt`` (the message says what it must be).
    """
    values = _NodeValues(node, name)
    soft = values.soft_reset()
    v_reset = None if soft else values.uniform("v_reset")
    v_threshold = values.uniform("v_threshold")
    kind = type(node).__name__
    if kind == "IF":
        values.expect(
            "r", 1.0 / dt, f"IFNode adds its input once per step: r = 1/dt = {1.0 / dt:g} at dt = {dt:g}"
        )
        return neuron.IFNode(v_threshold=v_threshold, v_reset=v_reset)
    if kind == "LIF":
        tau = values.uniform("tau") / dt
        if not (math.isfinite(tau) and tau > 1.0):
            raise ValueError(
                f"NIR node {name!r} (LIF): tau / dt = {tau:g} steps at dt = {dt:g}; LIFNode needs more "
                "than 1 step (import with a smaller dt)"
            )
        values.expect(
            "v_leak",
            0.0 if v_reset is None else v_reset,
            "LIFNode leaks towards v_reset (0 for a soft reset)",
        )
        r = values.uniform("r")
        if _close(r, 1.0):
            decay_input = True
        elif _close(r, tau):
            decay_input = False
        else:
            raise ValueError(
                f"NIR node {name!r} (LIF): r = {r:g}; LIFNode takes r = 1 (decay_input=True) or "
                f"r = tau/dt = {tau:g} (decay_input=False) at dt = {dt:g}"
            )
        return neuron.LIFNode(tau=tau, decay_input=decay_input, v_threshold=v_threshold, v_reset=v_reset)
    if kind == "CubaLIF":
        cuba = getattr(neuron, "CUBALIFNode", None)
        if cuba is None:
            raise ValueError(
                f"NIR node {name!r} (CubaLIF) needs spikegrad.neuron.CUBALIFNode, which this version "
                "of spikegrad does not have"
            )
        tau_syn, tau_mem = values.uniform("tau_syn"), values.uniform("tau_mem")
        for field, tau in (("tau_syn", tau_syn), ("tau_mem", tau_mem)):
            if not (math.isfinite(tau) and tau >= dt):
                raise ValueError(
                    f"NIR node {name!r} (CubaLIF): {field} = {tau:g} is shorter than dt = {dt:g}; "
                    "CUBALIFNode's decay 1 - dt/tau would be negative"
                )
        values.expect("r", tau_mem / dt, "CUBALIFNode adds the current to v as it is: r = tau_mem/dt")
        values.expect(
            "w_in", tau_syn / dt, "CUBALIFNode adds its input to the current as it is: w_in = tau_syn/dt"
        )
        values.expect("v_leak", 0.0, "CUBALIFNode's potential decays towards 0")
        return cuba(  # type: ignore[no-any-return]
            c_decay=1.0 - dt / tau_syn,
            v_decay=1.0 - dt / tau_mem,
            v_threshold=v_threshold,
            v_reset=v_reset,
        )
    raise ValueError(f"NIR node {name!r} ({kind}) is not a spiking neuron node")


def _close(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=RTOL, atol=1e-12))


class _NodeValues:
    """Reads one NIR node's parameter arrays as the single numbers a spikegrad layer holds."""

    def __init__(self, node: Any, name: str) -> None:
        self.node, self.name, self.kind = node, name, type(node).__name__

    def uniform(self, field: str) -> float:
        array = np.asarray(getattr(self.node, field), dtype=np.float64)
        if array.size == 0:
            raise ValueError(f"NIR node {self.name!r} ({self.kind}): {field} is empty")
        low, high = float(array.min()), float(array.max())
        if not _close(low, high):
            raise ValueError(
                f"NIR node {self.name!r} ({self.kind}): {field} differs between neurons ({low:g} to "
                f"{high:g}); a spikegrad neuron layer has one {field}"
            )
        return float(array.flat[0])

    def expect(self, field: str, expected: float, why: str) -> None:
        value = self.uniform(field)
        if not _close(value, expected):
            raise ValueError(
                f"NIR node {self.name!r} ({self.kind}): {field} = {value:g}, expected {expected:g} ({why})"
            )

    def soft_reset(self) -> bool:
        value = (getattr(self.node, "metadata", None) or {}).get(RESET_KEY)
        if isinstance(value, bytes | np.bytes_):
            value = value.decode("utf-8")
        if value is None:
            return False
        if value != SUBTRACT:
            raise ValueError(
                f"NIR node {self.name!r} ({self.kind}): metadata {RESET_KEY!r} = {value!r}; spikegrad knows "
                f"{SUBTRACT!r} (soft reset) or no entry (reset to v_reset)"
            )
        return True
