"""Whole-network state and mode: reset, truncate, switch the step mode.

Example:
    >>> import torch
    >>> from spikegrad import functional, layer, neuron
    >>> net = torch.nn.Sequential(layer.Linear(4, 3), neuron.LIFNode())
    >>> functional.set_step_mode(net, "m")
    >>> net(torch.rand(8, 2, 4)).shape  # [T, N, features]
    torch.Size([8, 2, 3])
    >>> functional.reset_net(net)  # before the next sequence
"""

from __future__ import annotations

import warnings
from typing import Any, cast

from torch import nn

from ..base import MemoryModule, StepModule, check_step_mode

__all__ = ["detach_net", "reset_net", "set_step_mode"]


def reset_net(net: nn.Module) -> None:
    """Return every memory module in ``net`` (``net`` included) to its initial state.

    Call it between independent sequences (batches). It walks ``net.modules()`` at each
    call, so modules added after the network was built are reset too.

    Raises:
        TypeError: ``net`` is not an ``nn.Module``.
    """
    _check_network("reset_net", net)
    for module in net.modules():
        if isinstance(module, MemoryModule):
            module.reset()


def detach_net(net: nn.Module) -> None:
    """Cut the autograd history of every memory in ``net`` (truncated BPTT); values are kept.

    Raises:
        TypeError: ``net`` is not an ``nn.Module``.
    """
    _check_network("detach_net", net)
    for module in net.modules():
        if isinstance(module, MemoryModule):
            module.detach()


def set_step_mode(net: nn.Module, step_mode: str) -> None:
    """Set ``step_mode`` of every step-mode aware module in ``net`` (``net`` included).

    * A :class:`~spikegrad.base.StepModule` that supports ``step_mode`` gets it.
    * One fixed to another mode is left as it is, as in SpikingJelly: a
      :class:`~spikegrad.layer.SeqToANNContainer` stays multi-step in a network set to
      ``'s'``, a :class:`~spikegrad.base.SingleStepModule` stays single-step in ``'m'``.
    * A module with ``steps_its_children`` (the containers that feed their layers single
      steps, e.g. ``SeqToANNContainer``) is set, but its children are left alone.
    * Any other module with a ``step_mode`` attribute (a user class that is not a
      ``StepModule``) gets the value assigned without validation, with a warning, as in
      SpikingJelly.

    Args:
        net: the network.
        step_mode: ``'s'`` (single-step) or ``'m'`` (multi-step).

    Raises:
        TypeError: ``net`` is not an ``nn.Module``.
        ValueError: ``step_mode`` is not ``'s'`` or ``'m'``.

    Warns:
        UserWarning: a module's plain ``step_mode`` attribute is overwritten.
    """
    _check_network("set_step_mode", net)
    check_step_mode(step_mode, owner="set_step_mode")

    def visit(module: nn.Module, path: str, depth: int) -> None:
        if isinstance(module, StepModule):
            if step_mode in module.supported_step_mode():
                module.step_mode = step_mode
            if getattr(module, "steps_its_children", False):
                return
        elif hasattr(module, "step_mode"):
            warnings.warn(
                f"set_step_mode: {type(module).__name__} at {path or '<root>'!r} has a step_mode "
                f"attribute but is not a spikegrad.base.StepModule; setting it to {step_mode!r} "
                "without validation (subclass spikegrad.base.StepModule to make it step-mode aware)",
                UserWarning,
                stacklevel=depth + 3,  # the caller of set_step_mode
            )
            cast(Any, module).step_mode = step_mode
        for name, child in module.named_children():
            visit(child, f"{path}.{name}" if path else name, depth + 1)

    visit(net, "", 0)


def _check_network(owner: str, net: object) -> None:
    if not isinstance(net, nn.Module):
        raise TypeError(f"{owner} expects the network, a torch.nn.Module, got {type(net).__name__}")
