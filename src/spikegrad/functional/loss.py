r"""Losses for spiking networks: per-time-step cross entropy (TET) and spike-pattern similarity.

Example:
    >>> import torch
    >>> from spikegrad import functional
    >>> x_seq = torch.zeros(4, 2, 3)  # [T, N, C] logits
    >>> loss = functional.temporal_efficient_training_cross_entropy(x_seq, torch.tensor([0, 2]))
    >>> round(loss.item(), 4)  # ln 3: uniform logits at every step
    1.0986
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["kernel_dot_product", "spike_similar_loss", "temporal_efficient_training_cross_entropy"]

KERNELS = ("linear", "polynomial", "sigmoid", "gaussian")
LOSSES = ("mse", "l1", "bce")


def temporal_efficient_training_cross_entropy(x_seq: Tensor, target: Tensor) -> Tensor:
    r"""Cross entropy at every time step, averaged: the TET loss of Deng et al. (2022).

    .. math::
        \mathcal{L} = \frac{1}{T} \sum_{t=0}^{T-1} \mathrm{CE}(O_t, y)

    Training on every step's output instead of the time-averaged one makes the network
    correct early and keeps the momentum of the gradient descent from favouring a few steps.
    It is exactly ``F.cross_entropy`` of ``[N, C, T, *]`` logits against the labels
    repeated over time.

    Args:
        x_seq: logits ``[T, N, C]`` or ``[T, N, C, d1, ..., dk]`` (e.g. per pixel).
        target: class indices ``[N]`` or ``[N, d1, ..., dk]``, integers in ``[0, C)``.

    Returns:
        The mean loss over time, batch and positions (a 0-dim tensor).

    Raises:
        TypeError: ``x_seq`` is not a floating tensor, or ``target`` not an integer tensor.
        ValueError: ``x_seq`` has fewer than three dimensions, or ``target``'s shape does not
            match ``[N, d1, ..., dk]``.

    Reference:
        S. Deng et al., "Temporal Efficient Training of Spiking Neural Network via Gradient
        Re-weighting", ICLR 2022.
    """
    owner = "temporal_efficient_training_cross_entropy"
    if not isinstance(x_seq, Tensor) or not x_seq.is_floating_point():
        raise TypeError(
            f"{owner}: x_seq must be a floating-point tensor of logits [T, N, C, *], got {_what(x_seq)}"
        )
    if x_seq.dim() < 3:
        raise ValueError(f"{owner}: x_seq must be [T, N, C, *] logits, got shape {tuple(x_seq.shape)}")
    if (
        not isinstance(target, Tensor)
        or target.is_floating_point()
        or target.is_complex()
        or target.dtype == torch.bool
    ):
        raise TypeError(f"{owner}: target must be an integer tensor of class indices, got {_what(target)}")
    time_steps, batch = x_seq.shape[:2]
    expected = (batch, *x_seq.shape[3:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{owner}: target must hold one class index per sample and position, shape {expected} "
            f"for x_seq {tuple(x_seq.shape)}, got {tuple(target.shape)}"
        )
    logits = x_seq.movedim(0, 2)  # [N, C, T, *]: the class dimension where cross_entropy wants it
    labels = target.unsqueeze(1).expand(batch, time_steps, *target.shape[1:])
    return F.cross_entropy(logits, labels)


def kernel_dot_product(x: Tensor, y: Tensor, kernel: str = "linear", *args: float) -> Tensor:
    r"""Inner products of every row of ``x`` with every row of ``y`` in a kernel space.

    With rows :math:`x_i, y_j \in \mathbb{R}^M`, ``out[i, j]`` is

    * ``'linear'``: :math:`x_i^\top y_j`
    * ``'polynomial'``: :math:`(x_i^\top y_j)^d`, ``d = args[0]``
    * ``'sigmoid'``: :math:`\mathrm{sigmoid}(\alpha\, x_i^\top y_j)`, ``alpha = args[0]``
    * ``'gaussian'``: :math:`\exp(-\lVert x_i - y_j \rVert^2 / (2 \sigma^2))`, ``sigma = args[0] > 0``

    Args:
        x: ``[N, M]``.
        y: ``[K, M]``.
        kernel: one of ``'linear'`` (default), ``'polynomial'``, ``'sigmoid'``, ``'gaussian'``.
        *args: the kernel's parameter (``d``, ``alpha`` or ``sigma``).

    Returns:
        ``[N, K]``.

    Raises:
        TypeError: ``x``/``y`` are not tensors, or a parameter is missing or not a number.
        ValueError: an unknown kernel, shapes that are not ``[N, M]`` and ``[K, M]``, or
            ``sigma <= 0``.

    Example:
        >>> import torch
        >>> from spikegrad import functional
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> functional.kernel_dot_product(x, x, "polynomial", 2)
        tensor([[ 1.,  0.],
                [ 0., 16.]])
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel_dot_product: kernel must be one of {KERNELS}, got {kernel!r}")
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"kernel_dot_product: {name} must be a tensor [rows, M], got {type(value).__name__}"
            )
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(
            "kernel_dot_product: x and y must be [N, M] and [K, M], "
            f"got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    products = x.mm(y.t())
    if kernel == "linear":
        return products
    name = {"polynomial": "the degree d", "sigmoid": "the slope alpha", "gaussian": "the width sigma"}[kernel]
    if not args or isinstance(args[0], bool) or not isinstance(args[0], numbers.Real | Tensor):
        got = repr(args[0]) if args else "nothing"
        raise TypeError(
            f"kernel_dot_product: the {kernel!r} kernel needs {name} as a number after it, got {got}"
        )
    param = args[0]
    if kernel == "polynomial":
        return products.pow(param)
    if kernel == "sigmoid":
        return torch.sigmoid(param * products)
    if not float(param) > 0:
        raise ValueError(f"kernel_dot_product: the gaussian kernel needs sigma > 0, got {param}")
    squared_distances = x.square().sum(1).unsqueeze(1) + y.square().sum(1).unsqueeze(0) - 2 * products
    return torch.exp(-squared_distances / (2 * param * param))


def spike_similar_loss(
    spikes: Tensor, labels: Tensor, kernel_type: str = "linear", loss_type: str = "mse", *args: float
) -> Tensor:
    r"""Make the similarity of spike patterns follow the similarity of labels.

    For ``N`` samples with output spikes ``spikes`` and multi-hot ``labels`` ``[N, C]``, the
    target similarity is ``sim[i, j] = 1`` when samples ``i`` and ``j`` share a label, else
    0. The measured similarity is :func:`kernel_dot_product` of the flattened spike trains;
    with the linear kernel it is the cosine similarity
    :math:`s_i^\top s_j / (\lVert s_i \rVert \lVert s_j \rVert + 10^{-8})`. The loss compares
    the two matrices.

    Args:
        spikes: ``[N, *]``, e.g. ``[N, M, T]`` (flattened per sample).
        labels: ``[N, C]`` one-hot or multi-hot labels.
        kernel_type: a kernel of :func:`kernel_dot_product` (default ``'linear'``).
        loss_type: ``'mse'`` (default), ``'l1'`` or ``'bce'`` (binary cross entropy; the
            similarity must then lie in [0, 1], e.g. the sigmoid or gaussian kernel).
        *args: the kernel's parameter.

    Returns:
        The loss (a 0-dim tensor).

    Raises:
        ValueError: an unknown ``loss_type`` (and the errors of :func:`kernel_dot_product`),
            or ``labels`` not ``[N, C]``.

    Example:
        >>> import torch
        >>> from spikegrad import functional
        >>> spikes = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> labels = torch.tensor([[1, 0], [1, 0], [0, 1]])
        >>> functional.spike_similar_loss(spikes, labels).item()  # patterns already match
        0.0
    """
    if loss_type not in LOSSES:
        raise ValueError(f"spike_similar_loss: loss_type must be one of {LOSSES}, got {loss_type!r}")
    if not isinstance(spikes, Tensor) or spikes.dim() < 1:
        raise ValueError(f"spike_similar_loss: spikes must be a tensor [N, *], got {_what(spikes)}")
    if not isinstance(labels, Tensor) or labels.dim() != 2 or labels.shape[0] != spikes.shape[0]:
        raise ValueError(
            f"spike_similar_loss: labels must be [N, C] with N = {spikes.shape[0]} as in spikes, "
            f"got {_what(labels)}"
        )
    flat = spikes.flatten(start_dim=1)
    measured = kernel_dot_product(flat, flat, kernel_type, *args)
    if kernel_type == "linear":
        norms = flat.norm(p=2, dim=1, keepdim=True)
        measured = measured / (norms.mm(norms.t()) + 1e-8)
    wanted = labels.to(measured.dtype)
    wanted = wanted.mm(wanted.t()).clamp_max(1)  # samples sharing at least one label are similar
    if loss_type == "mse":
        return F.mse_loss(measured, wanted)
    if loss_type == "l1":
        return F.l1_loss(measured, wanted)
    return F.binary_cross_entropy(measured, wanted)


def _what(value: object) -> str:
    if isinstance(value, Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__
