"""The examples in the docstrings of this zoo's modules run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "spikegrad.neuron.simple",
    "spikegrad.neuron.nonlinear",
    "spikegrad.neuron.adaptive",
    "spikegrad.neuron.current",
    "spikegrad.neuron.variants",
    "spikegrad.neuron.analog",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
