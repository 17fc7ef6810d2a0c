"""Small helpers around spiking networks: first spikes, delays, label codes, init, threshold margins.

Example:
    >>> import torch
    >>> from spikegrad import functional
    >>> functional.delay(torch.tensor([1.0, 2.0, 3.0]), 1)
    tensor([0., 1., 2.])
"""

from __future__ import annotations

import math
import numbers
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "delay",
    "first_spike_index",
    "kaiming_normal_conv_linear_weight",
    "redundant_one_hot",
    "set_threshold_margin",
]


def first_spike_index(spikes: Tensor) -> Tensor:
    """Where each neuron spikes for the first time, time in the **last** dimension.

    ``out[..., t]`` is ``True`` exactly when ``spikes[..., t]`` is the first non-zero entry
    of ``spikes[..., :]``. Graded spikes (counts, signed spikes) count as spikes wherever
    they are non-zero.

    Args:
        spikes: ``[*, T]``, the outputs of some neurons at ``t = 0 .. T-1``.

    Returns:
        A ``bool`` tensor of the same shape, at most one ``True`` per neuron.

    Raises:
        TypeError: ``spikes`` is not a tensor.
        ValueError: ``spikes`` is 0-dimensional (no time dimension).

    Example:
        >>> import torch
        >>> from spikegrad import functional
        >>> functional.first_spike_index(torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
        tensor([[False,  True, False],
                [False, False, False]])
    """
    if not isinstance(spikes, Tensor):
        raise TypeError(f"first_spike_index expects a tensor [*, T], got {type(spikes).__name__}")
    if spikes.dim() == 0:
        raise ValueError("first_spike_index expects spikes [*, T] with time last, got a 0-d tensor")
    fired = spikes != 0
    return fired & (fired.cumsum(dim=-1) == 1)


def redundant_one_hot(labels: Tensor, num_classes: int, n: int) -> Tensor:
    """One-hot labels with every class coded by ``n`` ones (for ``n`` output neurons per class).

    Args:
        labels: class indices ``[N]`` (integers in ``[0, num_classes)``).
        num_classes: the number of classes, an integer >= 1.
        n: output neurons per class, an integer >= 1.

    Returns:
        ``[N, num_classes * n]`` in the default floating dtype: row ``i`` has ones at
        ``labels[i] * n .. labels[i] * n + n - 1``.

    Raises:
        TypeError: ``labels`` is not an integer tensor, or ``num_classes``/``n`` not integers.
        ValueError: ``num_classes`` or ``n`` below 1, or a label outside ``[0, num_classes)``.

    Example:
        >>> import torch
        >>> from spikegrad import functional
        >>> functional.redundant_one_hot(torch.tensor([0, 2]), 3, 2)
        tensor([[1., 1., 0., 0., 0., 0.],
                [0., 0., 0., 0., 1., 1.]])
    """
    for name, value in (("num_classes", num_classes), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"redundant_one_hot: {name} must be an integer, got {value!r}")
        if value < 1:
            raise ValueError(f"redundant_one_hot: {name} must be >= 1, got {value}")
    if not isinstance(labels, Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
        got = labels.dtype if isinstance(labels, Tensor) else type(labels).__name__
        raise TypeError(f"redundant_one_hot: labels must be an integer tensor of class indices, got {got}")
    if labels.numel() and not bool(((labels >= 0) & (labels < num_classes)).all()):
        bad = labels[(labels < 0) | (labels >= num_classes)].flatten()[0].item()
        raise ValueError(f"redundant_one_hot: labels must lie in [0, {num_classes}), got {bad}")
    codes = F.one_hot(labels.long(), int(num_classes)).repeat_interleave(int(n), dim=-1)
    return codes.to(torch.get_default_dtype())


def delay(x_seq: Tensor, delay_steps: int) -> Tensor:
    """Delay a sequence by ``delay_steps`` time steps: ``y[t] = x[t - delay_steps]``, zeros before.

    Args:
        x_seq: ``[T, *shape]``.
        delay_steps: an integer >= 0; ``0`` returns ``x_seq`` itself, ``>= T`` all zeros.

    Returns:
        ``[T, *shape]``; the gradient reaches the steps that are still in the output.

    Raises:
        TypeError: ``x_seq`` is not a tensor or ``delay_steps`` not an integer.
        ValueError: ``delay_steps < 0``, or ``x_seq`` has no time dimension.

    Example:
        >>> import torch
        >>> from spikegrad import functional
        >>> functional.delay(torch.tensor([[1.0], [2.0], [3.0]]), 2).flatten()
        tensor([0., 0., 1.])
    """
    if isinstance(delay_steps, bool) or not isinstance(delay_steps, numbers.Integral):
        raise TypeError(f"delay: delay_steps must be an integer, got {delay_steps!r}")
    if delay_steps < 0:
        raise ValueError(f"delay: delay_steps must be >= 0, got {delay_steps}")
    if not isinstance(x_seq, Tensor):
        raise TypeError(f"delay expects a tensor [T, *shape], got {type(x_seq).__name__}")
    if x_seq.dim() == 0:
        raise ValueError("delay expects a sequence [T, *shape], got a 0-d tensor")
    steps = int(delay_steps)
    if steps == 0:
        return x_seq
    if steps >= x_seq.shape[0]:
        return torch.zeros_like(x_seq)
    return torch.cat((torch.zeros_like(x_seq[:steps]), x_seq[:-steps]))


def kaiming_normal_conv_linear_weight(net: nn.Module) -> None:
    """Kaiming-normal initialisation of the weights of every convolution and linear layer in ``net``.

    Calls ``nn.init.kaiming_normal_(weight, a=sqrt(5))`` on each ``nn.Conv1d``/``2d``/``3d``
    and ``nn.Linear`` (spikegrad's step-mode aware layers included), in ``net.modules()``
    order; biases are untouched. At the same seed the weights equal SpikingJelly's.

    Args:
        net: any network.

    Example:
        >>> import torch
        >>> from spikegrad import functional, layer
        >>> net = torch.nn.Sequential(layer.Linear(4, 3), torch.nn.ReLU())
        >>> functional.kaiming_normal_conv_linear_weight(net)
    """
    for module in net.modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear):
            nn.init.kaiming_normal_(module.weight, a=math.sqrt(5))


def set_threshold_margin(
    output_layer: nn.Module,
    label_one_hot: Tensor,
    eval_threshold: float = 1.0,
    threshold0: float = 0.9,
    threshold1: float = 1.1,
) -> None:
    """Threshold margins for a classifier's output neurons.

    In training mode, the neuron of each sample's true class gets the threshold
    ``threshold1`` and every other output neuron ``threshold0``; in eval mode all get
    ``eval_threshold``. (With ``threshold1 > threshold0`` the right neuron must be driven
    harder than the others, which widens the margin between classes.)

    Training mode needs a neuron whose ``v_threshold`` takes a tensor ``[N, C]``;
    spikegrad's IF/LIF/PLIF neurons take one number per layer, so for them only eval mode
    is available and training mode raises the ``TypeError`` below.

    Args:
        output_layer: the output neurons (output ``[N, C]``).
        label_one_hot: one-hot labels ``[N, C]``.
        eval_threshold: threshold of every neuron in eval mode (default 1.0).
        threshold0: threshold of the wrong classes' neurons in training (default 0.9).
        threshold1: threshold of the true class's neuron in training (default 1.1).

    Raises:
        TypeError: ``output_layer`` is not a module, ``label_one_hot`` not a tensor, or (in
            training mode) the neuron does not take a tensor threshold.
    """
    if not isinstance(output_layer, nn.Module):
        raise TypeError(
            f"set_threshold_margin: output_layer must be a module, got {type(output_layer).__name__}"
        )
    if not output_layer.training:
        cast(Any, output_layer).v_threshold = eval_threshold
        return
    if not isinstance(label_one_hot, Tensor):
        raise TypeError(
            f"set_threshold_margin: label_one_hot must be a tensor [N, C], got {type(label_one_hot).__name__}"
        )
    dtype = label_one_hot.dtype if label_one_hot.is_floating_point() else torch.get_default_dtype()
    thresholds: Any = torch.full_like(label_one_hot, threshold0, dtype=dtype)
    thresholds[label_one_hot == 1] = threshold1
    try:
        cast(Any, output_layer).v_threshold = thresholds
    except TypeError as error:
        raise TypeError(
            f"set_threshold_margin: {type(output_layer).__name__}.v_threshold takes only a number, so "
            "per-sample threshold margins cannot be set in training mode (eval mode works)"
        ) from error
