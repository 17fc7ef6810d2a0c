r"""The gated LIF neuron (GLIF): a LIF neuron whose leak, reset and input are learnable gates.

GLIF's parameters are per layer (0-dim) or per channel (``[C]``), and one conductance per
time step (``[T]`` or ``[T, C]``), all stored under SpikingJelly's names and shapes. The
conductance only scales the input, so it is applied to the whole input sequence at once;
the recurrence, which reads the other gates, runs as a fused neuron step
(:class:`GatedLIFDynamics`) on gates made from the parameters at each call, through which
autograd carries the gradients back to them.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ..base import MemoryModule
from .base_node import BACKEND, STEP_MODE, BaseNode
from .params import REQUIRED, Param, State, check_number, check_surrogate, integer, number

__all__ = ["ARGUMENTS", "GATES", "GatedLIFDynamics", "GatedLIFNode"]


def _open_unit(name: str, default: Any, doc: str) -> Param:
    return number(name, default, doc, low=0.0, high=1.0)


def _optional_open_unit(name: str, doc: str, when_none: str) -> Param:
    def check(owner: str, param: str, value: Any) -> float | None:
        return None if value is None else check_number(owner, param, value, 0.0, 1.0)

    return Param(name, None, check, f"a finite number in (0, 1), or None: {when_none}", doc)


_CHANNELS = integer("inplane", None, low=1)


def _optional_channels(owner: str, name: str, value: Any) -> int | None:
    return None if value is None else _CHANNELS.check(owner, name, value)  # type: ignore[misc]


#: GatedLIFNode's validated constructor arguments, in SpikingJelly's order. Each ``init_*`` is
#: the value of a gate at initialisation, in (0, 1); its parameter stores the logit.
ARGUMENTS = (
    integer("T", REQUIRED, "number of time steps of every input sequence", low=1),
    Param("inplane", None, _optional_channels, "an integer >= 1 or None", "channels of per-channel gates"),
    _optional_open_unit("init_linear_decay", "linear decay per step", "init_v_threshold / (2 T)"),
    _optional_open_unit("init_v_subreset", "potential removed by a soft reset", "init_v_threshold"),
    _open_unit("init_tau", 0.25, "exponential decay gate"),
    _open_unit("init_v_threshold", 0.5, "firing threshold"),
    _open_unit("init_conduct", 0.5, "input conductance, the same at every step"),
)

#: The gates the recurrence reads, made from the parameters at each call.
GATES = ("decay", "leak", "gamma", "subreset", "threshold")
MULTI_STEP = STEP_MODE.with_default("m")


class GatedLIFDynamics(BaseNode):
    r"""GLIF's recurrence as a neuron step, on gates given for each call by :class:`GatedLIFNode`.

    .. math::
        H_t = D V_{t-1} - L + I_t - D V_{t-1} \gamma S_{t-1} - R S_{t-1}, \qquad
        S_t = \Theta(H_t - \theta), \qquad V_t = H_t

    with the decay ``D``, linear leak ``L``, reset gate ``gamma``, soft-reset amount ``R`` and
    threshold ``theta`` held as (non-persistent) buffers of this module; ``S_{-1} = 0``.
    The reset acts one step late, through ``S_{t-1}``, so ``v`` is the potential before reset.
    Between calls the buffers hold placeholders, so that the kernels (also under
    ``torch.compile``, which reads the module when its graph runs) always find the five.
    """

    params = (BaseNode.params[2], MULTI_STEP, BACKEND)  # surrogate_function, step_mode, backend
    state = (
        State("v", 0.0, "membrane potential (before the reset of the next step)"),
        State("spike", 0.0, "the spikes of the previous step"),
    )
    store_v_seq = False
    spike: Tensor | float
    decay: Tensor
    leak: Tensor
    gamma: Tensor
    subreset: Tensor
    threshold: Tensor

    def setup(self, **arguments: Any) -> None:
        super().setup(**arguments)
        for name in GATES:
            self.register_buffer(name, torch.zeros(()), persistent=False)

    def step(self, current: Tensor) -> Tensor:
        decayed = self.decay * self.v
        h = decayed - self.leak + current - decayed * self.gamma * self.spike - self.subreset * self.spike
        self.spike = self.surrogate_function(h - self.threshold)
        self.v = h
        return self.spike  # type: ignore[return-value]


class GatedLIFNode(MemoryModule):
    r"""Gated leaky integrate-and-fire neuron (GLIF, Yao et al. 2022), learnable gates.

    Every membrane parameter is learnable and passes through a logistic function ``sigma``:
    the gates ``alpha, beta, gamma`` (initialised at random around 1/2), the decay ``tau``,
    the threshold ``theta``, the linear decay ``l``, the soft-reset potential ``r`` and a
    conductance ``c_t`` per time step. With ``D = 1 - alpha (1 - tau)``:

    .. math::
        I_t = X_t \left(1 - \beta (1 - c_t)\right), \\
        H_t = D V_{t-1} - (1 - \alpha) l + I_t - D V_{t-1} \gamma S_{t-1}
              - (1 - \gamma) r S_{t-1}, \\
        S_t = \Theta(H_t - \theta), \qquad V_t = H_t

    where every symbol is the sigmoid of the parameter of the same name. The previous
    step's spike resets the potential (hard through ``gamma``, soft through ``1 - gamma``);
    it starts at 0 at every call, and ``v`` carries over between calls until
    :meth:`reset` (``u`` holds the same value, SpikingJelly's second memory).

    Args:
        T: number of time steps, an integer >= 1: every input is ``[T, ...]``.
        inplane: number of channels ``C`` for per-channel gates (the input is then
            ``[T, N, C, ...]``), or ``None`` (default) for one gate of each kind per layer.
        init_linear_decay: initial linear decay in (0, 1); ``None`` (default):
            ``init_v_threshold / (2 T)``.
        init_v_subreset: initial soft-reset potential in (0, 1); ``None`` (default):
            ``init_v_threshold``.
        init_tau: initial decay gate in (0, 1) (default 0.25).
        init_v_threshold: initial threshold in (0, 1) (default 0.5).
        init_conduct: initial conductance in (0, 1) (default 0.5).
        surrogate_function: spike function; ``None`` gives a fresh ``surrogate.Sigmoid()``.
        step_mode: ``'m'``, the only mode.
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'`` for the recurrence.

    Parameters (``state_dict``):
        ``alpha, beta, gamma, tau, v_threshold, linear_decay, v_subreset``: ``[]`` or
        ``[C]``; ``conduct``: ``[T]`` or ``[T, C]``. Each holds the logit of its gate.

    Shape:
        input and output ``[T, *shape]``; with ``inplane=C``, ``shape[1] == C`` (the
        channels of a ``[N, C, ...]`` step).

    Raises:
        ValueError: an argument out of range; an input whose length is not ``T`` or, with
            per-channel gates, whose channels are not ``C``; a state of another shape (call
            :func:`spikegrad.functional.reset_net`).
        TypeError: arguments of the wrong type, non-floating input.

    Reference:
        X. Yao et al., "GLIF: A Unified Gated Leaky Integrate-and-Fire Neuron for Spiking
        Neural Networks", NeurIPS 2022.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.GatedLIFNode(T=4, inplane=3)
        >>> node(torch.rand(4, 2, 3, 5, 5)).shape
        torch.Size([4, 2, 3, 5, 5])
        >>> sorted(name for name, _ in node.named_parameters())[:4]
        ['alpha', 'beta', 'conduct', 'gamma']
    """

    step_modes = ("m",)
    v: Tensor | float
    u: Tensor | float
    surrogate_function: nn.Module
    alpha: nn.Parameter
    beta: nn.Parameter
    gamma: nn.Parameter
    tau: nn.Parameter
    v_threshold: nn.Parameter
    linear_decay: nn.Parameter
    v_subreset: nn.Parameter
    conduct: nn.Parameter

    def __init__(
        self,
        T: int,
        inplane: int | None = None,
        init_linear_decay: float | None = None,
        init_v_subreset: float | None = None,
        init_tau: float = 0.25,
        init_v_threshold: float = 0.5,
        init_conduct: float = 0.5,
        surrogate_function: nn.Module | None = None,
        step_mode: str = "m",
        backend: str = BACKEND.default,
    ) -> None:
        owner = type(self).__name__
        given = {
            "T": T,
            "inplane": inplane,
            "init_linear_decay": init_linear_decay,
            "init_v_subreset": init_v_subreset,
            "init_tau": init_tau,
            "init_v_threshold": init_v_threshold,
            "init_conduct": init_conduct,
        }
        values = {p.name: p.check(owner, p.name, given[p.name]) for p in ARGUMENTS}  # type: ignore[misc]
        super().__init__(step_mode)
        if surrogate_function is not None:
            check_surrogate(owner, "surrogate_function", surrogate_function)
        dynamics = GatedLIFDynamics(surrogate_function=surrogate_function, backend=backend)
        self.surrogate_function = dynamics.surrogate_function
        # The recurrence is a helper, not a child: it holds no parameters, and the state
        # lives here, under SpikingJelly's names.
        object.__setattr__(self, "_dynamics", dynamics)
        self.register_memory("v", 0.0)
        self.register_memory("u", 0.0)

        steps, channels = values["T"], values["inplane"]
        shape = () if channels is None else (channels,)
        threshold = values["init_v_threshold"]
        linear_decay = values["init_linear_decay"]
        v_subreset = values["init_v_subreset"]
        for name in ("alpha", "beta", "gamma"):
            setattr(self, name, nn.Parameter((torch.rand(shape) - 0.5) * 0.2))
        self.tau = nn.Parameter(torch.full(shape, _logit(values["init_tau"])))
        self.v_threshold = nn.Parameter(torch.full(shape, _logit(threshold)))
        self.linear_decay = nn.Parameter(
            torch.full(shape, _logit(threshold / (2 * steps) if linear_decay is None else linear_decay))
        )
        self.v_subreset = nn.Parameter(
            torch.full(shape, _logit(threshold if v_subreset is None else v_subreset))
        )
        self.conduct = nn.Parameter(torch.full((steps, *shape), _logit(values["init_conduct"])))

    _dynamics: GatedLIFDynamics

    @property
    def T(self) -> int:
        """The number of time steps (the length of ``conduct``)."""
        return int(self.conduct.shape[0])

    @property
    def inplane(self) -> int | None:
        """The number of channels of per-channel gates, or ``None`` for per-layer gates."""
        return None if self.alpha.dim() == 0 else int(self.alpha.shape[0])

    @property
    def backend(self) -> str:
        """The recurrence's kernels: ``'auto'``, ``'fused'`` or ``'reference'``."""
        return self._dynamics.backend

    @backend.setter
    def backend(self, value: str) -> None:
        self._dynamics.backend = value

    def single_step_forward(self, x: Tensor) -> Tensor:
        raise ValueError(f"{type(self).__name__} runs whole sequences only (step_mode 'm')")

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        owner = type(self).__name__
        if not isinstance(x_seq, Tensor):
            raise TypeError(f"{owner} expects a torch.Tensor, got {type(x_seq).__name__}")
        if not x_seq.is_floating_point():
            raise TypeError(f"{owner} expects a floating-point input, got dtype {x_seq.dtype}")
        if x_seq.dim() == 0 or x_seq.shape[0] != self.T:
            raise ValueError(
                f"{owner}(T={self.T}) expects inputs [T={self.T}, *shape], got shape {tuple(x_seq.shape)}"
            )
        step_dim = x_seq.dim() - 1
        channels = self.inplane
        if channels is not None and (step_dim < 2 or x_seq.shape[2] != channels):
            raise ValueError(
                f"{owner}(inplane={channels}) expects inputs [T, N, {channels}, ...] (per-channel gates "
                f"on dimension 2), got shape {tuple(x_seq.shape)}"
            )
        dtype = x_seq.dtype

        def gate(p: Tensor) -> Tensor:
            # Per layer: one element shaped [1, ..., 1] like a step, not 0-dim (the fused
            # kernels' gradient of a 0-dim tensor used as it is fails to trace); per channel:
            # [C, 1, ...] against a [N, C, ...] step.
            g = p.sigmoid()
            return g.view((1,) * step_dim) if g.dim() == 0 else g.view(-1, *(1,) * (step_dim - 2))

        alpha, beta, gamma, tau = gate(self.alpha), gate(self.beta), gate(self.gamma), gate(self.tau)
        per_step = (1,) * step_dim if channels is None else (1, channels, *(1,) * (step_dim - 2))
        conduct = self.conduct.sigmoid().view(self.T, *per_step)
        current = x_seq * (1 - beta * (1 - conduct)).to(dtype)
        gates = {
            "decay": 1 - alpha * (1 - tau),
            "leak": (1 - alpha) * gate(self.linear_decay),
            "gamma": gamma,
            "subreset": (1 - gamma) * gate(self.v_subreset),
            "threshold": gate(self.v_threshold),
        }
        if isinstance(self.v, Tensor) and self.v.shape != x_seq.shape[1:]:
            raise ValueError(
                f"{owner}: the input's step shape {tuple(x_seq.shape[1:])} differs from the stored "
                f"state v {tuple(self.v.shape)}; call spikegrad.functional.reset_net(net) before a "
                "batch of another shape (state is kept across calls until reset)"
            )
        dynamics = self._dynamics
        dynamics.surrogate_function = self.surrogate_function
        placeholders = {name: getattr(dynamics, name) for name in GATES}
        try:
            for name, value in gates.items():
                setattr(dynamics, name, value.to(dtype))
            dynamics.v = self.v
            spikes = dynamics.multi_step_forward(current)
            self.v = self.u = dynamics.v
        finally:
            dynamics.reset()
            for name, placeholder in placeholders.items():
                setattr(dynamics, name, placeholder)
        return spikes

    def extra_repr(self) -> str:
        parts = [f"T={self.T}", f"inplane={self.inplane}", f"step_mode={self.step_mode!r}"]
        if self.backend != BACKEND.default:
            parts.append(f"backend={self.backend!r}")
        return ", ".join(parts)


def _logit(p: float) -> float:
    return -math.log(1.0 / p - 1.0)
