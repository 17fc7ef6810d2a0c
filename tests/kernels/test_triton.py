"""The Triton loop kernels, run on the CPU by Triton's interpreter.

The same generated source runs on CUDA; here ``TRITON_INTERPRET=1`` (set by the conftest
before triton is imported) executes it with numpy, and :func:`spikegrad.kernels.triton_on_cpu`
sends CPU tensors down the Triton route. The ``test`` extra installs triton: without it the
whole module fails loudly in CI rather than skipping.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import Tensor

from spikegrad import kernels, neuron, surrogate
from spikegrad.kernels import triton_loop
from spikegrad.surrogate import Surrogate

from .harness import CLASSES, check, inputs, lif, make_surrogate, node

pytestmark = pytest.mark.skipif(
    not triton_loop.interpreted() and not torch.cuda.is_available(),
    reason="needs TRITON_INTERPRET=1 (set by the conftest on machines without CUDA)",
)

DETERMINISTIC = [c for c in CLASSES if not c.stochastic]


@pytest.fixture(autouse=True)
def triton_route() -> Iterator[None]:
    with kernels.triton_on_cpu():
        assert kernels.route(torch.device("cpu")) == "triton"
        yield


def test_triton_is_installed() -> None:
    assert triton_loop.available(), "the test extra installs triton: pip install -e '.[test]'"


@pytest.mark.parametrize("cls", DETERMINISTIC, ids=lambda c: c.__name__)
def test_every_deterministic_surrogate(cls: type[Surrogate]) -> None:
    check(
        node(neuron.ParametricLIFNode, make_surrogate(cls), v_reset=None),
        inputs((5, 3, 4)),
        torch.full((3, 4), 0.1, dtype=torch.float64),
    )


@pytest.mark.parametrize("cls", [c for c in DETERMINISTIC if c.has_primitive], ids=lambda c: c.__name__)
def test_every_primitive(cls: type[Surrogate]) -> None:
    check(lif(make_surrogate(cls, spiking=False)), inputs((4, 3, 2), seed=1), exact_outputs=False)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"v_reset": None, "detach_reset": True}, {"decay_input": False, "v_reset": -0.2}],
    ids=str,
)
def test_neuron_configurations(kwargs: dict[str, object]) -> None:
    check(lif(surrogate.Sigmoid(), **kwargs), inputs(seed=3))
    check(
        node(neuron.IFNode, surrogate.Sigmoid(), **{k: v for k, v in kwargs.items() if k != "decay_input"}),
        inputs(seed=3),
    )


def _exact_inputs(dtype: torch.dtype) -> Tensor:
    gen = torch.Generator().manual_seed(5)
    return (torch.randint(-16, 40, (8, 64), generator=gen) / 16).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=str)
def test_dtypes(dtype: torch.dtype) -> None:
    check(lif(surrogate.ATan()), _exact_inputs(dtype))


def test_bfloat16() -> None:
    # Triton's interpreter truncates float32 to bfloat16 where CUDA rounds to nearest, so
    # on the CPU only sums that are exact in bfloat16 can be compared bit for bit: IF.
    check(node(neuron.IFNode, surrogate.ATan()), _exact_inputs(torch.bfloat16))


def test_awkward_shapes() -> None:
    for shape in [(1, 4, 3), (6,), (6, 2, 3, 4, 4), (3, 1500)]:  # 1500 > one block
        check(lif(), inputs(shape))


def test_per_channel_surrogate_parameter() -> None:
    alpha = torch.tensor([2.0, 4.0, 6.0], dtype=torch.float64).view(3, 1, 1)
    check(lif(surrogate.Sigmoid(alpha=alpha)), inputs((5, 2, 3, 4, 4)))


def test_scalars_are_float64_arguments() -> None:
    # 1 / tau is computed from a float64 argument, as the reference does in Python.
    n = neuron.LIFNode(tau=3.0, step_mode="m")
    from spikegrad.kernels import fused
    from spikegrad.kernels.trace import layout_of

    x = inputs(dtype=torch.float32).requires_grad_()
    layout = layout_of(n, n.state_names())
    plan = fused._plan(n, x, [], False, layout)
    source = triton_loop.source(plan.programs.forward)
    assert "tl.float64" in source.splitlines()[1]
    check(lif(tau=3.0), inputs(dtype=torch.float32))


@surrogate.from_primitive(smooth=False)
def GatedRamp(x: Tensor, width: float = 1.0) -> Tensor:
    """A ramp whose window is also gated by the parameter: truth values of a scalar and of a block."""
    inside = torch.logical_and(x.abs() < width, torch.as_tensor(width) > 0.5)
    return torch.where(inside, (x + width) / (2 * width), (x >= 0).to(x.dtype))


def test_truth_values_of_a_scalar_and_a_block() -> None:
    # `width > 0.5` is computed once, outside the loop over time, as a scalar; combining it with a
    # block of truth values must work in the interpreter as on CUDA.
    check(lif(GatedRamp(width=0.75, spiking=False)), inputs((4, 3, 2), seed=2), exact_outputs=False)
