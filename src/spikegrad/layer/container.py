"""Containers that run single-step layers over sequences, and recurrent wrappers.

* Multi-step only, over ``[T, N, *shape]``: :class:`SeqToANNContainer` (stateless layers, time
  merged into the batch: one call), :class:`MultiStepContainer` (any layers, stateful ones
  included: one call per step). :class:`TLastSeqToANNContainer` and
  :class:`TLastMultiStepContainer` do the same for time-last sequences ``[N, *shape, T]``.
* :class:`StepModeContainer`: either mode, chosen like a layer's ``step_mode``.
* Recurrent: :class:`ElementWiseRecurrentContainer` and :class:`LinearRecurrentContainer`
  feed a module's previous output back into its input. The wrapped module (typically a
  spiking neuron) always runs single steps; the container loops over time in ``'m'`` mode.

The wrapped layers must be in ``step_mode='s'``: the container decides how time is
handled, and :func:`~spikegrad.functional.set_step_mode` leaves them alone.

Example:
    >>> import torch
    >>> from spikegrad import functional, layer, neuron
    >>> rnn = layer.LinearRecurrentContainer(neuron.IFNode(), in_features=3, out_features=3, step_mode="m")
    >>> rnn(torch.rand(8, 2, 3)).shape  # [T, N, features]
    torch.Size([8, 2, 3])
    >>> functional.reset_net(rnn)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

import torch
from torch import Tensor, nn

from ..base import MemoryModule, StepModule, check_step_mode
from ..functional import step_by_step
from ._base import MultiStepOnly, check_sequence, merge_time


def check_single_step_layers(owner: str, layers: Iterable[nn.Module], allow_stateful: bool) -> None:
    """Raise unless every step-mode aware module in ``layers`` is in ``'s'`` mode.

    Args:
        owner: the container's name, for the message.
        layers: the wrapped modules (searched recursively).
        allow_stateful: whether memory modules (neurons, dropout masks...) may be wrapped.

    Raises:
        TypeError: a wrapped object is not an ``nn.Module``.
        ValueError: a wrapped module is in ``'m'`` mode, or stateful while not allowed.
    """
    for index, layer in enumerate(layers):
        if not isinstance(layer, nn.Module):
            raise TypeError(f"{owner}: layer {index} must be a torch.nn.Module, got {type(layer).__name__}")
        for sub in layer.modules():
            if not allow_stateful and isinstance(sub, MemoryModule):
                raise ValueError(
                    f"{owner}: layer {index} contains the stateful {type(sub).__name__}; merging time "
                    "into the batch would mix its time steps. Put it outside, or use a container "
                    "that steps through time (MultiStepContainer, StepModeContainer(stateful=True))."
                )
            if isinstance(sub, StepModule) and sub.step_mode != "s":
                raise ValueError(
                    f"{owner}: layer {index} ({type(sub).__name__}) has step_mode {sub.step_mode!r}; "
                    "layers inside the container must be in step_mode 's'"
                )


class SeqToANNContainer(MultiStepOnly, nn.Sequential):
    """Run stateless layers once over a sequence by merging time into the batch.

    ``[T, N, *shape]`` becomes ``[T*N, *shape]`` for the wrapped layers and is split back
    afterwards, so batch norm takes its statistics over time and batch together.

    Args:
        *layers: ``torch.nn`` layers (or spikegrad layers in ``step_mode='s'``) applied in order.

    Shape:
        input ``[T, N, *shape]``, output ``[T, N, *out_shape]``.

    Raises:
        ValueError: a wrapped spikegrad layer is in ``'m'`` mode, or a stateful (memory)
            module is wrapped: merging time into the batch would mix its steps.

    Example:
        >>> import torch
        >>> from spikegrad import layer
        >>> block = layer.SeqToANNContainer(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4))
        >>> block(torch.rand(8, 2, 1, 5, 5)).shape
        torch.Size([8, 2, 4, 3, 3])
    """

    def __init__(self, *layers: nn.Module) -> None:
        check_single_step_layers(type(self).__name__, layers, allow_stateful=False)
        super().__init__(*layers)

    def forward(self, x_seq: Tensor) -> Tensor:
        check_sequence(type(self).__name__, x_seq, 2, "[T, N, *shape]")
        return merge_time(super().forward, x_seq)  # type: ignore[no-any-return]


class MultiStepContainer(MultiStepOnly, nn.Sequential):
    """Run single-step layers, stateful ones included, over a sequence one step at a time.

    Args:
        *layers: modules in ``step_mode='s'`` (neurons included), applied in order at each step.

    Shape:
        input ``[T, *shape]``, output ``[T, *out_shape]``.

    Raises:
        ValueError: a wrapped module is in ``'m'`` mode.

    Example:
        >>> import torch
        >>> from spikegrad import layer, neuron
        >>> block = layer.MultiStepContainer(torch.nn.Linear(4, 3), neuron.LIFNode())
        >>> block(torch.rand(8, 2, 4)).shape
        torch.Size([8, 2, 3])
    """

    def __init__(self, *layers: nn.Module) -> None:
        check_single_step_layers(type(self).__name__, layers, allow_stateful=True)
        super().__init__(*layers)

    def forward(self, x_seq: Tensor) -> Tensor:
        return step_by_step(x_seq, super().forward)


class TLastSeqToANNContainer(MultiStepOnly, nn.Sequential):
    """:class:`SeqToANNContainer` for time-last sequences ``[N, *shape, T]``.

    Time is moved to the front, merged into the batch for one call of the wrapped layers,
    and moved back to the end.

    Args:
        *layers: stateless modules in ``step_mode='s'``, applied in order.

    Shape:
        input ``[N, *shape, T]``, output ``[N, *out_shape, T]``.

    Raises:
        ValueError: a wrapped module is in ``'m'`` mode or stateful; an input with fewer
            than two dimensions.
    """

    def __init__(self, *layers: nn.Module) -> None:
        check_single_step_layers(type(self).__name__, layers, allow_stateful=False)
        super().__init__(*layers)

    def forward(self, x_seq: Tensor) -> Tensor:
        check_sequence(type(self).__name__, x_seq, 2, "[N, *shape, T]")
        y_seq = merge_time(super().forward, x_seq.movedim(-1, 0))
        return y_seq.movedim(0, -1)  # type: ignore[no-any-return]


class TLastMultiStepContainer(MultiStepOnly, nn.Sequential):
    """:class:`MultiStepContainer` for time-last sequences ``[N, *shape, T]``.

    Args:
        *layers: modules in ``step_mode='s'`` (neurons included), applied in order at each step.

    Shape:
        input ``[N, *shape, T]``, output ``[N, *out_shape, T]``.

    Raises:
        ValueError: a wrapped module is in ``'m'`` mode; an input with fewer than two dimensions.
    """

    def __init__(self, *layers: nn.Module) -> None:
        check_single_step_layers(type(self).__name__, layers, allow_stateful=True)
        super().__init__(*layers)

    def forward(self, x_seq: Tensor) -> Tensor:
        check_sequence(type(self).__name__, x_seq, 2, "[N, *shape, T]")
        return step_by_step(x_seq.movedim(-1, 0), super().forward).movedim(0, -1)


class StepModeContainer(nn.Sequential, StepModule):
    """A sequence of single-step layers that runs in either step mode.

    In ``'s'`` mode it is an ``nn.Sequential``. In ``'m'`` mode it runs the layers over the
    sequence: one step at a time if ``stateful`` (neurons inside), else once with time
    merged into the batch (like :class:`SeqToANNContainer`).

    Args:
        stateful: whether the layers keep state across steps.
        step_mode: ``'s'`` (default) or ``'m'``.
        *layers: modules in ``step_mode='s'``, applied in order.

    Raises:
        TypeError: ``stateful`` is not a bool.
        ValueError: a bad ``step_mode``; a wrapped module in ``'m'`` mode; a stateful module
            wrapped with ``stateful=False``.

    Example:
        >>> import torch
        >>> from spikegrad import layer, neuron
        >>> block = layer.StepModeContainer(True, "m", torch.nn.Linear(4, 3), neuron.IFNode())
        >>> block(torch.rand(8, 2, 4)).shape
        torch.Size([8, 2, 3])
    """

    #: set_step_mode sets the container's mode and leaves the wrapped layers in 's'.
    steps_its_children: ClassVar[bool] = True

    def __init__(self, stateful: bool, step_mode: str = "s", *layers: nn.Module) -> None:
        name = type(self).__name__
        if not isinstance(stateful, bool):
            raise TypeError(
                f"{name}: stateful must be a bool (the signature is StepModeContainer(stateful, "
                f"step_mode, *layers)), got {type(stateful).__name__}"
            )
        # checked before nn.Module sees it: a layer passed as step_mode would become a submodule
        step_mode = check_step_mode(step_mode, self.step_modes, name)
        check_single_step_layers(name, layers, allow_stateful=stateful)
        super().__init__(*layers)
        self.stateful = stateful
        self.step_mode = step_mode

    def forward(self, x: Tensor) -> Tensor:
        if self.step_mode == "s":
            return super().forward(x)
        if self.stateful:
            return step_by_step(x, super().forward)
        check_sequence(type(self).__name__, x, 2, "[T, N, *shape]")
        return merge_time(super().forward, x)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"stateful={self.stateful}, step_mode={self.step_mode!r}"


class _RecurrentContainer(MemoryModule):
    """A memory module around ``sub_module`` whose last output ``y`` is fed back."""

    #: set_step_mode sets the container's mode and leaves ``sub_module`` single-step.
    steps_its_children: ClassVar[bool] = True
    y: Tensor | None  # a memory: the wrapped module's last output

    def __init__(self, sub_module: nn.Module, step_mode: str) -> None:
        super().__init__(step_mode)
        check_single_step_layers(type(self).__name__, [sub_module], allow_stateful=True)
        self.register_memory("y", None)


class ElementWiseRecurrentContainer(_RecurrentContainer):
    r"""Feed a module's last output back element-wise: ``y[t] = m(f(y[t-1], x[t]))``.

    ``y[-1] = 0``. The wrapped module ``m`` (typically a spiking neuron) runs single steps;
    in ``'m'`` mode the container loops over time.

    Args:
        sub_module: the module ``m``, in ``step_mode='s'``.
        element_wise_function: ``f(y, x)``, e.g. ``lambda y, x: x + y``.
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        ``'s'``: ``[*shape]``; ``'m'``: ``[T, *shape]``; ``m`` must keep the shape.

    Raises:
        TypeError: ``element_wise_function`` is not callable.
        ValueError: ``sub_module`` (or a module in it) is in ``'m'`` mode; an input of another
            shape than the stored ``y`` (call ``reset_net`` between batches).

    Example:
        >>> import torch
        >>> from spikegrad import layer, neuron
        >>> rnn = layer.ElementWiseRecurrentContainer(neuron.IFNode(), lambda y, x: x + y)
        >>> [rnn(torch.tensor([0.6])).item() for _ in range(3)]
        [0.0, 1.0, 1.0]
    """

    def __init__(
        self,
        sub_module: nn.Module,
        element_wise_function: Callable[[Tensor, Tensor], Tensor],
        step_mode: str = "s",
    ) -> None:
        super().__init__(sub_module, step_mode)
        if not callable(element_wise_function):
            raise TypeError(
                f"{type(self).__name__}: element_wise_function must be callable, "
                f"got {type(element_wise_function).__name__}"
            )
        self.sub_module = sub_module
        self.element_wise_function = element_wise_function

    def single_step_forward(self, x: Tensor) -> Tensor:
        if self.y is None:
            y = torch.zeros_like(x)
        elif self.y.shape != x.shape:
            raise ValueError(
                f"{type(self).__name__}: the input's shape {tuple(x.shape)} differs from the stored "
                f"output y {tuple(self.y.shape)}; call spikegrad.functional.reset_net(net) between batches"
            )
        else:
            y = self.y
        self.y = self.sub_module(self.element_wise_function(y, x))
        return self.y

    def extra_repr(self) -> str:
        return f"element_wise_function={self.element_wise_function}, step_mode={self.step_mode!r}"


class LinearRecurrentContainer(_RecurrentContainer):
    r"""Feed a module's last output back through a linear layer.

    .. math::
        y[t] = m\left(W \begin{bmatrix} x[t] \\ y[t-1] \end{bmatrix} + b\right), \qquad y[-1] = 0

    with ``W`` of shape ``[in_features, in_features + out_features]`` (the layer ``rc``) and
    ``m`` the wrapped module, mapping ``in_features`` to ``out_features`` (a spiking neuron
    keeps the size: ``in_features == out_features``). ``m`` runs single steps; in ``'m'``
    mode the container loops over time.

    Args:
        sub_module: the module ``m``, in ``step_mode='s'``.
        in_features: size of ``x``'s last dimension.
        out_features: size of ``m``'s output's last dimension.
        bias: ``rc`` has a bias (default ``True``).
        step_mode: ``'s'`` (default) or ``'m'``.

    Shape:
        ``'s'``: ``[*, in_features]``; ``'m'``: ``[T, *, in_features]``.
        Output: ``[..., out_features]``.

    Raises:
        ValueError: ``sub_module`` (or a module in it) is in ``'m'`` mode; an input whose
            leading shape differs from the stored ``y`` (call ``reset_net`` between batches).

    Example:
        >>> import torch
        >>> from spikegrad import layer, neuron
        >>> rnn = layer.LinearRecurrentContainer(neuron.LIFNode(), 4, 4, step_mode="m")
        >>> rnn(torch.rand(8, 2, 4)).shape
        torch.Size([8, 2, 4])
    """

    def __init__(
        self,
        sub_module: nn.Module,
        in_features: int,
        out_features: int,
        bias: bool = True,
        step_mode: str = "s",
    ) -> None:
        super().__init__(sub_module, step_mode)
        self.sub_module_out_features = out_features
        self.rc = nn.Linear(in_features + out_features, in_features, bias)
        self.sub_module = sub_module

    def single_step_forward(self, x: Tensor) -> Tensor:
        expected = (*x.shape[:-1], self.sub_module_out_features)
        if self.y is None:
            y = x.new_zeros(expected)
        elif self.y.shape != expected:
            raise ValueError(
                f"{type(self).__name__}: an input of shape {tuple(x.shape)} needs a stored output y "
                f"of shape {expected}, got {tuple(self.y.shape)}; call spikegrad.functional.reset_net(net) "
                "between batches"
            )
        else:
            y = self.y
        self.y = self.sub_module(self.rc(torch.cat((x, y), dim=-1)))
        return self.y

    def extra_repr(self) -> str:
        in_features = self.rc.out_features
        return (
            f"in_features={in_features}, out_features={self.sub_module_out_features}, "
            f"bias={self.rc.bias is not None}, step_mode={self.step_mode!r}"
        )
