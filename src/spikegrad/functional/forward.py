"""Running layers over time: step by step, merged into the batch, in chunks, time first or last.

A sequence is time-major, ``[T, N, *shape]``, except for the ``t_last_*`` functions, which
take SpikingJelly's other layout ``[N, *shape, T]``.

* :func:`multi_step_forward` calls single-step module(s) once per time step (for stateful
  modules such as neurons, or anything that must see one step at a time).
* :func:`seq_to_ann_forward` merges time into the batch (``[T*N, *shape]``) and calls
  stateless module(s) once (convolutions, pooling, batch norm ...).
* :func:`chunk_multi_step_forward` feeds a multi-step network a long sequence in chunks of
  time steps (inference with a large ``T`` in bounded memory).

Example:
    >>> import torch
    >>> from spikegrad import functional, neuron
    >>> node = neuron.IFNode()
    >>> functional.multi_step_forward(torch.tensor([[0.6], [0.6], [0.6]]), node).flatten()
    tensor([0., 1., 0.])
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

Stage = nn.Module | Callable[..., Any]
Stages = Stage | Sequence[Stage]

__all__ = [
    "chunk_multi_step_forward",
    "merged_time",
    "multi_step_forward",
    "seq_to_ann_forward",
    "step_by_step",
    "t_last_multi_step_forward",
    "t_last_seq_to_ann_forward",
]


def _as_callable(stages: Stages) -> Callable[..., Any]:
    """One callable for a module, a callable, or a list/tuple of them applied in order.

    With several stages the first receives the positional arguments, each later one the
    previous output (SpikingJelly's convention, so a tuple input reaches the first stage
    as several arguments).
    """
    if isinstance(stages, Sequence):
        chain = tuple(stages)
        if not chain:
            raise ValueError("expected at least one module or callable, got an empty sequence")
        for stage in chain:
            _check_stage(stage)

        def run(*args: Any) -> Any:
            out = chain[0](*args)
            for stage in chain[1:]:
                out = stage(out)
            return out

        return run
    _check_stage(stages)
    return stages


def _check_stage(stage: object) -> None:
    if not callable(stage):
        raise TypeError(f"expected a module or a callable, got {type(stage).__name__}")


def multi_step_forward(x_seq: Tensor, stages: Stages) -> Tensor:
    """Run single-step module(s) over each time step of ``x_seq`` and stack the outputs.

    Use it for modules that are stateful or must see one step at a time.

    Args:
        x_seq: input sequence ``[T, *shape]``, ``T >= 1``.
        stages: a module or callable taking one step, or a list/tuple of them applied in order.

    Returns:
        ``[T, *out_shape]``.

    Raises:
        TypeError: ``x_seq`` is not a tensor, or a stage is not callable.
        ValueError: ``x_seq`` has no time dimension or ``T == 0``.
    """
    return step_by_step(x_seq, _as_callable(stages))


def t_last_multi_step_forward(x_seq: Tensor, stages: Stages) -> Tensor:
    """:func:`multi_step_forward` for sequences with time in the last dimension.

    Each step ``x_seq[..., t]`` (shape ``[N, *shape]``) goes through the stages; the outputs
    are stacked along the last dimension again.

    Args:
        x_seq: input sequence ``[N, *shape, T]``, ``T >= 1``.
        stages: a module or callable taking one step, or a list/tuple of them applied in order.

    Returns:
        ``[N, *out_shape, T]``.

    Raises:
        TypeError: ``x_seq`` is not a tensor, or a stage is not callable.
        ValueError: ``x_seq`` has no time dimension or ``T == 0``.

    Example:
        >>> import torch
        >>> from spikegrad import functional, neuron
        >>> x_seq = torch.tensor([[0.6, 0.6, 0.6]])  # [N=1, T=3]
        >>> functional.t_last_multi_step_forward(x_seq, neuron.IFNode())
        tensor([[0., 1., 0.]])
    """
    fn = _as_callable(stages)
    _check_sequence("t_last_multi_step_forward", x_seq, 1, "[N, *shape, T]")
    if x_seq.shape[-1] == 0:
        raise ValueError("t_last_multi_step_forward needs at least one time step, got T = 0")
    return torch.stack([fn(x) for x in x_seq.unbind(-1)], dim=-1)


def seq_to_ann_forward(x_seq: Tensor | tuple[Tensor, ...], stages: Stages) -> Tensor | tuple[Tensor, ...]:
    """Run stateless module(s) once over all time steps by merging time into the batch.

    ``[T, N, *shape]`` is viewed as ``[T*N, *shape]``, passed through ``stages`` and split
    back into ``[T, N, *out_shape]``: one big call instead of T small ones. Only for
    modules without state across steps (convolutions, pooling, batch norm...).

    ``x_seq`` may also be a tuple of sequences sharing ``T`` and ``N`` (e.g. pooled values
    and their indices for an unpooling layer): each is merged separately and the first stage
    receives them as positional arguments. A tuple returned by the stages is split back
    element by element.

    Args:
        x_seq: input sequence ``[T, N, *shape]``, or a tuple of them.
        stages: a module or callable, or a list/tuple of them applied in order.

    Returns:
        ``[T, N, *out_shape]``, or a tuple of them.

    Raises:
        TypeError: ``x_seq`` is not a tensor (or a tuple of tensors); a stage is not callable.
        ValueError: ``x_seq`` has fewer than two dimensions, or the tensors of a tuple differ
            in their ``[T, N]``.
    """
    fn = _as_callable(stages)
    if not isinstance(x_seq, tuple):
        _check_sequence("seq_to_ann_forward", x_seq, 2, "[T, N, *shape]")
        time_steps, batch = x_seq.shape[:2]
        return _split_time(fn(x_seq.flatten(0, 1)), time_steps, batch)
    if not x_seq:
        raise ValueError("seq_to_ann_forward got an empty tuple of sequences")
    for item in x_seq:
        _check_sequence("seq_to_ann_forward", item, 2, "[T, N, *shape]")
    leading = x_seq[0].shape[:2]
    if any(item.shape[:2] != leading for item in x_seq[1:]):
        shapes = [tuple(item.shape) for item in x_seq]
        raise ValueError(
            f"seq_to_ann_forward: the sequences of a tuple must share [T, N], got shapes {shapes}"
        )
    return _split_time(fn(*(item.flatten(0, 1) for item in x_seq)), leading[0], leading[1])


def t_last_seq_to_ann_forward(x_seq: Tensor, stages: Stages) -> Tensor | tuple[Tensor, ...]:
    """:func:`seq_to_ann_forward` for sequences with time in the last dimension.

    ``[N, *shape, T]`` is moved to ``[T*N, *shape]``, passed through ``stages`` once and
    moved back to ``[N, *out_shape, T]``. The stages must treat samples independently
    (the same requirement as SpikingJelly's, which maps them over ``T`` with ``torch.vmap``);
    a batch norm here normalises over ``T*N`` samples.

    Args:
        x_seq: input sequence ``[N, *shape, T]``.
        stages: a module or callable, or a list/tuple of them applied in order.

    Returns:
        ``[N, *out_shape, T]`` (a tuple of them if the stages return a tuple).

    Raises:
        TypeError: ``x_seq`` is not a tensor, or a stage is not callable.
        ValueError: ``x_seq`` has fewer than two dimensions.

    Example:
        >>> import torch
        >>> from spikegrad import functional
        >>> x_seq = torch.rand(2, 3, 5)  # [N, features, T]
        >>> functional.t_last_seq_to_ann_forward(x_seq, torch.nn.Linear(3, 4)).shape
        torch.Size([2, 4, 5])
    """
    fn = _as_callable(stages)
    _check_sequence("t_last_seq_to_ann_forward", x_seq, 2, "[N, *shape, T]")
    time_major = x_seq.movedim(-1, 0)
    time_steps, batch = time_major.shape[:2]
    out = _split_time(fn(time_major.flatten(0, 1)), time_steps, batch)
    if isinstance(out, tuple):
        return tuple(item.movedim(0, -1) for item in out)
    return out.movedim(0, -1)


def chunk_multi_step_forward(
    split_size: int, x_seq: Tensor, multi_step_module: Callable[[Tensor], Tensor]
) -> Tensor:
    """Feed a multi-step network a long sequence ``split_size`` time steps at a time.

    ``x_seq`` ``[T, *shape]`` is cut into chunks ``[split_size, *shape]`` (the last one
    shorter when ``split_size`` does not divide ``T``); each chunk goes through
    ``multi_step_module`` and the outputs are concatenated along time. Stateful modules keep
    their state from one chunk to the next, so the result equals one call on the whole
    sequence, with the peak memory of a chunk: useful for inference with a large ``T``.

    Args:
        split_size: time steps per chunk, an integer >= 1.
        x_seq: input sequence ``[T, *shape]``.
        multi_step_module: a network in multi-step mode (or any callable on sequences).

    Returns:
        ``[T, *out_shape]``.

    Raises:
        TypeError: ``split_size`` is not an integer, ``x_seq`` not a tensor, or the module
            not callable.
        ValueError: ``split_size < 1``, or ``x_seq`` has no time dimension.

    Example:
        >>> import torch
        >>> from spikegrad import functional, neuron
        >>> node = neuron.IFNode(step_mode="m")
        >>> functional.chunk_multi_step_forward(2, torch.full((5, 1), 0.6), node).flatten()
        tensor([0., 1., 0., 1., 0.])
    """
    if isinstance(split_size, bool) or not isinstance(split_size, numbers.Integral):
        raise TypeError(f"chunk_multi_step_forward: split_size must be an integer, got {split_size!r}")
    if split_size < 1:
        raise ValueError(f"chunk_multi_step_forward: split_size must be >= 1, got {split_size}")
    _check_stage(multi_step_module)
    _check_sequence("chunk_multi_step_forward", x_seq, 1, "[T, *shape]")
    return torch.cat([multi_step_module(chunk) for chunk in torch.split(x_seq, int(split_size))])


# The two loops of multi_step_forward and seq_to_ann_forward for one callable, without
# inspecting it: the step-mode aware layers call these with their parent's bound ``forward``,
# which some torch.compile versions cannot pass through ``isinstance``.


def step_by_step(x_seq: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """:func:`multi_step_forward` for a single callable."""
    _check_sequence("multi_step_forward", x_seq, 1, "[T, *shape]")
    if x_seq.shape[0] == 0:
        raise ValueError("multi_step_forward needs at least one time step, got T = 0")
    return torch.stack([fn(x) for x in x_seq.unbind(0)])


def merged_time(x_seq: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """:func:`seq_to_ann_forward` for a single callable and a single tensor."""
    _check_sequence("seq_to_ann_forward", x_seq, 2, "[T, N, *shape]")
    time_steps, batch = x_seq.shape[:2]
    return fn(x_seq.flatten(0, 1)).unflatten(0, (time_steps, batch))


def _split_time(out: Any, time_steps: int, batch: int) -> Tensor | tuple[Tensor, ...]:
    if isinstance(out, tuple):
        return tuple(item.unflatten(0, (time_steps, batch)) for item in out)
    return out.unflatten(0, (time_steps, batch))


def _check_sequence(owner: str, x_seq: object, min_dim: int, layout: str) -> None:
    if not isinstance(x_seq, Tensor):
        raise TypeError(f"{owner} expects a torch.Tensor {layout}, got {type(x_seq).__name__}")
    if x_seq.dim() < min_dim:
        order = "time last" if layout.endswith("T]") else "time first"
        raise ValueError(f"{owner} expects a sequence {layout} ({order}), got shape {tuple(x_seq.shape)}")
