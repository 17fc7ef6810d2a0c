"""Record what layers see and emit: inputs, outputs, attributes, gradients, firing rates.

Monitors attach PyTorch hooks to the modules of a network selected by type
(``instance``) and append what they see to ``records``, in call order. SpikingJelly's five
monitors keep its names, arguments and behaviour:

* :class:`OutputMonitor` / :class:`InputMonitor`: a module's output / input at each call;
* :class:`AttributeMonitor`: an attribute (e.g. a neuron's ``v``) before or after each call;
* :class:`GradOutputMonitor` / :class:`GradInputMonitor`: the gradients of a module's output /
  input in backward.

Each call of a monitored module gives one record: a whole sequence ``[T, N, ...]`` for a
module in multi-step mode (spikegrad's neurons run their fused kernels there, and the hooks
see the module's input and output as usual), one step per call for a single-step module,
e.g. a neuron inside a recurrent container, which calls it once per time step.

:class:`FiringRateMonitor` and :func:`firing_rates` measure how often each spiking layer
fires, accumulating counts instead of keeping the spikes.

Hooks keep the monitor alive as long as the network: call :meth:`BaseMonitor.remove_hooks`
(or :meth:`~BaseMonitor.close`, or use the monitor as a context manager) when done.

Example:
    >>> import torch
    >>> from spikegrad import functional, layer, monitor, neuron
    >>> net = torch.nn.Sequential(layer.Linear(4, 3), neuron.IFNode(), layer.Linear(3, 2), neuron.IFNode())
    >>> functional.set_step_mode(net, "m")
    >>> with monitor.OutputMonitor(net, neuron.IFNode) as spikes:
    ...     _ = net(torch.rand(5, 2, 4))  # [T, N, features]
    ...     spikes.monitored_layers, [tuple(r.shape) for r in spikes.records]
    (['1', '3'], [(5, 2, 3), (5, 2, 2)])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

__all__ = [
    "AttributeMonitor",
    "BaseMonitor",
    "FiringRateMonitor",
    "GradInputMonitor",
    "GradOutputMonitor",
    "InputMonitor",
    "LayerActivity",
    "OutputMonitor",
    "firing_rates",
]

ModuleTypes = type | tuple[type, ...]
_Monitor = TypeVar("_Monitor", bound="BaseMonitor")


def _unpack(value: Any) -> Any:
    """A one-element tuple (how hooks pass single inputs and gradients) as its element."""
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


def _is_one_of(module: nn.Module, types: tuple[type, ...]) -> bool:
    return isinstance(module, types)


def _identity(value: Any) -> Any:
    return value


class BaseMonitor:
    """Bookkeeping shared by the monitors: hooks, selected layers, records, enable/disable.

    Attributes:
        hooks: the hook handles (removed by :meth:`remove_hooks`).
        monitored_layers: the names (as in ``net.named_modules()``) of the monitored modules.
        records: everything recorded, in call order, across layers.
        name_records_index: for each layer name, the indices of its records in ``records``.

    ``monitor[i]`` is ``records[i]``; ``monitor["name"]`` is the list of that layer's records.
    """

    def __init__(self) -> None:
        self.hooks: list[RemovableHandle] = []
        self.monitored_layers: list[str] = []
        self.records: list[Any] = []
        self.name_records_index: dict[str, list[int]] = {}
        self._enable = True

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, bool) or not isinstance(key, int | str):
            raise TypeError(
                f"{type(self).__name__}: index by record number (int) or layer name (str), got {key!r}"
            )
        if isinstance(key, int):
            return self.records[key]
        if key not in self.name_records_index:
            raise KeyError(
                f"{type(self).__name__} does not monitor a layer named {key!r}; "
                f"it monitors {self.monitored_layers}"
            )
        return [self.records[index] for index in self.name_records_index[key]]

    def _monitor_modules(self, net: nn.Module, instance: ModuleTypes | None) -> list[tuple[str, nn.Module]]:
        """The ``(name, module)`` pairs of ``net`` to monitor: those of type ``instance``
        (``None``: of ``net``'s own type, as in SpikingJelly)."""
        owner = type(self).__name__
        if not isinstance(net, nn.Module):
            raise TypeError(f"{owner}: net must be an nn.Module, got {type(net).__name__}")
        if instance is None:
            instance = type(net)
        types: tuple[type, ...] = instance if isinstance(instance, tuple) else (instance,)
        if not types or not all(isinstance(t, type) for t in types):
            raise TypeError(f"{owner}: instance must be a module class or a tuple of them, got {instance!r}")
        modules = [(name, module) for name, module in net.named_modules() if _is_one_of(module, types)]
        self.monitored_layers.extend(name for name, _ in modules)
        self.name_records_index.update((name, []) for name, _ in modules)
        return modules

    def _record(self, name: str, value: Any) -> None:
        self.name_records_index[name].append(len(self.records))
        self.records.append(value)

    def clear_recorded_data(self) -> None:
        """Forget every record (hooks stay)."""
        self.records.clear()
        for indices in self.name_records_index.values():
            indices.clear()

    def enable(self) -> None:
        """Record again after :meth:`disable`."""
        self._enable = True

    def disable(self) -> None:
        """Stop recording (hooks stay and cost almost nothing)."""
        self._enable = False

    def is_enable(self) -> bool:
        """Whether the monitor records."""
        return self._enable

    def remove_hooks(self) -> None:
        """Detach the monitor from the network (records stay)."""
        for hook in self.hooks:
            hook.remove()
        self.hooks.clear()

    def close(self) -> None:
        """Stop recording and remove the hooks."""
        self.disable()
        self.remove_hooks()

    def __enter__(self: _Monitor) -> _Monitor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "hooks", None):
            self.remove_hooks()


def _check_function(owner: str, name: str, function: Any) -> Callable[[Any], Any]:
    if function is None:
        return _identity
    if not callable(function):
        raise TypeError(f"{owner}: {name} must be callable, got {function!r}")
    return function  # type: ignore[no-any-return]


class OutputMonitor(BaseMonitor):
    """Record the output of every monitored module at each call.

    Args:
        net: the network.
        instance: the module class(es) to monitor; ``None`` (default) monitors the modules of
            ``net``'s own type, as in SpikingJelly.
        function_on_output: applied to the output before it is stored (default: identity),
            e.g. ``lambda s: s.detach().mean()``; an output of one tensor in a tuple is unpacked.

    Raises:
        TypeError: ``net`` is not a module, ``instance`` not a class or tuple of classes, or
            the function not callable.

    Example:
        >>> import torch
        >>> from spikegrad import monitor, neuron
        >>> node = neuron.IFNode()
        >>> rates = monitor.OutputMonitor(node, neuron.IFNode, lambda s: s.mean().item())
        >>> for x in (0.6, 0.6, 0.6):
        ...     _ = node(torch.full((4,), x))
        >>> rates[""]
        [0.0, 1.0, 0.0]
    """

    def __init__(
        self,
        net: nn.Module,
        instance: ModuleTypes | None = None,
        function_on_output: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.function_on_output = _check_function(owner, "function_on_output", function_on_output)
        for name, module in self._monitor_modules(net, instance):
            self.hooks.append(module.register_forward_hook(self.create_hook(name)))

    def create_hook(self, name: str) -> Callable[..., None]:
        """The forward hook of the layer ``name``."""

        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            if self.is_enable():
                self._record(name, self.function_on_output(_unpack(output)))

        return hook


class InputMonitor(BaseMonitor):
    """Record the input of every monitored module at each call (before the module runs).

    Args:
        net: the network.
        instance: the module class(es) to monitor (``None``: ``net``'s own type).
        function_on_input: applied to the input before it is stored (default: identity); a
            single positional input is unpacked from its tuple.

    Raises:
        TypeError: as :class:`OutputMonitor`.
    """

    def __init__(
        self,
        net: nn.Module,
        instance: ModuleTypes | None = None,
        function_on_input: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__()
        self.function_on_input = _check_function(type(self).__name__, "function_on_input", function_on_input)
        for name, module in self._monitor_modules(net, instance):
            self.hooks.append(module.register_forward_pre_hook(self.create_hook(name)))

    def create_hook(self, name: str) -> Callable[..., None]:
        """The forward pre-hook of the layer ``name``."""

        def hook(module: nn.Module, inputs: tuple[Any, ...]) -> None:
            if self.is_enable():
                self._record(name, self.function_on_input(_unpack(inputs)))

        return hook


class AttributeMonitor(BaseMonitor):
    """Record an attribute of every monitored module, before or after each call.

    ``AttributeMonitor('v', False, net, neuron.LIFNode)`` records each LIF neuron's
    membrane potential after every call; with ``store_v_seq=True`` neurons,
    ``'v_seq'`` gives the potential at every step: the steps of the call in multi-step mode,
    all steps since the last reset in single-step mode (e.g. inside a recurrent container).

    Args:
        attribute_name: the attribute to read.
        pre_forward: read it before the call (``True``) or after (``False``).
        net: the network.
        instance: the module class(es) to monitor (``None``: ``net``'s own type).
        function_on_attribute: applied to the value before it is stored (default: identity).

    Raises:
        TypeError: ``attribute_name`` is not a string, ``pre_forward`` not a bool, or as
            :class:`OutputMonitor`.
        AttributeError: (at a call) the module has no such attribute.
    """

    def __init__(
        self,
        attribute_name: str,
        pre_forward: bool,
        net: nn.Module,
        instance: ModuleTypes | None = None,
        function_on_attribute: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(attribute_name, str):
            raise TypeError(f"{owner}: attribute_name must be a string, got {attribute_name!r}")
        if not isinstance(pre_forward, bool):
            raise TypeError(f"{owner}: pre_forward must be True or False, got {pre_forward!r}")
        self.attribute_name = attribute_name
        self.pre_forward = pre_forward
        self.function_on_attribute = _check_function(owner, "function_on_attribute", function_on_attribute)
        for name, module in self._monitor_modules(net, instance):
            hook = self.create_hook(name)
            if pre_forward:
                self.hooks.append(module.register_forward_pre_hook(hook))
            else:
                self.hooks.append(module.register_forward_hook(hook))

    def create_hook(self, name: str) -> Callable[..., None]:
        """The forward (pre-)hook of the layer ``name``."""

        def hook(module: nn.Module, *args: Any) -> None:
            if self.is_enable():
                try:
                    value = getattr(module, self.attribute_name)
                except AttributeError:
                    raise AttributeError(
                        f"AttributeMonitor: {type(module).__name__} at {name or '<root>'!r} has no attribute "
                        f"{self.attribute_name!r}"
                    ) from None
                self._record(name, self.function_on_attribute(value))

        return hook


class GradInputMonitor(BaseMonitor):
    """Record the gradient with respect to the input of every monitored module, in backward.

    Uses ``register_full_backward_hook``: one record per call of the module, in the order
    backward reaches them (the last call first). A module whose input needs no gradient
    records ``None``.

    Args:
        net: the network.
        instance: the module class(es) to monitor (``None``: ``net``'s own type).
        function_on_grad_input: applied to the gradient before it is stored (default: identity).

    Raises:
        TypeError: as :class:`OutputMonitor`.
    """

    def __init__(
        self,
        net: nn.Module,
        instance: ModuleTypes | None = None,
        function_on_grad_input: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.function_on_grad_input = _check_function(owner, "function_on_grad_input", function_on_grad_input)
        for name, module in self._monitor_modules(net, instance):
            self.hooks.append(module.register_full_backward_hook(self.create_hook(name)))

    def create_hook(self, name: str) -> Callable[..., None]:
        """The backward hook of the layer ``name``."""

        def hook(module: nn.Module, grad_input: tuple[Any, ...], grad_output: tuple[Any, ...]) -> None:
            if self.is_enable():
                self._record(name, self.function_on_grad_input(_unpack(grad_input)))

        return hook


class GradOutputMonitor(BaseMonitor):
    """Record the gradient with respect to the output of every monitored module, in backward.

    Args:
        net: the network.
        instance: the module class(es) to monitor (``None``: ``net``'s own type).
        function_on_grad_output: applied to the gradient before it is stored (default: identity).

    Raises:
        TypeError: as :class:`OutputMonitor`.
    """

    def __init__(
        self,
        net: nn.Module,
        instance: ModuleTypes | None = None,
        function_on_grad_output: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        function = _check_function(owner, "function_on_grad_output", function_on_grad_output)
        self.function_on_grad_output = function
        for name, module in self._monitor_modules(net, instance):
            self.hooks.append(module.register_full_backward_hook(self.create_hook(name)))

    def create_hook(self, name: str) -> Callable[..., None]:
        """The backward hook of the layer ``name``."""

        def hook(module: nn.Module, grad_input: tuple[Any, ...], grad_output: tuple[Any, ...]) -> None:
            if self.is_enable():
                self._record(name, self.function_on_grad_output(_unpack(grad_output)))

        return hook


# --------------------------------------------------------------------------- firing rates


@dataclass(frozen=True)
class LayerActivity:
    """The spikes one layer emitted while a :class:`FiringRateMonitor` watched it.

    Attributes:
        spikes: the sum of the layer's outputs (the spike count; graded spikes count their value).
        slots: neuron-steps observed: time steps x samples x neurons.
        samples: time steps x samples observed (one sample's neurons counted once).
        per_neuron: the spike count of each neuron, summed over time steps and samples, shaped
            like one sample's output (float64); ``None`` if the layer's output shape changed
            between calls.
    """

    spikes: float
    slots: int
    samples: int
    per_neuron: Tensor | None

    @property
    def rate(self) -> float:
        """Mean spikes per neuron and time step (``nan`` before any call)."""
        return self.spikes / self.slots if self.slots else math.nan

    def neuron_rates(self) -> Tensor:
        """Mean spikes per time step of each neuron, shaped like one sample's output.

        Raises:
            ValueError: the output shape changed between calls, so neurons cannot be matched.
        """
        if self.per_neuron is None:
            raise ValueError("the layer's output shape changed between calls; per-neuron rates are undefined")
        return self.per_neuron / max(self.samples, 1)


class _Counts:
    """Running totals of one layer, on the output's device (no host sync per call), in float64."""

    def __init__(self) -> None:
        self.spikes: Tensor | None = None
        self.slots = 0
        self.samples = 0
        self.per_neuron: Tensor | None = None
        self.shape: torch.Size | None = None
        self.consistent = True

    def add(self, output: Tensor, leading: int) -> Tensor:
        leading = min(leading, output.dim())
        wide = torch.float32 if output.device.type == "mps" else torch.float64  # MPS has no float64
        samples = math.prod(output.shape[:leading])
        per_neuron = output.detach().reshape(samples, *output.shape[leading:]).to(wide).sum(0)
        total = per_neuron.sum()
        self.spikes = total if self.spikes is None else self.spikes + total
        self.slots += output.numel()
        self.samples += samples
        if self.shape is None:
            self.shape, self.per_neuron = output.shape[leading:], per_neuron
        elif self.consistent and output.shape[leading:] == self.shape:
            self.per_neuron = self.per_neuron + per_neuron  # type: ignore[operator]
        else:
            self.consistent, self.per_neuron = False, None
        return total / max(output.numel(), 1)

    def activity(self) -> LayerActivity:
        spikes = 0.0 if self.spikes is None else float(self.spikes)
        per_neuron = self.per_neuron.cpu() if self.consistent and self.per_neuron is not None else None
        return LayerActivity(spikes, self.slots, self.samples, per_neuron)


class FiringRateMonitor(BaseMonitor):
    """Per-layer firing rates, accumulated over any number of calls without keeping the spikes.

    Each call of a monitored module adds its output to running totals (on the output's
    device, in float64): the layer's rate is the mean output over every time step, sample and
    neuron seen. In multi-step mode a call covers ``[T, N, *]`` (time steps and samples are
    the first two dimensions), in single-step mode ``[N, *]``; a module without
    ``step_mode`` counts as single-step. ``records`` holds, per call, that call's mean rate
    (a 0-dim float64 tensor), like an :class:`OutputMonitor` with a mean.

    Args:
        net: the network.
        instance: the module class(es) whose outputs are spikes; default: spikegrad's neurons
            (:class:`spikegrad.neuron.BaseNode`).

    Raises:
        TypeError: as :class:`OutputMonitor`, or (at a call) a monitored module whose output
            is not a tensor.

    Example:
        >>> import torch
        >>> from spikegrad import monitor, neuron
        >>> node = neuron.IFNode(step_mode="m")
        >>> with monitor.FiringRateMonitor(node) as fr:
        ...     _ = node(torch.full((4, 2, 3), 0.6))  # fires every other step
        ...     fr.rates()
        {'': 0.5}
    """

    def __init__(self, net: nn.Module, instance: ModuleTypes | None = None) -> None:
        super().__init__()
        if instance is None:
            from .neuron import BaseNode

            instance = BaseNode
        self._counts: dict[str, _Counts] = {}
        for name, module in self._monitor_modules(net, instance):
            self._counts[name] = _Counts()
            self.hooks.append(module.register_forward_hook(self.create_hook(name)))

    def create_hook(self, name: str) -> Callable[..., None]:
        """The forward hook of the layer ``name``."""

        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            if not self.is_enable():
                return
            output = _unpack(output)
            if not isinstance(output, Tensor):
                raise TypeError(
                    f"FiringRateMonitor: {type(module).__name__} at {name or '<root>'!r} returned "
                    f"{type(output).__name__}, not a tensor of spikes"
                )
            leading = 2 if getattr(module, "step_mode", "s") == "m" else 1
            self._record(name, self._counts[name].add(output, leading))

        return hook

    def activity(self) -> dict[str, LayerActivity]:
        """What each layer emitted so far, for the layers that ran, in module order."""
        return {name: counts.activity() for name, counts in self._counts.items() if counts.slots}

    def rates(self) -> dict[str, float]:
        """Each layer's mean firing rate (spikes per neuron and time step) so far."""
        return {name: activity.rate for name, activity in self.activity().items()}

    def neuron_rates(self) -> dict[str, Tensor]:
        """Each neuron's mean firing rate, per layer, shaped like one sample's output.

        Raises:
            ValueError: a layer's output shape changed between calls.
        """
        return {name: activity.neuron_rates() for name, activity in self.activity().items()}

    def clear_recorded_data(self) -> None:
        """Forget the records and the running totals (hooks stay)."""
        super().clear_recorded_data()
        for name in self._counts:
            self._counts[name] = _Counts()


def firing_rates(
    net: nn.Module, x: Any, instance: ModuleTypes | None = None, *, reset: bool = True
) -> dict[str, float]:
    """Run ``net(x)`` once and return the mean firing rate of each spiking layer.

    The network runs without gradients, in whatever train/eval mode it is in. With
    ``reset`` (default) it is reset before the run and left at rest afterwards, so the rates
    describe ``x`` alone.

    Args:
        net: the network (in the step mode ``x`` is laid out for).
        x: its input, e.g. ``[T, N, *]`` for a multi-step network.
        instance: the module class(es) whose outputs are spikes (default: spikegrad's neurons).
        reset: call :func:`spikegrad.functional.reset_net` before and after the run.

    Returns:
        ``{layer name: rate}`` in module order, for every spiking layer that ran; the rate is
        the mean output over time steps, samples and neurons (spikes per neuron and step).

    Raises:
        TypeError: ``reset`` is not a bool, and the errors of :class:`FiringRateMonitor`.

    Example:
        >>> import torch
        >>> from spikegrad import functional, layer, monitor, neuron
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> net = torch.nn.Sequential(
        ...     layer.Linear(8, 16), neuron.LIFNode(), layer.Linear(16, 4), neuron.LIFNode())
        >>> functional.set_step_mode(net, "m")
        >>> rates = monitor.firing_rates(net, torch.rand(10, 32, 8) * 3)
        >>> list(rates), all(0.0 <= r <= 1.0 for r in rates.values())
        (['1', '3'], True)
    """
    if not isinstance(reset, bool):
        raise TypeError(f"firing_rates: reset must be True or False, got {reset!r}")
    from .functional import reset_net

    if reset:
        reset_net(net)
    try:
        with FiringRateMonitor(net, instance) as monitor, torch.no_grad():
            net(x)
            return monitor.rates()
    finally:
        if reset:
            reset_net(net)
