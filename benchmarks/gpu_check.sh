#!/usr/bin/env bash
# One prepared check on a machine with an NVIDIA GPU. Run from anywhere in the repository copy;
# no internet needed.
#   1. versions (torch, CUDA, triton) and nvidia-smi -L;
#   2. wheels from .whl/*.whl, if that folder exists (SpikingJelly, snnTorch, loguru; pytest and
#      hypothesis when the machine lacks pytest), installed into a scratch folder on PYTHONPATH,
#      never into the system's site-packages;
#   3. the GPU tests: pytest -m gpu tests (fused == reference on CUDA in every dtype, a training
#      step under torch.cuda.set_sync_debug_mode("error"), a whole step captured in a CUDA graph);
#   4. the benchmark on cuda, all in one process (the CUDA caching allocator is per process
#      anyway): surrogate alone (2^22, 2^24); LIF T=32 at 64x1024 (the overhead case, against
#      SpikingJelly's CUDA kernel) and T=128 at 128x4096 (the bandwidth case, GB/s against the
#      copy floor), in float32, float16 and bfloat16 -> $OUT/gpu_bench.md;
#   5. the first-call (compile) cost of the fused path on cuda, cold and warm cache.
# Every step has a time limit and the whole script stays within BUDGET_S (default 450 s).
# Output: $OUT/gpu_check.log (everything), one log per step, $OUT/gpu_bench.md.
set -u
cd "$(dirname "$0")/.."

OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
BUDGET_S="${BUDGET_S:-450}"
PY="${PYTHON:-$(command -v python || command -v python3)}"
deadline=$((SECONDS + BUDGET_S))

# The time limit of the next step: $1 seconds, or what is left of the budget if that is less.
limit() {
    local left=$((deadline - SECONDS - 5))
    ((left < 0)) && left=0
    if (($1 < left)); then echo "$1"; else echo "$left"; fi
}

# step NAME MAX_SECONDS LOGFILE COMMAND...: run COMMAND with a time limit, log it, show its tail.
step() {
    local name=$1 max=$2 log=$3
    shift 3
    local t start rc
    t=$(limit "$max")
    if ((t < 20)); then
        echo "== $name: SKIPPED (device-time budget spent)"
        return 0
    fi
    echo "== $name (limit ${t} s): $*"
    start=$SECONDS
    timeout --signal=INT --kill-after=10 "$t" "$@" >"$OUT/$log" 2>&1
    rc=$?
    tail -n 40 "$OUT/$log"
    echo "== $name: exit $rc after $((SECONDS - start)) s (log: $log)"
}

install_wheels() {
    local scratch have_pytest wheel
    scratch=$(mktemp -d /tmp/spikegrad-wheels.XXXXXX)
    echo "== installing .whl/*.whl into $scratch (one at a time: a wheel for another Python is skipped)"
    have_pytest=0
    "$PY" -c 'import pytest' 2>/dev/null && have_pytest=1
    for wheel in .whl/*.whl; do
        case "$(basename "$wheel")" in
            spikingjelly-* | snntorch-* | loguru-* | tqdm-* | numpy-*) ;;
            *) ((have_pytest)) && continue ;; # keep the machine's own test tools
        esac
        timeout 60 "$PY" -m pip install -q --no-index --no-deps --target "$scratch" "$wheel" \
            || echo "   could not install $(basename "$wheel")"
    done
    export PYTHONPATH="$PYTHONPATH:$scratch"
}

main() {
    echo "== versions"
    "$PY" -c 'import torch, triton; print("torch", torch.__version__, "cuda", torch.version.cuda,
        "triton", triton.__version__, "|", torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")' \
        2>/dev/null \
        || "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "NO triton")' \
        || echo "torch is not importable"
    if command -v nvidia-smi >/dev/null; then nvidia-smi -L; else echo "nvidia-smi not found"; fi

    export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
    if compgen -G ".whl/*.whl" >/dev/null; then
        install_wheels
    else
        echo "== no .whl folder: SpikingJelly and snnTorch will be skipped (and the tests, without pytest)"
    fi
    "$PY" - <<'EOF'
import importlib
for name in ("spikegrad", "spikingjelly", "snntorch", "pytest", "hypothesis", "numpy"):
    try:
        module = importlib.import_module(name)
        print(f"{name:13s}", getattr(module, "__version__", "installed"))
    except Exception as exc:  # report and go on: the later steps skip what is missing
        print(f"{name:13s} MISSING ({type(exc).__name__}: {exc})")
EOF

    if ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
        echo "== torch sees no CUDA device: GPU tests and benchmark SKIPPED"
        return 0
    fi
    if "$PY" -c 'import pytest' 2>/dev/null; then
        step "GPU tests" 150 pytest_gpu.log \
            "$PY" -m pytest -q -m gpu tests -p no:cacheprovider --continue-on-collection-errors --durations=10
    else
        echo "== GPU tests: SKIPPED (pytest is not installed; put its wheels in .whl/)"
    fi
    # SpikingJelly 2.0 has no backend= argument: this variable (auto|cuda|triton|torch) picks its
    # CUDA implementation. Ask for Triton (its native CUDA extension is not in the wheel anyway).
    export SJ_LIF_CUDA_IMPLEMENTATION=triton
    step "benchmark on cuda" 200 bench_cuda.log \
        "$PY" benchmarks/run_all.py --device cuda --cases surrogate lif --steps 32 --numel-log2 22 24 \
        --dtypes float32 float16 bfloat16 --threads 1 --rounds 5 --isolation none --no-compiled-peer \
        --markdown "$OUT/gpu_bench.md"
    step "first-call cost on cuda" 90 compile_cuda.log \
        "$PY" -c 'from spikegrad.benchmarks import first_call_cost as f
for r in f(32, (64, 1024), 1, "cuda", timeout=40): print(r)'
    if [ -f "$OUT/gpu_bench.md" ] && grep -q FirstCall "$OUT/compile_cuda.log" 2>/dev/null; then
        {
            printf '\nFirst call of the fused LIF on cuda (T=32, 64x1024), in fresh processes:\n\n```\n'
            grep FirstCall "$OUT/compile_cuda.log"
            printf '```\n'
        } >>"$OUT/gpu_bench.md"
    fi
}

main 2>&1 | tee "$OUT/gpu_check.log"
echo "== done in ${SECONDS} s; files in $OUT:" | tee -a "$OUT/gpu_check.log"
ls -l "$OUT"
