"""Every validation error of this zoo's classes: at construction and on assignment, a
``ValueError`` or ``TypeError`` that names the class, the argument and the rule."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from spikegrad import neuron, surrogate

NAN, INF = math.nan, math.inf

BAD_ARGUMENTS = [
    # (class, arguments, error, message)
    (neuron.SimpleLIFNode, {"decay_input": True}, TypeError, "missing a required argument: 'tau'"),
    (neuron.SimpleLIFNode, {"tau": 2.0}, TypeError, "missing a required argument: 'decay_input'"),
    (neuron.SimpleLIFNode, {"tau": 1.0, "decay_input": True}, ValueError, r"tau must be a finite number > 1"),
    (neuron.SimpleLIFNode, {"tau": NAN, "decay_input": True}, ValueError, "got nan"),
    (neuron.SimpleLIFNode, {"tau": 2.0, "decay_input": 1}, TypeError, "decay_input must be True or False"),
    (neuron.SimpleIFNode, {"v_threshold": NAN}, ValueError, "v_threshold must be a finite number, got nan"),
    (neuron.SimpleIFNode, {"v_reset": "0"}, TypeError, "v_reset must be a real number"),
    (neuron.QIFNode, {"tau": 0.5}, ValueError, "tau must be a finite number > 1"),
    (neuron.QIFNode, {"a0": 0.0}, ValueError, "a0 must be a finite number > 0, got 0.0"),
    (neuron.QIFNode, {"v_c": INF}, ValueError, "v_c must be a finite number, got inf"),
    (neuron.QIFNode, {"v_rest": "rest"}, TypeError, "v_rest must be a real number"),
    (neuron.QIFNode, {"v_reset": 1.0}, ValueError, "v_reset must be below v_threshold"),
    (neuron.QIFNode, {"v_reset": 0.1}, ValueError, "v_reset must not exceed v_rest"),
    (neuron.EIFNode, {"delta_T": -1.0}, ValueError, "delta_T must be a finite number > 0"),
    (neuron.EIFNode, {"theta_rh": NAN}, ValueError, "theta_rh must be a finite number, got nan"),
    (neuron.EIFNode, {"v_reset": 1.5, "v_rest": 2.0}, ValueError, "v_reset must be below v_threshold"),
    (neuron.EIFNode, {"v_rest": -0.5}, ValueError, "v_reset must not exceed v_rest"),
    (neuron.AdaptBaseNode, {}, TypeError, "subclass it and define neuronal_charge"),
    (neuron.IzhikevichNode, {"tau": 1.0}, ValueError, "tau must be a finite number > 1"),
    (neuron.IzhikevichNode, {"a0": -1.0}, ValueError, "a0 must be a finite number > 0"),
    (neuron.IzhikevichNode, {"tau_w": 0.0}, ValueError, "tau_w must be a finite number > 0"),
    (neuron.IzhikevichNode, {"a": NAN}, ValueError, "a must be a finite number, got nan"),
    (neuron.IzhikevichNode, {"b": "b"}, TypeError, "b must be a real number"),
    (neuron.IzhikevichNode, {"w_rest": INF}, ValueError, "w_rest must be a finite number, got inf"),
    (neuron.CUBALIFNode, {"c_decay": -0.1}, ValueError, r"c_decay must be a finite number >= 0 and <= 1"),
    (neuron.CUBALIFNode, {"v_decay": 1.5}, ValueError, r"v_decay must be a finite number >= 0 and <= 1"),
    (neuron.CUBALIFNode, {"v_decay": NAN}, ValueError, "got nan"),
    (neuron.CUBALIFNode, {"surrogate_function": surrogate.Rect}, TypeError, r"write Rect\(\) instead"),
    (neuron.CUBALIFNode, {"surrogate_function": 3}, TypeError, "must be a surrogate module"),
    (neuron.KLIFNode, {"scale_reset": 1}, TypeError, "scale_reset must be True or False"),
    (neuron.KLIFNode, {"tau": -2.0}, ValueError, "tau must be a finite number > 1"),
    (neuron.HalfThresholdIFNode, {"v_threshold": 0.0}, ValueError, "v_threshold must be a finite number > 0"),
    (neuron.HalfThresholdIFNode, {"v_threshold": NAN}, ValueError, "got nan"),
    (neuron.HalfThresholdIFNode, {"v_reset": 0.0}, TypeError, "unexpected keyword argument 'v_reset'"),
    (neuron.LIAFNode, {"threshold_related": True}, TypeError, "missing a required argument: 'act'"),
    (neuron.LIAFNode, {"act": torch.relu}, TypeError, "missing a required argument: 'threshold_related'"),
    (neuron.LIAFNode, {"act": 3, "threshold_related": True}, TypeError, "act must be a callable"),
    (neuron.LIAFNode, {"act": nn.Tanh, "threshold_related": True}, TypeError, r"write Tanh\(\) instead"),
    (
        neuron.LIAFNode,
        {"act": torch.tanh, "threshold_related": "yes"},
        TypeError,
        "threshold_related must be",
    ),
    (neuron.LIAFNode, {"act": torch.tanh, "threshold_related": True, "tau": 1.0}, ValueError, "tau must be"),
    (neuron.ALIFNode, {"tau_m": 0.0}, ValueError, "tau_m must be a finite number > 0, got 0.0"),
    (neuron.ALIFNode, {"tau_m": INF}, ValueError, "tau_m must be a finite number > 0, got inf"),
    (neuron.ALIFNode, {"tau_a": -1.0}, ValueError, "tau_a must be a finite number > 0"),
    (neuron.ALIFNode, {"beta": -0.1}, ValueError, "beta must be a finite number >= 0"),
    (neuron.ALIFNode, {"beta": NAN}, ValueError, "beta must be a finite number >= 0, got nan"),
    (neuron.ALIFNode, {"decay_input": None}, TypeError, "decay_input must be True or False"),
    (neuron.ALIFNode, {"step_mode": "x"}, ValueError, "step_mode must be 's' or 'm'"),
    (neuron.QIFNode, {"backend": "cuda"}, ValueError, "backend must be one of"),
    (neuron.EIFNode, {"detach_reset": 0}, TypeError, "detach_reset must be True or False"),
]


@pytest.mark.parametrize(
    ("cls", "arguments", "error", "message"),
    BAD_ARGUMENTS,
    ids=[f"{c.__name__}-{'-'.join(a)}" for c, a, _, _ in BAD_ARGUMENTS],
)
def test_bad_argument(cls: type, arguments: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message) as info:
        cls(**arguments)
    assert cls.__name__ in str(info.value)


BAD_ASSIGNMENTS = [
    (neuron.QIFNode(), "a0", -1.0, ValueError),
    (neuron.EIFNode(), "delta_T", 0.0, ValueError),
    (neuron.IzhikevichNode(), "tau_w", NAN, ValueError),
    (neuron.CUBALIFNode(), "c_decay", 2.0, ValueError),
    (neuron.KLIFNode(), "scale_reset", "no", TypeError),
    (neuron.SimpleLIFNode(2.0, True), "tau", 0.9, ValueError),
    (neuron.HalfThresholdIFNode(), "v_threshold", -1.0, ValueError),
    (neuron.HalfThresholdIFNode(), "v_reset", 0.0, ValueError),
    (neuron.LIAFNode(torch.tanh, True), "threshold_related", 1, TypeError),
    (neuron.ALIFNode(), "tau_a", 0.0, ValueError),
]


@pytest.mark.parametrize(
    ("node", "name", "value", "error"),
    BAD_ASSIGNMENTS,
    ids=[f"{type(n).__name__}.{a}" for n, a, _, _ in BAD_ASSIGNMENTS],
)
def test_bad_assignment(node: neuron.BaseNode, name: str, value: Any, error: type[Exception]) -> None:
    before = getattr(node, name)
    with pytest.raises(error, match=name):
        setattr(node, name, value)
    assert getattr(node, name) == before  # nothing changed


def test_alif_decays_follow_their_time_constants() -> None:
    node = neuron.ALIFNode(tau_m=10.0, tau_a=100.0)
    assert (node.alpha, node.rho) == (math.exp(-0.1), math.exp(-0.01))
    node.tau_m = 5
    assert node.tau_m == 5.0 and node.alpha == math.exp(-0.2)
    with pytest.raises(ValueError, match="tau_m"):
        node.tau_m = -5.0
    assert node.tau_m == 5.0 and node.alpha == math.exp(-0.2)
    with pytest.raises(AttributeError):
        node.alpha = 0.5  # type: ignore[misc]


def test_half_threshold_v_reset_stays_none() -> None:
    node = neuron.HalfThresholdIFNode()
    node.v_reset = None  # allowed: it is what it is
    assert node.v_reset is None


@pytest.mark.parametrize(
    "node",
    [neuron.IzhikevichNode(step_mode="m"), neuron.CUBALIFNode(step_mode="m"), neuron.ALIFNode(step_mode="m")],
    ids=lambda n: type(n).__name__,
)
def test_every_state_checks_the_input_shape(node: neuron.BaseNode) -> None:
    node(torch.rand(3, 2))
    with pytest.raises(ValueError, match="reset_net"):
        node(torch.rand(3, 4))
    with pytest.raises(TypeError, match="floating-point"):
        node(torch.ones(3, 2, dtype=torch.long))
