"""The benchmark cases: a surrogate alone, a LIF layer over T steps, one training step.

Every case pits spikegrad against SpikingJelly 2.0, snnTorch 1.0 (when installed) and the
memory-bandwidth floor: plain torch copies that move the bytes the work cannot avoid moving.
Each contender's ``setup`` imports what it needs; a missing library or kernel makes it
:class:`~spikegrad.benchmarks.harness.Unavailable` and the case goes on without it.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn

from .harness import Case, Contender, Runner, Unavailable

#: spikegrad's multi-step backends, in the order they are timed.
BACKENDS = ("fused", "reference")

SJ = "SpikingJelly 2.0"
SJ_COMPILED = "torch.compile(SpikingJelly 2.0)"
SJ_COMPILED_NOTE = (
    "torch.compile of SpikingJelly's LIFNode(step_mode='m') module, default mode and "
    "backend; its compile time is the first call in its process (column 'first call s')"
)
SNNTORCH = "snnTorch 1.0"
FLOOR = "floor (copies)"
FLOOR_IN_PLACE = "floor, outputs preallocated"
FLOOR_IN_PLACE_NOTE = (
    "the floor's ops writing into buffers allocated once: memory bandwidth alone, without "
    "the cost of fresh allocations (first-touch page faults) that every real contender, "
    "and the floor, pays on each call; for information, not a target"
)

SNNTORCH_NOTE = (
    "snn.Leaky(beta=0.5, reset_mechanism='zero', reset_delay=False) looped over T: same leak "
    "as tau=2 and the same reset v = (1 - s) h, but the input is not decayed "
    "(decay_input=False), the surrogate runs twice per step (again, detached, on the last "
    "potential), and a spike needs h > theta, not >="
)


@dataclass(frozen=True)
class Sizes:
    """Problem sizes of one benchmark run.

    Attributes:
        surrogate_numel: element counts for the surrogate alone.
        lif_steps: time steps T for the LIF layer.
        lif_shape: one step's shape for the LIF layer (batch, neurons).
        wide_steps: time steps T of the bandwidth case.
        wide_shape: one step's shape of the bandwidth case.
        single_steps: steps taken one call at a time in the single-step case.
        single_shapes: one step's shapes of the single-step case.
        neuron_steps: T of the neuron-zoo cases (64 x 1024 neurons).
        train_steps: T of the training step.
        train_batch: batch of the training step.
        train_side: the input image is ``1 x side x side``.
        train_channels: channels of the two convolutions.
    """

    surrogate_numel: tuple[int, ...] = (2**22, 2**24)
    lif_steps: tuple[int, ...] = (8, 32, 128)
    lif_shape: tuple[int, ...] = (64, 1024)
    #: The bandwidth case: a bigger layer, where memory traffic dominates.
    wide_steps: tuple[int, ...] = (32, 128)
    wide_shape: tuple[int, ...] = (128, 4096)
    single_steps: int = 32
    single_shapes: tuple[tuple[int, ...], ...] = ((64, 1024), (64, 32, 16, 16))
    neuron_steps: int = 32
    #: the neurons of the zoo to benchmark (``None``: every one in :data:`NEURONS`)
    neuron_names: tuple[str, ...] | None = None
    train_steps: int = 8
    train_batch: int = 32
    train_side: int = 28
    train_channels: tuple[int, int] = (16, 32)


#: The sizes the targets in docs/benchmarks.md are stated for.
FULL = Sizes()
#: Small enough for a smoke test: every path runs, no number means much.
QUICK = Sizes(
    surrogate_numel=(2**14,),
    lif_steps=(4,),
    lif_shape=(8, 64),
    wide_steps=(),
    wide_shape=(8, 64),
    single_steps=3,
    single_shapes=((8, 64),),
    neuron_steps=4,
    neuron_names=("IFNode", "LIFNode", "ParametricLIFNode"),
    train_steps=2,
    train_batch=4,
    train_side=8,
    train_channels=(4, 8),
)


def _import(name: str, what: str) -> ModuleType:
    """Import ``name`` or make the contender unavailable, saying what is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise Unavailable(f"{what} is not importable ({exc})") from None


def _spikegrad_backend(backend: str) -> None:
    """Refuse a backend whose kernels are not in this checkout yet."""
    if backend == "fused" and importlib.util.find_spec("spikegrad.kernels.fused") is None:
        raise Unavailable("spikegrad.kernels.fused is not built yet")


def _spikegrad_lif(backend: str) -> nn.Module:
    _spikegrad_backend(backend)
    neuron = _import("spikegrad.neuron", "spikegrad.neuron")
    surrogate = _import("spikegrad.surrogate", "spikegrad.surrogate")
    if not hasattr(neuron, "LIFNode"):
        raise Unavailable("spikegrad.neuron.LIFNode is not built yet")
    atan = surrogate.ATan()
    return neuron.LIFNode(tau=2.0, surrogate_function=atan, step_mode="m", backend=backend)  # type: ignore[no-any-return]


def _sj_lif() -> nn.Module:
    neuron = _import("spikingjelly.activation_based.neuron", SJ)
    surrogate = _import("spikingjelly.activation_based.surrogate", SJ)
    return neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), step_mode="m")  # type: ignore[no-any-return]


def _sj_lif_note(device: torch.device) -> str:
    """Which implementation SpikingJelly 2.0 runs: it chooses by itself (no ``backend=`` argument)."""
    if device.type == "cuda":
        choice = os.environ.get("SJ_LIF_CUDA_IMPLEMENTATION", "auto")
        return f"neuron.LIFNode(step_mode='m') with SJ_LIF_CUDA_IMPLEMENTATION={choice}"
    return (
        "neuron.LIFNode(step_mode='m'); on the CPU SpikingJelly 2.0 runs a loop of torch ops "
        "with a hand-written backward (it has no backend= argument)"
    )


def _reset_net(library: str) -> Callable[[nn.Module], None]:
    """The library's own ``functional.reset_net``."""
    if library == "spikegrad":
        functional = _import("spikegrad.functional", "spikegrad.functional")
    else:
        functional = _import("spikingjelly.activation_based.functional", SJ)
    return functional.reset_net  # type: ignore[no-any-return]


def _input(
    shape: Sequence[int],
    dtype: torch.dtype,
    device: torch.device,
    seed: int,
    mean: float = 0.0,
    std: float = 1.0,
) -> Tensor:
    """A reproducible normal tensor, drawn in float32 on the CPU then moved (same data on every device)."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(tuple(shape), generator=gen) * std + mean).to(device=device, dtype=dtype)


def _leaf(data: Tensor) -> Tensor:
    return data.clone().requires_grad_(True)


def _dtype(dtype: torch.dtype | str) -> torch.dtype:
    """A dtype from itself or its name (recipes travel to worker processes as JSON)."""
    return getattr(torch, dtype.removeprefix("torch.")) if isinstance(dtype, str) else dtype


def _recipe(builder: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """How a worker process builds the same case: the builder's name and JSON-able arguments."""
    plain = {
        k: (
            str(v).removeprefix("torch.")
            if isinstance(v, torch.dtype | torch.device)
            else list(v)
            if isinstance(v, tuple)
            else v
        )
        for k, v in kwargs.items()
    }
    return builder, plain


# --------------------------------------------------------------------------- surrogate alone


def surrogate_case(
    numel: int,
    dtype: torch.dtype | str = torch.float32,
    device: torch.device | str = "cpu",
    peers: bool = True,
) -> Case:
    """ATan alone, forward (spike) + backward (``grad * g'``) on ``numel`` elements.

    Floor: forward reads x and writes the spikes (one clone); backward reads the gradient and x
    and writes grad_x (one add).
    """
    device, dtype = torch.device(device), _dtype(dtype)
    recipe = _recipe("surrogate_case", numel=numel, dtype=dtype, device=device, peers=peers)
    data = _input((numel,), dtype, device, seed=1)
    grad = _input((numel,), dtype, device, seed=2)

    def surrogate_runner(make: Callable[[], Callable[[Tensor], Tensor]]) -> Callable[[], Runner]:
        def setup() -> Runner:
            fn = make()
            x = _leaf(data)

            def run() -> None:
                fn(x).backward(grad)
                x.grad = None

            return run

        return setup

    def spikegrad_atan() -> Callable[[Tensor], Tensor]:
        return _import("spikegrad.surrogate", "spikegrad.surrogate").ATan().to(device)  # type: ignore[no-any-return]

    def sj_atan() -> Callable[[Tensor], Tensor]:
        return _import("spikingjelly.activation_based.surrogate", SJ).ATan()  # type: ignore[no-any-return]

    def snntorch_atan() -> Callable[[Tensor], Tensor]:
        return _import("snntorch.surrogate", SNNTORCH).atan(alpha=2.0)  # type: ignore[no-any-return]

    def floor() -> Runner:
        x = data.clone()

        def run() -> None:
            y = x.clone()  # forward: read x, write y
            gx = torch.add(grad, x)  # backward: read grad and x, write grad_x
            del y, gx

        return run

    def floor_in_place() -> Runner:
        x, y, gx = data.clone(), torch.empty_like(data), torch.empty_like(data)

        def run() -> None:
            y.copy_(x)
            torch.add(grad, x, out=gx)

        return run

    contenders = [Contender("spikegrad ATan", surrogate_runner(spikegrad_atan), role="spikegrad")]
    if peers:
        contenders += [
            Contender(f"{SJ} ATan", surrogate_runner(sj_atan)),
            Contender(
                f"{SNNTORCH} atan",
                surrogate_runner(snntorch_atan),
                note="snnTorch spikes where x > 0 (spikegrad and SpikingJelly: x >= 0)",
            ),
        ]
    contenders += [
        Contender(FLOOR, floor, role="floor", note="forward x.clone(); backward grad + x"),
        Contender(FLOOR_IN_PLACE, floor_in_place, role="info", note=FLOOR_IN_PLACE_NOTE),
    ]
    log2 = numel.bit_length() - 1
    label = f"surrogate n=2^{log2}" if numel == 2**log2 else f"surrogate n={numel}"
    nbytes = data.numel() * data.element_size()
    # forward reads x, writes the spikes; backward reads the gradient and x, writes grad_x
    return Case("surrogate", label, {"numel": numel}, contenders, nbytes, device, dtype, recipe, 5 * nbytes)


# --------------------------------------------------------------------------- LIF layer


def lif_case(
    steps: int,
    shape: Sequence[int] = (64, 1024),
    dtype: torch.dtype | str = torch.float32,
    device: torch.device | str = "cpu",
    peers: bool = True,
    backends: Sequence[str] = BACKENDS,
    compiled_peer: bool = True,
) -> Case:
    """A LIF layer (tau = 2, hard reset to 0, ATan) over ``steps`` steps, forward + backward.

    Contenders: spikegrad's backends, SpikingJelly eager, ``torch.compile`` of SpikingJelly's
    ``LIFNode`` (what an informed user would do instead), snnTorch, and the floor: forward
    reads x and writes the spikes and h (a clone and a zero fill); backward reads the
    gradient and h and writes grad_x (an add).
    """
    device, dtype = torch.device(device), _dtype(dtype)
    recipe = _recipe(
        "lif_case",
        steps=steps,
        shape=tuple(shape),
        dtype=dtype,
        device=device,
        peers=peers,
        backends=tuple(backends),
        compiled_peer=compiled_peer,
    )
    data = _input((steps, *shape), dtype, device, seed=3, mean=0.6, std=0.8)
    grad = _input((steps, *shape), dtype, device, seed=4)

    def layer_runner(
        make: Callable[[], nn.Module], library: str, compiled: bool = False
    ) -> Callable[[], Runner]:
        def setup() -> Runner:
            node = make().to(device)
            reset_net = _reset_net(library)
            call = torch.compile(node) if compiled else node
            x = _leaf(data)

            def run() -> None:
                reset_net(node)
                call(x).backward(grad)
                x.grad = None

            return run

        return setup

    def sj_half_setup() -> Runner:
        # SJ's LIFNode keeps v in the input's dtype and runs its torch loop for 16-bit inputs; its
        # Triton kernels take 16-bit storage (fp32 arithmetic) only through this functional form.
        functional = _import("spikingjelly.activation_based.functional", SJ)
        surrogate = _import("spikingjelly.activation_based.surrogate", SJ)
        atan = surrogate.ATan()
        x = _leaf(data)
        v_init = torch.zeros_like(data[0])

        def run() -> None:
            spikes, _, _ = functional.lif_multi_step(
                x, v_init, 2.0, True, 1.0, 0.0, atan, False, False, neuron_storage=dtype
            )
            spikes.backward(grad)
            x.grad = None

        return run

    def snntorch_setup() -> Runner:
        snn = _import("snntorch", SNNTORCH)
        surrogate = _import("snntorch.surrogate", SNNTORCH)
        leaky = snn.Leaky(
            beta=0.5,
            threshold=1.0,
            spike_grad=surrogate.atan(alpha=2.0),
            reset_mechanism="zero",
            reset_delay=False,
        ).to(device)
        x = _leaf(data)

        def run() -> None:
            mem = torch.zeros_like(x[0])
            spikes = []
            for x_t in x.unbind(0):
                spike, mem = leaky(x_t, mem)
                spikes.append(spike)
            torch.stack(spikes).backward(grad)
            x.grad = None

        return run

    def floor() -> Runner:
        x = data.clone()

        def run() -> None:
            spikes = x.clone()  # forward: read x, write spikes ...
            h = torch.zeros_like(x)  # ... and write h
            gx = torch.add(grad, h)  # backward: read grad and h, write grad_x
            del spikes, h, gx

        return run

    def floor_in_place() -> Runner:
        x = data.clone()
        spikes, h, gx = (torch.empty_like(data) for _ in range(3))

        def run() -> None:
            spikes.copy_(x)
            h.zero_()
            torch.add(grad, h, out=gx)

        return run

    contenders = []
    for backend in backends:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        setup = layer_runner(functools.partial(_spikegrad_lif, backend), "spikegrad")
        contenders.append(Contender(f"spikegrad {backend}", setup, role="spikegrad"))
    if peers:
        if device.type == "cuda" and dtype in (torch.float16, torch.bfloat16):
            sj = Contender(
                SJ,
                sj_half_setup,
                note="16-bit on CUDA: functional.lif_multi_step(neuron_storage="
                "dtype), SpikingJelly's Triton kernels with 16-bit storage and fp32 arithmetic",
            )
        else:
            sj = Contender(SJ, layer_runner(_sj_lif, "spikingjelly"), note=_sj_lif_note(device))
        contenders.append(sj)
        if compiled_peer:
            contenders.append(
                Contender(
                    SJ_COMPILED, layer_runner(_sj_lif, "spikingjelly", compiled=True), note=SJ_COMPILED_NOTE
                )
            )
        contenders.append(Contender(SNNTORCH, snntorch_setup, note=SNNTORCH_NOTE))
    contenders += [
        Contender(FLOOR, floor, role="floor", note="forward x.clone() + zeros_like(x); backward grad + h"),
        Contender(FLOOR_IN_PLACE, floor_in_place, role="info", note=FLOOR_IN_PLACE_NOTE),
    ]
    nbytes = data.numel() * data.element_size()
    label = f"LIF T={steps}" + ("" if tuple(shape) == (64, 1024) else f" {'x'.join(map(str, shape))}")
    # forward reads x, writes spikes and h; backward reads the gradient and h, writes grad_x
    return Case(
        "lif",
        label,
        {"T": steps, "shape": tuple(shape)},
        contenders,
        nbytes,
        device,
        dtype,
        recipe,
        6 * nbytes,
    )


def single_step_case(
    steps: int = 32,
    shape: Sequence[int] = (64, 1024),
    dtype: torch.dtype | str = torch.float32,
    device: torch.device | str = "cpu",
    peers: bool = True,
) -> Case:
    """A LIF layer stepped ``steps`` times in single-step mode (one call per time step, as
    recurrent nets and many scripts run it), forward + backward through all the steps."""
    device, dtype = torch.device(device), _dtype(dtype)
    recipe = _recipe(
        "single_step_case", steps=steps, shape=tuple(shape), dtype=dtype, device=device, peers=peers
    )
    data = _input((steps, *shape), dtype, device, seed=6, mean=0.6, std=0.8)
    grad = _input((steps, *shape), dtype, device, seed=7)

    def stepped(make: Callable[[], nn.Module], library: str) -> Callable[[], Runner]:
        def setup() -> Runner:
            node = make().to(device)
            setattr(node, "step_mode", "s")  # noqa: B010  (a module attribute mypy cannot see)
            reset_net = _reset_net(library)
            xs = [_leaf(x_t) for x_t in data.unbind(0)]

            def run() -> None:
                reset_net(node)
                torch.stack([node(x_t) for x_t in xs]).backward(grad)
                for x_t in xs:
                    x_t.grad = None

            return run

        return setup

    def snntorch_setup() -> Runner:
        snn = _import("snntorch", SNNTORCH)
        surrogate = _import("snntorch.surrogate", SNNTORCH)
        leaky = snn.Leaky(
            beta=0.5,
            threshold=1.0,
            spike_grad=surrogate.atan(alpha=2.0),
            reset_mechanism="zero",
            reset_delay=False,
        ).to(device)
        xs = [_leaf(x_t) for x_t in data.unbind(0)]

        def run() -> None:
            mem = torch.zeros_like(xs[0])
            spikes = []
            for x_t in xs:
                spike, mem = leaky(x_t, mem)
                spikes.append(spike)
            torch.stack(spikes).backward(grad)
            for x_t in xs:
                x_t.grad = None

        return run

    def floor() -> Runner:
        xs = [x_t.clone() for x_t in data.unbind(0)]

        def run() -> None:
            for x_t, g_t in zip(xs, grad.unbind(0), strict=True):
                spikes, h = x_t.clone(), torch.zeros_like(x_t)
                gx = torch.add(g_t, h)
                del spikes, h, gx

        return run

    contenders = [
        Contender(
            "spikegrad fused",
            stepped(functools.partial(_spikegrad_lif, "fused"), "spikegrad"),
            role="spikegrad",
        )
    ]
    if peers:
        contenders += [
            Contender(SJ, stepped(_sj_lif, "spikingjelly"), note="LIFNode(step_mode='s'), one call per step"),
            Contender(SNNTORCH, snntorch_setup, note=SNNTORCH_NOTE),
        ]
    contenders.append(
        Contender(FLOOR, floor, role="floor", note="per step: x.clone() + zeros_like(x); grad + h")
    )
    nbytes = data.numel() * data.element_size()
    return Case(
        "single",
        f"LIF 's' x{steps} {'x'.join(map(str, shape))}",
        {"T": steps, "shape": tuple(shape)},
        contenders,
        nbytes,
        device,
        dtype,
        recipe,
        6 * nbytes,
    )


# --------------------------------------------------------------------------- the neuron zoo


#: Recurrence neurons benchmarked against SpikingJelly's class of the same name, with the
#: constructor arguments both take (a surrogate is added: ATan for both).
@dataclass(frozen=True)
class NeuronBench:
    """How both libraries build one neuron of the zoo for :func:`neuron_case`.

    Attributes:
        kwargs: constructor arguments both take.
        sj_kwargs: arguments only SpikingJelly's needs (to compute the same thing).
        surrogate: pass ``surrogate_function=ATan()`` to both (non-spiking neurons take none).
        sj_step_mode: SpikingJelly's constructor takes ``step_mode`` (else it is set after).
        positional: leading positional arguments both take.
    """

    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    sj_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    surrogate: bool = True
    sj_step_mode: bool = True
    positional: tuple[Any, ...] = ()


#: Recurrence neurons benchmarked against SpikingJelly's class of the same name (multi-step).
NEURONS: dict[str, NeuronBench] = {
    "IFNode": NeuronBench(),
    "LIFNode": NeuronBench({"tau": 2.0}),
    "ParametricLIFNode": NeuronBench({"init_tau": 2.0}),
    "SimpleIFNode": NeuronBench(),
    "SimpleLIFNode": NeuronBench(positional=(2.0, True)),
    "QIFNode": NeuronBench(),
    "EIFNode": NeuronBench(),
    "IzhikevichNode": NeuronBench({"a": 0.3, "b": 0.2}),
    "CUBALIFNode": NeuronBench(sj_step_mode=False),
    "KLIFNode": NeuronBench(),
    "HalfThresholdIFNode": NeuronBench(),
    # SpikingJelly's LIAF returns LIF spikes in 'm' mode unless it stores v_seq
    "LIAFNode": NeuronBench(positional=(torch.tanh, True), sj_kwargs={"store_v_seq": True}),
    "TernaryIFNode": NeuronBench(),
    "RAFNode": NeuronBench(),
    "ComplementaryLIFNode": NeuronBench(),
    "ILIFNode": NeuronBench(surrogate=False),  # its own MultiLevelSpikeCount (integer spike counts)
    "NonSpikingIFNode": NeuronBench({"decode": "mean-mem"}, surrogate=False, sj_step_mode=False),
    "NonSpikingLIFNode": NeuronBench({"tau": 2.0, "decode": "mean-mem"}, surrogate=False, sj_step_mode=False),
}


def neuron_case(
    name: str,
    steps: int = 32,
    shape: Sequence[int] = (64, 1024),
    dtype: torch.dtype | str = torch.float32,
    device: torch.device | str = "cpu",
    peers: bool = True,
) -> Case:
    """Neuron ``name`` (spikegrad's fused kernels against SpikingJelly's class of the same
    name, multi-step), forward + backward over ``steps`` steps."""
    if name not in NEURONS:
        raise ValueError(f"no benchmark for the neuron {name!r}; known: {', '.join(NEURONS)}")
    device, dtype = torch.device(device), _dtype(dtype)
    recipe = _recipe(
        "neuron_case", name=name, steps=steps, shape=tuple(shape), dtype=dtype, device=device, peers=peers
    )
    bench = NEURONS[name]
    data = _input((steps, *shape), dtype, device, seed=8, mean=0.6, std=0.8)
    grad = _input((steps, *shape), dtype, device, seed=9)

    def build(package: str, what: str, extra: dict[str, Any], step_mode_arg: bool) -> nn.Module:
        neuron = _import(f"{package}.neuron", what)
        surrogate = _import(f"{package}.surrogate", what)
        if not hasattr(neuron, name):
            raise Unavailable(f"{what} has no {name}")
        kwargs = {**bench.kwargs, **extra}
        if bench.surrogate:
            kwargs["surrogate_function"] = surrogate.ATan()
        if step_mode_arg:
            kwargs["step_mode"] = "m"
        node = getattr(neuron, name)(*bench.positional, **kwargs)
        node.step_mode = "m"
        return node  # type: ignore[no-any-return]

    def ours() -> nn.Module:
        return build("spikegrad", "spikegrad", {}, True)

    def theirs() -> nn.Module:
        return build("spikingjelly.activation_based", SJ, bench.sj_kwargs, bench.sj_step_mode)

    def runner(make: Callable[[], nn.Module], library: str) -> Callable[[], Runner]:
        def setup() -> Runner:
            node = make().to(device=device, dtype=dtype)
            reset_net = _reset_net(library)
            x = _leaf(data)

            def run() -> None:
                reset_net(node)
                out = node(x)
                out = out[0] if isinstance(out, tuple) else out
                out.backward(grad if out.shape == grad.shape else grad[0])  # a decoded output is one step
                x.grad = None
                node.zero_grad(set_to_none=True)

            return run

        return setup

    contenders = [Contender(f"spikegrad {name}", runner(ours, "spikegrad"), role="spikegrad")]
    if peers:
        contenders.append(Contender(f"{SJ} {name}", runner(theirs, "spikingjelly")))
    nbytes = data.numel() * data.element_size()
    return Case(
        "neuron",
        f"{name} T={steps}",
        {"name": name, "T": steps, "shape": tuple(shape)},
        contenders,
        nbytes,
        device,
        dtype,
        recipe,
    )


# --------------------------------------------------------------------------- training step


def conv_snn(
    container: Callable[..., nn.Module],
    lif: Callable[[], nn.Module],
    side: int,
    channels: tuple[int, int],
    classes: int = 10,
) -> nn.Sequential:
    """conv-bn-LIF, pool, conv-bn-LIF, pool, linear-LIF, for ``[T, B, 1, side, side]`` inputs.

    ``container`` is the library's ``SeqToANNContainer`` (runs plain layers on ``[T*B, ...]``),
    so both libraries share the very same torch layers and initialisation for a given seed.
    """
    c1, c2 = channels
    return nn.Sequential(
        container(nn.Conv2d(1, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1)),
        lif(),
        container(nn.MaxPool2d(2)),
        container(nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2)),
        lif(),
        container(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(c2 * (side // 4) ** 2, classes)),
        lif(),
    )


def train_case(
    steps: int = 8,
    batch: int = 32,
    side: int = 28,
    channels: Sequence[int] = (16, 32),
    device: torch.device | str = "cpu",
    peers: bool = True,
    backends: Sequence[str] = BACKENDS,
) -> Case:
    """One training step of :func:`conv_snn`: forward, cross-entropy on the spike rate, backward, SGD."""
    if side < 4 or side % 4:
        raise ValueError(f"side must be a positive multiple of 4 (two 2x2 poolings), got {side!r}")
    device = torch.device(device)
    recipe = _recipe(
        "train_case",
        steps=steps,
        batch=batch,
        side=side,
        channels=tuple(channels),
        device=device,
        peers=peers,
        backends=tuple(backends),
    )
    data = _input((steps, batch, 1, side, side), torch.float32, device, seed=5, mean=0.5, std=0.5)
    labels = torch.arange(batch, device=device) % 10

    def net_runner(library: str, backend: str = "") -> Callable[[], Runner]:
        def setup() -> Runner:
            lif: Callable[[], nn.Module]
            if library == "spikegrad":
                _spikegrad_backend(backend)
                layer = _import("spikegrad.layer", "spikegrad.layer")
                lif = functools.partial(_spikegrad_lif, backend)
            else:
                layer = _import("spikingjelly.activation_based.layer", SJ)
                lif = _sj_lif
            torch.manual_seed(0)
            net = conv_snn(layer.SeqToANNContainer, lif, side, (channels[0], channels[1])).to(device)
            reset_net = _reset_net(library)
            optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

            def run() -> None:
                reset_net(net)
                rate = net(data).mean(0)
                nn.functional.cross_entropy(rate, labels).backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

            return run

        return setup

    contenders = [Contender(f"spikegrad {b}", net_runner("spikegrad", b), role="spikegrad") for b in backends]
    if peers:
        contenders.append(
            Contender(
                SJ,
                net_runner("spikingjelly"),
                note="same torch layers in SJ's SeqToANNContainer, SJ's LIFNode",
            )
        )
    params: dict[str, Any] = {"T": steps, "batch": batch, "side": side, "channels": channels}
    return Case(
        "train",
        f"train step T={steps} B={batch} {side}x{side}",
        params,
        contenders,
        data.numel() * data.element_size(),
        device,
        torch.float32,
        recipe,
    )


# --------------------------------------------------------------------------- all


KINDS = ("surrogate", "lif", "single", "neurons", "train")


def build_cases(
    kinds: Sequence[str] = KINDS,
    sizes: Sizes = FULL,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    peers: bool = True,
    backends: Sequence[str] = BACKENDS,
    compiled_peer: bool = True,
) -> list[Case]:
    """The cases of ``kinds`` at ``sizes`` (the training step only in float32).

    Raises:
        ValueError: for an unknown kind or backend.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"case kinds must be among {KINDS}, got {unknown[0]!r}")
    cases: list[Case] = []
    if "surrogate" in kinds:
        cases += [surrogate_case(n, dtype, device, peers) for n in sizes.surrogate_numel]
    if "lif" in kinds:
        cases += [
            lif_case(t, sizes.lif_shape, dtype, device, peers, backends, compiled_peer)
            for t in sizes.lif_steps
        ]
        cases += [
            lif_case(t, sizes.wide_shape, dtype, device, peers, backends, compiled_peer)
            for t in sizes.wide_steps
        ]
    if "single" in kinds:
        cases += [
            single_step_case(sizes.single_steps, shape, dtype, device, peers) for shape in sizes.single_shapes
        ]
    if "neurons" in kinds:
        names = sizes.neuron_names if sizes.neuron_names is not None else tuple(NEURONS)
        cases += [
            neuron_case(name, sizes.neuron_steps, sizes.lif_shape, dtype, device, peers) for name in names
        ]
    if "train" in kinds and dtype == torch.float32:
        cases.append(
            train_case(
                sizes.train_steps,
                sizes.train_batch,
                sizes.train_side,
                sizes.train_channels,
                device,
                peers,
                backends,
            )
        )
    return cases
