"""The examples in the layer docstrings run and print what they show; every layer documents itself."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

from spikegrad import layer

MODULES = ["spikegrad.layer"] + [
    f"spikegrad.layer.{info.name}"
    for info in pkgutil.iter_modules(layer.__path__)
    if not info.name.startswith("_")
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", layer.__all__)
def test_every_public_layer_has_a_docstring_with_its_arguments(name):
    cls = getattr(layer, name)
    doc = inspect.getdoc(cls)
    assert doc and doc.splitlines()[0].strip()
    params = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "args", "kwargs")]
    if params:
        assert "Args:" in doc, name


def test_layers_doc_example_prints_what_it_shows(capsys):
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "layers.md").read_text()
    code, expected = re.search(
        r"```python\n(import torch.*?)```\n\n```text\n(.*?)```", doc, flags=re.S
    ).groups()
    exec(compile(code, "docs/layers.md", "exec"), {"__name__": "docs_example"})
    assert capsys.readouterr().out == expected
