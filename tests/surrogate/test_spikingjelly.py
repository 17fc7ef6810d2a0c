"""Differential tests against SpikingJelly 2.0's ``activation_based.surrogate``.

Each of its 19 classes is compared with spikegrad's class of the same name at explicit,
non-default parameters: the spiking forward, the primitive (``spiking=False``) and the
gradient, in float64 and float32. Every intended difference is asserted *as* a difference
here (so it cannot drift silently) and listed in ``docs/differences_spikingjelly.md``.
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from spikegrad import surrogate

sj = pytest.importorskip("spikingjelly.activation_based.surrogate",
                         reason="SpikingJelly 2.0 is not installed (pip install --no-deps spikingjelly)")

#: Explicit parameters per class (constructor keywords, the same for both libraries).
PARAMS: dict[str, dict[str, object]] = {
    "Sigmoid": {"alpha": 3.0},
    "SoftSign": {"alpha": 1.5},
    "ATan": {"alpha": 2.5},
    "PiecewiseQuadratic": {"alpha": 1.5},
    "PiecewiseExp": {"alpha": 1.5},
    "LeakyKReLU": {"leak": 0.1, "k": 0.8},
    "PiecewiseLeakyReLU": {"w": 0.75, "c": 0.05},
    "SquarewaveFourierSeries": {"n": 3, "T_period": 5.0},
    "S2NN": {"alpha": 3.0, "beta": 0.7},
    "QPseudoSpike": {"alpha": 2.5},
    "LogTailedReLU": {"alpha": 0.1},
    "NonzeroSignLogAbs": {"alpha": 1.5},
    "Erf": {"alpha": 1.5},
    "SuperSpike": {"alpha": 0.8},
    "Rect": {"alpha": 1.5},
    "DeterministicPass": {},
    "PoissonPass": {},
    "FakeNumericalGradient": {"alpha": 0.5},
    "MultiLevelSpikeCount": {"max_spike_count": 4, "grad_window": (-0.5, 3.5)},
}
NAMES = list(PARAMS)

#: Defaults that differ on purpose (SpikingJelly's breaks "peak gradient 1"): name -> {param: (SJ, ours)}.
DEFAULT_DIFFERENCES = {
    "PiecewiseExp": {"alpha": (1.0, 2.0)},
    "PiecewiseLeakyReLU": {"w": (1.0, 0.5)},
    "SquarewaveFourierSeries": {"T_period": (8, 4.0)},
    "Erf": {"alpha": (2.0, math.sqrt(math.pi))},
    "FakeNumericalGradient": {"alpha": (0.3, 1.0)},
}
#: Shapes whose primitive differs (see test_primitive_differences).
PRIMITIVE_DIFFERS = {"SuperSpike", "FakeNumericalGradient", "S2NN"}


def pair(name: str, spiking: bool = True):
    ours = getattr(surrogate, name)
    theirs = getattr(sj, name)
    kwargs = dict(PARAMS[name])
    if name == "FakeNumericalGradient":  # SpikingJelly's takes no spiking argument
        return ours(**kwargs, spiking=spiking), theirs(**kwargs)
    return ours(**kwargs, spiking=spiking), theirs(**kwargs, spiking=spiking)


def inputs(name: str, dtype: torch.dtype) -> torch.Tensor:
    if name == "PoissonPass":
        return torch.linspace(0, 1, 101, dtype=dtype)
    x = torch.linspace(-4, 4, 801, dtype=torch.float64)
    special = [0.0, -0.0, 1e-7, -1e-7, 1.0, -1.0]
    sg = getattr(surrogate, name)(**PARAMS[name])
    special += [float(b) for b in sg.breakpoints(*sg.param_values)]
    return torch.cat([x, torch.tensor(special, dtype=torch.float64)]).to(dtype)


def difference_mask(name: str, x: torch.Tensor) -> torch.Tensor:
    """Where the gradients differ on purpose (documented in docs/differences_spikingjelly.md)."""
    if name == "PiecewiseLeakyReLU":  # spikegrad: 1/(2w) on |x| <= w (consistent with g); SJ: |x| < w
        return x.abs() == PARAMS[name]["w"]
    if name == "FakeNumericalGradient":  # spikegrad: alpha at -0.0; SJ: -inf
        return (x == 0) & torch.signbit(x)
    return torch.zeros_like(x, dtype=torch.bool)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_spiking_forward_matches(name, dtype):
    ours, theirs = pair(name)
    x = inputs(name, dtype)
    torch.manual_seed(0)
    a = ours(x)
    torch.manual_seed(0)
    b = theirs(x)
    assert torch.equal(a, b.to(a.dtype))
    if name == "PoissonPass":
        assert b.dtype == torch.float32 and a.dtype == dtype  # SJ forces float32; spikegrad keeps x's dtype
    else:
        assert a.dtype == b.dtype == dtype


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("PoissonPass", "MultiLevelSpikeCount")])
def test_heaviside_at_zero_is_the_same(name):
    """Both libraries fire at x = 0 and x = -0.0 (H(0) = 1): no difference here."""
    ours, theirs = pair(name)
    zeros = torch.tensor([0.0, -0.0])
    assert ours(zeros).tolist() == theirs(zeros).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("name", [n for n in NAMES if n not in PRIMITIVE_DIFFERS])
def test_primitive_matches(name, dtype):
    ours, theirs = pair(name, spiking=False)
    x = inputs(name, dtype)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-12 if dtype == torch.float64 else 2e-6,
                               atol=1e-12 if dtype == torch.float64 else 1e-6)


def test_primitive_differences():
    x = torch.linspace(-3, 3, 61, dtype=torch.float64)
    # SuperSpike: SpikingJelly has no primitive; spikegrad's is alpha x / (1 + |x|) + 1/2.
    with pytest.raises(NotImplementedError):
        sj.SuperSpike(alpha=0.8, spiking=False)(x)
    ours = surrogate.SuperSpike(alpha=0.8, spiking=False)(x)
    torch.testing.assert_close(ours, 0.8 * x / (1 + x.abs()) + 0.5)
    # FakeNumericalGradient: neither has a primitive; spikegrad says so when asked.
    with pytest.raises(ValueError, match="no primitive"):
        surrogate.FakeNumericalGradient(spiking=False)
    with pytest.raises(TypeError):
        sj.FakeNumericalGradient(alpha=0.5, spiking=False)
    # S2NN: SpikingJelly's tail is beta ln(|x + 1| + 1e-5) + 1/2, spikegrad's beta ln(x + 1) + 1/2,
    # the exact primitive of beta / (x + 1): they differ by beta ln(1 + 1e-5 / (x + 1)) for x >= 0.
    ours, theirs = pair("S2NN", spiking=False)
    a, b = ours(x), theirs(x)
    below = x < 0
    torch.testing.assert_close(a[below], b[below], rtol=1e-12, atol=1e-12)
    beta = PARAMS["S2NN"]["beta"]
    torch.testing.assert_close(b[~below] - a[~below], beta * torch.log1p(1e-5 / (x[~below] + 1)))
    assert ((b[~below] - a[~below]).abs() > 1e-6).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches(name, dtype):
    ours, theirs = pair(name)
    x = inputs(name, dtype)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    grad_out = torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=dtype)
    ours(xa).backward(grad_out)
    theirs(xb).backward(grad_out)
    differ = difference_mask(name, x)
    tol = {"rtol": 1e-12, "atol": 1e-14} if dtype == torch.float64 else {"rtol": 2e-6, "atol": 1e-6}
    if name == "PoissonPass" and dtype == torch.float64:
        # SJ's float32 spikes make its gradient pass through float32.
        assert torch.equal(xb.grad, grad_out.float().double())
        tol = {"rtol": 1e-6, "atol": 1e-7}
    torch.testing.assert_close(xa.grad[~differ], xb.grad[~differ], **tol)
    if differ.any():
        assert not torch.isclose(xa.grad[differ], xb.grad[differ]).any()


def test_gradient_differences_by_value():
    """The documented gradient differences, value by value."""
    # PiecewiseLeakyReLU at |x| = w: spikegrad 1/(2w) (the slope of g there), SpikingJelly c.
    w, c = 0.75, 0.05
    x = torch.tensor([-w, w], dtype=torch.float64)
    assert surrogate.PiecewiseLeakyReLU(w, c).grad(x).tolist() == [1 / (2 * w)] * 2
    assert sj.PiecewiseLeakyReLU.backward(torch.ones(2, dtype=torch.float64), x, w, c).tolist() == [c] * 2
    # FakeNumericalGradient at -0.0: spikegrad alpha, SpikingJelly -inf.
    z = torch.tensor([-0.0, 0.0])
    assert surrogate.FakeNumericalGradient(0.5).grad(z).tolist() == [0.5, 0.5]
    assert sj.FakeNumericalGradient.backward(torch.ones(2), z, 0.5).tolist() == [-math.inf, 0.5]
    # SquarewaveFourierSeries at +-inf and huge finite x: spikegrad 0 / finite, SpikingJelly nan.
    x = torch.tensor([-math.inf, -1e39, 3e38, math.inf])
    t = torch.tensor([-math.inf, math.inf])
    ours = surrogate.SquarewaveFourierSeries(3, 5.0)
    xs = torch.tensor([-3e38, 3e38]).requires_grad_()
    sj.SquarewaveFourierSeries(3, 5.0)(xs).sum().backward()
    assert torch.isnan(xs.grad).all()
    assert torch.isfinite(ours.grad(x)).all()
    assert ours.grad(t).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("name", NAMES)
def test_defaults(name):
    """Defaults agree except where SpikingJelly's breaks the "peak 1" rule."""
    ours = inspect.signature(getattr(surrogate, name)).parameters
    theirs = inspect.signature(getattr(sj, name)).parameters
    for pname, p in theirs.items():
        if pname == "spiking":
            continue
        if pname in DEFAULT_DIFFERENCES.get(name, {}):
            sj_default, our_default = DEFAULT_DIFFERENCES[name][pname]
            assert p.default == sj_default and ours[pname].default == our_default
            assert p.default != ours[pname].default
        else:
            assert ours[pname].default == p.default, pname


@pytest.mark.parametrize("name", list(DEFAULT_DIFFERENCES))
def test_default_differences_restore_peak_one(name):
    """At SpikingJelly's default the peak gradient is not 1; at spikegrad's it is."""
    kwargs = {k: v[0] for k, v in DEFAULT_DIFFERENCES[name].items()}
    x = torch.tensor([-0.0, 0.0]).requires_grad_()
    getattr(sj, name)(**kwargs)(x[1:]).sum().backward()
    their_peak = x.grad[1].item()
    assert their_peak != pytest.approx(1.0)
    assert getattr(surrogate, name)(**kwargs).peak == pytest.approx(their_peak)
    assert getattr(surrogate, name)().peak == 1


@pytest.mark.parametrize("name", [n for n in NAMES if n != "MultiLevelSpikeCount"])
def test_repr_matches(name):
    ours, theirs = pair(name)
    assert repr(ours) == repr(theirs)


def test_other_differences():
    # MultiLevelSpikeCount's repr shows the window as it is passed.
    ours, theirs = pair("MultiLevelSpikeCount")
    assert repr(theirs) == ("MultiLevelSpikeCount(max_spike_count=4, grad_min=-0.5, grad_max=3.5, "
                            "spiking=True)")
    assert repr(ours) == "MultiLevelSpikeCount(max_spike_count=4, spiking=True, grad_window=(-0.5, 3.5))"
    # Parameters are validated: SpikingJelly accepts a negative width silently.
    sj.Sigmoid(alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        surrogate.Sigmoid(alpha=-1.0)
    # PoissonPass refuses non-probabilities with a ValueError (SpikingJelly: torch's RuntimeError).
    bad = torch.tensor([1.5])
    with pytest.raises(RuntimeError):
        sj.PoissonPass()(bad)
    with pytest.raises(ValueError, match="0 <= x <= 1"):
        surrogate.PoissonPass()(bad)
    # Integer input: spikegrad raises a TypeError; SpikingJelly's fires without complaint.
    ints = torch.tensor([1, -1])
    assert sj.Sigmoid()(ints).tolist() == [1, 0]
    with pytest.raises(TypeError, match="floating"):
        surrogate.Sigmoid()(ints)
    # Tensor parameters are buffers in spikegrad (they follow .to() and state_dict), plain attributes in SJ.
    alpha = torch.tensor([[1.0], [2.0]])
    assert "alpha" in surrogate.ATan(alpha=alpha).state_dict()
    assert "alpha" not in sj.ATan(alpha=alpha).state_dict()
    # DeterministicPass(spiking=False) returns a copy of x, SpikingJelly x itself.
    x = torch.randn(3)
    assert sj.DeterministicPass(spiking=False)(x) is x
    y = surrogate.DeterministicPass(spiking=False)(x)
    assert y is not x and torch.equal(y, x)
