"""The name-coverage table of docs/porting.md, generated from SpikingJelly 2.0 and spikegrad.

For each module of ``spikingjelly.activation_based`` that a model imports (neuron, layer,
functional, encoding, surrogate, monitor, base), every public class and function it defines
is listed with whether ``spikegrad.<module>`` has the same name, and a note where the name
is deliberately absent or behaves differently. ``tests/test_porting.py`` fails when the
committed table is not what this prints, so the guide stays true as names are added.

    python tests/porting_table.py           # print the table
    python tests/porting_table.py --write   # rewrite it in docs/porting.md
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import sys
import types
from collections.abc import Iterator
from pathlib import Path

MODULES = ("neuron", "layer", "functional", "encoding", "surrogate", "monitor", "base", "model")
DOC = Path(__file__).resolve().parents[1] / "docs" / "porting.md"
BEGIN, END = "<!-- names-table:begin -->", "<!-- names-table:end -->"

_CUDA_OPS = "SpikingJelly's CUDA kernels for packed spikes and fused spiking linear layers; not provided"
_RESET_CACHE = (
    "SpikingJelly caches the modules `reset_net` visits; spikegrad walks `net.modules()` at each call, so"
    " there is no cache to manage"
)
_STDP = "STDP learning rules (SpikingJelly's `learning` package) are not part of spikegrad"

#: ``"module.name"`` -> a note: why a name is deliberately absent, or how it differs.
NOTES: dict[str, str] = {
    "base.MemoryModule": (
        "memories are not in `state_dict`; SpikingJelly 2.0's functional-state protocol "
        "(`materialize_states`, `*_functional_forward`) is not provided"
    ),
    "base.to_functional_forward": "SpikingJelly 2.0's functional-state protocol is not provided",
    "base.named_memories": (
        "a neuron's memories are `v` and `v_seq` (SpikingJelly: `v`; `v_seq` is a plain attribute there)"
    ),
    "encoding.PoissonEncoder": (
        "spikes where `U < x` (SpikingJelly `U <= x`): the same spikes at the same seed except on a set "
        "of probability 0; refuses values outside [0, 1]"
    ),
    "encoding.WeightedPhaseEncoder": "spikes in the input's dtype (SpikingJelly: float32)",
    "encoding.PopEncoder": "a `MultiStepModule`: `set_step_mode` leaves it and its neurons in `'m'`",
    "encoding.PopSpikeEncoderDeterministic": (
        "a `MultiStepModule`: `set_step_mode` leaves it and its neurons in `'m'`"
    ),
    "encoding.PopSpikeEncoderRandom": "a `MultiStepModule`: `set_step_mode` leaves it in `'m'`",
    "functional.bit_pack_spike_dense": _CUDA_OPS,
    "functional.bit_spike_compress": _CUDA_OPS,
    "functional.bit_spike_decompress": _CUDA_OPS,
    "functional.packed_spike_linear": _CUDA_OPS,
    "functional.sparse_linear": _CUDA_OPS,
    "functional.if_linear": _CUDA_OPS,
    "functional.lif_linear": _CUDA_OPS,
    "functional.collect_reset_modules": _RESET_CACHE,
    "functional.invalidate_reset_cache": _RESET_CACHE,
    "functional.reset_collected_modules": _RESET_CACHE,
    "functional.neuron_implementation": (
        "reports the CUDA kernel SpikingJelly picked; a spikegrad neuron's kernel is its `backend` attribute"
    ),
    "functional.stdp_conv1d_step": _STDP,
    "functional.stdp_conv2d_step": _STDP,
    "functional.stdp_linear_step": _STDP,
    "functional.mstdp_linear_step": _STDP,
    "functional.mstdpet_linear_step": _STDP,
    "functional.mstdpet_reward_step": _STDP,
    "functional.first_spike_index": "graded (count or signed) spikes count wherever they are non-zero",
    "functional.if_multi_step": (
        "fused kernels for spikegrad surrogates; `backend=` chooses; no "
        "`neuron_storage`/`neuron_fwd`/`neuron_bwd`"
    ),
    "functional.lif_multi_step": (
        "fused kernels for spikegrad surrogates; `backend=` chooses; no "
        "`neuron_storage`/`neuron_fwd`/`neuron_bwd`"
    ),
    "functional.plif_multi_step": (
        "fused kernels for spikegrad surrogates; `backend=` chooses; no "
        "`neuron_storage`/`neuron_fwd`/`neuron_bwd`"
    ),
    "functional.kernel_dot_product": (
        "an unknown kernel is a `ValueError` (SpikingJelly: `NotImplementedError`); the gaussian kernel "
        "takes `x` and `y` of different row counts"
    ),
    "functional.spike_similar_loss": (
        "an unknown loss is a `ValueError` (SpikingJelly: `NotImplementedError`)"
    ),
    "functional.reset_net": (
        "resets `MemoryModule`s only (SpikingJelly also calls `reset()` of any other module that has one,"
        " with a warning)"
    ),
    "functional.detach_net": (
        "detaches `MemoryModule`s only (SpikingJelly also calls `detach()` of any other module that has "
        "one, with a warning)"
    ),
    "functional.set_step_mode": (
        "a module fixed to the other mode is left as it is; a plain `step_mode` attribute is set with a "
        "warning (both as in SpikingJelly)"
    ),
    "functional.set_threshold_margin": (
        "training mode needs a neuron whose threshold takes a tensor; spikegrad's neurons take a number "
        "(a clear `TypeError`)"
    ),
    "functional.t_last_seq_to_ann_forward": (
        "merges time into the batch instead of `torch.vmap` (same result for per-sample layers; batch "
        "norm works)"
    ),
    "monitor.GPUMonitor": "an `nvidia-smi` logger, not about networks: not provided",
    "surrogate.SurrogateFunctionBase": (
        "a subclass becomes a registered spikegrad surrogate (fused kernels, `peak`/`area`); g' is "
        "autograd's derivative of its primitive, else of its spiking function"
    ),
    "surrogate.check_manual_grad": (
        "spikegrad's surrogates derive g' once per definition and are tested against autograd; not provided"
    ),
    "surrogate.plot_surrogate_function": (
        "use `surrogate.plot(sg)` (returns a matplotlib figure) or `spikegrad plot NAME`"
    ),
    "surrogate.heaviside": "H(0) = 1, output in the input's dtype",
}


@contextlib.contextmanager
def _tensorboard_stand_in() -> Iterator[None]:
    """SpikingJelly's monitor imports TensorBoard for its GPU logger; the table does not need it."""
    key = "torch.utils.tensorboard"
    try:
        importlib.import_module(key)
    except ImportError:
        sys.modules[key] = types.SimpleNamespace(SummaryWriter=None)  # type: ignore[assignment]
        try:
            yield
        finally:
            del sys.modules[key]
    else:
        yield


def spikingjelly_names(module: str) -> list[str]:
    """Public classes and functions that ``spikingjelly.activation_based.<module>`` defines."""
    with _tensorboard_stand_in():
        sj = importlib.import_module(f"spikingjelly.activation_based.{module}")
    names = []
    for name in dir(sj):
        value = getattr(sj, name)
        defined_here = getattr(value, "__module__", "") or ""
        if (
            not name.startswith("_")
            and (inspect.isclass(value) or inspect.isfunction(value))
            and defined_here.startswith(sj.__name__)
        ):
            names.append(name)
    return sorted(names, key=str.lower)


def coverage() -> dict[str, list[tuple[str, bool]]]:
    """For each module: ``(name, spikegrad has it)`` for every SpikingJelly name."""
    result = {}
    for module in MODULES:
        ours = importlib.import_module(f"spikegrad.{module}")
        result[module] = [(name, hasattr(ours, name)) for name in spikingjelly_names(module)]
    return result


def render() -> str:
    """The markdown between the markers in docs/porting.md."""
    table = coverage()
    lines = ["| module | SpikingJelly 2.0 names | in spikegrad |", "| --- | ---: | ---: |"]
    total = present = 0
    for module, rows in table.items():
        have = sum(ok for _, ok in rows)
        total, present = total + len(rows), present + have
        lines.append(f"| `{module}` | {len(rows)} | {have} |")
    lines.append(f"| **all** | **{total}** | **{present}** |")
    for module, rows in table.items():
        lines += ["", f"### `{module}`", "", "| name | spikegrad | note |", "| --- | :---: | --- |"]
        for name, ok in rows:
            lines.append(f"| `{name}` | {'yes' if ok else '—'} | {NOTES.get(f'{module}.{name}', '')} |")
    return "\n".join(lines) + "\n"


def committed() -> str:
    """The table as it stands in docs/porting.md."""
    text = DOC.read_text()
    start, end = text.index(BEGIN) + len(BEGIN) + 1, text.index(END)
    return text[start:end]


def write() -> None:
    text = DOC.read_text()
    start, end = text.index(BEGIN) + len(BEGIN) + 1, text.index(END)
    DOC.write_text(text[:start] + render() + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the table in docs/porting.md")
    if parser.parse_args().write:
        write()
    else:
        print(render(), end="")


if __name__ == "__main__":
    main()
