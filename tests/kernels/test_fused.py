"""The fused kernels against the reference loop, through the neuron modules.

Layout of the matrix (the full product would compile too many kernels): every surrogate of
the catalogue (and two custom ones), spiking and not, on LIF; every IF/LIF/PLIF
configuration on two surrogates; every dtype and awkward shape on one. A kernel takes the
neuron's numbers and the surrogate's parameters at run time, so one compiled kernel pair
serves every value of them.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch
from torch import Tensor

from spikegrad import functional, neuron, surrogate
from spikegrad.kernels import fused
from spikegrad.surrogate import Surrogate

from .harness import CLASSES, check, inputs, lif, make_surrogate, node, plans

# --------------------------------------------------------------------------- the catalogue


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_surrogate_matches_reference(cls: type[Surrogate]) -> None:
    if cls is surrogate.PoissonPass:
        # bernoulli(h - theta) needs probabilities: IF with threshold 0 and small inputs.
        make = node(neuron.IFNode, make_surrogate(cls), v_threshold=0.0)
        x = inputs().abs() * 0.1
    else:
        make, x = lif(make_surrogate(cls)), inputs()
    v0 = torch.rand(x.shape[1:], dtype=x.dtype, generator=torch.Generator().manual_seed(3)) * 0.5
    got = check(make, x, v0)
    if cls is not surrogate.PoissonPass:
        out = got["out"]
        assert out is not None and 0 < out.sum() < out.numel()


WITH_PRIMITIVE = [c for c in CLASSES if c.has_primitive]


@pytest.mark.parametrize("cls", WITH_PRIMITIVE, ids=lambda c: c.__name__)
def test_every_primitive_through_the_kernels(cls: type[Surrogate]) -> None:
    # spiking=False fires with the primitive g: ops that occur only in primitives (log1p,
    # atan, erfc, sin, sqrt ...) run through the translators too.
    sg = make_surrogate(cls, spiking=False)
    x = inputs(seed=1)
    if cls is surrogate.PoissonPass:
        x = x.clamp(0.05, 0.95)
    check(lif(sg, v_reset=None), x, exact_outputs=False)


# --------------------------------------------------------------------------- neuron configurations

CONFIGS = [
    dict(kind=kind, decay_input=decay, v_reset=v_reset, detach_reset=detach)
    for (kind, decay), v_reset, detach in itertools.product(
        [("if", True), ("lif", True), ("lif", False), ("plif", True), ("plif", False)],
        [0.0, None, -0.3],
        [False, True],
    )
]


def _factory(kind: str, sg: Surrogate, **kwargs: Any) -> Any:
    if kind == "if":
        kwargs.pop("decay_input")
        return node(neuron.IFNode, sg, **kwargs)
    if kind == "lif":
        return node(neuron.LIFNode, sg, tau=3.0, **kwargs)
    return node(neuron.ParametricLIFNode, sg, init_tau=2.5, **kwargs)


@pytest.mark.parametrize("cls", [surrogate.Sigmoid, surrogate.PiecewiseQuadratic], ids=lambda c: c.__name__)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_every_neuron_configuration(cls: type[Surrogate], config: dict[str, Any]) -> None:
    config = dict(config)
    make = _factory(config.pop("kind"), cls(), v_threshold=0.8, **config)
    check(make, inputs(seed=2), torch.full((4, 3), 0.2, dtype=torch.float64))


def test_plif_weight_gradient_in_float32() -> None:
    check(node(neuron.ParametricLIFNode, surrogate.Sigmoid()), inputs(dtype=torch.float32))


def test_plif_weight_of_another_dtype_than_the_input() -> None:
    # w stays float32 in a float64 network: a 0-dim tensor follows type promotion as in eager.
    def make(backend: str) -> neuron.BaseNode:
        n = neuron.ParametricLIFNode(step_mode="m", store_v_seq=True, backend=backend)
        n.w.data = n.w.data.float()
        return n

    got = run_once(make, inputs())
    want = run_once(make, inputs(), backend="reference")
    for a, b in zip(got[:3], want[:3], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got[3], want[3], rtol=1e-5, atol=1e-6)  # w's gradient is float32


def run_once(make: Any, x: Tensor, backend: str = "fused") -> list[Tensor]:
    n = make(backend)
    xs = x.clone().requires_grad_()
    out = n(xs)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view(out.shape)).sum().backward()
    return [out, n.v, xs.grad, n.w.grad]


def test_stochastic_surrogates_run_the_reference_draws() -> None:
    # Their draws come from torch's generator at every step: the same seed gives the same spikes.
    for sg in (surrogate.BernoulliSigmoid(), surrogate.StochasticSpikeOperator(mean=0.1, variance=0.5)):
        check(node(neuron.ParametricLIFNode, sg), inputs(seed=4))
    with pytest.raises(RuntimeError, match="draws random numbers"):
        neuron.LIFNode(surrogate_function=surrogate.BernoulliSigmoid(), step_mode="m", backend="fused")(
            inputs()
        )


# --------------------------------------------------------------------------- dtypes and shapes


def _exact_inputs(dtype: torch.dtype) -> Tensor:
    # Multiples of 1/16 with tau = 2: every step is exact in half precision too, so spikes
    # agree bit for bit and only g' differs by rounding.
    gen = torch.Generator().manual_seed(5)
    return (torch.randint(-16, 40, (8, 64), generator=gen) / 16).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("v_reset", [0.0, None])
def test_dtypes(dtype: torch.dtype, v_reset: float | None) -> None:
    got = check(lif(v_reset=v_reset), _exact_inputs(dtype))
    out = got["out"]
    assert out is not None and out.sum() > 0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_half_types_round_every_op_like_eager(dtype: torch.dtype) -> None:
    # Inputs that are not exact in half precision: the kernels round after every op as
    # torch's CPU kernels do, so even the forward agrees exactly.
    check(lif(tau=3.0), inputs((6, 40), dtype=dtype, seed=9))


def test_float32_forward_is_bitwise_equal_to_reference() -> None:
    x = inputs((16, 257), dtype=torch.float32)
    for kwargs in ({}, {"v_reset": None}, {"decay_input": False, "tau": 3.0}):
        outputs = []
        for backend in ("fused", "reference"):
            n = lif(**kwargs)(backend)
            with torch.no_grad():
                outputs.append((n(x), n.v, n.v_seq))
        for a, b in zip(*outputs, strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize(
    "shape",
    [(1, 4, 3), (6,), (6, 0, 3), (6, 2, 3, 4, 4), (1,)],
    ids=["T=1", "0-dim", "empty-batch", "4-D", "T=1-0-dim"],
)
def test_shapes(shape: tuple[int, ...]) -> None:
    v0 = torch.zeros(shape[1:], dtype=torch.float64) + 0.1
    check(lif(), inputs(shape), v0)


def test_zero_steps_keep_the_state_and_the_graph() -> None:
    n = lif()("fused")
    v0 = torch.full((4, 3), 0.25, dtype=torch.float64, requires_grad=True)
    n.v = v0
    x = torch.zeros(0, 4, 3, dtype=torch.float64, requires_grad=True)
    out = n(x)
    assert out.shape == (0, 4, 3) and out.requires_grad
    assert n.v is v0 and n.v_seq is not None and n.v_seq.shape == (0, 4, 3)
    out.sum().backward()  # differentiable, even if empty


def test_non_contiguous_input() -> None:
    x = inputs((4, 6, 5)).transpose(1, 2)
    assert not x.is_contiguous()
    check(lif(), x)


def test_per_channel_tensor_parameter_on_conv_activations() -> None:
    alpha = torch.tensor([2.0, 4.0, 6.0], dtype=torch.float64).view(3, 1, 1)
    check(lif(surrogate.Sigmoid(alpha=alpha)), inputs((5, 2, 3, 4, 4)))


def test_without_v_seq_and_with_a_number_as_v0() -> None:
    def make(backend: str) -> neuron.BaseNode:
        return neuron.LIFNode(v_reset=0.3, step_mode="m", backend=backend)

    check(make, inputs())


def test_state_carried_across_calls_is_backpropagated() -> None:
    def two_calls(backend: str) -> list[Tensor]:
        n = neuron.LIFNode(tau=3.0, step_mode="m", backend=backend)
        x = inputs().requires_grad_()
        out = torch.cat([n(x), n(x * 0.5)])
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view(out.shape)).sum().backward()
        return [out, n.v, x.grad]

    for a, b in zip(two_calls("fused"), two_calls("reference"), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_single_step_mode_runs_fused_and_matches() -> None:
    def stepped(backend: str) -> list[Tensor]:
        n = neuron.ParametricLIFNode(surrogate_function=surrogate.ATan(), backend=backend, store_v_seq=True)
        x = inputs().requires_grad_()
        out = torch.stack([n(x_t) for x_t in x])
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view(out.shape)).sum().backward()
        return [out, n.v, n.v_seq, x.grad, n.w.grad]

    before = plans()
    got = stepped("fused")
    assert plans() <= before + 1  # one plan serves every step
    want = stepped("reference")
    for a, b in zip(got[:4], want[:4], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got[4], want[4], rtol=1e-5, atol=1e-6)  # w is float32


# --------------------------------------------------------------------------- gradients, memory


def test_gradcheck_whole_neuron() -> None:
    n = neuron.ParametricLIFNode(
        surrogate_function=surrogate.Sigmoid(spiking=False), step_mode="m", backend="fused", v_reset=None
    ).double()

    def f(x: Tensor, v0: Tensor) -> tuple[Tensor, ...]:
        functional.reset_net(n)
        n.v = v0
        return n(x), n.v

    x = inputs((4, 3), seed=6).requires_grad_()
    v0 = torch.rand(3, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(f, (x, v0))


def test_retain_graph_backward_twice_after_buffer_reuse() -> None:
    n = neuron.LIFNode(step_mode="m", backend="fused")
    x = inputs().requires_grad_()
    out = n(x)
    w = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view(out.shape)
    (g1,) = torch.autograd.grad((out * w).sum(), x, retain_graph=True)
    (g2,) = torch.autograd.grad((out * w).sum(), x, retain_graph=True)
    (g3,) = torch.autograd.grad((out * w).sum(), x)  # frees the graph: may reuse buffers
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    torch.testing.assert_close(g1, g3, rtol=0, atol=0)


def test_double_backward_through_a_create_graph_is_refused_or_correct() -> None:
    # create_graph keeps every buffer; the first-order gradient stays exact.
    n = neuron.LIFNode(surrogate_function=surrogate.Sigmoid(), step_mode="m", backend="fused")
    x = inputs().requires_grad_()
    out = n(x)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    ref = neuron.LIFNode(surrogate_function=surrogate.Sigmoid(), step_mode="m", backend="reference")
    xr = x.detach().clone().requires_grad_()
    (want,) = torch.autograd.grad(ref(xr).sum(), xr)
    torch.testing.assert_close(g, want)


def test_second_backward_without_reset_says_what_to_do() -> None:
    n = neuron.LIFNode(step_mode="m", backend="fused")
    x = inputs().requires_grad_()
    n(x).sum().backward()
    out = n(x)  # no reset_net: v still holds the freed graph of the first batch
    with pytest.raises(RuntimeError, match="reset_net"):
        out.sum().backward()


class _CountingMode(torch.utils._python_dispatch.TorchDispatchMode):
    """Records every aten op that moves a number between host and device."""

    suspicious = ("_local_scalar_dense", "lift_fresh", "scalar_tensor", "_to_copy", "copy_", "item")

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        name = func.overloadpacket.__name__
        if name in self.suspicious:
            self.seen.append(name)
        return func(*args, **(kwargs or {}))


def test_a_training_step_makes_no_host_device_transfer() -> None:
    n = neuron.ParametricLIFNode(surrogate_function=surrogate.ATan(), step_mode="m", backend="fused")
    x = inputs(dtype=torch.float32).requires_grad_()
    n(x).sum().backward()  # plan and compile first
    functional.reset_net(n)
    with _CountingMode() as mode:
        out = n(x)
        out.sum().backward()
    # No number became a tensor, no tensor became a number, nothing was copied across.
    assert mode.seen == [], mode.seen


# --------------------------------------------------------------------------- compiled once, reused


def test_one_plan_serves_every_parameter_value() -> None:
    x = inputs(seed=7)
    check(lif(surrogate.Sigmoid(), tau=2.0), x)
    before = plans()
    check(lif(surrogate.Sigmoid(alpha=1.5), tau=5.0, v_threshold=0.3), x)
    check(lif(surrogate.Sigmoid(alpha=7.0), tau=1.5, v_reset=-0.5), x)
    assert plans() == before


def test_a_structural_change_makes_a_new_plan() -> None:
    x = inputs(seed=7)
    n = lif(surrogate.Sigmoid())("fused")
    n(x)
    before = plans()
    n.reset()
    n.v_reset = None  # soft reset: other equations
    n(x)
    assert plans() == before + 1


# --------------------------------------------------------------------------- torch.compile


def test_compile_fullgraph_matches_eager() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 4, dtype=torch.float64),
        neuron.ParametricLIFNode(surrogate_function=surrogate.ATan(), step_mode="m", backend="fused"),
        torch.nn.Linear(4, 2, dtype=torch.float64),
        neuron.LIFNode(v_reset=None, step_mode="m", backend="fused", store_v_seq=True),
    ).double()
    x = inputs((5, 2, 3)) * 3

    def loss_and_grads(model: torch.nn.Module) -> list[Tensor]:
        functional.reset_net(net)
        out = model(x)
        loss = out.sum() + net[3].v.sum() + net[3].v_seq.sum()
        return [out, *torch.autograd.grad(loss, list(net.parameters()))]

    want = loss_and_grads(net)
    got = loss_and_grads(torch.compile(net, fullgraph=True, backend="aot_eager"))
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b)


def test_opcheck() -> None:
    n = neuron.ParametricLIFNode(
        surrogate_function=surrogate.Sigmoid(alpha=torch.tensor([1.0, 3.0, 5.0]).view(3, 1)), backend="fused"
    ).double()
    x = inputs((4, 3, 2)).requires_grad_()
    v0 = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    tensors = [n.w, n.surrogate_function.alpha.double()]
    torch.library.opcheck(torch.ops.spikegrad.neuron_loop.default, (x, [v0], tensors, n._kernel_number, True))


# --------------------------------------------------------------------------- errors


class _DataDependent(neuron.LIFNode):
    def neuronal_charge(self, x: Tensor) -> None:
        if (x > 0).any():  # a Python decision on a tensor's value
            self.v = self.v + x


def test_untraceable_step_is_a_clear_error() -> None:
    n = _DataDependent(step_mode="m", backend="fused")
    with pytest.raises(
        RuntimeError,
        match=r"_DataDependent: its step cannot be fused.*test_fused.py:\d+.*backend='reference'",
    ):
        n(inputs())
    # nothing silently fell back, and the reference still runs it
    ref = _DataDependent(step_mode="m", backend="reference")
    assert ref(inputs()).shape == (6, 4, 3)


class _Cumulative(neuron.IFNode):
    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v + torch.cumsum(x, 0)  # not elementwise


def test_step_that_is_not_elementwise_is_a_clear_error() -> None:
    with pytest.raises(
        RuntimeError, match=r"_Cumulative: its step uses aten op .*cumsum.*backend='reference'"
    ):
        _Cumulative(step_mode="m", backend="fused")(inputs())


def test_fused_refuses_a_plain_callable_surrogate_clearly() -> None:
    class Clip(torch.nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return (x >= 0).to(x) + x.clamp(-1, 1) * 0

    got = check(node(neuron.LIFNode, Clip()), inputs())  # traced through, as written
    assert got["out"] is not None
    assert isinstance(fused.plan_count(), int)


# --------------------------------------------------------------------------- surrogate parameters


@pytest.mark.parametrize("shape", [(), (3,)], ids=["scalar", "per-channel"])
def test_a_learnable_surrogate_width_is_learned_fused(shape: tuple[int, ...]) -> None:
    # The gradient of a learnable width is the primitive's, as the surrogate defines it.
    def make(backend: str) -> neuron.BaseNode:
        alpha = torch.nn.Parameter(torch.full(shape, 3.0, dtype=torch.float64))
        return neuron.LIFNode(
            surrogate_function=surrogate.Sigmoid(alpha=alpha), step_mode="m", backend=backend
        )

    got = check(make, inputs((5, 4, 3)))
    grad = got["grad_surrogate_function.alpha"]
    assert grad is not None and grad.shape == shape and bool(grad.abs().sum() > 0)


def test_surrogate_parameters_are_checked_against_the_input() -> None:
    n = neuron.LIFNode(surrogate_function=surrogate.Sigmoid(alpha=1e300), step_mode="m", backend="fused")
    with pytest.raises(ValueError, match=r"alpha.*float32"):
        n(inputs(dtype=torch.float32))


# --------------------------------------------------------------------------- what a step may call


class _Analog(neuron.LIFNode):
    """LIF whose output is an activation of the charge (LIAF-like), the activation an attribute."""

    def step(self, x: Tensor) -> Tensor:
        self.neuronal_charge(x)
        h = self.v
        self.neuronal_reset(self.neuronal_fire())
        return self.act(h)  # type: ignore[operator]


def _analog(act: Any) -> Any:
    def make(backend: str) -> neuron.BaseNode:
        n = _Analog(step_mode="m", backend=backend, store_v_seq=True)
        n.act = act
        return n

    return make


ACTIVATIONS = [
    torch.relu,
    torch.tanh,
    torch.nn.functional.gelu,
    torch.nn.functional.silu,
    torch.nn.functional.softplus,
    torch.nn.functional.leaky_relu,
    torch.nn.functional.elu,
    torch.nn.functional.hardtanh,
    torch.nn.functional.hardsigmoid,
    torch.nn.functional.mish,
]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda f: f.__name__)
def test_activations_a_step_calls_are_fused(act: Any) -> None:
    # torch's own decompositions turn them (and their backwards) into elementwise ops. Some of
    # torch's native backwards use float32 constants even in float64 (hardsigmoid's 1/6): the
    # tolerance is float32's.
    check(_analog(act), inputs(), exact_outputs=False, tol=(1e-6, 1e-8))


def test_a_function_attribute_is_part_of_the_kernel() -> None:
    x = inputs()
    tanh = check(_analog(torch.tanh), x, exact_outputs=False)["out"]
    sigmoid = check(_analog(torch.sigmoid), x, exact_outputs=False)["out"]
    assert tanh is not None and sigmoid is not None and not torch.allclose(tanh, sigmoid)
    n = _analog(torch.tanh)("fused")
    first = n(x)
    n.reset()
    n.act = torch.sigmoid  # the same neuron, another function: another kernel
    torch.testing.assert_close(n(x), sigmoid)
    assert not torch.allclose(first, sigmoid)


class _Gain(neuron.IFNode):
    def setup(self) -> None:  # type: ignore[override]
        self.g = torch.nn.Parameter(torch.tensor(1.5, dtype=torch.float64))

    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v + self.g * x


def test_a_scalar_parameter_used_directly_gets_its_gradient() -> None:
    got = check(node(_Gain), inputs())
    assert got["grad_g"] is not None and got["grad_g"].shape == ()


class _ModeDependent(neuron.IFNode):
    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v + (x if self.training else 2 * x)


def test_train_and_eval_mode_select_their_own_kernels() -> None:
    x = inputs()
    n = _ModeDependent(step_mode="m", backend="fused")
    train = n(x)
    n.reset()
    n.eval()
    reference = _ModeDependent(step_mode="m", backend="reference").eval()
    assert torch.equal(n(x), reference(x)) and not torch.equal(train, reference(x))


class _NumberTensor(neuron.IFNode):
    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v * torch.as_tensor(0.5) + x  # a one-element constant: inlined as the number


def test_a_one_element_constant_tensor_in_the_step() -> None:
    check(node(_NumberTensor), inputs())
