"""GPU kernels: a :class:`~.trace.LoopProgram` as one Triton kernel that loops over time.

Each program instance owns a block of neurons, keeps the state in registers and walks the
T steps, loading and storing one step's slice per iteration: one launch per direction
instead of one per step. Values that do not change with time are computed before the loop.
Scalars (neuron constants, surrogate parameters) are kernel arguments of type float64, so
constants such as ``1 / tau`` are computed exactly as the reference computes them in Python,
and no host-to-device copy is made per call.

The same source runs in CI on the CPU under ``TRITON_INTERPRET=1`` (libdevice functions are
then mapped to numpy, see :class:`_NumpyLibdevice`). Requires the optional ``triton`` package.
"""

from __future__ import annotations

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

from .loopgen import GraphWalk, Untranslatable, op_name, promote, value_of
from .trace import LoopProgram

__all__ = ["available", "interpreted", "kernel", "source"]


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
    torch.uint8: "tl.uint8",
}
_HALF = (torch.float16, torch.bfloat16)


@functools.cache
def _old_interpreter() -> bool:
    """Triton before 3.7 (asked only when its interpreter runs, so importing this module does not
    import triton)."""
    import triton

    major, minor = (int(part) for part in triton.__version__.split(".")[:2])
    return (major, minor) < (3, 7)

_UNARY: dict[str, str] = {
    "exp": "tl.exp({})",
    "exp2": "tl.exp2({})",
    "log": "tl.log({})",
    "log2": "tl.log2({})",
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
    "sinh": "libdevice.sinh({})",
    "cosh": "libdevice.cosh({})",
    "asin": "libdevice.asin({})",
    "acos": "libdevice.acos({})",
    "asinh": "libdevice.asinh({})",
    "acosh": "libdevice.acosh({})",
    "atanh": "libdevice.atanh({})",
    "tan": "libdevice.tan({})",
    "log10": "libdevice.log10({})",
    "log1p": "libdevice.log1p({})",
    "expm1": "libdevice.expm1({})",
    "erfc": "libdevice.erfc({})",
    "round": "libdevice.nearbyint({})",
    "trunc": "libdevice.trunc({})",
    "reciprocal": "tl.div_rn(1.0, {})",
    "relu": "tl.maximum({0}, 0.0)",
    "sign": "tl.where({0} > 0, 1.0, tl.where({0} < 0, -1.0, 0.0))",
    "sgn": "tl.where({0} > 0, 1.0, tl.where({0} < 0, -1.0, 0.0))",
    "square": "({0} * {0})",
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
    "bitwise_xor": "({} ^ {})",
    "logical_and": "({} & {})",
    "logical_or": "({} | {})",
    "logical_xor": "({} ^ {})",
    "pow": "libdevice.pow({}, {})",
    "atan2": "libdevice.atan2({}, {})",
}
#: float64 spellings where the float32 one is correctly-rounded-only (``div_rn``, ``sqrt_rn``).
_F64_FORMS = {"div": "({} / {})", "sqrt": "tl.sqrt({})", "reciprocal": "(1.0 / {})"}
_COMPARE = {"eq", "ne", "ge", "gt", "le", "lt"}
_LOGICAL = {"bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or", "logical_xor"}


def _compute(dtype: torch.dtype) -> torch.dtype:
    """Half types compute in float32 (as torch's eager CUDA kernels do)."""
    return torch.float32 if dtype in _HALF else dtype


def _tl(dtype: torch.dtype) -> str:
    if dtype not in _TL_DTYPE:
        raise Untranslatable(f"dtype {dtype}")
    return _TL_DTYPE[dtype]


class _Translator(GraphWalk):
    def arg(self, a: Any, dtype: torch.dtype | None) -> str:
        if isinstance(a, fx.Node):
            name = self.names[a]
            return f"{name}.to({_tl(_compute(dtype))})" if dtype is not None else name
        if isinstance(a, bool):
            return "True" if a else "False"
        if isinstance(a, int | float):
            value = float(a) if dtype is not None and dtype.is_floating_point else a
            if isinstance(value, float) and not math.isfinite(value):
                return {math.inf: "float('inf')", -math.inf: "float('-inf')"}.get(value, "float('nan')")
            return repr(value)
        raise Untranslatable(f"argument {a!r}")

    def emit(self, node: fx.Node, name: str) -> str:
        op = op_name(node)
        out = value_of(node)
        if not isinstance(out, Tensor):
            raise Untranslatable(f"{op} gives {type(out).__name__}")
        dtype = out.dtype
        c = _compute(dtype)
        args: Any = node.args
        kwargs = node.kwargs
        if op in ("_to_copy", "to", "convert_element_type"):
            expr = self.arg(args[0], c if dtype.is_floating_point else dtype)
        elif op in (
            "ones_like",
            "zeros_like",
            "full_like",
            "empty_like",
            "scalar_tensor",
            "full",
            "ones",
            "zeros",
        ):
            fills = {"ones_like": 1.0, "zeros_like": 0.0, "empty_like": 0.0, "ones": 1.0, "zeros": 0.0}
            fill = fills.get(op, args[1] if op in ("full_like", "full") else args[0])
            if not isinstance(fill, int | float):
                raise Untranslatable(f"{op} of a non-constant")
            expr = f"tl.full([], {float(fill)!r}, {_tl(c)})"
        elif op == "tanh_backward":
            grad, y = self.arg(args[0], c), self.arg(args[1], c)
            expr = f"({grad} * (1.0 - {y} * {y}))"
        elif op == "sigmoid_backward":
            grad, y = self.arg(args[0], c), self.arg(args[1], c)
            expr = f"({grad} * ((1.0 - {y}) * {y}))"
        elif op == "remainder":
            a, b = self.arg(args[0], c), self.arg(args[1], c)
            quotient = f"({a} / {b})" if c == torch.float64 else f"tl.div_rn({a}, {b})"
            expr = f"({a} - tl.floor({quotient}) * {b})"
        elif op == "where":
            expr = f"tl.where({self.arg(args[0], None)}, {self.arg(args[1], c)}, {self.arg(args[2], c)})"
        elif op == "masked_fill":
            expr = f"tl.where({self.arg(args[1], None)}, {self.arg(args[2], c)}, {self.arg(args[0], c)})"
        elif op in ("clamp", "clamp_min", "clamp_max"):
            expr = self.arg(args[0], c)
            low = args[1] if op != "clamp_max" and len(args) > 1 else None
            high = args[2] if op == "clamp" and len(args) > 2 else (args[1] if op == "clamp_max" else None)
            low = kwargs.get("min", low)
            high = kwargs.get("max", high)
            # NaN stays NaN, as in torch (tl.maximum would drop it).
            if low is not None:
                lo = self.arg(low, c)
                expr = f"tl.where({expr} < {lo}, {lo}, {expr})"
            if high is not None:
                hi = self.arg(high, c)
                expr = f"tl.where({expr} > {hi}, {hi}, {expr})"
        elif op == "rsub":
            if kwargs.get("alpha", 1) != 1:
                raise Untranslatable("rsub with alpha")
            expr = f"({self.arg(args[1], c)} - {self.arg(args[0], c)})"
        elif op in ("add", "sub") and kwargs.get("alpha", 1) != 1:
            sign = "+" if op == "add" else "-"
            expr = f"({self.arg(args[0], c)} {sign} {self.arg(kwargs['alpha'], c)} * {self.arg(args[1], c)})"
        elif op in ("bitwise_not", "logical_not"):
            expr = f"({self.arg(args[0], None)} == 0)"
        elif op == "pow" and len(args) == 2 and not isinstance(args[1], fx.Node) and args[1] in (2, 3, 4):
            x = self.arg(args[0], c)
            expr = "(" + " * ".join([x] * int(args[1])) + ")"
        elif op == "pow" and len(args) == 2 and isinstance(args[1], int | float):
            x = self.arg(args[0], c)
            # The exponent as a value of x's type and shape: libdevice.pow wants matching operands.
            expr = f"libdevice.pow({x}, {x} * 0.0 + {float(args[1])!r})"
        elif op in _UNARY and len(args) == 1:
            form = _F64_FORMS.get(op, _UNARY[op]) if c == torch.float64 else _UNARY[op]
            expr = form.format(self.arg(args[0], c))
        elif op in _BINARY and len(args) == 2:
            if op in _COMPARE:
                operand: torch.dtype | None = _compute(promote(args))
            elif op in _LOGICAL:
                operand = None
            else:
                operand = c
            form = _F64_FORMS.get(op, _BINARY[op]) if c == torch.float64 else _BINARY[op]
            a, b = self.arg(args[0], operand), self.arg(args[1], operand)
            if op.startswith("logical_") or (op in _LOGICAL and dtype == torch.bool):
                # Truth values as `!= 0`: that is logical_*'s meaning for numbers, and it lets
                # Triton's interpreter combine a scalar's truth value with a block's.
                a, b = f"({a} != 0)", f"({b} != 0)"
            expr = form.format(a, b)
        else:
            raise Untranslatable(f"aten op {node.target}")
        if dtype in _HALF:
            # Round every half-precision result as eager torch does, then go on in float32.
            expr = f"({expr}).to({_tl(dtype)}).to(tl.float32)"
        return f"{name} = {expr}"


def source(program: LoopProgram, name: str = "step_loop") -> str:
    """Triton source of ``program``'s loop over time.

    Arguments, in order: one per input slot (a pointer, or a float64 scalar), one per output
    slot (a pointer), then ``N``, ``T`` and the block size.
    """
    tr = _Translator(program)
    tr.translate()
    params: list[str] = []
    pre: list[str] = []
    loads: list[str] = []
    finals: list[str] = []
    state_var: dict[str, tuple[str, torch.dtype]] = {}
    for i, (node, slot) in enumerate(zip(tr.placeholders, program.inputs, strict=True)):
        var = tr.names[node]
        if slot.kind == "scalar":
            params.append(f"s{i}: tl.float64")
            # A float64 value of the kernel (the interpreter passes a Python number).
            tr.lines["uniform"].insert(0, f"{var} = tl.full([], s{i}, tl.float64)")
            continue
        ptr = f"in{i}"
        params.append(ptr)
        to = f".to({_tl(_compute(slot.dtype))})"
        if slot.kind == "step":
            loads.append(f"{var} = tl.load({ptr} + row + offs, mask=mask){to}")
        elif slot.kind == "neuron":
            pre.append(f"{var} = tl.load({ptr} + offs, mask=mask){to}")
        elif slot.kind == "broadcast":
            tr.lines["uniform"].insert(0, f"{var} = tl.load({ptr}){to}")
        elif slot.kind == "state":
            pre.append(f"{var} = tl.load({ptr} + offs, mask=mask){to}")
            state_var[slot.name] = (var, slot.dtype)
        else:
            raise Untranslatable(f"input slot kind {slot.kind}")
    stores: list[str] = []
    updates: list[str] = []
    zero = "tl.zeros([BLOCK], tl.float32)"
    for k, (value, slot) in enumerate(zip(program.output_nodes(), program.outputs, strict=True)):
        ptr = f"out{k}"
        params.append(ptr)
        expr = tr.arg(value, slot.dtype)
        stored = f"({expr} + {zero}).to({_tl(slot.dtype)})"  # a scalar becomes a block
        if slot.kind == "step":
            stores.append(f"tl.store({ptr} + row + offs, {stored}, mask=mask)")
        elif slot.kind == "state":
            var, dtype = state_var[slot.name]
            # Round the state to its storage type every step, as the reference loop does.
            updates.append(f"{var} = {stored}.to({_tl(_compute(dtype))})")
            finals.append(f"tl.store({ptr} + offs, {var}.to({_tl(dtype)}), mask=mask)")
        elif slot.kind == "accumulate":
            acc = f"acc{k}"
            pre.append(f"{acc} = tl.zeros([BLOCK], {_tl(slot.dtype)})")
            updates.append(f"{acc} = {acc} + ({expr}).to({_tl(slot.dtype)})")
            finals.append(f"tl.store({ptr} + offs, {acc}, mask=mask)")
        else:
            raise Untranslatable(f"output slot kind {slot.kind}")
    step = "T - 1 - i" if program.reverse else "i"
    # Triton's interpreter of 3.5 cannot loop over range() of a runtime scalar (3.7 can): with
    # an interpreter before 3.7 the number of steps is a compile-time constant (a kernel per T,
    # on the CPU only; compiled CUDA kernels always take T at run time).
    steps = "T: tl.constexpr" if interpreted() and _old_interpreter() else "T"
    lines = [
        "@triton.jit",
        f"def {name}({', '.join([*params, 'N', steps, 'BLOCK: tl.constexpr'])}):",
        "    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)",
        "    mask = offs < N",
        *(f"    {line}" for line in tr.lines["uniform"]),
        *(f"    {line}" for line in pre),
        *(f"    {line}" for line in tr.lines["neuron"]),
        "    for i in range(T):",
        f"        t = {step}",
        "        row = t.to(tl.int64) * N",
        *(f"        {line}" for line in [*loads, *tr.lines["step"], *stores, *updates]),
        *(f"    {line}" for line in finals),
    ]
    return "\n".join(lines) + "\n"


_COMPILED: dict[str, Any] = {}


def _block(n: int, device: torch.device) -> int:
    """Neurons per program: small enough that the grid fills every multiprocessor."""
    if device.type != "cuda":
        return 1024
    sms = torch.cuda.get_device_properties(device).multi_processor_count
    block = 1024
    while block > 128 and -(-n // block) < 2 * sms:
        block //= 2
    return block


def kernel(program: LoopProgram) -> Callable[[Sequence[Any], int, int], None]:
    """Compile (once per source text) ``program``; returns ``run(arguments, N, T)`` with
    ``arguments`` in :func:`source`'s order (tensors for pointers, numbers for scalars)."""
    code = source(program)
    key = hashlib.sha256(code.encode()).hexdigest()[:20]
    fn = _COMPILED.get(key)
    if fn is None:
        fn = _load(code, key)
        _COMPILED[key] = fn
    blocks: dict[tuple[int, torch.device], int] = {}

    def run(arguments: Sequence[Any], n: int, steps: int) -> None:
        if n == 0 or steps == 0:
            return
        device = next(a.device for a in arguments if isinstance(a, Tensor))
        block = blocks.get((n, device))
        if block is None:
            block = blocks[(n, device)] = _block(n, device)
        fn[(-(-n // block),)](*arguments, n, steps, BLOCK=block)

    return run


def _load(code: str, key: str) -> Any:
    """Turn the source into a jitted kernel (Triton reads the source from a real module file)."""
    import triton
    import triton.language as tl
    from triton.language.extra import libdevice

    if interpreted():
        libdevice = _NumpyLibdevice()
    filename = f"<spikegrad-triton-{key}>"
    module = types.ModuleType(f"spikegrad_triton_{key}")
    module.__dict__.update(triton=triton, tl=tl, libdevice=libdevice)
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    exec(compile(code, filename, "exec"), module.__dict__)
    sys.modules[module.__name__] = module
    return module.step_loop


_NUMPY_NAMES = {
    "atan": "arctan",
    "sinh": "sinh",
    "cosh": "cosh",
    "asin": "arcsin",
    "acos": "arccos",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
    "tan": "tan",
    "log10": "log10",
    "atan2": "arctan2",
    "tanh": "tanh",
    "log1p": "log1p",
    "expm1": "expm1",
    "nearbyint": "rint",
    "trunc": "trunc",
    "pow": "power",
}


class _NumpyLibdevice:
    """``libdevice`` for the interpreter: the same calls, computed with numpy on the CPU."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        import numpy as np
        import triton.language as tl
        from triton.runtime.interpreter import TensorHandle

        if name == "erfc":
            from math import erfc

            fn: Any = np.vectorize(erfc, otypes=[np.float64])
        elif name in _NUMPY_NAMES:
            fn = getattr(np, _NUMPY_NAMES[name])
        else:
            raise AttributeError(f"no numpy stand-in for libdevice.{name}")

        def call(*args: Any) -> Any:
            like = next(a for a in args if isinstance(a, tl.core.tensor))
            arrays = [a.handle.data if isinstance(a, tl.core.tensor) else a for a in args]
            data = np.asarray(fn(*arrays)).astype(like.handle.data.dtype)
            return tl.core.tensor(TensorHandle(data, like.handle.dtype.scalar), like.type)

        return call
