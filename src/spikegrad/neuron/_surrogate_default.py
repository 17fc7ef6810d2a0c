"""A neuron's ``surrogate_function`` argument when its default is not ``Sigmoid()``.

SpikingJelly gives some neurons another default spike function (CLIF a ``Rect``, I-LIF a
``MultiLevelSpikeCount``, the parallel spiking neurons an ``ATan``). spikegrad's default is
``None``, read as a fresh instance of that surrogate for each neuron, never one object shared
by all the neurons of a process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .params import Param, check_surrogate


def surrogate_param(default: str) -> Param:
    """The ``surrogate_function`` parameter whose ``None`` means a fresh ``default``.

    It is a constructor-only argument (``attribute=False``): the class's ``setup`` makes the
    module with :func:`surrogate_or`.

    Args:
        default: the default surrogate as the docs spell it, e.g. ``"surrogate.Rect(alpha=1.0)"``.
    """

    def check(owner: str, name: str, value: Any) -> Any:
        return None if value is None else check_surrogate(owner, name, value)

    return Param(
        "surrogate_function",
        None,
        check,
        f"a surrogate module; None: a fresh {default}",
        "the spike function: Heaviside forward, its surrogate gradient backward",
        attribute=False,
    )


def surrogate_or(owner: str, value: Any, default: Callable[[], nn.Module]) -> nn.Module:
    """``value`` checked as a surrogate module, or ``default()`` when it is ``None``."""
    if value is None:
        return default()
    return check_surrogate(owner, "surrogate_function", value)
