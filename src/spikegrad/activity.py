"""How active a spiking network is: firing rates, synaptic operations, and an energy estimate.

A spike-driven chip (Loihi, TrueNorth, SpiNNaker, Speck) does work only when a spike arrives:
each spike into a synaptic layer adds the weight of every synapse it reaches to its target's
potential, one *accumulate* per synapse. The number of these synaptic operations (SOPs) is

.. math::

    \\mathrm{SOPs} = \\sum_{\\text{synaptic layers}} \\sum_{t=1}^{T} \\sum_{i}
        s_i[t] \\cdot \\mathrm{fan\\_out}_i

where ``s_i[t]`` is 1 when input ``i`` of the layer spikes at step ``t``; for a layer of ``N``
inputs with mean firing rate ``r`` and a uniform fan-out, ``SOPs = r * N * T * fan_out``. The
fan-out of an input of ``Linear(n, m)`` is ``m``; of a convolution, ``out_channels / groups``
times the number of output positions whose window covers it (fewer at the borders), which is
counted exactly (a convolution of the spikes with a kernel of ones).

A layer whose input is not spikes (the analog image of the ``direct`` encoding, event
``counts``, values other than 0 and 1) must multiply: it is counted as multiply-accumulates
(MACs), every input times its fan-out, as a dense accelerator computes it. Pooling,
normalisation and the neurons' own updates are not counted.

The energy estimate multiplies the counts by published energies per operation
(:class:`EnergyModel`; by default the 45 nm figures of M. Horowitz, "Computing's energy problem
(and what we can do about it)", ISSCC 2014: a 32-bit float add 0.9 pJ, a multiply 3.7 pJ, so an
accumulate 0.9 pJ and a MAC 4.6 pJ), as is common in the SNN literature. It counts arithmetic
only: memory access (which on real hardware often costs more than the arithmetic), routing of
spikes, neuron updates and static power are left out, so it compares networks and encodings; it
does not predict a chip's power.

:class:`ActivityMonitor` accumulates the counts over any number of calls (the training loop
records them on the test set every epoch); :func:`activity_report` runs one input through any
model and returns an :class:`ActivityReport`.

Example:
    >>> import torch
    >>> from spikegrad import activity, functional, layer, neuron
    >>> net = torch.nn.Sequential(layer.Linear(4, 3), neuron.IFNode())
    >>> functional.set_step_mode(net, "m")
    >>> x = torch.tensor([[[1.0, 0.0, 1.0, 0.0]], [[0.0, 0.0, 0.0, 1.0]]])  # T=2 steps, 1 sample
    >>> report = activity.activity_report(net, x)
    >>> report.sops  # 3 input spikes, each reaching 3 neurons
    9.0
    >>> round(report.energy_pj, 2)  # 9 accumulates of 0.9 pJ
    8.1
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from .monitor import FiringRateMonitor, ModuleTypes

__all__ = ["DEFAULT_ENERGY", "ENERGY_MODELS", "SYNAPTIC_LAYERS", "ActivityMonitor", "ActivityReport",
           "EnergyModel", "SynapseActivity", "activity_report"]

#: The layers whose inputs are counted as synaptic operations.
SYNAPTIC_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass(frozen=True)
class EnergyModel:
    """Energy per arithmetic operation, from a published source.

    Attributes:
        name: a short name (``'45nm-fp32'``).
        accumulate_pj: one accumulate (an add), in picojoules: what a spike costs per synapse.
        mac_pj: one multiply-accumulate, in picojoules.
        source: where the figures come from.
    """

    name: str
    accumulate_pj: float
    mac_pj: float
    source: str

    def __post_init__(self) -> None:
        for name in ("accumulate_pj", "mac_pj"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    math.isfinite(value) and value >= 0):
                raise ValueError(f"EnergyModel: {name} must be a finite number >= 0, got {value!r}")


_HOROWITZ = ("M. Horowitz, \"Computing's energy problem (and what we can do about it)\", "
             "IEEE ISSCC 2014, pp. 10-14, 45 nm")
#: Energy models by name: Horowitz's 45 nm figures for 32-bit floats (add 0.9 pJ, multiply 3.7 pJ),
#: 32-bit integers (add 0.1 pJ, multiply 3.1 pJ) and 8-bit integers (add 0.03 pJ, multiply 0.2 pJ).
ENERGY_MODELS = {
    "45nm-fp32": EnergyModel("45nm-fp32", 0.9, 0.9 + 3.7, _HOROWITZ + ", 32-bit float"),
    "45nm-int32": EnergyModel("45nm-int32", 0.1, 0.1 + 3.1, _HOROWITZ + ", 32-bit integer"),
    "45nm-int8": EnergyModel("45nm-int8", 0.03, 0.03 + 0.2, _HOROWITZ + ", 8-bit integer"),
}
#: The energy model used unless told otherwise (the one most SNN papers quote).
DEFAULT_ENERGY = ENERGY_MODELS["45nm-fp32"]


@dataclass(frozen=True)
class SynapseActivity:
    """What one synaptic layer received, per sample (all time steps together).

    Attributes:
        kind: the layer's class name (``'Linear'``, ``'Conv2d'``).
        inputs: input values per sample (input neurons x time steps).
        active: non-zero inputs per sample (spikes, for a spiking input).
        spiking: every input was 0 or 1, so the layer's work is accumulates.
        event_ops: per sample, the sum over non-zero inputs of their fan-out.
        dense_ops: per sample, what the layer computes when every input is processed (MACs).
    """

    kind: str
    inputs: float
    active: float
    spiking: bool
    event_ops: float
    dense_ops: float

    @property
    def input_rate(self) -> float:
        """The share of inputs that were non-zero: the presynaptic firing rate for spikes."""
        return self.active / self.inputs if self.inputs else math.nan

    @property
    def fan_out(self) -> float:
        """The mean fan-out of an active input (``nan`` when none was active)."""
        return self.event_ops / self.active if self.active else math.nan

    @property
    def sops(self) -> float:
        """Synaptic operations (accumulates) per sample: ``event_ops`` for a spiking input, else 0."""
        return self.event_ops if self.spiking else 0.0

    @property
    def macs(self) -> float:
        """Multiply-accumulates per sample: ``dense_ops`` for an input that is not spikes, else 0."""
        return 0.0 if self.spiking else self.dense_ops


@dataclass(frozen=True)
class ActivityReport:
    """Firing rates, synaptic operations and the energy estimate of a network on some inputs.

    Every count is per sample (all its time steps together), so reports of different batch sizes
    compare.

    Attributes:
        firing_rates: each spiking layer's mean spikes per neuron and time step, in module order.
        spikes: each spiking layer's spikes per sample.
        neuron_steps: each spiking layer's neurons x time steps per sample (``spikes / rate``).
        synapses: each synaptic layer's :class:`SynapseActivity`, in module order.
        samples: the number of samples the counts are divided by.
        energy: the energy per operation.
        order: the layers' names in the network's module order (for :meth:`table`).
    """

    firing_rates: dict[str, float]
    spikes: dict[str, float]
    neuron_steps: dict[str, float]
    synapses: dict[str, SynapseActivity]
    samples: int
    energy: EnergyModel = DEFAULT_ENERGY
    order: tuple[str, ...] = ()

    @property
    def firing_rate(self) -> float:
        """The mean firing rate over every neuron of every spiking layer (``nan`` without one)."""
        slots = sum(self.neuron_steps.values())
        return sum(self.spikes.values()) / slots if slots else math.nan

    @property
    def sops(self) -> float:
        """Synaptic operations (accumulates) per sample."""
        return sum(s.sops for s in self.synapses.values())

    @property
    def macs(self) -> float:
        """Multiply-accumulates per sample (layers whose input is not spikes)."""
        return sum(s.macs for s in self.synapses.values())

    @property
    def dense_ops(self) -> float:
        """MACs per sample of a dense (clock-driven) run of the same network: every input of every
        synaptic layer at every step."""
        return sum(s.dense_ops for s in self.synapses.values())

    @property
    def energy_pj(self) -> float:
        """The estimate per sample, in picojoules: ``sops * accumulate_pj + macs * mac_pj``."""
        return self.sops * self.energy.accumulate_pj + self.macs * self.energy.mac_pj

    @property
    def dense_energy_pj(self) -> float:
        """The same network run densely, per sample, in picojoules: ``dense_ops * mac_pj``."""
        return self.dense_ops * self.energy.mac_pj

    def metrics(self) -> dict[str, float]:
        """Flat numbers for a metrics row: ``firing_rate``, ``sops``, ``macs``, ``energy_uj`` (per
        sample, microjoules) and ``firing_rate:LAYER`` for each spiking layer."""
        row = {"firing_rate": self.firing_rate, "sops": self.sops, "macs": self.macs,
               "energy_uj": self.energy_pj * 1e-6}
        row.update({f"firing_rate:{name}": rate for name, rate in self.firing_rates.items()})
        return row

    def to_dict(self) -> dict[str, Any]:
        """Everything, as JSON-able values (the energy model and its source included)."""
        return {
            "samples": self.samples,
            "firing_rate": self.firing_rate,
            "firing_rates": dict(self.firing_rates),
            "spikes_per_sample": dict(self.spikes),
            "synapses": {name: {"kind": s.kind, "input_rate": s.input_rate, "spiking_input": s.spiking,
                                "fan_out": s.fan_out, "sops": s.sops, "macs": s.macs,
                                "dense_ops": s.dense_ops} for name, s in self.synapses.items()},
            "sops": self.sops,
            "macs": self.macs,
            "dense_ops": self.dense_ops,
            "energy_pj": self.energy_pj,
            "dense_energy_pj": self.dense_energy_pj,
            "energy_model": {"name": self.energy.name, "accumulate_pj": self.energy.accumulate_pj,
                             "mac_pj": self.energy.mac_pj, "source": self.energy.source},
        }

    def table(self) -> str:
        """A text table: one line per spiking and synaptic layer, then the totals and the assumptions."""
        lines = [f"{'layer':<24} {'kind':<22} {'rate':>7} {'fan-out':>8} {'ops/sample':>12}"]
        position = {name: i for i, name in enumerate(self.order)}
        names = sorted({*self.firing_rates, *self.synapses}, key=lambda n: position.get(n, len(position)))
        for name in names:
            if name in self.firing_rates:
                lines.append(f"{name:<24} {'spikes out':<22} {self.firing_rates[name]:>7.4f}")
                continue
            s = self.synapses[name]
            what = f"{s.kind} ({'SOPs' if s.spiking else 'MACs'}), in"
            ops = s.sops if s.spiking else s.macs
            lines.append(f"{name:<24} {what:<22} {s.input_rate:>7.4f} {s.fan_out:>8.1f} {_human(ops):>12}")
        lines.append(f"per sample: {_human(self.sops)} SOPs + {_human(self.macs)} MACs = "
                     f"{_energy(self.energy_pj)} (dense: {_human(self.dense_ops)} MACs = "
                     f"{_energy(self.dense_energy_pj)})")
        lines.append(f"energy per operation: accumulate {self.energy.accumulate_pj:g} pJ, MAC "
                     f"{self.energy.mac_pj:g} pJ ({self.energy.source}); arithmetic only, no memory access")
        return "\n".join(lines)


def _human(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.3g}"


def _energy(pj: float) -> str:
    for unit, scale in (("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if abs(pj) >= scale:
            return f"{pj / scale:.3g} {unit}"
    return f"{pj:.3g} pJ"


class _SynapseCounts:
    """Running totals of one synaptic layer, on the input's device (no host sync per call)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.inputs = 0
        self.dense = 0
        self.active: Tensor | None = None
        self.events: Tensor | None = None
        self.nonbinary: Tensor | None = None
        self._ones: Tensor | None = None

    def add(self, x: Tensor) -> None:
        x = x.detach()
        nonzero = x != 0
        active = nonzero.sum(dtype=torch.float64)
        nonbinary = (nonzero & (x != 1)).any()
        module = self.module
        if isinstance(module, nn.Linear):
            events = active * module.out_features
            dense = x.numel() * module.out_features
        else:
            events, dense = self._conv_counts(module, nonzero)  # type: ignore[arg-type]
        self.inputs += x.numel()
        self.dense += dense
        self.active = active if self.active is None else self.active + active
        self.events = events if self.events is None else self.events + events
        self.nonbinary = nonbinary if self.nonbinary is None else self.nonbinary | nonbinary

    def _conv_counts(self, conv: nn.Conv1d | nn.Conv2d | nn.Conv3d, nonzero: Tensor) -> tuple[Tensor, int]:
        """Exact fan-out sum: convolve the non-zero mask with a kernel of ones (one output per group)."""
        dims = conv.weight.dim() - 2
        mask = nonzero.reshape(-1, *nonzero.shape[-(dims + 1):]).to(torch.float32)
        if self._ones is None or self._ones.device != mask.device:
            shape = (conv.groups, conv.in_channels // conv.groups, *conv.weight.shape[2:])
            self._ones = torch.ones(shape, device=mask.device)
        # _conv_forward applies the layer's own stride, padding (mode included), dilation and groups.
        covered = conv._conv_forward(mask, self._ones, None)  # type: ignore[operator]
        per_output = conv.out_channels // conv.groups
        kernel = math.prod(conv.weight.shape[1:])  # in_channels / groups x kernel size
        dense = covered.shape[0] * math.prod(covered.shape[2:]) * conv.out_channels * kernel
        return covered.sum(dtype=torch.float64) * per_output, dense

    def numbers(self) -> list[float]:
        """``[inputs, active, nonbinary, events, dense]`` as floats."""
        def value(t: Tensor | None) -> float:
            return 0.0 if t is None else float(t)

        return [float(self.inputs), value(self.active), value(self.nonbinary), value(self.events),
                float(self.dense)]


class ActivityMonitor:
    """Count spikes and synaptic operations over any number of calls of a network.

    Spiking layers are watched by a :class:`~spikegrad.monitor.FiringRateMonitor`; every synaptic
    layer (``Linear``, ``Conv1d/2d/3d``, spikegrad's step-mode versions included) by a forward
    pre-hook that counts its input's non-zero values and their fan-out (see the module docstring).
    Counts stay on the device until :meth:`report`.

    Args:
        net: the network.
        neurons: the module class(es) whose outputs are spikes (default: spikegrad's neurons).
        synapses: the synaptic layer classes (default: :data:`SYNAPTIC_LAYERS`; subclasses of
            ``nn.Linear`` and ``nn.ConvNd`` only).

    Raises:
        TypeError: ``net`` is not a module, or a synapse class that is not a Linear or ConvNd.

    Example:
        >>> import torch
        >>> from spikegrad import activity, functional, layer, neuron
        >>> net = torch.nn.Sequential(layer.Linear(2, 4), neuron.IFNode())
        >>> functional.set_step_mode(net, "m")
        >>> with activity.ActivityMonitor(net) as monitor:
        ...     for _ in range(3):
        ...         _ = net(torch.ones(1, 5, 2))  # T=1, 5 samples, both inputs spike
        ...         functional.reset_net(net)
        ...     monitor.report(samples=15).sops  # 2 spikes x 4 synapses per sample
        8.0
    """

    def __init__(self, net: nn.Module, neurons: ModuleTypes | None = None,
                 synapses: tuple[type[nn.Module], ...] = SYNAPTIC_LAYERS) -> None:
        if not isinstance(net, nn.Module):
            raise TypeError(f"ActivityMonitor: net must be an nn.Module, got {type(net).__name__}")
        counted = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
        if not isinstance(synapses, tuple) or not all(
                isinstance(t, type) and issubclass(t, counted) for t in synapses):
            raise TypeError(f"ActivityMonitor: synapses must be a tuple of nn.Linear / nn.ConvNd classes, "
                            f"got {synapses!r}")
        self.rates = FiringRateMonitor(net, neurons)
        self.order = tuple(name for name, _ in net.named_modules())
        self.hooks: list[RemovableHandle] = []
        self._counts: dict[str, _SynapseCounts] = {}
        for name, module in net.named_modules():
            if isinstance(module, synapses):
                self._counts[name] = _SynapseCounts(module)
                self.hooks.append(module.register_forward_pre_hook(self._hook(name)))

    def _hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: tuple[Any, ...]) -> None:
            if self.rates.is_enable() and inputs and isinstance(inputs[0], Tensor):
                self._counts[name].add(inputs[0])

        return hook

    def numbers(self) -> Tensor:
        """Every count as one float64 vector (for summing over processes before :meth:`report`).

        Its layout depends only on the network, not on what ran, so that processes whose shares
        differ (or are empty) still sum the same entries.
        """
        values: list[float] = []
        ran = self.rates.activity()
        for name in self.rates.monitored_layers:
            activity = ran.get(name)
            values += [activity.spikes, float(activity.slots)] if activity is not None else [0.0, 0.0]
        for counts in self._counts.values():
            values += counts.numbers()
        return torch.tensor(values, dtype=torch.float64)

    def report(self, samples: int, energy: EnergyModel = DEFAULT_ENERGY,
               reduce: Callable[[Tensor], Tensor] | None = None) -> ActivityReport:
        """The counts so far, per sample.

        Args:
            samples: how many samples the calls processed (across processes, with ``reduce``).
            energy: the energy per operation.
            reduce: applied to :meth:`numbers` first, e.g. a sum over the processes of a
                multi-process run (every process must have watched the same layers).

        Raises:
            ValueError: ``samples`` is not an integer >= 1.
        """
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
        numbers = self.numbers()
        if reduce is not None:
            numbers = reduce(numbers)
        values = iter(numbers.tolist())
        rates, spikes, steps = {}, {}, {}
        for name in self.rates.monitored_layers:
            total, slots = next(values), next(values)
            if slots:
                rates[name], spikes[name], steps[name] = total / slots, total / samples, slots / samples
        synapses = {}
        for name, counts in self._counts.items():
            inputs, active, nonbinary, events, dense = (next(values) for _ in range(5))
            if inputs:
                synapses[name] = SynapseActivity(type(counts.module).__name__, inputs / samples,
                                                 active / samples, not nonbinary, events / samples,
                                                 dense / samples)
        return ActivityReport(rates, spikes, steps, synapses, samples, energy, self.order)

    def clear(self) -> None:
        """Forget every count (hooks stay)."""
        self.rates.clear_recorded_data()
        for name, counts in self._counts.items():
            self._counts[name] = _SynapseCounts(counts.module)

    def remove_hooks(self) -> None:
        """Detach from the network."""
        self.rates.remove_hooks()
        for hook in self.hooks:
            hook.remove()
        self.hooks.clear()

    def __enter__(self) -> ActivityMonitor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc_value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.remove_hooks()


def activity_report(net: nn.Module, x: Any, *, samples: int | None = None,
                    energy: EnergyModel = DEFAULT_ENERGY, neurons: ModuleTypes | None = None,
                    synapses: tuple[type[nn.Module], ...] = SYNAPTIC_LAYERS,
                    reset: bool = True) -> ActivityReport:
    """Run ``net(x)`` once, without gradients, and report its activity per sample.

    Args:
        net: any network (spikegrad's or SpikingJelly-style, either step mode).
        x: its input: ``[T, N, *shape]`` for a multi-step network, ``[N, *shape]`` for one step.
        samples: the samples in ``x`` (default: ``x.shape[1]`` when a module of ``net`` is in
            multi-step mode, else ``x.shape[0]``).
        energy: the energy per operation (default: Horowitz's 45 nm 32-bit float figures).
        neurons: the module class(es) whose outputs are spikes (default: spikegrad's neurons).
        synapses: the synaptic layer classes (default: :data:`SYNAPTIC_LAYERS`).
        reset: call :func:`spikegrad.functional.reset_net` before and after the run.

    Returns:
        Firing rates, synaptic operations and the energy estimate, per sample.

    Raises:
        TypeError: ``net`` is not a module, ``reset`` not a bool, or ``samples`` cannot be
            inferred (``x`` is not a tensor).
        ValueError: ``samples`` < 1.
    """
    if not isinstance(reset, bool):
        raise TypeError(f"activity_report: reset must be True or False, got {reset!r}")
    from .base import StepModule
    from .functional import reset_net

    if samples is None:
        if not isinstance(x, Tensor) or x.dim() == 0:
            raise TypeError("activity_report: pass samples= when the input is not a batched tensor")
        multi = any(isinstance(m, StepModule) and m.step_mode == "m" for m in net.modules())
        samples = int(x.shape[1] if multi and x.dim() > 1 else x.shape[0])
    with ActivityMonitor(net, neurons, synapses) as monitor:
        if reset:
            reset_net(net)
        try:
            with torch.no_grad():
                net(x)
        finally:
            if reset:
                reset_net(net)
        return monitor.report(samples, energy)
