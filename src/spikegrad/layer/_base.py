"""What every step-mode aware layer shares: the ``'s'``/``'m'`` dispatch and time merging.

A stateless torch layer runs over a sequence ``[T, N, *shape]`` by viewing it as one big
batch ``[T*N, *shape]`` (one call instead of T), then splitting the output back into
``[T, N, *out_shape]``. :class:`StepModeLayer` adds this to a torch layer as a mixin; the
layer's own arguments, parameters and ``state_dict`` keys stay those of its torch parent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from torch import Tensor

from ..base import StepModule

#: torch's padding modes of convolutions.
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]

#: The multi-step layouts of layers with 1, 2 and 3 spatial dimensions, for error messages.
LAYOUTS = {1: "[T, N, C, L]", 2: "[T, N, C, H, W]", 3: "[T, N, C, D, H, W]"}


def merge_time(fn: Callable[..., Any], *x_seq: Tensor) -> Any:
    """Call ``fn`` on sequences with time merged into the batch, and split its output back.

    Each ``[T, N, *shape]`` input becomes ``[T*N, *shape]``; ``fn`` gets them positionally
    (a layer with two inputs, like max-unpooling's values and indices, gets both). A tensor
    output, or each tensor of a tuple output (max-pooling with its indices), is split back
    into ``[T, N, *out_shape]``.

    Raises:
        ValueError: the inputs do not share their first two dimensions ``[T, N]``.
    """
    steps_and_batch = x_seq[0].shape[:2]
    for other in x_seq[1:]:
        if other.shape[:2] != steps_and_batch:
            shapes = [tuple(x.shape) for x in x_seq]
            raise ValueError(f"the inputs must share their [T, N] dimensions, got shapes {shapes}")
    out = fn(*(x.flatten(0, 1) for x in x_seq))
    if isinstance(out, tuple):
        return tuple(y.unflatten(0, steps_and_batch) for y in out)
    return out.unflatten(0, steps_and_batch)


def check_sequence(owner: str, x_seq: object, min_dim: int, layout: str) -> Tensor:
    """Return ``x_seq`` if it is a tensor of at least ``min_dim`` dimensions, else raise.

    Raises:
        TypeError: ``x_seq`` is not a tensor.
        ValueError: it has fewer than ``min_dim`` dimensions.
    """
    if not isinstance(x_seq, Tensor):
        raise TypeError(f"{owner} expects a torch.Tensor {layout}, got {type(x_seq).__name__}")
    if x_seq.dim() < min_dim:
        raise ValueError(f"{owner} expects a sequence {layout} (time first), got shape {tuple(x_seq.shape)}")
    return x_seq


class StepModeLayer(StepModule):
    """Mixin: in ``'s'`` mode the torch parent itself, in ``'m'`` the parent over ``[T*N, ...]``.

    Put it first among the bases (``class Conv2d(StepModeLayer, nn.Conv2d)``) and set
    ``self.step_mode`` in the constructor. The class attributes describe one time step:

    * ``step_dims``: the numbers of dimensions one step may have (``None``: any number of at
      least ``min_step_dims``);
    * ``layout``: the expected multi-step layout, for error messages.
    """

    step_dims: ClassVar[tuple[int, ...] | None] = None
    min_step_dims: ClassVar[int] = 1
    layout: ClassVar[str] = "[T, N, *shape]"

    def forward(self, x: Tensor) -> Any:
        parent = super().forward  # type: ignore[misc]
        if self.step_mode == "s":
            return parent(x)
        self.check_multi_step_input(x)
        return merge_time(parent, x)

    def check_multi_step_input(self, x: object) -> None:
        """Raise a clear error unless ``x`` is a sequence of this layer's steps.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` has the wrong number of dimensions for ``[T, *step]``.
        """
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} expects a torch.Tensor, got {type(x).__name__}")
        dims = x.dim() - 1
        ok = dims >= max(self.min_step_dims, 1) if self.step_dims is None else dims in self.step_dims
        if not ok:
            raise ValueError(
                f"{name} in step_mode 'm' expects {self.layout} (time first), got shape {tuple(x.shape)}"
            )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, step_mode={self.step_mode!r}"  # type: ignore[misc]


class MultiStepOnly(StepModule):
    """Mixin for modules that only make sense over whole sequences (``step_mode`` is ``'m'``).

    ``functional.set_step_mode(net, 'm')`` leaves their children alone
    (``steps_its_children``): whatever runs inside is driven by the module itself.
    """

    step_modes: ClassVar[tuple[str, ...]] = ("m",)
    steps_its_children: ClassVar[bool] = True
    _step_mode = "m"
