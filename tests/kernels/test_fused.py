"""The fused multi-step kernels against the reference loop.

Layout of the matrix (the full product would compile too many kernels): every surrogate
of the catalogue (and two custom ones) on one core neuron; every neuron configuration on
two surrogates; every dtype and every awkward shape on one surrogate. Kernels take the
neuron's constants and the surrogate's parameters at run time, so after the first case of
a surrogate class the rest reuse its compiled kernels.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch
from torch import Tensor

from spikegrad import surrogate
from spikegrad.kernels import codegen, fused, reference
from spikegrad.neuron.dynamics import Dynamics
from spikegrad.surrogate import Surrogate
from surrogate.custom_shapes import CUSTOM  # tests/surrogate (rootdir on sys.path)

CLASSES: list[type[Surrogate]] = [*surrogate.builtins(), *CUSTOM]
REQUIRED: dict[str, dict[str, Any]] = {"MultiLevelSpikeCount": {"max_spike_count": 3}}
TOL = {
    torch.float64: (1e-10, 1e-12),
    torch.float32: (1e-4, 1e-5),
    torch.float16: (2e-2, 2e-2),
    torch.bfloat16: (5e-2, 5e-2),
}


def make(cls: type[Surrogate], **kwargs: Any) -> Surrogate:
    return cls(**{**REQUIRED.get(cls.__name__, {}), **kwargs})


def run(
    backend: Any,
    dyn: Dynamics,
    sg: Surrogate,
    x_seq: Tensor,
    v0: Tensor | float,
    k: Tensor | float,
    store_v_seq: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Outputs and every gradient of one call, under a fixed random seed."""
    x = x_seq.detach().clone().requires_grad_()
    v = v0.detach().clone().requires_grad_() if isinstance(v0, Tensor) else v0
    w = k.detach().clone().requires_grad_() if isinstance(k, Tensor) else None
    k_in = torch.sigmoid(w) if w is not None else k
    torch.manual_seed(seed)
    spikes, v_last, v_seq = backend.multi_step(dyn, sg, x, v, k_in, store_v_seq)
    gen = torch.Generator().manual_seed(1)
    loss = (spikes * torch.randn(spikes.shape, generator=gen, dtype=spikes.dtype)).sum()
    loss = loss + (v_last * torch.randn(v_last.shape, generator=gen, dtype=v_last.dtype)).sum()
    if v_seq is not None:
        loss = loss + (v_seq * torch.randn(v_seq.shape, generator=gen, dtype=v_seq.dtype)).sum()
    inputs = [t for t in (x, v, w) if isinstance(t, Tensor)]
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    out = {"spikes": spikes, "v": v_last, "v_seq": v_seq, "grad_x": grads[0]}
    if isinstance(v, Tensor):
        out["grad_v0"] = grads[1]
    if w is not None:
        out["grad_w"] = grads[-1]
    return out


def check(
    dyn: Dynamics,
    sg: Surrogate,
    x_seq: Tensor,
    v0: Tensor | float = 0.0,
    k: Tensor | float = 0.5,
    store_v_seq: bool = True,
) -> dict[str, Any]:
    got = run(fused, dyn, sg, x_seq, v0, k, store_v_seq)
    want = run(reference, dyn, sg, x_seq, v0, k, store_v_seq)
    rtol, atol = TOL[x_seq.dtype]
    assert got.keys() == want.keys()
    if sg.spiking:
        torch.testing.assert_close(got["spikes"], want["spikes"], rtol=0, atol=0)
    for name in got:
        if got[name] is None or want[name] is None:
            assert got[name] is None and want[name] is None, name
            continue
        assert got[name].shape == want[name].shape, name
        assert got[name].dtype == want[name].dtype, name
        torch.testing.assert_close(got[name], want[name], rtol=rtol, atol=atol, msg=name)
    return got


def inputs(shape: tuple[int, ...] = (6, 4, 3), dtype: torch.dtype = torch.float64, seed: int = 0) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * 1.2 + 0.4).to(dtype)


LIF = Dynamics(leaky=True)


# --------------------------------------------------------------------------- the catalogue


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_surrogate_matches_reference(cls: type[Surrogate]) -> None:
    if cls is surrogate.PoissonPass:
        # bernoulli(h - theta) needs probabilities: IF with threshold 0 and small inputs.
        dyn = Dynamics(v_threshold=0.0)
        x = inputs().abs() * 0.1
    else:
        dyn, x = LIF, inputs()
    v0 = torch.rand(x.shape[1:], dtype=x.dtype, generator=torch.Generator().manual_seed(3)) * 0.5
    got = check(dyn, make(cls), x, v0)
    if cls is not surrogate.PoissonPass:
        assert 0 < got["spikes"].sum() < got["spikes"].numel()


# spiking=False traces the primitive instead of the step: a kernel pair per class, so a sample:
# a plain shape, an integer parameter, a baked one, a custom one differentiated by autograd.
NON_SPIKING = [surrogate.Sigmoid, surrogate.MultiLevelSpikeCount, surrogate.MultiGaussian, CUSTOM[-1]]


@pytest.mark.parametrize("cls", NON_SPIKING, ids=lambda c: c.__name__)
def test_non_spiking_mode_matches_reference(cls: type[Surrogate]) -> None:
    check(Dynamics(leaky=True, v_reset=None), make(cls, spiking=False), inputs(seed=1))


# --------------------------------------------------------------------------- neuron configurations

CONFIGS = [
    dict(leaky=leaky, decay_input=decay, v_reset=v_reset, detach_reset=detach, plif=plif)
    for (leaky, plif, decay), v_reset, detach in itertools.product(
        [
            (False, False, True),
            (True, False, True),
            (True, False, False),
            (True, True, True),
            (True, True, False),
        ],
        [0.0, None, -0.3],
        [False, True],
    )
]


@pytest.mark.parametrize("cls", [surrogate.Sigmoid, surrogate.PiecewiseQuadratic], ids=lambda c: c.__name__)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_every_neuron_configuration(cls: type[Surrogate], config: dict[str, Any]) -> None:
    config = dict(config)
    plif = config.pop("plif")
    dyn = Dynamics(v_threshold=0.8, **config)
    k: Tensor | float = torch.tensor(-0.4, dtype=torch.float64) if plif else 1 / 3
    v0 = torch.full((3,), 0.2, dtype=torch.float64)  # broadcast against [4, 3]
    check(dyn, make(cls), inputs(seed=2), v0, k)


def test_plif_weight_gradient_in_float32() -> None:
    k = torch.tensor(0.3)
    check(Dynamics(leaky=True), surrogate.Sigmoid(), inputs(dtype=torch.float32), 0.0, k)


def test_stochastic_forward_and_backward_use_the_reference_draws() -> None:
    # Same seed, same order of draws: the fused path reproduces the reference exactly.
    for sg in (surrogate.BernoulliSigmoid(), surrogate.StochasticSpikeOperator(mean=0.1, variance=0.5)):
        check(Dynamics(leaky=True), sg, inputs(seed=4), 0.0, torch.tensor(0.2, dtype=torch.float64))


# --------------------------------------------------------------------------- dtypes and shapes


def _exact_inputs(dtype: torch.dtype) -> Tensor:
    # Multiples of 1/16 with k = 1/2: every step is exact in half precision too, so spikes
    # agree bit for bit and only g' differs by rounding.
    gen = torch.Generator().manual_seed(5)
    return (torch.randint(-16, 40, (8, 64), generator=gen) / 16).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("v_reset", [0.0, None])
def test_dtypes(dtype: torch.dtype, v_reset: float | None) -> None:
    got = check(Dynamics(leaky=True, v_reset=v_reset), surrogate.ATan(), _exact_inputs(dtype), 0.0, 0.5)
    assert got["spikes"].sum() > 0


def test_float32_forward_is_bitwise_equal_to_reference() -> None:
    x = inputs((16, 257), dtype=torch.float32)
    for dyn in (Dynamics(leaky=True), Dynamics(v_reset=None), Dynamics(leaky=True, decay_input=False)):
        with torch.no_grad():
            got = fused.multi_step(dyn, surrogate.ATan(), x, 0.0, 1 / 3, True)
            want = reference.multi_step(dyn, surrogate.ATan(), x, 0.0, 1 / 3, True)
        for a, b in zip(got, want, strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize(
    "shape",
    [(1, 4, 3), (6,), (6, 0, 3), (6, 2, 3, 4, 4), (1,)],
    ids=["T=1", "0-dim", "empty-batch", "4-D", "T=1-0-dim"],
)
def test_shapes(shape: tuple[int, ...]) -> None:
    v0 = torch.zeros(shape[1:], dtype=torch.float64) + 0.1
    check(LIF, surrogate.ATan(), inputs(shape), v0)


def test_zero_steps() -> None:
    x = torch.zeros(0, 4, 3, dtype=torch.float64, requires_grad=True)
    v0 = torch.full((4, 3), 0.25, dtype=torch.float64, requires_grad=True)
    spikes, v, v_seq = fused.multi_step(LIF, surrogate.ATan(), x, v0, 0.5, True)
    assert spikes.shape == (0, 4, 3) and v_seq is not None and v_seq.shape == (0, 4, 3)
    torch.testing.assert_close(v, v0)
    (v.sum() + spikes.sum()).backward()
    assert v0.grad is not None
    torch.testing.assert_close(v0.grad, torch.ones_like(v0))


def test_non_contiguous_input() -> None:
    x = inputs((4, 6, 5)).transpose(1, 2)
    assert not x.is_contiguous()
    check(LIF, surrogate.ATan(), x, 0.0)


def test_per_channel_tensor_parameter_on_conv_activations() -> None:
    alpha = torch.tensor([2.0, 4.0, 6.0], dtype=torch.float64).view(3, 1, 1)
    check(LIF, surrogate.Sigmoid(alpha=alpha), inputs((5, 2, 3, 4, 4)), 0.0)


def test_without_v_seq_and_with_a_number_as_v0() -> None:
    check(LIF, surrogate.ATan(), inputs(), 0.3, store_v_seq=False)


# --------------------------------------------------------------------------- compiled once, reused


def test_one_kernel_serves_every_neuron_and_parameter_value() -> None:
    x = inputs(seed=7)
    check(LIF, surrogate.Sigmoid(), x)  # compiles (or reuses) Sigmoid's kernels
    before = codegen.cached_kernels()
    check(Dynamics(v_reset=None, detach_reset=True), surrogate.Sigmoid(alpha=1.5), x)
    check(Dynamics(leaky=True, decay_input=False, v_threshold=0.5), surrogate.Sigmoid(alpha=7.0), x, 0.0, 0.2)
    assert codegen.cached_kernels() == before


# --------------------------------------------------------------------------- torch.library


def _op_args(x: Tensor, v0: Tensor, k: Tensor) -> tuple[Any, ...]:
    return (x, v0, k, "ATan", True, [2.0], [], [], 1.0, 0.0, False, True, True, True)


def test_opcheck() -> None:
    x = inputs((4, 3, 2)).requires_grad_()
    v0 = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    k = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.spikegrad.multi_step.default, _op_args(x, v0, k))


def test_opcheck_tensor_parameters_and_soft_reset() -> None:
    x = inputs((3, 2, 3, 2)).requires_grad_()
    alpha = torch.tensor([1.0, 3.0, 5.0], dtype=torch.float64).view(3, 1)
    args = (
        x,
        torch.zeros((), dtype=torch.float64),
        torch.tensor(0.5, dtype=torch.float64),
        "Sigmoid",
        True,
        [0.0],
        [0],
        [alpha],
        1.0,
        None,
        True,
        True,
        False,
        False,
    )
    torch.library.opcheck(torch.ops.spikegrad.multi_step.default, args)


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 4, dtype=torch.float64)
        self.sg = surrogate.ATan()
        self.w = torch.nn.Parameter(torch.tensor(0.1, dtype=torch.float64))

    def forward(self, x: Tensor) -> Tensor:
        spikes, v, _ = fused.multi_step(LIF, self.sg, self.fc(x), 0.0, torch.sigmoid(self.w))
        return spikes.sum() + v.sum()


def test_compile_fullgraph_traces_the_op() -> None:
    torch.manual_seed(0)
    net = _Net()
    x = inputs((5, 2, 3)) * 3
    compiled = torch.compile(net, fullgraph=True, backend="aot_eager")
    want = net(x)
    want_grads = torch.autograd.grad(want, list(net.parameters()))
    got = compiled(x)
    got_grads = torch.autograd.grad(got, list(net.parameters()))
    torch.testing.assert_close(got, want)
    for a, b in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(a, b)


# --------------------------------------------------------------------------- errors


def test_rejects_what_it_cannot_fuse() -> None:
    x = inputs()
    with pytest.raises(TypeError, match="Surrogate module"):
        fused.multi_step(LIF, torch.sigmoid, x, 0.0, 0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floating-point"):
        fused.multi_step(LIF, surrogate.ATan(), torch.ones(3, 2, dtype=torch.int64), 0.0, 0.5)


def test_stored_v_seq_left_unused_gets_no_gradient() -> None:
    x = inputs().requires_grad_()
    spikes, _, v_seq = fused.multi_step(LIF, surrogate.ATan(), x, 0.0, 0.5, True)
    assert v_seq is not None
    (grad,) = torch.autograd.grad(spikes.sum(), x)
    x_ref = x.detach().clone().requires_grad_()
    (want,) = torch.autograd.grad(
        reference.multi_step(LIF, surrogate.ATan(), x_ref, 0.0, 0.5, True)[0].sum(), x_ref
    )
    torch.testing.assert_close(grad, want)
