"""Step modes and state: the two things every spiking module shares.

* :class:`StepModule` gives a module a validated ``step_mode``: ``'s'`` (single-step: one
  time step per call, input ``[*shape]``) or ``'m'`` (multi-step: a whole sequence per call,
  input ``[T, *shape]``, time first).
* :class:`MemoryModule` adds *memories*: state that lives across calls (a neuron's membrane
  potential ``v``, a dropout mask) and is not a parameter. ``reset()`` restores the initial
  values, ``detach()`` cuts the autograd history (truncated BPTT), and
  :func:`spikegrad.functional.reset_net` resets every memory module of a network.
* :class:`SingleStepModule` / :class:`MultiStepModule` mark modules fixed to one mode, and
  :func:`named_memories`, :func:`extract_memories` and :func:`load_memories` read and restore
  the state of a whole network (SpikingJelly's names).

Memories are deliberately **not** in ``state_dict``: their shape follows the batch, they
are reset before every sequence, and a checkpoint must load into a network whatever it has
run before. ``state_dict`` holds what is learned (e.g. PLIF's ``w``); ``v`` is state.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from torch import Tensor, nn

#: The step modes: single-step (``'s'``) and multi-step (``'m'``, time-major ``[T, *shape]``).
STEP_MODES = ("s", "m")


def check_step_mode(step_mode: Any, allowed: tuple[str, ...] = STEP_MODES, owner: str = "step_mode") -> str:
    """Return ``step_mode`` if it is one of ``allowed``, else raise ``ValueError``.

    Args:
        step_mode: the value to check.
        allowed: the accepted modes (default ``('s', 'm')``).
        owner: who is asking, for the message.

    Raises:
        ValueError: ``step_mode`` is not one of ``allowed``.
    """
    if not isinstance(step_mode, str) or step_mode not in allowed:
        names = " or ".join(repr(m) for m in allowed)
        raise ValueError(
            f"{owner}: step_mode must be {names} ('s': single-step, one time step per call; "
            f"'m': multi-step, input [T, *shape]), got {step_mode!r}"
        )
    return step_mode


class StepModule:
    """Mixin for modules that run in single-step (``'s'``) or multi-step (``'m'``) mode.

    Subclasses restrict the accepted modes with the class attribute ``step_modes``
    (e.g. a container that only makes sense over sequences sets ``('m',)``).

    Raises:
        ValueError: when ``step_mode`` is set to a value outside ``step_modes``.
    """

    step_modes: ClassVar[tuple[str, ...]] = STEP_MODES
    _step_mode: str

    @property
    def step_mode(self) -> str:
        """``'s'`` (one step per call) or ``'m'`` (input ``[T, *shape]``)."""
        return self._step_mode

    @step_mode.setter
    def step_mode(self, value: str) -> None:
        self._step_mode = check_step_mode(value, self.supported_step_mode(), type(self).__name__)

    def supported_step_mode(self) -> tuple[str, ...]:
        """The modes this module runs in (SpikingJelly's name for :attr:`step_modes`).

        Override either; a SpikingJelly-style subclass that overrides this method is honoured
        by the ``step_mode`` setter and by :func:`spikegrad.functional.set_step_mode`.
        """
        return self.step_modes


class SingleStepModule(StepModule):
    """Mixin for modules that only run one time step per call (``step_mode`` is always ``'s'``).

    :func:`~spikegrad.functional.set_step_mode` leaves such a module in ``'s'``.

    Example:
        >>> from torch import nn
        >>> from spikegrad.base import SingleStepModule
        >>> class Scale(nn.Module, SingleStepModule):
        ...     def forward(self, x):
        ...         return 2 * x
        >>> Scale().step_mode
        's'
    """

    step_modes: ClassVar[tuple[str, ...]] = ("s",)
    _step_mode: str = "s"


class MultiStepModule(StepModule):
    """Mixin for modules that only take whole sequences ``[T, *shape]`` (``step_mode`` is ``'m'``).

    :func:`~spikegrad.functional.set_step_mode` leaves such a module in ``'m'`` (and sets
    its children as usual, unless the module says ``steps_its_children``).

    Example:
        >>> from torch import nn
        >>> from spikegrad.base import MultiStepModule
        >>> class TimeMean(nn.Module, MultiStepModule):
        ...     def forward(self, x_seq):
        ...         return x_seq.mean(0)
        >>> TimeMean().step_mode
        'm'
    """

    step_modes: ClassVar[tuple[str, ...]] = ("m",)
    _step_mode: str = "m"


class MemoryModule(nn.Module, StepModule):
    """Base of stateful modules: memories with initial values, ``reset()`` and ``detach()``.

    A memory is an ordinary attribute (``self.v``) whose name and initial value are
    registered with :meth:`register_memory`. Its value may be a number, ``None`` or a tensor,
    typically a number that becomes a tensor shaped like the input at the first call.

    * ``reset()`` restores every memory to (a copy of) its initial value.
    * ``detach()`` replaces every tensor memory by its detached value, so that gradients
      stop flowing into earlier calls.
    * ``.to()`` / ``.double()`` / ``.cuda()`` also move tensor memories and initial values.
    * ``pickle`` / ``copy.deepcopy`` keep the memories' values but not their autograd history
      (a tensor in the middle of a graph cannot be copied otherwise).
    * Memories are not in ``state_dict`` (see the module docstring for why).

    Subclasses implement :meth:`single_step_forward` and, when they can do better than a
    loop over time, :meth:`multi_step_forward`; ``forward`` dispatches on ``step_mode``.

    Args:
        step_mode: ``'s'`` (default) or ``'m'``.

    Example:
        >>> import torch
        >>> from spikegrad.base import MemoryModule
        >>> class Counter(MemoryModule):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.register_memory("count", 0)
        ...     def single_step_forward(self, x):
        ...         self.count = self.count + x
        ...         return self.count
        >>> c = Counter()
        >>> c(torch.ones(2)), c(torch.ones(2))
        (tensor([1., 1.]), tensor([2., 2.]))
        >>> c.reset(); c.count
        0
    """

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__()
        self._memory_initial: dict[str, Any] = {}
        self.step_mode = step_mode

    # ---- memories ----

    def register_memory(self, name: str, initial: Any) -> None:
        """Declare the memory ``name`` and set it to ``initial`` (also its reset value).

        Raises:
            ValueError: ``name`` is already an attribute, parameter, buffer or submodule.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"memory name must be a Python identifier, got {name!r}")
        if name in self._memory_initial or hasattr(self, name):
            raise ValueError(f"{type(self).__name__} already has an attribute named {name!r}")
        self._memory_initial[name] = _copy_value(initial)
        setattr(self, name, initial)

    def named_memories(self) -> Iterator[tuple[str, Any]]:
        """This module's memories (not its children's) as ``(name, current value)``."""
        for name in self._memory_initial:
            yield name, getattr(self, name)

    def memories(self) -> Iterator[Any]:
        """The current values of this module's memories."""
        for _, value in self.named_memories():
            yield value

    def reset(self) -> None:
        """Restore every memory to its initial value (a fresh copy of it)."""
        # Memories are plain attributes (registration refuses any other kind of name), so
        # they are written directly: reset_net runs before every batch.
        for name, initial in self._memory_initial.items():
            self.__dict__[name] = _copy_value(initial)

    def detach(self) -> None:
        """Cut the autograd history of every tensor memory (values are kept)."""
        for name, value in self.named_memories():
            if isinstance(value, Tensor):
                setattr(self, name, value.detach())

    # ---- forward ----

    def forward(self, x: Tensor) -> Tensor:
        if self.step_mode == "s":
            return self.single_step_forward(x)
        return self.multi_step_forward(x)

    def single_step_forward(self, x: Tensor) -> Tensor:
        """One time step: ``x`` is ``[*shape]``."""
        raise NotImplementedError(f"{type(self).__name__} must implement single_step_forward")

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        """A whole sequence ``[T, *shape]``; by default a loop of :meth:`single_step_forward`."""
        from .functional import step_by_step

        return step_by_step(x_seq, self.single_step_forward)

    def extra_repr(self) -> str:
        return f"step_mode={self.step_mode!r}"

    # ---- plumbing: devices, copies ----

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> MemoryModule:
        for name, value in list(self.named_memories()):
            if isinstance(value, Tensor):
                setattr(self, name, fn(value))
        for name, initial in self._memory_initial.items():
            if isinstance(initial, Tensor):
                self._memory_initial[name] = fn(initial)
        return super()._apply(fn, recurse)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in self._memory_initial:
            value = state.get(name)
            if isinstance(value, Tensor):
                state[name] = value.detach()
        return state


_IMMUTABLE = (int, float, bool, str, type(None))


def _copy_value(value: Any) -> Any:
    """A copy that shares nothing mutable with ``value`` (tensors are cloned, detached)."""
    if isinstance(value, _IMMUTABLE):
        return value
    if isinstance(value, Tensor):
        return value.detach().clone()
    return copy.deepcopy(value)


# --------------------------------------------------------------------------- whole-network memories


def named_memories(module: nn.Module, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every memory of ``module`` and its descendants as ``(dotted name, value)``.

    Names follow :meth:`torch.nn.Module.named_modules`: ``"1.v"`` is the memory ``v`` of the
    child ``"1"``. A module reached twice through :meth:`~torch.nn.Module.named_children`
    is listed twice, as SpikingJelly does, so that :func:`load_memories` restores the list
    :func:`extract_memories` took.

    Args:
        module: any ``nn.Module``.
        prefix: prepended (with a dot) to every name.

    Example:
        >>> import torch
        >>> from spikegrad import base, neuron
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), neuron.IFNode())
        >>> [name for name, _ in base.named_memories(net)]
        ['1.v', '1.v_seq']
    """
    if isinstance(module, MemoryModule):
        for name, value in module.named_memories():
            yield (f"{prefix}.{name}" if prefix else name), value
    for child_name, child in module.named_children():
        yield from named_memories(child, f"{prefix}.{child_name}" if prefix else child_name)


def memories(module: nn.Module) -> Iterator[Any]:
    """The values of :func:`named_memories`, in the same order."""
    for _, value in named_memories(module):
        yield value


def extract_memories(module: nn.Module) -> list[Any]:
    """A list of every memory value in ``module`` (the state of a whole network).

    The tensors are the live values, not copies: clone them if the network keeps running
    and you want the snapshot to stay as it is. Restore with :func:`load_memories`.
    """
    return list(memories(module))


def load_memories(module: nn.Module, memory_list: Sequence[Any]) -> None:
    """Set every memory of ``module`` from a list taken by :func:`extract_memories`.

    Args:
        module: the network (the same architecture the list was taken from).
        memory_list: one value per memory, in :func:`named_memories` order.

    Raises:
        TypeError: ``memory_list`` is not a list or tuple.
        ValueError: its length differs from the number of memories in ``module``.

    Example:
        >>> import torch
        >>> from spikegrad import base, neuron
        >>> node = neuron.IFNode()
        >>> _ = node(torch.tensor([0.4]))
        >>> saved = [m.clone() if isinstance(m, torch.Tensor) else m for m in base.extract_memories(node)]
        >>> _ = node(torch.tensor([0.4]))
        >>> base.load_memories(node, saved)
        >>> node.v
        tensor([0.4000])
    """
    if not isinstance(memory_list, list | tuple):
        raise TypeError(f"load_memories expects a list of memory values, got {type(memory_list).__name__}")
    names = [name for name, _ in named_memories(module)]
    if len(names) != len(memory_list):
        raise ValueError(
            f"load_memories: {type(module).__name__} has {len(names)} memories but the list holds "
            f"{len(memory_list)} values"
        )
    for name, value in zip(names, memory_list, strict=True):
        owner_path, _, attribute = name.rpartition(".")
        owner = module.get_submodule(owner_path) if owner_path else module
        setattr(owner, attribute, value)
