"""Whole-sequence Triton kernels translated from the step graphs of :mod:`.fused`.

On CUDA a kernel per time step costs a launch per step; here the traced step graph (the
same one inductor compiles on the CPU, so the neuron and surrogate formulas still exist
once, as torch code) is translated into the body of a loop over T inside ONE Triton
kernel: each program owns a block of neurons, keeps the state (``v``, the backward
``carry``, PLIF's accumulator) in registers, and loads and stores one step's slice per
iteration.

Each placeholder of the step graph gets a role (:class:`Role`): a per-step input or
output, a per-neuron input, a vector of runtime constants, or one half of a state pair.
Only pointwise aten ops are translated (see :data:`_UNARY`, :data:`_BINARY` and
:func:`_Translator.emit`); a graph with any other op raises :class:`Untranslatable` and
the caller keeps the per-step inductor kernels.

The generated source is the same on CUDA and in CI, where ``TRITON_INTERPRET=1`` runs it
on the CPU with numpy (libdevice functions are then mapped to numpy, see
:class:`_NumpyLibdevice`). Requires the optional ``triton`` package.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import linecache
import math
import os
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, fx

__all__ = ["Role", "Untranslatable", "available", "interpreted", "sequence_kernel"]


class Untranslatable(Exception):
    """The step graph holds an op this translator does not know."""


@dataclasses.dataclass(frozen=True)
class Role:
    """What one placeholder of a step graph is, seen from the whole sequence.

    kind: ``"step_in"`` (``[T, N]``, read at step t), ``"prev_in"`` (``[T, N]``, read at
    step t-1, clamped at 0), ``"neuron"`` (``[N]``, read once), ``"vector"`` (1-D runtime
    constants, indexed by ``select``), ``"first"`` (the flag ``t == 0``), ``"step_out"``
    (``[T, N]``, written at step t), ``"state"`` (read in registers: initial value from an
    ``[N]`` tensor, final value written to another), ``"state_out"`` (the ``copy_`` target
    that updates the state ``name``; ``also_step_out`` also stores it per step).
    """

    kind: str
    name: str = ""
    also_step_out: bool = False


@functools.cache
def available() -> bool:
    """Whether the optional ``triton`` package is installed."""
    return importlib.util.find_spec("triton") is not None


def interpreted() -> bool:
    """``TRITON_INTERPRET=1``: kernels run on the CPU through Triton's numpy interpreter."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


_TL_DTYPE = {
    torch.float16: "tl.float16",
    torch.bfloat16: "tl.bfloat16",
    torch.float32: "tl.float32",
    torch.float64: "tl.float64",
    torch.bool: "tl.int1",
    torch.int64: "tl.int64",
    torch.int32: "tl.int32",
}

_UNARY: dict[Any, str] = {
    "exp": "tl.exp({})",
    "log": "tl.log({})",
    "sqrt": "tl.sqrt_rn({})",
    "rsqrt": "tl.rsqrt({})",
    "abs": "tl.abs({})",
    "sigmoid": "tl.sigmoid({})",
    "sin": "tl.sin({})",
    "cos": "tl.cos({})",
    "erf": "tl.erf({})",
    "floor": "tl.floor({})",
    "ceil": "tl.ceil({})",
    "neg": "(-{})",
    "atan": "libdevice.atan({})",
    "tanh": "libdevice.tanh({})",
    "log1p": "libdevice.log1p({})",
    "expm1": "libdevice.expm1({})",
    "erfc": "libdevice.erfc({})",
    "round": "libdevice.nearbyint({})",
    "reciprocal": "tl.div_rn(1.0, {})",
    "clone": "{}",
    "alias": "{}",
    "lift_fresh_copy": "{}",
    "sign": "tl.where({0} > 0, 1.0, tl.where({0} < 0, -1.0, 0.0))",
}
_BINARY: dict[str, str] = {
    "add": "({} + {})",
    "sub": "({} - {})",
    "mul": "({} * {})",
    "div": "tl.div_rn({}, {})",
    "maximum": "tl.maximum({}, {})",
    "minimum": "tl.minimum({}, {})",
    "eq": "({} == {})",
    "ne": "({} != {})",
    "ge": "({} >= {})",
    "gt": "({} > {})",
    "le": "({} <= {})",
    "lt": "({} < {})",
    "bitwise_and": "({} & {})",
    "bitwise_or": "({} | {})",
    "logical_and": "({} & {})",
    "logical_or": "({} | {})",
    "pow": "libdevice.pow({}, {})",
}
#: float64 spellings where the float32 one is correctly-rounded-only (``div_rn``, ``sqrt_rn``).
_F64_FORMS = {"div": "({} / {})", "sqrt": "tl.sqrt({})", "reciprocal": "(1.0 / {})"}
_COMPARE = {"eq", "ne", "ge", "gt", "le", "lt"}
_LOGICAL = {"bitwise_and", "bitwise_or", "logical_and", "logical_or"}


def _compute(dtype: torch.dtype) -> torch.dtype:
    """Half types compute in float32 (as inductor and eager CUDA kernels do)."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _val(arg: Any) -> Any:
    return arg.meta.get("val") if isinstance(arg, fx.Node) else arg


def _promote(args: Sequence[Any]) -> torch.dtype:
    """torch's result type of two operands (tensors of any dim, or Python numbers)."""
    first, second = (_val(a) for a in args[:2])
    if isinstance(first, Tensor):
        return torch.result_type(first, second)
    if isinstance(second, Tensor):
        return torch.result_type(second, first)
    return torch.float64


class GraphWalk:
    """What every loop translator keeps while it walks a step graph (the C++ one shares it)."""

    def __init__(self, graph: fx.GraphModule, roles: Sequence[Role]) -> None:
        self.graph = graph
        self.roles = list(roles)
        self.names: dict[fx.Node, str] = {}
        self.lines: list[str] = []
        self.updates: list[tuple[str, str]] = []  # (state name, value)
        self.stores: list[tuple[int, str]] = []  # (placeholder index, value)
        self.placeholders = [n for n in graph.graph.nodes if n.op == "placeholder"]
        if len(self.placeholders) != len(self.roles):
            raise ValueError(f"{len(self.roles)} roles for {len(self.placeholders)} placeholders")

    def emit(self, node: fx.Node) -> None:
        """Append the statement that computes ``node`` (each target language its own)."""
        raise NotImplementedError

    def translate(self) -> list[str]:
        """One statement per op of the graph, in order; placeholders become ``a0``, ``a1`` ..."""
        for node in self.graph.graph.nodes:
            if node.op == "placeholder":
                self.names[node] = f"a{len(self.names)}"
            elif node.op == "call_function":
                self.emit(node)
            elif node.op != "output":
                raise Untranslatable(f"node kind {node.op}")
        return self.lines


class _Translator(GraphWalk):
    def arg(self, a: Any, dtype: torch.dtype | None) -> str:
        if isinstance(a, fx.Node):
            name = self.names[a]
            return f"{name}.to({_TL_DTYPE[dtype]})" if dtype is not None else name
        if isinstance(a, bool):
            return "True" if a else "False"
        if isinstance(a, int | float):
            value = float(a) if dtype is not None and dtype.is_floating_point else a
            if isinstance(value, float) and not math.isfinite(value):
                return {math.inf: "float('inf')", -math.inf: "float('-inf')"}.get(value, "float('nan')")
            return repr(value)
        raise Untranslatable(f"argument {a!r}")

    def emit(self, node: fx.Node) -> None:
        target = node.target
        packet = getattr(target, "overloadpacket", None)
        op = getattr(packet, "__name__", str(target))
        out = _val(node)
        name = f"v{len(self.names)}"
        self.names[node] = name
        if op == "copy_":
            dst, src = node.args[0], node.args[1]
            if not (isinstance(dst, fx.Node) and isinstance(src, fx.Node)):
                raise Untranslatable("copy_ of a constant")
            index = self.placeholders.index(dst)
            role = self.roles[index]
            value = self.names[src]
            if role.kind == "step_out":
                self.stores.append((index, value))
            elif role.kind in ("state_out", "state"):
                self.updates.append((role.name, value))
                if role.also_step_out:
                    self.stores.append((index, value))
            else:
                raise Untranslatable(f"copy_ into a {role.kind} input")
            self.lines.append(f"{name} = {value}")
            return
        if op == "select":
            src, dim, position = node.args
            if not (isinstance(src, fx.Node) and isinstance(position, int)):
                raise Untranslatable("select at a symbolic position")
            if self.roles[self.placeholders.index(src)].kind != "vector" or dim != 0:
                raise Untranslatable("select of something other than a constants vector")
            self.lines.append(f"{name} = tl.load({self.names[src]} + {position})")
            return
        if not isinstance(out, Tensor):
            raise Untranslatable(f"{op} gives {type(out).__name__}")
        dtype = out.dtype
        args: Any = node.args
        if op in ("_to_copy", "to", "convert_element_type"):
            expr = self.arg(args[0], _compute(dtype) if dtype.is_floating_point else dtype)
        elif op in ("ones_like", "zeros_like", "full_like"):
            fill = {"ones_like": 1.0, "zeros_like": 0.0}.get(op, args[1] if len(args) > 1 else None)
            like = self.names[args[0]] if isinstance(args[0], fx.Node) else None
            if like is None or not isinstance(fill, int | float):
                raise Untranslatable(op)
            expr = f"tl.full({like}.shape, {float(fill)!r}, {_TL_DTYPE[_compute(dtype)]})"
        elif op in ("ones", "zeros", "full", "scalar_tensor"):
            fill = {"ones": 1.0, "zeros": 0.0}.get(op, args[-1] if op == "full" else args[0])
            if not isinstance(fill, int | float):
                raise Untranslatable(f"{op} of a non-constant")
            expr = f"tl.full([BLOCK], {float(fill)!r}, {_TL_DTYPE[_compute(dtype)]})"
        elif op == "tanh_backward":
            c = _compute(dtype)
            grad, y = self.arg(args[0], c), self.arg(args[1], c)
            expr = f"({grad} * (1.0 - {y} * {y}))"
        elif op == "remainder":
            c = _compute(dtype)
            a, b = self.arg(args[0], c), self.arg(args[1], c)
            quotient = f"({a} / {b})" if c == torch.float64 else f"tl.div_rn({a}, {b})"
            expr = f"({a} - tl.floor({quotient}) * {b})"
        elif op == "where":
            c = _compute(dtype)
            expr = f"tl.where({self.arg(args[0], None)}, {self.arg(args[1], c)}, {self.arg(args[2], c)})"
        elif op in ("clamp", "clamp_min", "clamp_max"):
            c = _compute(dtype)
            expr = self.arg(args[0], c)
            low = args[1] if op != "clamp_max" else None
            high = args[2] if op == "clamp" and len(args) > 2 else (args[1] if op == "clamp_max" else None)
            low = node.kwargs.get("min", low)
            high = node.kwargs.get("max", high)
            if low is not None:
                expr = f"tl.maximum({expr}, {self.arg(low, c)})"
            if high is not None:
                expr = f"tl.minimum({expr}, {self.arg(high, c)})"
        elif op == "rsub":
            c = _compute(dtype)
            alpha = node.kwargs.get("alpha", 1)
            if alpha != 1:
                raise Untranslatable("rsub with alpha")
            expr = f"({self.arg(args[1], c)} - {self.arg(args[0], c)})"
        elif op in ("bitwise_not", "logical_not"):
            expr = f"({self.arg(args[0], None)} == 0)"
        elif op == "pow" and len(args) == 2 and args[1] in (2, 3, 4):
            c = _compute(dtype)
            x = self.arg(args[0], c)
            expr = "(" + " * ".join([x] * int(args[1])) + ")"
        elif op == "pow" and len(args) == 2 and isinstance(args[1], int | float):
            c = _compute(dtype)
            x = self.arg(args[0], c)
            # The exponent as a value of x's type and shape: libdevice.pow wants matching operands.
            expr = f"libdevice.pow({x}, {x} * 0.0 + {float(args[1])!r})"
        elif op in _UNARY and len(args) == 1:
            c = _compute(dtype)
            form = _F64_FORMS.get(op, _UNARY[op]) if c == torch.float64 else _UNARY[op]
            expr = form.format(self.arg(args[0], c))
        elif op in _BINARY and len(args) == 2 and not node.kwargs.get("alpha", 1) != 1:
            if op in _COMPARE:
                c = _compute(_promote(args))
            elif op in _LOGICAL:
                c = None
            else:
                c = _compute(dtype)
            form = _F64_FORMS.get(op, _BINARY[op]) if c == torch.float64 else _BINARY[op]
            expr = form.format(self.arg(args[0], c), self.arg(args[1], c))
        else:
            raise Untranslatable(f"aten op {target}")
        if dtype in (torch.float16, torch.bfloat16):
            # Round every half-precision result as eager torch does, then go on in float32.
            expr = f"({expr}).to({_TL_DTYPE[dtype]}).to(tl.float32)"
        self.lines.append(f"{name} = {expr}")


def sequence_source(
    graph: fx.GraphModule, roles: Sequence[Role], storage: Sequence[torch.dtype], reverse: bool, name: str
) -> tuple[str, list[str]]:
    """Triton source of the loop over T, and its pointer argument names in order.

    The pointer arguments are one per placeholder, in order, except that ``first`` takes
    none and each ``state`` takes two (initial value, final value).
    """
    tr = _Translator(graph, roles)
    body = tr.translate()
    params: list[str] = []
    pre: list[str] = []
    loads: list[str] = []
    finals: list[str] = []
    state_of: dict[str, str] = {}
    state_types: dict[str, tuple[str, str]] = {}
    for i, (node, role) in enumerate(zip(tr.placeholders, roles, strict=True)):
        var = tr.names[node]
        ptr = f"p{i}"
        if role.kind == "first":
            loads.append(f"{var} = t == 0")
            continue
        params.append(ptr)
        if role.kind == "step_in":
            loads.append(f"{var} = tl.load({ptr} + row + offs, mask=mask)")
        elif role.kind == "prev_in":
            loads.append(f"{var} = tl.load({ptr} + prev_row + offs, mask=mask)")
        elif role.kind == "neuron":
            pre.append(f"{var} = tl.load({ptr} + offs, mask=mask)")
        elif role.kind == "vector":
            pre.append(f"{var} = {ptr}")
        elif role.kind == "state":
            params.append(f"{ptr}_final")
            pre.append(f"{var} = tl.load({ptr} + offs, mask=mask).to({_TL_DTYPE[_compute(storage[i])]})")
            state_of[role.name] = var
            # Round the state to its storage type every step, as the reference loop does.
            state_types[role.name] = (_TL_DTYPE[storage[i]], _TL_DTYPE[_compute(storage[i])])
            finals.append(f"tl.store({ptr}_final + offs, {var}.to({_TL_DTYPE[storage[i]]}), mask=mask)")
    stores = [
        f"tl.store(p{i} + row + offs, {value}.to({_TL_DTYPE[storage[i]]}), mask=mask)"
        for i, value in tr.stores
    ]
    updates = [
        f"{state_of[state]} = {value}.to({state_types[state][0]}).to({state_types[state][1]})"
        for state, value in tr.updates
    ]
    step = "T - 1 - i" if reverse else "i"
    lines = [
        "@triton.jit",
        f"def {name}({', '.join(params)}, N, T, BLOCK: tl.constexpr):",
        "    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)",
        "    mask = offs < N",
        *(f"    {line}" for line in pre),
        "    for i in range(T):",
        f"        t = {step}",
        "        row = t.to(tl.int64) * N",
        "        prev_row = tl.maximum(t - 1, 0).to(tl.int64) * N",
        *(f"        {line}" for line in loads + body + stores + updates),
        *(f"    {line}" for line in finals),
    ]
    return "\n".join(lines) + "\n", params


_COMPILED: dict[str, Any] = {}


def sequence_kernel(
    graph: fx.GraphModule, roles: Sequence[Role], storage: Sequence[torch.dtype], reverse: bool
) -> Callable[..., None]:
    """Compile (once per source text) the loop kernel; returns ``run(pointers, N, T)``.

    ``pointers``: tensors in the order of :func:`sequence_source`'s argument names.
    """
    source, _ = sequence_source(graph, roles, storage, reverse, "step_loop")
    key = hashlib.sha256(source.encode()).hexdigest()[:20]
    kernel = _COMPILED.get(key)
    if kernel is None:
        kernel = _load(source, key)
        _COMPILED[key] = kernel
    block = 1024

    def run(pointers: Sequence[Any], n: int, steps: int) -> None:
        if n == 0 or steps == 0:
            return
        grid = (triton_cdiv(n, block),)
        kernel[grid](*pointers, n, steps, BLOCK=block)

    return run


def triton_cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _load(source: str, key: str) -> Any:
    """Turn the source into a jitted kernel (Triton reads the source from a real module file)."""
    import triton
    import triton.language as tl
    from triton.language.extra import libdevice

    if interpreted():
        libdevice = _NumpyLibdevice()
    filename = f"<spikegrad-triton-{key}>"
    module = types.ModuleType(f"spikegrad_triton_{key}")
    module.__dict__.update(triton=triton, tl=tl, libdevice=libdevice)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    exec(code, module.__dict__)
    sys.modules[module.__name__] = module
    return module.step_loop


_NUMPY_NAMES = {
    "atan": "arctan",
    "tanh": "tanh",
    "log1p": "log1p",
    "expm1": "expm1",
    "nearbyint": "rint",
    "pow": "power",
}


class _NumpyLibdevice:
    """``libdevice`` for the interpreter: the same calls, computed with numpy on the CPU."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        import numpy as np
        import triton.language as tl
        from triton.runtime.interpreter import TensorHandle

        if name not in _NUMPY_NAMES:
            raise AttributeError(f"no numpy stand-in for libdevice.{name}")
        fn = getattr(np, _NUMPY_NAMES[name])

        def call(*args: Any) -> Any:
            like = next(a for a in args if isinstance(a, tl.core.tensor))
            arrays = [a.handle.data if isinstance(a, tl.core.tensor) else a for a in args]
            data = np.asarray(fn(*arrays)).astype(like.handle.data.dtype)
            return tl.core.tensor(TensorHandle(data, like.handle.dtype.scalar), like.type)

        return call
