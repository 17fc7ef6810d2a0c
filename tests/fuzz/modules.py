"""Fuzz cases for the encoder, the step-mode aware layers and the whole-network helpers.

The layers promise to be their ``torch.nn`` parent: in ``'s'`` mode exactly, in ``'m'`` mode
over ``[T*N, ...]``. So an input the parent itself refuses may end in the parent's own
error; the case then checks that the parent, given the same data, raises the same kind of
error (torch's contract for its own layer, not one spikegrad adds). Everything spikegrad
adds (``step_mode``, the sequence layout checks, ``Dropout``'s ``p`` and shared mask, the
container's rules, the helpers' arguments) must end in a clear error or the documented result.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from hypothesis import strategies as st
from torch import Tensor, nn

from spikegrad import encoding, functional, layer, neuron
from spikegrad.base import MemoryModule

from .contract import Case, describe, origin
from .values import WRONG_TYPES, floats, inputs

STEP_MODES = ("s", "m", "s", "m", "t", "S", "", None, 1, ["m"])
STEP_WORDS = ("step_mode", "[T", "time", "reset_net", "T = 0", "tensor", "Tensor", "p must")


def _step_mode(draw: st.DrawFn, valid: bool) -> Any:
    return draw(st.sampled_from(("s", "m") if valid else STEP_MODES))


# --------------------------------------------------------------------------- encoder


@st.composite
def encoder_cases(draw: st.DrawFn) -> Case:
    valid = draw(st.integers(0, 3)) == 0
    step_mode = _step_mode(draw, valid)
    x = draw(inputs(probabilities=True, valid=valid))
    label = f"PoissonEncoder(step_mode={step_mode!r})(x={describe(x)})"

    def call() -> None:
        y = encoding.PoissonEncoder(step_mode=step_mode)(x)
        assert y.shape == x.shape and y.dtype == x.dtype, f"{label}: output {y.shape}, {y.dtype}"
        assert bool(((y == 0) | (y == 1)).all()), f"{label}: spikes outside {{0, 1}}"
        assert bool((y[x == 0] == 0).all()), f"{label}: a probability of 0 spiked"
        assert bool((y[x == 1] == 1).all()), f"{label}: a probability of 1 did not spike"

    return Case(label, call, names=("step_mode", "probabilit", "tensor"), expect_ok=valid)


# --------------------------------------------------------------------------- layers

#: (name, factory taking step_mode, its torch parent's factory, one step's shape without N).
LAYERS: list[tuple[str, Callable[[Any], nn.Module], Callable[[], nn.Module], tuple[int, ...]]] = [
    ("Linear", lambda m: layer.Linear(5, 3, step_mode=m), lambda: nn.Linear(5, 3), (5,)),
    ("Conv2d", lambda m: layer.Conv2d(2, 3, 3, padding=1, step_mode=m),
     lambda: nn.Conv2d(2, 3, 3, padding=1), (2, 4, 4)),
    ("BatchNorm1d", lambda m: layer.BatchNorm1d(4, step_mode=m), lambda: nn.BatchNorm1d(4), (4,)),
    ("BatchNorm2d", lambda m: layer.BatchNorm2d(2, step_mode=m), lambda: nn.BatchNorm2d(2), (2, 3, 3)),
    ("Flatten", lambda m: layer.Flatten(step_mode=m), lambda: nn.Flatten(), (2, 3)),
    ("MaxPool2d", lambda m: layer.MaxPool2d(2, step_mode=m), lambda: nn.MaxPool2d(2), (2, 4, 4)),
    ("AvgPool2d", lambda m: layer.AvgPool2d(2, step_mode=m), lambda: nn.AvgPool2d(2), (2, 4, 4)),
]


@st.composite
def _layer_input(draw: st.DrawFn, step: tuple[int, ...], valid: bool, mode: Any) -> Any:
    """A sequence ``[T, N, *step]`` or one step ``[N, *step]``, often of another layout."""
    n = draw(st.sampled_from([2, 2, 1, 0])) if not valid else 2
    t = draw(st.sampled_from([3, 1, 0])) if not valid else 3
    right = (t, n, *step) if mode == "m" else (n, *step)
    if valid:
        shape = right
    else:
        shape = draw(st.sampled_from([right, right, (n, *step), (t, n, *step), step, (t, *step),
                                      (*step[:-1], step[-1] + 1), ()]))
    return draw(inputs(shape=shape, valid=valid)) if draw(st.integers(0, 5)) or valid else draw(inputs())


def layer_cases(name: str, make: Callable[[Any], nn.Module], make_parent: Callable[[], nn.Module],
                step: tuple[int, ...]) -> st.SearchStrategy[Case]:
    @st.composite
    def cases(draw: st.DrawFn) -> Case:
        valid = draw(st.integers(0, 3)) == 0
        mode = _step_mode(draw, valid)
        x = draw(_layer_input(step, valid, mode))
        train = draw(st.booleans())
        label = f"layer.{name}(step_mode={mode!r}).{'train' if train else 'eval'}()(x={describe(x)})"

        def call() -> None:
            ours = make(mode).train(train)
            parent = make_parent().train(train)
            parent.load_state_dict(ours.state_dict())
            try:
                y = ours(x)
            except Exception as error:
                if _raised_by_spikegrad(error):
                    raise  # held to the contract: a clear error
                # the parent's own refusal: the parent must refuse the same data the same way
                _assert_parent_refuses(label, parent, x, mode, type(error))
                return
            merged = x.flatten(0, 1) if mode == "m" else x
            expected = parent(merged)
            if mode == "m":
                expected = expected.unflatten(0, x.shape[:2])
            assert y.shape == expected.shape, f"{label}: {tuple(y.shape)}, parent {tuple(expected.shape)}"
            torch.testing.assert_close(y, expected, equal_nan=True, msg=lambda m: f"{label}: {m}")

        return Case(label, call, names=STEP_WORDS, expect_ok=valid)

    return cases()


def _assert_parent_refuses(label: str, parent: nn.Module, x: Any, mode: Any,
                           kind: type[BaseException]) -> None:
    merged = x.flatten(0, 1) if mode == "m" and isinstance(x, Tensor) and x.dim() >= 2 else x
    try:
        parent(merged)
    except Exception as error:
        assert isinstance(error, kind), (
            f"{label}: {kind.__name__}, but the torch parent raises {type(error).__name__}")
        return
    raise AssertionError(f"{label}: raised {kind.__name__}, but the torch parent accepts the same data")


@st.composite
def dropout_cases(draw: st.DrawFn) -> Case:
    valid = draw(st.integers(0, 3)) == 0
    p = draw(st.floats(0.0, 0.95)) if valid else draw(st.one_of(floats(), st.sampled_from(WRONG_TYPES)))
    mode = _step_mode(draw, valid)
    step = (2, 5)
    x = draw(inputs(shape=(3, *step) if mode == "m" else step, valid=valid)) if valid else draw(inputs())
    second = draw(inputs(shape=step if mode == "s" else (3, *step), valid=True))
    label = f"layer.Dropout(p={describe(p)}, step_mode={mode!r})(x={describe(x)})"

    def call() -> None:
        drop = layer.Dropout(p, step_mode=mode)
        y = drop(x)
        assert y.shape == x.shape and y.dtype == x.dtype, f"{label}: output {y.shape}, {y.dtype}"
        if drop.mask is None:  # p = 0: the identity
            assert y is x or torch.equal(y, x), f"{label}: p = 0 changed the input"
            return
        step = x.shape[1:] if mode == "m" else x.shape
        assert drop.mask.shape == step, f"{label}: mask {tuple(drop.mask.shape)} for steps {tuple(step)}"
        scale = 1.0 / (1.0 - drop.p)
        values = drop.mask.unique().tolist()
        close = 4 * torch.finfo(x.dtype).eps * scale  # the mask is kept in the input's dtype
        assert all(v == 0.0 or abs(v - scale) <= close for v in values), f"{label}: mask {values}"
        # torch's dropout semantics, one mask for every time step (so 0 * inf is NaN there, as in torch)
        torch.testing.assert_close(y, x * drop.mask.to(x), equal_nan=True)
        drop(second)  # the same step shape: the stored mask is reused

    return Case(label, call, names=("p must", "step_mode", "tensor", "reset_net", "[T"), expect_ok=valid)


@st.composite
def container_cases(draw: st.DrawFn) -> Case:
    """``SeqToANNContainer`` of drawn layers (stateless, in 'm' mode, stateful) over a drawn input."""
    options = {
        "conv": lambda: nn.Conv2d(2, 2, 3, padding=1),
        "bn": lambda: layer.BatchNorm2d(2),
        "bn_m": lambda: layer.BatchNorm2d(2, step_mode="m"),
        "lif": lambda: neuron.LIFNode(),
        "relu": lambda: nn.ReLU(),
        "dropout": lambda: layer.Dropout(0.5),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(options)), min_size=0, max_size=3))
    valid = all(c in ("conv", "bn", "relu") for c in chosen) and draw(st.booleans())
    x = draw(inputs(shape=(3, 2, 2, 4, 4), valid=True)) if valid else draw(inputs())
    label = f"layer.SeqToANNContainer({', '.join(chosen)})(x={describe(x)})"

    def call() -> None:
        block = layer.SeqToANNContainer(*(options[c]() for c in chosen)).eval()
        y = block(x)
        flat = nn.Sequential(*copy.deepcopy(list(block))).eval()
        expected = flat(x.flatten(0, 1)).unflatten(0, x.shape[:2])
        torch.testing.assert_close(y, expected, equal_nan=True)

    names = ("layer", "step_mode", "stateful", "[T", "tensor", "Tensor")
    return Case(label, call, names=names, expect_ok=valid)


# --------------------------------------------------------------------------- functional helpers


def _network(draw: st.DrawFn) -> tuple[Any, Tensor | None]:
    """A network (or something that is not one) and an input it runs on, if it is one."""
    kind = draw(st.sampled_from(["net", "net", "container", "module", "not_a_module"]))
    if kind == "not_a_module":
        return draw(st.sampled_from([None, 3, "net", [nn.ReLU()], nn.Sequential])), None
    if kind == "module":
        modules = [nn.ReLU(), layer.Linear(4, 4), neuron.IFNode(), encoding.PoissonEncoder()]
        return draw(st.sampled_from(modules)), torch.rand(2, 4)
    if kind == "container":
        net = nn.Sequential(layer.SeqToANNContainer(nn.Linear(4, 4)), neuron.LIFNode(step_mode="m"))
        return net, torch.rand(3, 2, 4)
    net = nn.Sequential(layer.Linear(4, 4), neuron.LIFNode(), layer.Dropout(0.2), nn.ReLU())
    return net, torch.rand(2, 4)


@st.composite
def helper_cases(draw: st.DrawFn) -> Case:
    which = draw(st.sampled_from(["reset_net", "detach_net", "set_step_mode", "multi_step_forward",
                                  "seq_to_ann_forward"]))
    net, sample = _network(draw)
    valid = sample is not None
    label = f"functional.{which}(net={type(net).__name__ if not isinstance(net, type) else net!r})"
    names: tuple[str, ...] = ("net", "module", "Module", "step_mode", "tensor", "Tensor", "[T", "T = 0")

    if which in ("reset_net", "detach_net"):
        def call() -> None:
            if sample is not None:  # state with a history
                out = net(sample.requires_grad_())
                if out.requires_grad:
                    out.sum().backward()
            getattr(functional, which)(net)
            for m in net.modules():
                if not isinstance(m, MemoryModule):
                    continue
                for name, value in m.named_memories():
                    if which == "reset_net":  # back to the initial value (a number or None here)
                        assert value == m._memory_initial[name], f"{label}: {name} = {value}"
                    else:  # kept, without history
                        assert not isinstance(value, Tensor) or value.grad_fn is None, f"{label}: {name}"
    elif which == "set_step_mode":
        mode = _step_mode(draw, False)
        label += f", step_mode={mode!r}"
        valid = False  # a container refuses 's' by design

        def call() -> None:
            functional.set_step_mode(net, mode)
    else:
        x = draw(inputs(shape=draw(st.sampled_from([(3, 2, 4), (0, 2, 4), (4,), (3, 2, 5)])))
                 if draw(st.integers(0, 4)) else inputs())
        stages = draw(st.sampled_from(["net", "callable", "list", "not_callable"]))
        label = f"functional.{which}(x={describe(x)}, stages={stages})"
        valid = False
        helper = getattr(functional, which)

        def call() -> None:
            chosen: Any = {"net": nn.Sequential(nn.Linear(4, 4)), "callable": torch.tanh,
                           "list": [nn.Linear(4, 4), torch.relu], "not_callable": 3}[stages]
            try:
                y = helper(x, chosen)
            except Exception as error:
                minimum = 1 if which == "multi_step_forward" else 2
                stepped = isinstance(x, Tensor) and x.dim() >= minimum and x.numel() > 0
                if _raised_by_spikegrad(error) or not stepped:
                    raise
                # the stages' own refusal of one step (of the merged steps): the stages refuse it alone too
                one = x[0] if which == "multi_step_forward" else x.flatten(0, 1)
                _assert_parent_refuses(label, _Stages(chosen), one, "s", type(error))
                return
            assert y.shape[0] == x.shape[0], f"{label}: time dimension lost"
    return Case(label, call, names=names, expect_ok=valid)


def _raised_by_spikegrad(error: BaseException) -> bool:
    return origin(error) is not None


class _Stages(nn.Module):
    """The stages of a helper as one plain module (what the helper promises to apply)."""

    def __init__(self, stages: Any) -> None:
        super().__init__()
        self.stages = stages

    def forward(self, x: Tensor) -> Tensor:
        for stage in self.stages if isinstance(self.stages, list) else [self.stages]:
            x = stage(x)
        return x


__all__ = [
    "LAYERS",
    "container_cases",
    "dropout_cases",
    "encoder_cases",
    "helper_cases",
    "layer_cases",
]
