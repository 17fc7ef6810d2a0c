"""The examples in the surrogate docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "spikegrad.surrogate",
    "spikegrad.surrogate.shapes",
    "spikegrad.surrogate.shapes_extra",
    "spikegrad.surrogate.custom",
    "spikegrad.surrogate.table",
    "spikegrad.plot",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "spikegrad.plot":
        pytest.importorskip("matplotlib")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_every_builtin_documents_its_formula():
    from spikegrad import surrogate

    for cls in surrogate.builtins():
        doc = cls.__doc__ or ""
        assert "g'" in doc, cls.__name__
        assert cls.function.__doc__ and cls.function.__name__ in cls.function.__doc__
