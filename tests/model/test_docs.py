"""The model zoo's docstring examples and docs/models.md's example run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

from spikegrad import model

MODULES = ["spikegrad.model"] + [
    f"spikegrad.model.{info.name}"
    for info in pkgutil.iter_modules(model.__path__)
    if not info.name.startswith("_")
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", MODULES[1:])
def test_every_public_name_has_a_docstring_with_its_arguments(name):
    module = importlib.import_module(name)
    for public in module.__all__:
        obj = getattr(module, public)
        doc = inspect.getdoc(obj)
        assert doc and doc.splitlines()[0].strip(), public
        if inspect.isclass(obj) and "__init__" not in vars(obj):
            continue  # a subclass with its parent's arguments, documented there
        target = obj.__init__ if inspect.isclass(obj) else obj
        params = [p for p in inspect.signature(target).parameters if p not in ("self", "kwargs")]
        if params:
            assert "Args:" in doc, public


def test_models_doc_example_prints_what_it_shows(capsys):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "models.md").read_text()
    code, expected = re.search(
        r"## Example\n\n```python\n(.*?)```\n\n```text\n(.*?)```", doc, flags=re.S
    ).groups()
    exec(compile(code, "docs/models.md", "exec"), {"__name__": "docs_example"})
    assert capsys.readouterr().out == expected
