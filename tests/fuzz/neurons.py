"""Fuzz strategies for the neurons: constructor arguments drawn from each definition's own
``params``, an input of any kind, both step modes and both kinds of backend.

A case builds the neuron (any argument may be wrong: NaN, infinite, of the wrong type), runs
it on the drawn input, resets it, runs it again, and backpropagates. It must end in a clear
error naming an argument or the input, or in outputs of the input's shape and dtype with no
NaN the input did not hold.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from spikegrad import functional, neuron
from spikegrad.neuron import table

from .contract import Case, assert_no_new_nan, describe
from .values import WRONG_TYPES, floats, inputs

#: Arguments some classes require (no default), with a valid value.
REQUIRED: dict[str, Any] = {"tau": 2.0, "decay_input": True, "act": torch.tanh, "threshold_related": True}
#: Arguments the fuzzer leaves at their defaults (they select a submodule or a mode, not a number).
FIXED = {"surrogate_function", "step_mode", "backend", "act", "decode", "store_v_seq"}
STEP_WORDS = ("step_mode", "[T", "T = 0", "tensor", "Tensor", "floating", "shape", "reset_net", "input")

#: The recurrence neurons: what the fuzzer builds (parallel and gated neurons take a T).
CLASSES = [cls for cls in table.catalogue() if issubclass(cls, neuron.BaseNode)]


def _default(param: neuron.Param) -> Any:
    return param.default if param.default is not neuron.params.REQUIRED else REQUIRED.get(param.name)


def _value(draw: st.DrawFn, param: neuron.Param, valid: bool) -> Any:
    default = _default(param)
    if param.name in FIXED:
        return default
    if valid:
        if isinstance(default, float) and draw(st.booleans()):
            value = default * draw(st.sampled_from([0.5, 0.9, 1.1, 2.0]))  # near the default ...
            try:  # ... and within its own rule
                return param.check(param.name, param.name, value) if param.check else value
            except (TypeError, ValueError):
                return default
        return default
    return draw(st.one_of(st.just(default), floats(), st.sampled_from(WRONG_TYPES)))


def neuron_cases(cls: type[neuron.BaseNode]) -> st.SearchStrategy[Case]:
    @st.composite
    def cases(draw: st.DrawFn) -> Case:
        valid = draw(st.integers(0, 2)) == 0
        kwargs = {
            p.name: _value(draw, p, valid) for p in cls.params if p.name not in ("step_mode", "backend")
        }
        kwargs = {k: v for k, v in kwargs.items() if v is not None or k in ("v_reset",)}
        mode = draw(st.sampled_from(cls.step_modes))
        backend = draw(st.sampled_from(("reference", "reference", "auto")))
        shape = (3, 2, 5) if mode == "m" else (2, 5)
        x = draw(inputs(shape=shape, valid=True)) if valid or draw(st.booleans()) else draw(inputs())
        label = (
            f"neuron.{cls.__name__}({', '.join(f'{k}={describe(v)}' for k, v in kwargs.items())}, "
            f"step_mode={mode!r}, backend={backend!r})(x={describe(x)})"
        )
        names = (*(p.name for p in cls.params), *STEP_WORDS)

        def call() -> None:
            node = cls(**kwargs, step_mode=mode, backend=backend)
            xs = x.clone().requires_grad_() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
            y = node(xs)
            if isinstance(y, list | tuple):  # OTTT's single step: (spikes, trace), as SpikingJelly's
                y = y[0]
            assert isinstance(y, torch.Tensor), f"{label}: returned {type(y).__name__}"
            assert y.shape == x.shape and y.dtype == x.dtype, f"{label}: output {tuple(y.shape)} {y.dtype}"
            # A neuron carries its input over time (and inf - inf is NaN): NaN may appear only
            # in neurons whose input held a non-finite value at some step.
            tainted = ~torch.isfinite(x)
            if mode == "m" and x.dim() > 0:
                tainted = tainted.any(0, keepdim=True).expand_as(x)
            marked = torch.where(tainted, torch.full_like(x, float("nan")), torch.zeros_like(x))
            assert_no_new_nan(label, "output", y.detach(), marked)
            if y.requires_grad:
                y.sum().backward()
                assert_no_new_nan(label, "input gradient", xs.grad, marked)
            functional.reset_net(node)
            node(x.detach())  # after a reset, the same shape runs again

        # Constructors also check relations between arguments (EIF: v_reset < v_threshold), so
        # only the defaults on a well-formed input must be accepted.
        defaults = all(
            v is _default(p) or v == _default(p) for p in cls.params for k, v in kwargs.items() if k == p.name
        )
        well_formed = isinstance(x, torch.Tensor) and x.shape == shape
        return Case(label, call, names=names, expect_ok=valid and defaults and well_formed)

    return cases()
