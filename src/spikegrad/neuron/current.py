r"""The current-based LIF neuron: the input charges a synaptic current, the current charges
the membrane (two state variables, as on Intel's Loihi)."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from .base_node import BaseNode
from .params import Param, State, check_surrogate, number

__all__ = ["CUBALIFNode"]

#: CUBA-LIF's default surrogate is a rectangle (SpikingJelly's), not the Sigmoid of other
#: neurons; a fresh one per neuron, so the constructor makes it (``setup``).
SURROGATE_RECT = Param(
    "surrogate_function",
    None,
    check_surrogate,
    "a surrogate module; None: a fresh surrogate.Rect()",
    "the spike function: Heaviside forward, its surrogate gradient backward",
    attribute=False,
)


def _decay(name: str, default: float, doc: str) -> Param:
    return number(name, default, doc, low=0.0, high=1.0, low_inclusive=True, high_inclusive=True)


class CUBALIFNode(BaseNode):
    r"""Current-based leaky integrate-and-fire neuron (CUBA-LIF).

    .. math::
        C_t = \delta_c\, C_{t-1} + X_t, \qquad H_t = \delta_v\, V_{t-1} + C_t,

    then fire ``S_t = Theta(H_t - theta)`` and reset ``V`` as
    :class:`~spikegrad.neuron.BaseNode` (the current is not reset). Both decays pull
    towards 0, whatever ``v_reset``.

    Args:
        c_decay: decay of the current per step, in [0, 1] (default 0.5).
        v_decay: decay of the potential per step, in [0, 1] (default 0.75).
        v_threshold: firing threshold (default 0.5).
        v_reset: potential after a spike (default 0.0), or ``None`` for a soft reset. The
            potential starts there (0 for a soft reset); the current starts at 0.
        surrogate_function: spike function; ``None`` gives a fresh ``surrogate.Rect()``.
        detach_reset, step_mode, store_v_seq, backend: as :class:`~spikegrad.neuron.IFNode`
            (SpikingJelly's class takes only the first five arguments).

    Raises:
        ValueError: a decay outside [0, 1] or a number that is not finite.

    Reference:
        M. Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip Learning",
        IEEE Micro 38(1), 2018.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.CUBALIFNode(step_mode="m")
        >>> node(torch.tensor([0.3, 0.2, 0.0, 0.0])).tolist()
        [0.0, 1.0, 0.0, 0.0]
        >>> round(node.c.item(), 4)  # the current outlives the spike
        0.0875
    """

    params = (
        _decay("c_decay", 0.5, "decay of the synaptic current per step"),
        _decay("v_decay", 0.75, "decay of the membrane potential per step"),
        BaseNode.params[0].with_default(0.5),
        BaseNode.params[1],
        SURROGATE_RECT,
        *BaseNode.params[3:],
    )
    state = (*BaseNode.state, State("c", 0.0, "synaptic current; starts at 0"))
    c: Tensor | float
    c_decay: float
    v_decay: float

    def setup(self, surrogate_function: Any = None) -> None:  # type: ignore[override]
        if surrogate_function is None:
            from ..surrogate import Rect

            surrogate_function = Rect()
        self.surrogate_function: nn.Module = check_surrogate(
            type(self).__name__, "surrogate_function", surrogate_function
        )

    def neuronal_charge(self, x: Tensor) -> None:
        self.c = self.c * self.c_decay + x
        self.v = self.v * self.v_decay + self.c
