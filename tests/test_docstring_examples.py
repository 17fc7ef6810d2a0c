"""The examples in the docstrings of functional, encoding, monitor, base and the surrogate
compatibility layer run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "spikegrad.base",
    "spikegrad.encoding",
    "spikegrad.monitor",
    "spikegrad.surrogate.compat",
    "spikegrad.functional",
    "spikegrad.functional.conv_bn",
    "spikegrad.functional.forward",
    "spikegrad.functional.layer_steps",
    "spikegrad.functional.loss",
    "spikegrad.functional.misc",
    "spikegrad.functional.network",
    "spikegrad.functional.neuron_steps",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
