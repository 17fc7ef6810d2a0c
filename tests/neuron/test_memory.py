"""spikegrad.base: step modes and memory modules."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from spikegrad import base


class Accumulator(base.MemoryModule):
    def __init__(self, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        self.register_memory("total", 0.0)
        self.register_memory("history", [])
        self.register_memory("offset", torch.ones(2))
        self.scale = nn.Parameter(torch.tensor(2.0))

    def single_step_forward(self, x):
        self.total = self.total + self.scale * x + self.offset
        self.history.append(1)
        return self.total


def test_step_mode_is_validated():
    module = Accumulator()
    assert module.step_mode == "s"
    module.step_mode = "m"
    with pytest.raises(ValueError, match=r"Accumulator: step_mode must be 's' or 'm'.*got 'M'"):
        module.step_mode = "M"
    with pytest.raises(ValueError, match=r"got None"):
        Accumulator(step_mode=None)


def test_multi_step_default_loops_single_steps():
    module = Accumulator(step_mode="m")
    out = module(torch.ones(3, 2))
    assert out.tolist() == [[3.0, 3.0], [6.0, 6.0], [9.0, 9.0]]
    assert module.history == [1, 1, 1]


def test_reset_restores_fresh_copies_of_initial_values():
    module = Accumulator()
    module(torch.ones(2))
    module.offset.add_(5.0)  # mutating the current value must not touch the initial one
    module.reset()
    assert module.total == 0.0 and module.history == [] and module.offset.tolist() == [1.0, 1.0]
    module(torch.ones(2))
    assert module.history == [1]


def test_memories_listed_and_not_in_state_dict():
    module = Accumulator()
    assert [name for name, _ in module.named_memories()] == ["total", "history", "offset"]
    assert next(iter(module.memories())) == 0.0
    assert list(module.state_dict()) == ["scale"]


def test_detach_cuts_history_keeps_values():
    module = Accumulator()
    module(torch.ones(2))
    assert module.total.requires_grad
    value = module.total.clone()
    module.detach()
    assert not module.total.requires_grad and torch.equal(module.total, value)


def test_register_memory_refuses_clashes():
    module = Accumulator()
    with pytest.raises(ValueError, match=r"already has an attribute named 'scale'"):
        module.register_memory("scale", 0.0)
    with pytest.raises(ValueError, match=r"already has an attribute named 'total'"):
        module.register_memory("total", 1.0)
    with pytest.raises(ValueError, match=r"identifier"):
        module.register_memory("not a name", 1.0)


def test_to_moves_memories_and_initial_values():
    module = Accumulator()
    module(torch.ones(2))
    module.double()
    assert module.total.dtype == torch.float64 and module.offset.dtype == torch.float64
    module.reset()
    assert module.offset.dtype == torch.float64


def test_deepcopy_mid_graph():
    module = Accumulator()
    module(torch.ones(2))
    twin = copy.deepcopy(module)
    assert torch.equal(twin.total, module.total) and not twin.total.requires_grad
    twin.reset()
    assert isinstance(module.total, torch.Tensor)


def test_single_step_forward_must_be_written():
    class Nothing(base.MemoryModule):
        pass

    with pytest.raises(NotImplementedError, match=r"Nothing must implement single_step_forward"):
        Nothing()(torch.ones(1))
