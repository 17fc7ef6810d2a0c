"""What the C++ and the Triton loop translators share: walking a :class:`~.trace.LoopProgram`.

A translator turns each op of the step graph into one statement of its target language.
This module walks the graph once and tells each translator, for every node, *where* its
statement belongs:

* ``"uniform"``: depends only on scalars and one-element tensors: computed once per call,
  before any loop (for example ``1 / tau``);
* ``"neuron"``: depends on per-neuron parameters but on nothing that changes with time:
  computed once per neuron, before the loop over time;
* ``"step"``: depends on the step's input or the state: computed at every step.

So constants are never reloaded or recomputed inside the time loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, fx

from .trace import LoopProgram

__all__ = ["GraphWalk", "Untranslatable", "op_name", "promote", "value_of"]

#: Ordered from the most to the least hoistable.
PLACES = ("uniform", "neuron", "step")


class Untranslatable(Exception):
    """The step graph holds an op (or a dtype) a translator does not know."""


def value_of(arg: Any) -> Any:
    """The example value (a fake tensor, or a Python number) that tracing recorded."""
    return arg.meta.get("val") if isinstance(arg, fx.Node) else arg


def op_name(node: fx.Node) -> str:
    """``aten.mul.Tensor`` -> ``mul``."""
    packet = getattr(node.target, "overloadpacket", None)
    return getattr(packet, "__name__", str(node.target))


def promote(args: Sequence[Any]) -> torch.dtype:
    """torch's result dtype of a binary op's two operands (tensors of any dim, or numbers)."""
    first, second = (value_of(a) for a in args[:2])
    if isinstance(first, Tensor):
        return torch.result_type(first, second)
    if isinstance(second, Tensor):
        return torch.result_type(second, first)
    return torch.float64


#: Ops that only relabel elements: on one neuron's scalar they are nothing.
SHAPE_OPS = frozenset(
    {
        "alias",
        "alias_copy",
        "clone",
        "detach",
        "detach_copy",
        "lift_fresh_copy",
        "view",
        "view_copy",
        "_unsafe_view",
        "reshape",
        "expand",
        "expand_copy",
        "squeeze",
        "squeeze_copy",
        "unsqueeze",
        "unsqueeze_copy",
        "flatten",
        "contiguous",
    }
)


def _same_elements(source: fx.Node, node: fx.Node) -> bool:
    a, b = value_of(source), value_of(node)
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return False
    # b 0-dim and a per neuron: a relabelling of a gradient whose sum over the neurons was
    # moved to the end (see trace._partition).
    return a.dim() == 0 or b.dim() == 0 or str(a.numel()) == str(b.numel())


_INPUT_PLACE = {
    "scalar": "uniform",
    "broadcast": "uniform",
    "neuron": "neuron",
    "step": "step",
    "state": "step",
}


class GraphWalk:
    """Names and places of a program's nodes; subclasses emit the statements.

    After :meth:`translate`, ``lines[place]`` holds the statements of each place in graph
    order, and ``names`` maps every node to its variable name.
    """

    def __init__(self, program: LoopProgram) -> None:
        self.program = program
        self.placeholders = program.placeholders()
        self.names: dict[fx.Node, str] = {}
        self.place: dict[fx.Node, str] = {}
        self.lines: dict[str, list[str]] = {p: [] for p in PLACES}
        for node, slot in zip(self.placeholders, program.inputs, strict=True):
            self.place[node] = _INPUT_PLACE[slot.kind]

    def emit(self, node: fx.Node, name: str) -> str:
        """The statement that computes ``node`` into a new variable ``name``."""
        raise NotImplementedError

    def translate(self) -> None:
        for i, node in enumerate(self.placeholders):
            self.names[node] = f"a{i}"
        for node in self.program.graph.graph.nodes:
            if node.op != "call_function":
                if node.op not in ("placeholder", "output"):
                    raise Untranslatable(f"node kind {node.op}")
                continue
            if not isinstance(value_of(node), Tensor):
                continue  # a size (SymInt): only shape arguments read it, and shapes are implicit
            reads = [r for r in node.all_input_nodes if r in self.names]
            place = max((self.place[r] for r in reads), key=PLACES.index, default="uniform")
            if op_name(node) in ("zeros_like", "ones_like", "full_like", "empty_like"):
                # A constant made in some tensor's shape: only its shape matters.
                place = "uniform" if self._scalar_like(node) else "neuron"
            self.place[node] = place
            if op_name(node) in SHAPE_OPS:
                # Element j of the result is element j of the input (or the input is one value).
                source = node.args[0]
                if not (isinstance(source, fx.Node) and _same_elements(source, node)):
                    raise Untranslatable(f"{op_name(node)} that moves elements")
                self.names[node] = self.names[source]
                continue
            name = f"v{len(self.names)}"
            self.names[node] = name
            self.lines[place].append(self.emit(node, name))

    @staticmethod
    def _scalar_like(node: fx.Node) -> bool:
        val = value_of(node)
        return isinstance(val, Tensor) and val.dim() == 0
