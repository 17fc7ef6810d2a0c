"""Shared helpers of the model-zoo tests: SpikingJelly's model files, and differential runs.

SpikingJelly's ``spiking_resnet``, ``sew_resnet`` and ``spiking_vgg`` import torchvision's
download helper at the top (for ``pretrained=True``, which the tests never use). When
torchvision is absent, a stand-in that refuses to download is put in place for that import
and removed again.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn

import sj
from spikegrad import functional, surrogate

sj_functional = sj.module("functional")
sj_neuron = sj.module("neuron")
sj_surrogate = sj.module("surrogate")

T, N = 2, 2


def sj_model(name: str) -> ModuleType:
    """``spikingjelly.activation_based.model.<name>`` (or skip the calling test module)."""
    with _torchvision_stand_in():
        return importlib.import_module(f"spikingjelly.activation_based.model.{name}")


@contextlib.contextmanager
def _torchvision_stand_in() -> Iterator[None]:
    try:
        importlib.import_module("torchvision")
    except ImportError:
        pass
    else:
        yield
        return

    def load_state_dict_from_url(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the tests never download weights")

    names = ("torchvision", "torchvision.models", "torchvision.models.utils")
    stand_ins = {name: types.ModuleType(name) for name in names}
    stand_ins["torchvision.models.utils"].load_state_dict_from_url = load_state_dict_from_url  # type: ignore[attr-defined]
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name in names:
            del sys.modules[name]


def neuron_kwargs(**common: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The neuron arguments for (ours, theirs): the same, each library's surrogate by name.

    ``surrogate="ATan"`` becomes ``surrogate_function=surrogate.ATan()`` on each side; ours
    also gets ``backend='reference'`` (the fused kernels are tested in ``tests/kernels``).
    """
    ours, theirs = dict(common), dict(common)
    name = common.get("surrogate")
    if name is not None:
        del ours["surrogate"], theirs["surrogate"]
        ours["surrogate_function"] = getattr(surrogate, name)()
        theirs["surrogate_function"] = getattr(sj_surrogate, name)()
    ours.setdefault("backend", "reference")
    return ours, theirs


def randomize(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial values for every parameter and batch-norm statistic (none left at 0 or 1)."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(like: Tensor, low: float, high: float) -> Tensor:
        return torch.rand(like.shape, generator=generator, dtype=like.dtype) * (high - low) + low

    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if p.dim() == 1 and leaf == "weight":  # norm layers' scales
                p.copy_(uniform(p, 0.6, 1.6))
            elif leaf == "bias":
                p.copy_(uniform(p, -0.2, 0.6))
            elif leaf == "w":  # PLIF's time constant: tau in (1.25, 5)
                p.copy_(uniform(p, -1.4, 1.4))
            else:
                fan_in = max(p[0].numel(), 1)
                p.copy_(uniform(p, -1.0, 1.0) * (3.0 / fan_in) ** 0.5 * 1.5)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(uniform(b, -0.3, 0.3))
            elif name.endswith("running_var"):
                b.copy_(uniform(b, 0.5, 1.5))


def load_both_ways(ours: nn.Module, theirs: nn.Module) -> None:
    """Same keys in the same order and shapes; ours takes theirs strictly, then theirs ours."""
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd), sorted(set(ours_sd) ^ set(theirs_sd)) or "key order"
    for key, value in ours_sd.items():
        assert value.shape == theirs_sd[key].shape, key
    ours.load_state_dict(theirs_sd, strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)


def loss_weights(y: Tensor) -> Tensor:
    """A fixed, position-dependent weighting, so that any permutation of the output shows."""
    return torch.linspace(-1.0, 2.0, y.numel(), dtype=y.dtype).view_as(y).cos()


def run(model: nn.Module, x: Tensor, step_mode: str, reset: Callable[[nn.Module], None]) -> dict[str, Any]:
    """One forward (all steps at once in ``'m'``, step by step in ``'s'``) and backward.

    Returns the output, the input's and every parameter's gradient and the buffers; the
    model is reset afterwards.
    """
    x = x.detach().clone().requires_grad_(True)
    out = model(x) if step_mode == "m" else torch.stack([model(x_t) for x_t in x])
    model.zero_grad(set_to_none=True)
    (out * loss_weights(out)).sum().backward()
    reset(model)
    return {
        "out": out.detach(),
        "grad in": x.grad,
        "grads": {name: p.grad for name, p in model.named_parameters()},
        "buffers": {name: b.clone() for name, b in model.named_buffers()},
    }


def assert_same_run(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Outputs, gradients (input and every parameter) and buffers agree; and they are not trivial."""
    torch.testing.assert_close(ours["out"], theirs["out"], msg="output")
    torch.testing.assert_close(ours["grad in"], theirs["grad in"], msg="input gradient")
    assert ours["grads"].keys() == theirs["grads"].keys()
    for name, grad in ours["grads"].items():
        if grad is None or theirs["grads"][name] is None:  # a parameter the output does not depend on
            assert grad is None or not grad.any(), name
            assert theirs["grads"][name] is None or not theirs["grads"][name].any(), name
            continue
        torch.testing.assert_close(grad, theirs["grads"][name], msg=name)
    for name, buffer in ours["buffers"].items():
        torch.testing.assert_close(buffer, theirs["buffers"][name], msg=name)
    # the comparison means something: the output varies, and most weights get a gradient
    assert ours["out"].std() > 0 and ours["grad in"].abs().sum() > 0
    alive = [g is not None and bool(g.any()) for g in ours["grads"].values()]
    assert sum(alive) >= 0.75 * len(alive), f"{sum(alive)} of {len(alive)} parameters have a gradient"


def compare(
    ours: nn.Module,
    theirs: nn.Module,
    x: Tensor,
    step_modes: tuple[str, ...] = ("m",),
    train_eval: tuple[str, ...] = ("train", "eval"),
) -> None:
    """Both models in float64 with the same random weights: the same runs in each mode.

    ``step_modes`` are set with each library's ``set_step_mode`` (models that are multi-step
    only take ``('m',)``). Dropout draws the same masks from the same seed on both sides.
    """
    ours.double(), theirs.double()
    randomize(theirs)
    load_both_ways(ours, theirs)
    x = x.double()
    for step_mode in step_modes:
        functional.set_step_mode(ours, step_mode)
        sj_functional.set_step_mode(theirs, step_mode)
        for mode in train_eval:
            getattr(ours, mode)(), getattr(theirs, mode)()
            torch.manual_seed(1)
            ours_run = run(ours, x, step_mode, functional.reset_net)
            torch.manual_seed(1)
            theirs_run = run(theirs, x, step_mode, sj_functional.reset_net)
            assert_same_run(ours_run, theirs_run)


def assert_same_init(make_ours: Callable[[], nn.Module], make_theirs: Callable[[], nn.Module]) -> None:
    """At the same seed, both constructors give the same initial weights and buffers."""
    torch.manual_seed(7)
    theirs = make_theirs()
    torch.manual_seed(7)
    ours = make_ours()
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for key, value in ours_sd.items():
        torch.testing.assert_close(value, theirs_sd[key], rtol=0, atol=0, msg=key)
