"""The catalogue table is derived from the registry and tells the truth about every row."""

from __future__ import annotations

import math

import pytest

from spikegrad import surrogate
from spikegrad.surrogate.table import HEADERS, catalogue_rows, format_table

from .custom_shapes import CUSTOM


def test_one_row_per_registered_surrogate():
    rows = catalogue_rows()
    assert [r.name for r in rows] == list(surrogate.REGISTRY)
    builtin_rows = catalogue_rows(surrogate.builtins())
    assert len(builtin_rows) == 27


@pytest.mark.parametrize("cls", [*surrogate.builtins(), *CUSTOM], ids=lambda c: c.__name__)
def test_row_matches_the_class(cls):
    (row,) = catalogue_rows([cls])
    assert row.name == cls.__name__
    assert row.function == cls.function.__name__
    assert row.origin == (cls.origin or "custom")
    if cls is surrogate.MultiLevelSpikeCount:
        assert row.params == "max_spike_count, grad_window=(0, max_spike_count)"
        assert (row.peak, row.area) == ("1", "depends on max_spike_count")
        return
    sg = cls()
    for p in cls.params:
        assert f"{p.name}={float(p.default):.4g}" in row.params
    assert row.peak == "1"
    area = float(sg.area)
    expected = "n/a" if math.isnan(area) else "inf" if math.isinf(area) else f"{area:.4g}"
    assert row.area == expected


def test_examples():
    rows = {r.name: r for r in catalogue_rows(surrogate.builtins())}
    assert rows["Erf"].params == "alpha=1.772"
    assert rows["LeakyKReLU"].params == "leak=0, k=1"
    assert rows["DeterministicPass"].params == "(none)"
    assert (rows["FastSigmoid"].area, rows["SparseFastSigmoid"].area) == ("0.08", "0.07846")
    assert rows["SquarewaveFourierSeries"].area == "n/a"


def test_plain_and_markdown_formats():
    plain = format_table(classes=surrogate.builtins()).splitlines()
    assert plain[0].split()[:2] == ["Name", "Function"]
    assert set(plain[1].replace(" ", "")) == {"-"}
    assert len(plain) == 2 + 27
    assert plain[2].split()[:4] == ["Sigmoid", "sigmoid", "alpha=4", "1"]
    md = format_table(markdown=True, classes=surrogate.builtins()).splitlines()
    assert md[0] == "| " + " | ".join(HEADERS) + " |"
    assert md[1] == "| " + " | ".join("---" for _ in HEADERS) + " |"
    assert md[2] == "| `Sigmoid` | `sigmoid` | alpha=4 | 1 | 1 | SpikingJelly |"
    assert all(line.count(" | ") == len(HEADERS) - 1 for line in md)
