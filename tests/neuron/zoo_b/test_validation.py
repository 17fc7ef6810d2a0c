"""Every validation error of the non-spiking, gated, ternary, resonate, CLIF, I-LIF, OTTT and
parallel spiking neurons: a ``ValueError`` or ``TypeError`` that names the value and the rule,
at construction, on assignment and at the call."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from spikegrad import functional, neuron, surrogate

NAN, INF = math.nan, math.inf

# (constructor, keyword arguments, error, words the message must contain)
CONSTRUCTION: list[tuple[Callable[..., Any], dict[str, Any], type[Exception], str]] = [
    (neuron.NonSpikingIFNode, {"decode": "max"}, ValueError, "decode must be one of"),
    (neuron.NonSpikingIFNode, {"decode": 1}, ValueError, "got 1"),
    (neuron.NonSpikingIFNode, {"step_mode": "s"}, ValueError, "step_mode must be 'm'"),
    (neuron.NonSpikingLIFNode, {"tau": 1.0}, ValueError, "tau must be a finite number > 1"),
    (neuron.NonSpikingLIFNode, {"tau": "2"}, TypeError, "tau must be a real number"),
    (neuron.NonSpikingLIFNode, {"backend": "cuda"}, ValueError, "backend must be one of"),
    (neuron.NonSpikingBaseNode, {}, TypeError, "define neuronal_charge"),
    (neuron.TernaryIFNode, {"v_threshold": 0.0}, ValueError, "v_threshold must be a finite number > 0"),
    (neuron.TernaryIFNode, {"v_threshold": NAN}, ValueError, "v_threshold"),
    (neuron.TernaryIFNode, {"v_reset": 1.0}, ValueError, "strictly between -v_threshold and v_threshold"),
    (neuron.TernaryIFNode, {"v_reset": -1.5}, ValueError, "got -1.5"),
    (neuron.TernaryIFNode, {"v_reset": INF}, ValueError, "v_reset must be a finite number"),
    (neuron.TernaryIFNode, {"detach_reset": 1}, TypeError, "detach_reset must be True or False"),
    (neuron.RAFNode, {"b": 0.0}, ValueError, "b must be a finite number < 0"),
    (neuron.RAFNode, {"omega": -1.0}, ValueError, "omega must be a finite number > 0"),
    (neuron.RAFNode, {"dt": 0.0}, ValueError, "dt must be a finite number > 0"),
    (neuron.RAFNode, {"dt": NAN}, ValueError, "dt"),
    (neuron.RAFNode, {"surrogate_function": surrogate.ATan}, TypeError, "write ATan() instead"),
    (neuron.ComplementaryLIFNode, {"tau": 0.5}, ValueError, "tau must be a finite number > 1"),
    (
        neuron.ComplementaryLIFNode,
        {"store_state_seqs": "yes"},
        TypeError,
        "store_state_seqs must be True or False",
    ),
    (neuron.ComplementaryLIFNode, {"surrogate_function": "rect"}, TypeError, "must be a surrogate module"),
    (
        neuron.ILIFNode,
        {"surrogate_function": surrogate.Sigmoid()},
        ValueError,
        "spiking surrogate.MultiLevelSpikeCount",
    ),
    (
        neuron.ILIFNode,
        {"surrogate_function": surrogate.MultiLevelSpikeCount(4, spiking=False)},
        ValueError,
        "MultiLevelSpikeCount",
    ),
    (neuron.ILIFNode, {"v_threshold": -1.0}, ValueError, "v_threshold must be a finite number > 0"),
    (neuron.ILIFNode, {"tau": 1.0}, ValueError, "tau must be a finite number > 1"),
    (neuron.OTTTLIFNode, {"step_mode": "m"}, ValueError, "step_mode must be 's'"),
    (neuron.OTTTLIFNode, {"tau": INF}, ValueError, "tau"),
    (neuron.GatedLIFNode, {"T": 0}, ValueError, "T must be an integer >= 1"),
    (neuron.GatedLIFNode, {"T": 4.0}, TypeError, "T must be an integer"),
    (neuron.GatedLIFNode, {"T": 4, "inplane": 0}, ValueError, "inplane must be an integer >= 1"),
    (neuron.GatedLIFNode, {"T": 4, "inplane": True}, TypeError, "inplane must be an integer"),
    (
        neuron.GatedLIFNode,
        {"T": 4, "init_tau": 1.0},
        ValueError,
        "init_tau must be a finite number > 0 and < 1",
    ),
    (neuron.GatedLIFNode, {"T": 4, "init_tau": 0.0}, ValueError, "init_tau"),
    (neuron.GatedLIFNode, {"T": 4, "init_v_threshold": 1.5}, ValueError, "init_v_threshold"),
    (neuron.GatedLIFNode, {"T": 4, "init_conduct": NAN}, ValueError, "init_conduct"),
    (neuron.GatedLIFNode, {"T": 4, "init_linear_decay": -0.1}, ValueError, "init_linear_decay"),
    (neuron.GatedLIFNode, {"T": 4, "init_v_subreset": 1.0}, ValueError, "init_v_subreset"),
    (
        neuron.GatedLIFNode,
        {"T": 4, "init_v_subreset": "0.5"},
        TypeError,
        "init_v_subreset must be a real number",
    ),
    (neuron.GatedLIFNode, {"T": 4, "step_mode": "s"}, ValueError, "step_mode must be 'm'"),
    (neuron.GatedLIFNode, {"T": 4, "backend": "fast"}, ValueError, "backend must be one of"),
    (
        neuron.GatedLIFNode,
        {"T": 4, "surrogate_function": torch.sigmoid},
        TypeError,
        "must be a surrogate module",
    ),
    (neuron.PSN, {"T": 0}, ValueError, "T must be an integer >= 1"),
    (neuron.PSN, {"T": True}, TypeError, "T must be an integer"),
    (neuron.PSN, {"T": 4, "surrogate_function": surrogate.ATan}, TypeError, "write ATan() instead"),
    (neuron.MaskedPSN, {"k": 0, "T": 4}, ValueError, "k must be an integer >= 1"),
    (neuron.MaskedPSN, {"k": 2, "T": 2.5}, TypeError, "T must be an integer"),
    (
        neuron.MaskedPSN,
        {"k": 2, "T": 4, "lambda_init": -0.1},
        ValueError,
        "lambda_ must be a finite number >= 0",
    ),
    (neuron.MaskedPSN, {"k": 2, "T": 4, "lambda_init": NAN}, ValueError, "lambda_"),
    (neuron.MaskedPSN, {"k": 2, "T": 4, "step_mode": "x"}, ValueError, "step_mode must be"),
    (neuron.SlidingPSN, {"k": -1}, ValueError, "k must be an integer >= 1"),
    (neuron.SlidingPSN, {"k": 2, "exp_init": 1}, TypeError, "exp_init must be True or False"),
]


@pytest.mark.parametrize(
    ("make", "kwargs", "error", "words"),
    CONSTRUCTION,
    ids=[f"{m.__name__}-{'-'.join(map(str, kw))}-{i}" for i, (m, kw, _, _) in enumerate(CONSTRUCTION)],
)
def test_construction_errors(make, kwargs, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        make(**kwargs)


@pytest.mark.parametrize(
    ("node", "name", "value", "error"),
    [
        (lambda: neuron.NonSpikingLIFNode(), "decode", "min-mem", ValueError),
        (lambda: neuron.NonSpikingLIFNode(), "tau", 0.9, ValueError),
        (lambda: neuron.RAFNode(), "omega", 0.0, ValueError),
        (lambda: neuron.RAFNode(), "b", "x", TypeError),
        (lambda: neuron.TernaryIFNode(), "v_threshold", -1.0, ValueError),
        (lambda: neuron.ComplementaryLIFNode(), "tau", 1.0, ValueError),
        (lambda: neuron.ILIFNode(), "v_threshold", 0.0, ValueError),
        (lambda: neuron.OTTTLIFNode(), "step_mode", "m", ValueError),
        (lambda: neuron.GatedLIFNode(4), "backend", "cuda", ValueError),
        (lambda: neuron.GatedLIFNode(4), "step_mode", "s", ValueError),
        (lambda: neuron.PSN(4), "step_mode", "s", ValueError),
        (lambda: neuron.MaskedPSN(2, 4), "lambda_", -1.0, ValueError),
        (lambda: neuron.MaskedPSN(2, 4), "lambda_", INF, ValueError),
    ],
)
def test_assignment_errors(node, name, value, error):
    module = node()
    before = getattr(module, name)
    with pytest.raises(error, match=name):
        setattr(module, name, value)
    after = getattr(module, name)
    assert after is before or torch.equal(torch.as_tensor(after), torch.as_tensor(before))  # unchanged


def test_masked_psn_lambda_assignment():
    psn = neuron.MaskedPSN(2, 4)
    psn.lambda_ = 1
    assert psn.lambda_.item() == 1.0 and psn.lambda_.dtype == torch.float32
    psn.lambda_ = torch.tensor(0.25)
    assert psn.lambda_.item() == 0.25


# --------------------------------------------------------------------------- calls


def test_length_mismatch_of_fixed_length_neurons():
    x = torch.rand(5, 2, 3)
    for module in (neuron.PSN(4), neuron.MaskedPSN(2, 4, step_mode="m"), neuron.GatedLIFNode(4)):
        with pytest.raises(
            ValueError, match=r"\(T=4\) expects inputs \[T=4, \*shape\], got shape \(5, 2, 3\)"
        ):
            module(x)
        with pytest.raises(ValueError, match=r"expects .*\[T"):
            module(torch.rand(4)[0])  # 0-d: no time axis


def test_gated_channel_mismatch_and_single_steps():
    gated = neuron.GatedLIFNode(4, inplane=3)
    with pytest.raises(ValueError, match=r"inplane=3\) expects inputs \[T, N, 3, \.\.\.\]"):
        gated(torch.rand(4, 2, 5, 6))
    with pytest.raises(ValueError, match="inplane=3"):
        gated(torch.rand(4, 3))  # no channel dimension
    with pytest.raises(ValueError, match="whole sequences only"):
        gated.single_step_forward(torch.rand(2, 3))


def test_state_shape_change_needs_a_reset():
    gated = neuron.GatedLIFNode(4)
    gated(torch.rand(4, 2, 3))
    with pytest.raises(ValueError, match=r"GatedLIFNode: the input's step shape \(5, 3\) differs"):
        gated(torch.rand(4, 5, 3))
    functional.reset_net(gated)
    assert gated(torch.rand(4, 5, 3)).shape == (4, 5, 3)
    raf = neuron.RAFNode()
    raf(torch.rand(2, 3))
    with pytest.raises(ValueError, match="reset_net"):
        raf(torch.rand(3, 3))
    # The non-spiking neurons start again from 0 at each call: another shape is fine.
    nonspiking = neuron.NonSpikingIFNode()
    nonspiking(torch.rand(4, 2))
    assert nonspiking(torch.rand(4, 3, 3)).shape == (4, 3, 3)


def test_queues_refuse_another_shape():
    for psn in (neuron.SlidingPSN(2), neuron.MaskedPSN(2, 4, lambda_init=1.0)):
        psn(torch.rand(2, 3))
        with pytest.raises(ValueError, match="reset_net"):
            psn(torch.rand(3, 3))
        functional.reset_net(psn)
        assert psn(torch.rand(3, 3)).shape == (3, 3)


def test_masked_psn_single_steps():
    psn = neuron.MaskedPSN(2, 3)
    with pytest.raises(ValueError, match=r"lambda_ >= 1\), got lambda_=0.0; use step_mode='m'"):
        psn(torch.rand(5))
    assert psn.time_step == 0 and psn.queue == []  # nothing recorded
    psn.lambda_ = 1.0
    for _ in range(3):
        psn(torch.rand(5))
    with pytest.raises(
        ValueError, match=r"MaskedPSN\(T=3\) has already run 3 steps; call spikegrad.functional.reset_net"
    ):
        psn(torch.rand(5))
    assert psn.time_step == 3 and len(psn.queue) == 2
    functional.reset_net(psn)
    assert psn.time_step == 0 and psn.queue == []


@pytest.mark.parametrize(
    "module",
    [
        lambda: neuron.NonSpikingIFNode(),
        lambda: neuron.GatedLIFNode(2),
        lambda: neuron.TernaryIFNode(step_mode="m"),
        lambda: neuron.ComplementaryLIFNode(step_mode="m", store_state_seqs=True),
        lambda: neuron.PSN(2),
        lambda: neuron.MaskedPSN(1, 2, step_mode="m"),
        lambda: neuron.SlidingPSN(1, step_mode="m"),
        lambda: neuron.SlidingPSN(1),
        lambda: neuron.OTTTLIFNode(),
    ],
)
def test_inputs_must_be_floating_tensors(module):
    with pytest.raises(TypeError, match=r"floating-point input, got dtype torch\.int64"):
        module()(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match=r"expects a torch\.Tensor, got list"):
        module()([[1.0, 2.0], [3.0, 4.0]])


def test_nonspiking_empty_sequences():
    with pytest.raises(
        ValueError, match=r"decode='mean-mem' needs at least one time step, got an input of shape \(0, 3\)"
    ):
        neuron.NonSpikingLIFNode(decode="mean-mem")(torch.rand(0, 3))
    out = neuron.NonSpikingLIFNode()(torch.rand(0, 3))
    assert out.shape == (0, 3)
