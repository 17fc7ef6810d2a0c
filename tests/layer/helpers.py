"""Shared helpers of the layer tests: differential runs against SpikingJelly 2.0."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

T, N = 3, 2


def sync_weights(ours: nn.Module, theirs: nn.Module) -> None:
    """Same keys and shapes on both sides; ``theirs`` gets ``ours``'s values, strictly both ways."""
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd), (list(ours_sd), list(theirs_sd))
    for key, value in ours_sd.items():
        assert value.shape == theirs_sd[key].shape, key
    # random, non-trivial values so that a swapped or ignored weight shows
    with torch.no_grad():
        for name, p in ours.named_parameters():
            p.copy_(torch.randn_like(p) * 0.5 + (0.5 if "weight" in name or "gain" in name else 0.0))
    theirs.load_state_dict(ours.state_dict(), strict=True)
    ours.load_state_dict(theirs.state_dict(), strict=True)


def loss_weights(y: Tensor) -> Tensor:
    """A fixed, position-dependent weighting, so that any permutation of the output shows."""
    return torch.linspace(-1.0, 2.0, y.numel(), dtype=y.dtype).view_as(y).cos()


def run(
    module: nn.Module, inputs: Sequence[Tensor], call: Callable[..., Any] | None = None
) -> dict[str, Any]:
    """Forward and backward of ``module`` on copies of ``inputs``: outputs and every gradient."""
    xs = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out = (call or module)(*xs)
    outs = out if isinstance(out, tuple | list) else (out,)
    loss = sum((y * loss_weights(y)).sum() for y in outs if y.is_floating_point() and y.requires_grad)
    module.zero_grad()
    if isinstance(loss, Tensor):
        loss.backward()
    return {
        "out": [y.detach() for y in outs],
        "grad in": [x.grad for x in xs],
        "grad params": {n: p.grad for n, p in module.named_parameters()},
        "buffers": {n: b.clone() for n, b in module.named_buffers()},
    }


def assert_same_run(ours: dict[str, Any], theirs: dict[str, Any], exact: bool = False) -> None:
    """Outputs, input and parameter gradients and buffers (running statistics) agree."""
    kwargs = {"rtol": 0.0, "atol": 0.0} if exact else {}
    assert len(ours["out"]) == len(theirs["out"])
    for a, b in zip(ours["out"], theirs["out"], strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        torch.testing.assert_close(a, b, **kwargs)
    for a, b in zip(ours["grad in"], theirs["grad in"], strict=True):
        if a is None or b is None:  # an input the output does not depend on: no or zero gradient
            assert all(g is None or not g.any() for g in (a, b))
            continue
        torch.testing.assert_close(a, b, **kwargs)
    assert ours["grad params"].keys() == theirs["grad params"].keys()
    for name, grad in ours["grad params"].items():
        torch.testing.assert_close(grad, theirs["grad params"][name], **kwargs, msg=name)
    assert ours["buffers"].keys() == theirs["buffers"].keys()
    for name, buf in ours["buffers"].items():
        torch.testing.assert_close(buf, theirs["buffers"][name], **kwargs, msg=name)
