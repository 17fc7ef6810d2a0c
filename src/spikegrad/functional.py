"""Whole-network helpers: reset, step mode, truncation, and running layers over time.

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

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from .base import MemoryModule, StepModule, check_step_mode

Stage = nn.Module | Callable[[Tensor], Tensor]
Stages = Stage | Sequence[Stage]


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

    The layers inside a :class:`~spikegrad.layer.SeqToANNContainer` are left alone: the
    container feeds them single steps (``[T*N, ...]``) whatever the network's mode.

    Raises:
        TypeError: ``net`` is not an ``nn.Module``.
        ValueError: ``step_mode`` is not ``'s'`` or ``'m'``, or a module of ``net`` cannot
            run in that mode (e.g. a ``SeqToANNContainer`` is multi-step only).
    """
    _check_network("set_step_mode", net)
    check_step_mode(step_mode)

    def visit(module: nn.Module, path: str) -> None:
        if isinstance(module, StepModule):
            if step_mode not in module.step_modes:
                raise ValueError(
                    f"set_step_mode: {type(module).__name__} at {path or '<root>'!r} only runs in "
                    f"step_mode {module.step_modes}, cannot set {step_mode!r}"
                )
            module.step_mode = step_mode
            if getattr(module, "steps_its_children", False):
                return
        for name, child in module.named_children():
            visit(child, f"{path}.{name}" if path else name)

    visit(net, "")


def _check_network(owner: str, net: object) -> None:
    if not isinstance(net, nn.Module):
        raise TypeError(f"{owner} expects the network, a torch.nn.Module, got {type(net).__name__}")


def _as_callable(stages: Stages, owner: str) -> Callable[[Tensor], Tensor]:
    if isinstance(stages, Sequence):
        chain = tuple(stages)
        for index, stage in enumerate(chain):
            if not callable(stage):
                raise TypeError(
                    f"{owner}: stage {index} must be a module or callable, got {type(stage).__name__}")

        def run(x: Tensor) -> Tensor:
            for stage in chain:
                x = stage(x)
            return x

        return run
    if not callable(stages):
        raise TypeError(f"{owner}: stages must be a module or callable (or a sequence of them), "
                        f"got {type(stages).__name__}")
    return stages


def multi_step_forward(x_seq: Tensor, stages: Stages) -> Tensor:
    """Run single-step module(s) over each time step of ``x_seq`` and stack the outputs.

    Use it for modules that are stateful or must see one step at a time.

    Args:
        x_seq: input sequence ``[T, *shape]``, ``T >= 1``.
        stages: a module or callable taking one step, or a sequence of them applied in order.

    Returns:
        ``[T, *out_shape]``.

    Raises:
        TypeError: ``x_seq`` is not a tensor, or a stage is not callable.
        ValueError: ``x_seq`` has no time dimension or ``T == 0``.
    """
    return step_by_step(x_seq, _as_callable(stages, "multi_step_forward"))


def seq_to_ann_forward(x_seq: Tensor, stages: Stages) -> Tensor:
    """Run stateless module(s) once over all time steps by merging time into the batch.

    ``[T, N, *shape]`` is viewed as ``[T*N, *shape]``, passed through ``stages`` and split
    back into ``[T, N, *out_shape]``: one big call instead of T small ones. Only for
    modules without state across steps (convolutions, pooling, batch norm...).

    Args:
        x_seq: input sequence ``[T, N, *shape]``.
        stages: a module or callable, or a sequence of them applied in order.

    Returns:
        ``[T, N, *out_shape]``.

    Raises:
        TypeError: ``x_seq`` is not a tensor, or a stage is not callable.
        ValueError: ``x_seq`` has fewer than two dimensions.
    """
    return merged_time(x_seq, _as_callable(stages, "seq_to_ann_forward"))


# The two loops above for one callable, without inspecting it: the step-mode aware layers
# call these with their parent's bound ``forward``, which some torch.compile versions cannot
# pass through ``isinstance``.


def step_by_step(x_seq: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """:func:`multi_step_forward` for a single callable."""
    _check_sequence("multi_step_forward", x_seq, 1, "[T, *shape]")
    if x_seq.shape[0] == 0:
        raise ValueError("multi_step_forward needs at least one time step, got T = 0")
    return torch.stack([fn(x) for x in x_seq.unbind(0)])


def merged_time(x_seq: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """:func:`seq_to_ann_forward` for a single callable."""
    _check_sequence("seq_to_ann_forward", x_seq, 2, "[T, N, *shape]")
    time_steps, batch = x_seq.shape[:2]
    return fn(x_seq.flatten(0, 1)).unflatten(0, (time_steps, batch))


def _check_sequence(owner: str, x_seq: object, min_dim: int, layout: str) -> None:
    if not isinstance(x_seq, Tensor):
        raise TypeError(f"{owner} expects a torch.Tensor {layout}, got {type(x_seq).__name__}")
    if x_seq.dim() < min_dim:
        raise ValueError(f"{owner} expects a sequence {layout} (time first), got shape {tuple(x_seq.shape)}")
