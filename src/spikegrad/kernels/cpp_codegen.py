"""Whole-sequence C++ kernels for the CPU, translated from the step graphs of :mod:`.fused`.

The CPU twin of :mod:`.triton_codegen`: the same traced step graph and the same
:class:`~.triton_codegen.Role` of each placeholder become the body of ONE C++ function per
direction. It walks the flattened neurons in blocks of :data:`BLOCK`; for each block it
loops over T with the state (``v``, the backward ``carry``, PLIF's accumulator) in a local
(stack) array, and each step is a ``#pragma omp simd`` loop over the block's neurons. That
replaces T calls of a per-step kernel (each with a fixed cost of some microseconds) by one.

Only float32 and float64 graphs of pointwise aten ops are translated; anything else raises
:class:`~.triton_codegen.Untranslatable` and the caller keeps the per-step kernels. The
source is compiled by inductor's own C++ cache (same compiler, flags and on-disk cache as
the per-step kernels, ``-ffp-contract=off`` included) and called through ``ctypes``.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, fx

from .triton_codegen import GraphWalk, Role, Untranslatable, _promote, _val

__all__ = ["BLOCK", "sequence_kernel", "sequence_source", "supported"]

#: Neurons per block: the state of a block stays in a local array across the loop over T.
BLOCK = 8192

_C_TYPE = {
    torch.float32: "float",
    torch.float64: "double",
    torch.bool: "bool",
    torch.int64: "int64_t",
    torch.int32: "int32_t",
}

_UNARY: dict[str, str] = {
    "exp": "std::exp({0})",
    "log": "std::log({0})",
    "sqrt": "std::sqrt({0})",
    "rsqrt": "({t}(1) / std::sqrt({0}))",
    "abs": "std::abs({0})",
    "sigmoid": "({t}(1) / ({t}(1) + std::exp(-{0})))",
    "sin": "std::sin({0})",
    "cos": "std::cos({0})",
    "erf": "std::erf({0})",
    "floor": "std::floor({0})",
    "ceil": "std::ceil({0})",
    "neg": "(-{0})",
    "atan": "std::atan({0})",
    "tanh": "std::tanh({0})",
    "log1p": "std::log1p({0})",
    "expm1": "std::expm1({0})",
    "erfc": "std::erfc({0})",
    "round": "std::nearbyint({0})",
    "reciprocal": "({t}(1) / {0})",
    "clone": "{0}",
    "alias": "{0}",
    "lift_fresh_copy": "{0}",
    "sign": "({t}(({0} > 0) - ({0} < 0)))",
}
_BINARY: dict[str, str] = {
    "add": "({0} + {1})",
    "sub": "({0} - {1})",
    "mul": "({0} * {1})",
    "div": "({0} / {1})",
    # torch propagates NaN from either side
    "maximum": "(({0} > {1} || {0} != {0}) ? {0} : {1})",
    "minimum": "(({0} < {1} || {0} != {0}) ? {0} : {1})",
    "eq": "({0} == {1})",
    "ne": "({0} != {1})",
    "ge": "({0} >= {1})",
    "gt": "({0} > {1})",
    "le": "({0} <= {1})",
    "lt": "({0} < {1})",
    "bitwise_and": "({0} & {1})",
    "bitwise_or": "({0} | {1})",
    "logical_and": "({0} && {1})",
    "logical_or": "({0} || {1})",
    "pow": "std::pow({0}, {1})",
}
_COMPARE = {"eq", "ne", "ge", "gt", "le", "lt"}
_LOGICAL = {"bitwise_and", "bitwise_or", "logical_and", "logical_or"}


def supported(dtype: torch.dtype) -> bool:
    """Whether the translator handles step graphs whose tensors are of ``dtype``."""
    return dtype in (torch.float32, torch.float64)


def _ctype(dtype: torch.dtype) -> str:
    if dtype not in _C_TYPE:
        raise Untranslatable(f"dtype {dtype}")
    return _C_TYPE[dtype]


class _Translator(GraphWalk):
    """The step graph as C++ statements on scalars, one per node, for one neuron ``j``."""

    def arg(self, a: Any, dtype: torch.dtype | None) -> str:
        """``a`` as an expression, converted to ``dtype`` (kept as it is for ``None``)."""
        if isinstance(a, fx.Node):
            name = self.names[a]
            if dtype is None:
                return name
            val = _val(a)
            if isinstance(val, Tensor) and val.dtype == torch.bool and dtype != torch.bool:
                # A select, not a cast: GCC does not vectorise bool -> float conversions.
                return f"({name} ? {_ctype(dtype)}(1) : {_ctype(dtype)}(0))"
            return f"static_cast<{_ctype(dtype)}>({name})"
        if isinstance(a, bool):
            return "true" if a else "false"
        if isinstance(a, int | float):
            ctype = _ctype(dtype) if dtype is not None else ("double" if isinstance(a, float) else "int64_t")
            if isinstance(a, float) and not math.isfinite(a):
                special = "quiet_NaN()" if math.isnan(a) else "infinity()"
                sign = "-" if a < 0 else ""
                return f"({sign}std::numeric_limits<{ctype}>::{special})"
            return f"static_cast<{ctype}>({a!r})"
        raise Untranslatable(f"argument {a!r}")

    def emit(self, node: fx.Node) -> None:
        target = node.target
        packet = getattr(target, "overloadpacket", None)
        op = getattr(packet, "__name__", str(target))
        out = _val(node)
        name = f"v{len(self.names)}"
        self.names[node] = name
        args: Any = node.args
        if op == "copy_":
            dst, src = args[0], args[1]
            if not (isinstance(dst, fx.Node) and isinstance(src, fx.Node)):
                raise Untranslatable("copy_ of a constant")
            index = self.placeholders.index(dst)
            role = self.roles[index]
            if role.kind == "step_out":
                self.stores.append((index, self.names[src]))
            elif role.kind in ("state_out", "state"):
                self.updates.append((role.name, self.names[src]))
                if role.also_step_out:
                    self.stores.append((index, self.names[src]))
            else:
                raise Untranslatable(f"copy_ into a {role.kind} input")
            self.names[node] = self.names[src]
            return
        if op == "select":
            src, dim, position = args
            if not (isinstance(src, fx.Node) and isinstance(position, int)):
                raise Untranslatable("select at a symbolic position")
            if self.roles[self.placeholders.index(src)].kind != "vector" or dim != 0:
                raise Untranslatable("select of something other than a constants vector")
            self.lines.append(f"const auto {name} = {self.names[src]}[{position}];")
            return
        if not isinstance(out, Tensor):
            raise Untranslatable(f"{op} gives {type(out).__name__}")
        dtype = out.dtype
        t = _ctype(dtype)
        if op in ("_to_copy", "to", "convert_element_type"):
            expr = self.arg(args[0], dtype)
        elif op in ("ones_like", "zeros_like", "full_like", "ones", "zeros", "full", "scalar_tensor"):
            fills = {"ones_like": 1, "zeros_like": 0, "ones": 1, "zeros": 0}
            fill = fills.get(op, args[1] if op == "full_like" else args[-1] if op == "full" else args[0])
            if not isinstance(fill, int | float):
                raise Untranslatable(f"{op} of a non-constant")
            expr = self.arg(fill, dtype)
        elif op == "tanh_backward":
            grad, y = self.arg(args[0], dtype), self.arg(args[1], dtype)
            expr = f"({grad} * ({t}(1) - {y} * {y}))"
        elif op == "remainder":
            a, b = self.arg(args[0], dtype), self.arg(args[1], dtype)
            expr = f"({a} - std::floor({a} / {b}) * {b})"
        elif op == "where":
            cond = self.arg(args[0], None)
            expr = f"({cond} ? {self.arg(args[1], dtype)} : {self.arg(args[2], dtype)})"
        elif op in ("clamp", "clamp_min", "clamp_max"):
            expr = self.arg(args[0], dtype)
            low = args[1] if op != "clamp_max" else None
            high = args[2] if op == "clamp" and len(args) > 2 else (args[1] if op == "clamp_max" else None)
            low = node.kwargs.get("min", low)
            high = node.kwargs.get("max", high)
            # NaN stays NaN, as in torch: a comparison with NaN is false.
            if low is not None:
                lo = self.arg(low, dtype)
                expr = f"({expr} < {lo} ? {lo} : {expr})"
            if high is not None:
                hi = self.arg(high, dtype)
                expr = f"({expr} > {hi} ? {hi} : {expr})"
        elif op == "rsub":
            if node.kwargs.get("alpha", 1) != 1:
                raise Untranslatable("rsub with alpha")
            expr = f"({self.arg(args[1], dtype)} - {self.arg(args[0], dtype)})"
        elif op in ("bitwise_not", "logical_not"):
            expr = f"(!{self.arg(args[0], None)})"
        elif op == "pow" and len(args) == 2 and args[1] in (2, 3, 4):
            x = self.arg(args[0], dtype)
            expr = "(" + " * ".join([x] * int(args[1])) + ")"
        elif op in _UNARY and len(args) == 1:
            expr = _UNARY[op].format(self.arg(args[0], dtype), t=t)
        elif op in _BINARY and len(args) == 2 and node.kwargs.get("alpha", 1) == 1:
            if op in _COMPARE:
                c: torch.dtype | None = _promote(args)
            elif op in _LOGICAL:
                c = None
            else:
                c = dtype
            expr = _BINARY[op].format(self.arg(args[0], c), self.arg(args[1], c))
        else:
            raise Untranslatable(f"aten op {target}")
        self.lines.append(f"const {t} {name} = {expr};")


def sequence_source(
    graph: fx.GraphModule, roles: Sequence[Role], storage: Sequence[torch.dtype], reverse: bool, name: str
) -> tuple[str, list[str]]:
    """C++ source of the loop over T, and its pointer argument names in order.

    The pointer arguments follow :func:`.triton_codegen.sequence_source`: one per
    placeholder, in order, except that ``first`` takes none and each ``state`` takes two
    (initial value, final value); then ``N``, ``T`` and the number of threads.
    """
    for i, role in enumerate(roles):
        if role.kind != "first" and role.kind != "vector" and not supported(storage[i]):
            raise Untranslatable(f"storage dtype {storage[i]}")
    tr = _Translator(graph, roles)
    body = tr.translate()
    params: list[str] = []
    pre: list[str] = []  # per block, before the loop over T
    loads: list[str] = []  # per step and neuron
    finals: list[str] = []  # per block, after the loop over T
    state_of: dict[str, tuple[str, str]] = {}  # name -> (array, C type)
    for i, (node, role) in enumerate(zip(tr.placeholders, roles, strict=True)):
        var = tr.names[node]
        ptr = f"p{i}"
        if role.kind == "first":
            loads.append(f"const bool {var} = t == 0;")
            continue
        ctype = _ctype(storage[i])
        const = "" if role.kind in ("step_out", "state_out") else "const "
        params.append(f"{const}{ctype}* {ptr}")
        if role.kind == "step_in":
            loads.append(f"const {ctype} {var} = {ptr}[row + j];")
        elif role.kind == "prev_in":
            loads.append(f"const {ctype} {var} = {ptr}[prev_row + j];")
        elif role.kind == "neuron":
            loads.append(f"const {ctype} {var} = {ptr}[j];")
        elif role.kind == "vector":
            pre.append(f"const {ctype}* {var} = {ptr};")
        elif role.kind == "state":
            params.append(f"{ctype}* {ptr}_final")
            array = f"s_{role.name}"
            pre.append(f"{ctype} {array}[{BLOCK}];")
            pre.append(f"for (int64_t jj = 0; jj < nb; ++jj) {array}[jj] = {ptr}[j0 + jj];")
            loads.append(f"const {ctype} {var} = {array}[jj];")
            state_of[role.name] = (array, ctype)
            finals.append(f"for (int64_t jj = 0; jj < nb; ++jj) {ptr}_final[j0 + jj] = {array}[jj];")
    stores = [f"p{i}[row + j] = static_cast<{_ctype(storage[i])}>({value});" for i, value in tr.stores]
    # Rounded to the storage type every step, as the reference loop does.
    updates = [f"{state_of[s][0]}[jj] = static_cast<{state_of[s][1]}>({value});" for s, value in tr.updates]
    step = "T - 1 - i" if reverse else "i"
    inner = [*loads, *body, *stores, *updates]
    lines = [
        "#include <cmath>",
        "#include <cstdint>",
        "#include <limits>",
        f'extern "C" void {name}({", ".join([*params, "int64_t N", "int64_t T", "int64_t threads"])}) {{',
        f"    const int64_t blocks = (N + {BLOCK} - 1) / {BLOCK};",
        "    #pragma omp parallel for num_threads(threads) if(threads > 1)",
        "    for (int64_t b = 0; b < blocks; ++b) {",
        f"        const int64_t j0 = b * {BLOCK};",
        f"        const int64_t nb = N - j0 < {BLOCK} ? N - j0 : {BLOCK};",
        *(f"        {line}" for line in pre),
        "        for (int64_t i = 0; i < T; ++i) {",
        f"            const int64_t t = {step};",
        "            const int64_t row = t * N;",
        "            const int64_t prev_row = (t > 0 ? t - 1 : 0) * N;",
        "            #pragma omp simd",
        "            for (int64_t jj = 0; jj < nb; ++jj) {",
        "                const int64_t j = j0 + jj;",
        *(f"                {line}" for line in inner),
        "            }",
        "        }",
        *(f"        {line}" for line in finals),
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n", params


_COMPILED: dict[str, Any] = {}
#: Added to inductor's flags: it compiles with ``-fno-tree-loop-vectorize`` (it writes its own
#: vector code), these loops rely on the compiler's vectoriser; and no libm call sets errno.
_FLAGS = ("-ftree-loop-vectorize", "-fno-math-errno")
#: Below this many neurons a second thread costs more than it saves.
_PARALLEL_MIN = 16384


def sequence_kernel(
    graph: fx.GraphModule, roles: Sequence[Role], storage: Sequence[torch.dtype], reverse: bool
) -> Callable[..., None]:
    """Compile (once per source text; on disk, by inductor's cache) the loop; returns
    ``run(pointers, N, T)``, ``pointers`` being contiguous CPU tensors in the order of
    :func:`sequence_source`'s arguments."""
    source, _ = sequence_source(graph, roles, storage, reverse, "step_loop")
    fn = _COMPILED.get(source)
    if fn is None:
        from torch._inductor.codecache import CppCodeCache

        fn = CppCodeCache.load(source, extra_flags=_FLAGS, needs_vec_isa=True).step_loop
        fn.restype = None
        _COMPILED[source] = fn

    def run(pointers: Sequence[Tensor], n: int, steps: int) -> None:
        if n == 0 or steps == 0:
            return
        threads = torch.get_num_threads() if n >= _PARALLEL_MIN else 1
        fn(
            *(ctypes.c_void_p(p.data_ptr()) for p in pointers),
            ctypes.c_int64(n),
            ctypes.c_int64(steps),
            ctypes.c_int64(threads),
        )

    return run
