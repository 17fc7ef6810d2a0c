"""LIAF's activation: any callable, part of the fused kernel's identity, saved as a submodule."""

from __future__ import annotations

import functools
import pickle

import pytest
import torch
from torch import nn

import sj
from kernels.harness import check
from spikegrad import neuron, surrogate
from spikegrad.kernels.trace import UntraceableStep

sj_neuron = sj.module("neuron")
X = torch.rand(5, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2.4 - 0.4


def _double(x: torch.Tensor) -> torch.Tensor:
    return 2 * x


def _scaled(scale: float) -> object:
    return lambda x: scale * x


def liaf(act: object, backend: str = "fused", **kwargs: object) -> neuron.LIAFNode:
    return neuron.LIAFNode(act, False, step_mode="m", backend=backend, **kwargs)


class Scale(nn.Module):
    """A module of the user's own, whose number the repr does not show."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.tanh(x)


def test_each_activation_gets_its_own_kernel() -> None:
    # Built one after the other in one process, as in a sweep: each must compute its own act.
    acts = [
        torch.tanh,
        torch.sigmoid,
        nn.Tanh(),
        nn.Sigmoid(),
        nn.Softsign(),
        Scale(0.5),
        Scale(2.0),
        _double,
        _scaled(3.0),
        _scaled(4.0),
        functools.partial(torch.mul, other=5.0),
    ]
    for act in acts:
        got = liaf(act)(X)
        want = liaf(act, backend="reference")(X)
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12, msg=repr(act))


def test_reassigned_activation_is_used() -> None:
    node = liaf(torch.tanh)
    node(X)
    node.reset()
    node.act = nn.Sigmoid()
    torch.testing.assert_close(node(X), liaf(nn.Sigmoid(), backend="reference")(X), rtol=1e-12, atol=1e-12)
    assert [name for name, _ in node.named_modules()] == ["", "surrogate_function", "act"]
    node.act = Scale(3.0)
    node.reset()
    torch.testing.assert_close(node(X), liaf(Scale(3.0), backend="reference")(X), rtol=1e-12, atol=1e-12)
    del node.act  # torch refuses a function in the place of a submodule: remove it first
    node.act = torch.sigmoid
    node.reset()
    assert "act" not in dict(node.named_modules())
    torch.testing.assert_close(node(X), liaf(torch.sigmoid, backend="reference")(X), rtol=1e-12, atol=1e-12)
    node.act = torch.tanh
    node.reset()
    torch.testing.assert_close(node(X), liaf(torch.tanh, backend="reference")(X), rtol=1e-12, atol=1e-12)


def test_pickled_copy_runs_its_own_activation() -> None:
    node = liaf(Scale(0.7), store_v_seq=True)
    twin = pickle.loads(pickle.dumps(node))
    assert repr(twin) == repr(node)
    torch.testing.assert_close(twin(X), node(X), rtol=0, atol=0)


def test_activation_with_parameters_runs_on_the_reference_loop() -> None:
    with pytest.raises(UntraceableStep, match="backend='reference'"):
        neuron.LIAFNode(nn.PReLU(), True, step_mode="m").double()(X)
    node = neuron.LIAFNode(nn.PReLU(), True, step_mode="m", backend="reference").double()
    node(X).sum().backward()
    assert node.act.weight.grad is not None and node.act.weight.grad.abs().sum() > 0


def test_tanh_through_the_kernels_with_every_gradient() -> None:
    def make(backend: str) -> neuron.BaseNode:
        return neuron.LIAFNode(
            torch.tanh,
            True,
            surrogate_function=surrogate.ATan(),
            step_mode="m",
            store_v_seq=True,
            backend=backend,
        )

    check(make, X, exact_outputs=False)


def test_relu_through_the_kernels() -> None:
    # relu's backward reaches the kernels through torch's decompositions
    torch.testing.assert_close(liaf(torch.relu)(X), liaf(torch.relu, backend="reference")(X))


def test_repr_names_the_activation() -> None:
    assert repr(liaf(torch.tanh)).startswith("LIAFNode(\n  act=tanh, threshold_related=False, tau=2.0")
    assert "(act): Tanh()" in repr(liaf(nn.Tanh()))


def test_analog_output_in_both_step_modes_unlike_spikingjelly() -> None:
    # SpikingJelly's LIAFNode returns LIF spikes in step mode 'm' without store_v_seq (its
    # multi-step path is LIFNode's); spikegrad's returns act(h) in every mode.
    ours = liaf(torch.tanh, backend="reference")(X)
    theirs_m = sj_neuron.LIAFNode(torch.tanh, False, step_mode="m").double()(X)
    assert set(theirs_m.unique().tolist()) <= {0.0, 1.0}
    theirs_stored = sj_neuron.LIAFNode(torch.tanh, False, step_mode="m", store_v_seq=True).double()(X)
    theirs_s = torch.stack([y for y in map(sj_neuron.LIAFNode(torch.tanh, False).double(), X)])
    torch.testing.assert_close(ours, theirs_stored, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours, theirs_s, rtol=1e-12, atol=1e-12)
