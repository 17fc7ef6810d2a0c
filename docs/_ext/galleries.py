"""Sphinx extension: the surrogate and neuron galleries, drawn from the library at build time.

On ``builder-inited`` it writes ``generated/surrogates.md`` and ``generated/neurons.md`` with
their figures (``generated/img``). Both enumerate what the library has when the docs are
built: every built-in surrogate of :func:`spikegrad.surrogate.builtins` and every neuron
class exported by :mod:`spikegrad.neuron`, so a new shape or neuron appears without editing
the docs. A neuron that cannot be built at its defaults fails the build with a message that
says where to give it arguments (:data:`NEURON_ARGUMENTS`).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch

#: Constructor arguments of neurons that have required ones (the others draw at their defaults).
NEURON_ARGUMENTS: dict[str, dict[str, Any]] = {
    "LIAFNode": {"act": torch.tanh, "threshold_related": False},
    "SimpleLIFNode": {"tau": 2.0, "decay_input": True},
}

#: Time steps of the neuron gallery's input current, and the current's largest value.
STEPS = 80
PEAK = 1.6


def surrogate_page(out: Path) -> str:
    from spikegrad import surrogate
    from spikegrad.plot import plot_gallery
    from spikegrad.surrogate.table import catalogue_rows

    classes = surrogate.builtins()
    paths = plot_gallery(out / "img" / "surrogates", classes)
    rows = {row.name: row for row in catalogue_rows(classes)}
    lines = [
        "# Surrogate gallery",
        "",
        f"Every built-in surrogate ({len(classes)}), drawn at its defaults when these pages were built",
        "(`spikegrad.plot.plot_surrogate`): the spike the neuron emits (dashed), the smooth",
        "primitive `g` returned when `spiking=False`, and the surrogate gradient `g'` that the",
        "backward pass uses. `spikegrad plot NAME` draws the same figure from the shell.",
        "",
    ]
    for cls, path in zip(classes, paths, strict=True):
        row = rows[cls.__name__]
        summary = inspect.getdoc(cls).splitlines()[0] if inspect.getdoc(cls) else ""
        lines += [
            f"## {cls.__name__}",
            "",
            summary,
            "",
            f"Function `{row.function}`; parameters {row.params}; peak {row.peak}, area {row.area}; "
            f"from {row.origin}.",
            "",
            f"![{cls.__name__}](img/surrogates/{path.name})",
            "",
        ]
    return "\n".join(lines)


def neuron_classes() -> list[type]:
    from spikegrad import neuron

    found = []
    for name in sorted(getattr(neuron, "__all__", dir(neuron))):
        value = getattr(neuron, name)
        if inspect.isclass(value) and issubclass(value, neuron.BaseNode) and value is not neuron.BaseNode:
            found.append(value)
    return found


def input_current() -> torch.Tensor:
    """A ramp from 0 to PEAK: each neuron starts firing at its own threshold current and
    fires faster as the current grows. [STEPS, 1]."""
    return torch.linspace(0.0, PEAK, STEPS).unsqueeze(1)


def build_neuron(cls: type) -> Any:
    """The neuron the gallery draws (reference loop, so nothing compiles), or ``None`` for a base
    class (one that other neuron classes extend and that refuses to be built on its own)."""
    names = inspect.signature(cls).parameters
    arguments: dict[str, Any] = {"backend": "reference"} if "backend" in names else {}
    arguments.update(NEURON_ARGUMENTS.get(cls.__name__, {}))
    try:
        return cls(**arguments).eval()  # inference: OTTT's neuron adds its trace in training only
    except TypeError as exc:
        if any(issubclass(other, cls) and other is not cls for other in neuron_classes()):
            return None
        raise RuntimeError(
            f"the neuron gallery cannot build {cls.__name__} at its defaults ({exc}); give it arguments "
            "in NEURON_ARGUMENTS of docs/_ext/galleries.py"
        ) from exc


def run_neuron(node: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The outputs ``[STEPS]`` and, where the neuron steps one at a time, its potential after each
    step (``None`` for a neuron that only runs whole sequences)."""
    with torch.no_grad():
        if "s" not in node.supported_step_mode():
            node.step_mode = "m"
            return node(x)[:, 0], None
        node.step_mode = "s"
        outputs, potentials = [], []
        for x_t in x:
            outputs.append(node(x_t)[0])
            potentials.append(torch.as_tensor(node.v).flatten()[0])
        return torch.stack(outputs), torch.stack(potentials)


def draw_neuron(cls: type, path: Path) -> str | None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    node = build_neuron(cls)
    if node is None:
        return None
    title = repr(node).splitlines()[0].rstrip("(")
    x = input_current()
    out, v = run_neuron(node, x)
    steps = torch.arange(STEPS)
    fig = Figure(figsize=(7.0, 3.6))
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    fired = out != 0
    threshold = getattr(node, "v_threshold", None)
    if v is None:  # a non-spiking neuron: its output is its (decoded) potential
        top.plot(steps, out, color="C0", label="output")
        top.set_ylabel("output")
        count = f"{STEPS} steps of analog output"
    else:
        top.plot(steps, v, color="C0", label="membrane potential v (after reset)")
        top.set_ylabel("v")
        marker_y = torch.full((int(fired.sum()),), float(threshold if threshold is not None else v.max()))
        top.plot(steps[fired], marker_y, "v", color="C3", label="output (a spike)")
        count = f"output on {int(fired.sum())} of {STEPS} steps"
    if isinstance(threshold, int | float):
        top.axhline(float(threshold), color="C3", linestyle="--", linewidth=1, label="v_threshold")
    top.legend(loc="upper left", fontsize="small")
    top.set_title(title)
    bottom.step(steps, x[:, 0], where="mid", color="0.4")
    bottom.set_ylabel("input x")
    bottom.set_xlabel("time step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return count


def neuron_page(out: Path) -> str:
    from spikegrad.neuron import BaseNode

    folder = out / "img" / "neurons"
    folder.mkdir(parents=True, exist_ok=True)
    classes = neuron_classes()
    sections: list[str] = []
    bases: list[str] = []
    for cls in classes:
        path = folder / f"{cls.__name__}.png"
        count = draw_neuron(cls, path)
        if count is None:
            bases.append(cls.__name__)
            continue
        summary = inspect.getdoc(cls).splitlines()[0] if inspect.getdoc(cls) else ""
        common = {p.name for p in BaseNode.params}
        extra = [p.name for p in getattr(cls, "params", ()) if p.name not in common]
        arguments = NEURON_ARGUMENTS.get(cls.__name__)
        drawn = (
            "its defaults" if not arguments else ", ".join(f"`{k}={_show(v)}`" for k, v in arguments.items())
        )
        sections += [
            f"## {cls.__name__}",
            "",
            summary,
            "",
            f"Own parameters: {', '.join(f'`{n}`' for n in extra) or 'none'} (and the common ones of "
            f"`BaseNode`); from {cls.origin}. Drawn at {drawn}: {count}.",
            "",
            f"![{cls.__name__}](img/neurons/{path.name})",
            "",
        ]
    lines = [
        "# Neuron gallery",
        "",
        f"Every neuron class of `spikegrad.neuron` ({len(classes) - len(bases)}), driven by the same",
        f"input: a current that ramps from 0 to {PEAK} over {STEPS} steps, so each neuron starts firing",
        "at its own threshold current and fires faster as the current grows. The traces are drawn",
        "when these pages are built, so a new neuron appears here as soon as `spikegrad.neuron`",
        "exports it. Each neuron runs one step at a time on the reference loop, and the potential",
        "drawn is the one after each step's reset.",
        "",
    ]
    if bases:
        names = ", ".join(f"`{name}`" for name in bases)
        lines += [f"Bases for neurons of your own, with no dynamics to draw: {names}.", ""]
    return "\n".join(lines + sections)


def _show(value: Any) -> str:
    return f"torch.{value.__name__}" if callable(value) and hasattr(value, "__name__") else repr(value)


def generate(app: Any) -> None:
    out = Path(app.srcdir) / "generated"
    out.mkdir(exist_ok=True)
    (out / "surrogates.md").write_text(surrogate_page(out), encoding="utf-8")
    (out / "neurons.md").write_text(neuron_page(out), encoding="utf-8")


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
