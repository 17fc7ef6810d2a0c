"""The training example of docs/neurons.md still runs (shortened to a few batches)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "neurons.md"


def test_training_example_runs(capsys):
    pytest.importorskip("sklearn")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    code = next(b for b in blocks if "load_digits" in b)
    short = code.replace("range(4)", "range(1)").replace("range(0, 1500, 50)", "range(0, 100, 50)")
    assert short != code  # the shortening still applies to the documented code
    exec(compile(short, str(DOC), "exec"), {"__name__": "docs_example"})
    assert re.fullmatch(r"epoch 0: loss \d\.\d{4}, test accuracy \d+\.\d%\n", capsys.readouterr().out)


def test_neuron_table_is_current():
    from spikegrad.neuron import table

    text = DOC.read_text()
    committed = text.split(table.BEGIN, 1)[1].split(table.END, 1)[0].strip()
    assert committed == table.markdown().strip(), (
        "docs/neurons.md's neuron table is stale: run `python -m spikegrad.neuron.table docs/neurons.md`"
    )


def test_write_your_own_neuron_runs_and_prints_what_the_docs_show(capsys):
    text = DOC.read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "AdaptiveQIF" in b)
    shown = text.split(code, 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})
    assert capsys.readouterr().out == shown
