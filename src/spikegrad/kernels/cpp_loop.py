"""CPU kernels: a :class:`~.trace.LoopProgram` as one C++ function that loops over time.

The function walks the flattened neurons in blocks of :data:`BLOCK` (blocks in parallel
over threads). For each block it keeps the state (``v``, the backward's carried gradient,
parameter-gradient sums) in local arrays and loops over the T steps; each step is one
``#pragma omp simd`` loop over the block's neurons that loads the step's inputs, runs the
step graph as scalar C++ expressions and stores its outputs. Values that do not change with
time (``1 / tau``, the surrogate's constants) are computed once, before any loop.

Arithmetic follows eager torch: float32 in float32 (no float64 constants creep in), no
contraction into FMA (``-ffp-contract=off``), and float16/bfloat16 values are computed in
float32 and rounded to their type after every op, as torch's CPU kernels do.

The source is compiled by the system's C++ compiler (``$CXX``, else ``c++``/``g++``/``clang++``)
into a shared library cached on disk by a hash of the source, the flags and the compiler
(:func:`cache_dir`), and called through ``ctypes``: no torch headers, no private torch API.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import math
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, fx

from .loopgen import GraphWalk, Untranslatable, op_name, promote, value_of
from .trace import LoopProgram

__all__ = ["BLOCK", "CompilerMissing", "cache_dir", "compiler", "kernel", "source", "supported"]

#: Neurons per block: a block's state stays in local arrays across the loop over time.
BLOCK = 4096
#: Below this many neurons a second thread costs more than it saves.
PARALLEL_MIN = 16384

_C_TYPE = {
    torch.float32: "float",
    torch.float64: "double",
    torch.float16: "_Float16",
    torch.bfloat16: "uint16_t",
    torch.bool: "bool",
    torch.int64: "int64_t",
    torch.int32: "int32_t",
    torch.uint8: "uint8_t",
}
_HALF = (torch.float16, torch.bfloat16)

_UNARY: dict[str, str] = {
    "exp": "std::exp({0})",
    "exp2": "std::exp2({0})",
    "log": "std::log({0})",
    "log2": "std::log2({0})",
    "log10": "std::log10({0})",
    "sqrt": "std::sqrt({0})",
    "rsqrt": "({t}(1) / std::sqrt({0}))",
    "abs": "std::abs({0})",
    "sigmoid": "({t}(1) / ({t}(1) + std::exp(-{0})))",
    "sin": "std::sin({0})",
    "cos": "std::cos({0})",
    "tan": "std::tan({0})",
    "erf": "std::erf({0})",
    "floor": "std::floor({0})",
    "ceil": "std::ceil({0})",
    "trunc": "std::trunc({0})",
    "neg": "(-{0})",
    "atan": "std::atan({0})",
    "tanh": "std::tanh({0})",
    "sinh": "std::sinh({0})",
    "cosh": "std::cosh({0})",
    "asin": "std::asin({0})",
    "acos": "std::acos({0})",
    "asinh": "std::asinh({0})",
    "acosh": "std::acosh({0})",
    "atanh": "std::atanh({0})",
    "log1p": "std::log1p({0})",
    "expm1": "std::expm1({0})",
    "erfc": "std::erfc({0})",
    "round": "std::nearbyint({0})",
    "reciprocal": "({t}(1) / {0})",
    "relu": "({0} < {t}(0) ? {t}(0) : {0})",
    "sign": "({t}(({0} > 0) - ({0} < 0)))",
    "sgn": "({t}(({0} > 0) - ({0} < 0)))",
    "square": "({0} * {0})",
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
    "bitwise_xor": "({0} ^ {1})",
    "logical_and": "({0} && {1})",
    "logical_or": "({0} || {1})",
    "logical_xor": "({0} != {1})",
    "pow": "std::pow({0}, {1})",
    "atan2": "std::atan2({0}, {1})",
    "fmod": "std::fmod({0}, {1})",
    "copysign": "std::copysign({0}, {1})",
}
_COMPARE = {"eq", "ne", "ge", "gt", "le", "lt"}
_LOGICAL = {"bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or", "logical_xor"}

_PRELUDE = """#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
static inline float sg_bf16_load(uint16_t u) {
    uint32_t w = static_cast<uint32_t>(u) << 16; float f; std::memcpy(&f, &w, 4); return f;
}
static inline uint16_t sg_bf16_store(float f) {
    uint32_t w; std::memcpy(&w, &f, 4);
    if ((w & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((w >> 16) | 0x40u);
    w += 0x7fffu + ((w >> 16) & 1u);
    return static_cast<uint16_t>(w >> 16);
}
static inline float sg_bf16_round(float f) { return sg_bf16_load(sg_bf16_store(f)); }
static inline float sg_f16_round(float f) { return static_cast<float>(static_cast<_Float16>(f)); }
"""


def supported(dtype: torch.dtype) -> bool:
    """Whether the CPU loops handle tensors of ``dtype``."""
    return dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _compute(dtype: torch.dtype) -> torch.dtype:
    """The type a value is computed in: half types in float32, as torch's CPU kernels do."""
    return torch.float32 if dtype in _HALF else dtype


def _ctype(dtype: torch.dtype) -> str:
    if dtype not in _C_TYPE:
        raise Untranslatable(f"dtype {dtype}")
    return _C_TYPE[dtype]


def _round(dtype: torch.dtype, expr: str) -> str:
    if dtype == torch.float16:
        return f"sg_f16_round({expr})"
    if dtype == torch.bfloat16:
        return f"sg_bf16_round({expr})"
    return expr


def _load(dtype: torch.dtype, expr: str) -> str:
    """A stored value of ``dtype`` as the value it is computed with."""
    if dtype == torch.bfloat16:
        return f"sg_bf16_load({expr})"
    if dtype == torch.float16:
        return f"static_cast<float>({expr})"
    return expr


def _store(dtype: torch.dtype, expr: str) -> str:
    if dtype == torch.bfloat16:
        return f"sg_bf16_store(static_cast<float>({expr}))"
    return f"static_cast<{_ctype(dtype)}>({expr})"


class _Translator(GraphWalk):
    """The step graph as C++ statements on scalars, one per node, for one neuron."""

    def arg(self, a: Any, dtype: torch.dtype | None) -> str:
        """``a`` as an expression converted to ``dtype``'s compute type (as it is for ``None``)."""
        if isinstance(a, fx.Node):
            name = self.names[a]
            if dtype is None:
                return name
            val = value_of(a)
            target = _ctype(_compute(dtype))
            if isinstance(val, Tensor) and val.dtype == torch.bool and dtype != torch.bool:
                # A select, not a cast: compilers do not vectorise bool -> float conversions.
                return f"({name} ? {target}(1) : {target}(0))"
            return f"static_cast<{target}>({name})"
        if isinstance(a, bool):
            return "true" if a else "false"
        if isinstance(a, int | float):
            ctype = (
                _ctype(_compute(dtype))
                if dtype is not None
                else ("double" if isinstance(a, float) else "int64_t")
            )
            if isinstance(a, float) and not math.isfinite(a):
                special = "quiet_NaN()" if math.isnan(a) else "infinity()"
                return f"({'-' if a < 0 else ''}std::numeric_limits<{ctype}>::{special})"
            return f"static_cast<{ctype}>({a!r})"
        raise Untranslatable(f"argument {a!r}")

    def emit(self, node: fx.Node, name: str) -> str:
        op = op_name(node)
        out = value_of(node)
        if not isinstance(out, Tensor):
            raise Untranslatable(f"{op} gives {type(out).__name__}")
        dtype = out.dtype
        t = _ctype(_compute(dtype))
        args: Any = node.args
        kwargs = node.kwargs
        if op in ("_to_copy", "to", "convert_element_type", "_conj"):
            expr = self.arg(args[0], dtype)
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
            fills = {"ones_like": 1, "zeros_like": 0, "empty_like": 0, "ones": 1, "zeros": 0}
            fill = fills.get(op, args[1] if op in ("full_like", "full") else args[0])
            if not isinstance(fill, int | float):
                raise Untranslatable(f"{op} of a non-constant")
            expr = self.arg(fill, dtype)
        elif op == "tanh_backward":
            grad, y = self.arg(args[0], dtype), self.arg(args[1], dtype)
            expr = f"({grad} * ({t}(1) - {y} * {y}))"
        elif op == "sigmoid_backward":
            grad, y = self.arg(args[0], dtype), self.arg(args[1], dtype)
            expr = f"({grad} * (({t}(1) - {y}) * {y}))"
        elif op == "remainder":
            a, b = self.arg(args[0], dtype), self.arg(args[1], dtype)
            expr = f"({a} - std::floor({a} / {b}) * {b})"
        elif op == "where":
            cond = self.arg(args[0], None)
            expr = f"({cond} ? {self.arg(args[1], dtype)} : {self.arg(args[2], dtype)})"
        elif op == "masked_fill":
            mask = self.arg(args[1], None)
            expr = f"({mask} ? {self.arg(args[2], dtype)} : {self.arg(args[0], dtype)})"
        elif op in ("clamp", "clamp_min", "clamp_max"):
            expr = self.arg(args[0], dtype)
            low = args[1] if op != "clamp_max" and len(args) > 1 else None
            high = args[2] if op == "clamp" and len(args) > 2 else (args[1] if op == "clamp_max" else None)
            low = kwargs.get("min", low)
            high = kwargs.get("max", high)
            # NaN stays NaN, as in torch: a comparison with NaN is false.
            if low is not None:
                lo = self.arg(low, dtype)
                expr = f"({expr} < {lo} ? {lo} : {expr})"
            if high is not None:
                hi = self.arg(high, dtype)
                expr = f"({expr} > {hi} ? {hi} : {expr})"
        elif op == "rsub":
            if kwargs.get("alpha", 1) != 1:
                raise Untranslatable("rsub with alpha")
            expr = f"({self.arg(args[1], dtype)} - {self.arg(args[0], dtype)})"
        elif op in ("add", "sub") and kwargs.get("alpha", 1) != 1:
            alpha = self.arg(kwargs["alpha"], dtype)
            sign = "+" if op == "add" else "-"
            expr = f"({self.arg(args[0], dtype)} {sign} {alpha} * {self.arg(args[1], dtype)})"
        elif op in ("bitwise_not", "logical_not"):
            expr = f"(!{self.arg(args[0], None)})"
        elif op == "pow" and len(args) == 2 and not isinstance(args[1], fx.Node) and args[1] in (2, 3, 4):
            x = self.arg(args[0], dtype)
            expr = "(" + " * ".join([x] * int(args[1])) + ")"
        elif op in _UNARY and len(args) == 1:
            expr = _UNARY[op].format(self.arg(args[0], dtype), t=t)
        elif op in _BINARY and len(args) == 2:
            if op in _COMPARE:
                c: torch.dtype | None = promote(args)
            elif op in _LOGICAL:
                c = None
            else:
                c = dtype
            expr = _BINARY[op].format(self.arg(args[0], c), self.arg(args[1], c))
        else:
            raise Untranslatable(f"aten op {node.target}")
        if dtype in _HALF:
            expr = _round(dtype, expr)
        return f"const {t} {name} = {expr};"


def source(program: LoopProgram, name: str = "step_loop") -> str:
    """C++ source of ``program``'s loop over time.

    Arguments, in order: one per input slot (a pointer, or a ``double`` for a scalar), one
    per output slot (a pointer), then ``N``, ``T`` and the number of threads.
    """
    tr = _Translator(program)
    tr.translate()
    params: list[str] = []
    block_pre: list[str] = []  # per block, before the loop over time
    loads: list[str] = []  # per step and neuron
    finals: list[str] = []  # per block, after the loop over time
    state_array: dict[str, tuple[str, torch.dtype]] = {}
    for i, (node, slot) in enumerate(zip(tr.placeholders, program.inputs, strict=True)):
        var = tr.names[node]
        if slot.kind == "scalar":
            params.append(f"double {var}")
            continue
        ctype = _ctype(slot.dtype)
        ptr = f"in{i}"
        params.append(f"const {ctype}* __restrict__ {ptr}")
        compute = _ctype(_compute(slot.dtype))
        if slot.kind == "step":
            loads.append(f"const {compute} {var} = {_load(slot.dtype, f'{ptr}[row + j]')};")
        elif slot.kind == "neuron":
            loads.append(f"const {compute} {var} = {_load(slot.dtype, f'{ptr}[j]')};")
        elif slot.kind == "broadcast":
            tr.lines["uniform"].insert(0, f"const {compute} {var} = {_load(slot.dtype, f'{ptr}[0]')};")
        elif slot.kind == "state":
            array = f"s{i}"
            state_array[slot.name] = (array, slot.dtype)
            block_pre.append(f"{compute} {array}[{BLOCK}];")
            block_pre.append(
                f"for (int64_t jj = 0; jj < nb; ++jj) {array}[jj] = {_load(slot.dtype, f'{ptr}[j0 + jj]')};"
            )
            loads.append(f"const {compute} {var} = {array}[jj];")
        else:
            raise Untranslatable(f"input slot kind {slot.kind}")
    stores: list[str] = []
    updates: list[str] = []
    for k, (value, slot) in enumerate(zip(program.output_nodes(), program.outputs, strict=True)):
        ptr = f"out{k}"
        params.append(f"{_ctype(slot.dtype)}* __restrict__ {ptr}")
        expr = tr.arg(value, slot.dtype)
        compute = _ctype(_compute(slot.dtype))
        if slot.kind == "step":
            stores.append(f"{ptr}[row + j] = {_store(slot.dtype, expr)};")
        elif slot.kind == "state":
            array, dtype = state_array[slot.name]
            # Rounded to the storage type every step, as the reference loop stores it.
            updates.append(f"{array}[jj] = {_load(dtype, _store(dtype, expr))};")
            finals.append(
                f"for (int64_t jj = 0; jj < nb; ++jj) {ptr}[j0 + jj] = {_store(dtype, f'{array}[jj]')};"
            )
        elif slot.kind == "accumulate":
            array = f"acc{k}"
            block_pre.append(f"{compute} {array}[{BLOCK}];")
            block_pre.append(f"for (int64_t jj = 0; jj < nb; ++jj) {array}[jj] = 0;")
            updates.append(f"{array}[jj] = {array}[jj] + {expr};")
            finals.append(
                f"for (int64_t jj = 0; jj < nb; ++jj) {ptr}[j0 + jj] = {_store(slot.dtype, f'{array}[jj]')};"
            )
        else:
            raise Untranslatable(f"output slot kind {slot.kind}")
    step = "T - 1 - i" if program.reverse else "i"
    inner = [*loads, *tr.lines["neuron"], *tr.lines["step"], *stores, *updates]
    lines = [
        _PRELUDE,
        f'extern "C" void {name}({", ".join([*params, "int64_t N", "int64_t T", "int64_t threads"])}) {{',
        *(f"    {line}" for line in tr.lines["uniform"]),
        f"    const int64_t blocks = (N + {BLOCK} - 1) / {BLOCK};",
        "    #pragma omp parallel for num_threads(threads) if(threads > 1)",
        "    for (int64_t b = 0; b < blocks; ++b) {",
        f"        const int64_t j0 = b * {BLOCK};",
        f"        const int64_t nb = N - j0 < {BLOCK} ? N - j0 : {BLOCK};",
        *(f"        {line}" for line in block_pre),
        "        for (int64_t i = 0; i < T; ++i) {",
        f"            const int64_t t = {step};",
        "            const int64_t row = t * N;",
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
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- compiling


class CompilerMissing(RuntimeError):
    """No working C++ compiler: the fused CPU kernels cannot be built."""


_FLAGS = (
    "-O3",
    "-std=c++17",
    "-shared",
    "-fPIC",
    "-fopenmp",
    "-march=native",
    # torch's eager kernels neither contract a * b + c into one rounding nor set errno
    "-ffp-contract=off",
    "-fno-math-errno",
    "-fno-trapping-math",
)


@functools.cache
def compiler() -> tuple[str, str]:
    """The C++ compiler and its version line (``$CXX``, else the first of c++, g++, clang++).

    Raises:
        CompilerMissing: none is found, or it cannot compile a trivial library.
    """
    candidates = [os.environ["CXX"]] if os.environ.get("CXX") else ["c++", "g++", "clang++"]
    for candidate in candidates:
        path = shutil.which(candidate)
        if path is None:
            continue
        try:
            version = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            continue
        return path, version
    raise CompilerMissing(
        "no C++ compiler found (looked for " + ", ".join(candidates) + "); the fused CPU kernels "
        "are compiled on first use. Install one (Debian/Ubuntu: apt install g++; macOS: "
        "xcode-select --install; Windows: use WSL), or set CXX, or use backend='reference'"
    )


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$SPIKEGRAD_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/spikegrad`` (default ``~/.cache/spikegrad``), in a folder per machine
    type so a shared home directory never mixes instruction sets."""
    root = os.environ.get("SPIKEGRAD_CACHE_DIR")
    if root is None:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "spikegrad")
    return Path(root) / f"cpu-{platform.machine()}-{_cpu_signature()}"


@functools.cache
def _cpu_signature() -> str:
    """A short hash of the CPU's feature flags (``-march=native`` depends on them)."""
    flags = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags = line
                    break
    except OSError:
        pass
    return hashlib.sha256(flags.encode()).hexdigest()[:10]


_LOADED: dict[str, ctypes.CDLL] = {}
_LOCK = threading.Lock()


def _library(code: str) -> ctypes.CDLL:
    path, version = compiler()
    digest = hashlib.sha256("\n".join([code, " ".join(_FLAGS), version]).encode()).hexdigest()[:24]
    with _LOCK:
        lib = _LOADED.get(digest)
        if lib is not None:
            return lib
        folder = cache_dir()
        so = folder / f"k{digest}.so"
        if not so.exists():
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                src = Path(tmp) / "kernel.cpp"
                src.write_text(code)
                out = Path(tmp) / "kernel.so"
                command = [path, *_FLAGS, str(src), "-o", str(out)]
                result = subprocess.run(command, capture_output=True, text=True)
                if result.returncode != 0 and not result.stderr.strip():
                    # Killed without a word (a signal, a full machine): once more.
                    result = subprocess.run(command, capture_output=True, text=True)
                if result.returncode != 0:
                    raise RuntimeError(
                        f"compiling a fused kernel with {path} failed (exit code {result.returncode}):\n"
                        f"{(result.stderr or result.stdout).strip()[-4000:]}"
                    )
                os.replace(out, so)  # atomic: a concurrent process sees all of it or nothing
        lib = ctypes.CDLL(str(so))
        _LOADED[digest] = lib
        return lib


Kernel = Callable[[Sequence[Any], int, int], None]


def kernel(program: LoopProgram) -> Kernel:
    """Compile ``program`` (once per source text; on disk across processes) and return
    ``run(arguments, N, T)``: ``arguments`` follow :func:`source`'s order, tensors
    (contiguous, on the CPU) for pointers and Python numbers for scalars."""
    code = source(program)
    fn = _library(code).step_loop
    fn.restype = None
    kinds = [slot.kind for slot in program.inputs] + ["out"] * len(program.outputs)
    fn.argtypes = [ctypes.c_double if k == "scalar" else ctypes.c_void_p for k in kinds] + [
        ctypes.c_int64
    ] * 3

    scalars = frozenset(i for i, k in enumerate(kinds) if k == "scalar")

    def run(arguments: Sequence[Any], n: int, steps: int) -> None:
        if n == 0 or steps == 0:
            return
        threads = torch.get_num_threads() if n >= PARALLEL_MIN else 1
        fn(*[a if i in scalars else a.data_ptr() for i, a in enumerate(arguments)], n, steps, threads)

    return run
