"""The optional ``nir`` package, imported on first use with an error that says how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType

_INSTALL = "pip install 'spikegrad[nir]'"


def nir() -> ModuleType:
    """The ``nir`` module.

    Raises:
        ImportError: ``nir`` is not installed (the message says how to install it).
    """
    try:
        return importlib.import_module("nir")
    except ImportError as exc:
        raise ImportError(f"NIR exchange needs the nir package: {_INSTALL}") from exc
