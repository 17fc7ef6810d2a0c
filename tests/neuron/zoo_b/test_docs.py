"""The docstring examples of this package's neuron modules run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["nonspiking", "gated", "ternary", "resonate", "complementary", "ilif", "online", "parallel"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"spikegrad.neuron.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
