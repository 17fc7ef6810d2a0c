"""The fuzz table: one row per public entry point, each a strategy that draws cases.

To fuzz a new module, write a strategy that draws a :class:`~.contract.Case` (the call, the
words a clear error must contain, and the checks of its documented result) and add one
:class:`Target` row below; ``test_fuzz.py`` runs every row under the contract. For example,
a neuron row: ``Target("neuron.LIFNode", neuron_cases(neuron.LIFNode), examples=60)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from .contract import Case
from .modules import LAYERS, container_cases, dropout_cases, encoder_cases, helper_cases, layer_cases
from .neurons import CLASSES as NEURONS
from .neurons import neuron_cases
from .surrogates import CLASSES, surrogate_cases


@dataclass(frozen=True)
class Target:
    """A public entry point to fuzz: a name, a strategy of cases, and how many cases to draw."""

    name: str
    cases: st.SearchStrategy[Case]
    examples: int = 60


TABLE: list[Target] = [
    *(Target(f"surrogate.{cls.__name__}", surrogate_cases(cls), examples=60) for cls in CLASSES),
    Target("encoding.PoissonEncoder", encoder_cases(), examples=80),
    *(Target(f"layer.{name}", layer_cases(name, make, parent, step), examples=50)
      for name, make, parent, step in LAYERS),
    Target("layer.Dropout", dropout_cases(), examples=60),
    Target("layer.SeqToANNContainer", container_cases(), examples=50),
    Target("functional", helper_cases(), examples=100),
    *(Target(f"neuron.{cls.__name__}", neuron_cases(cls), examples=25) for cls in NEURONS),
]
