"""SpikingJelly 2.0 for the differential tests: its modules, or a skip when it is not installed.

SpikingJelly's ``monitor`` module imports TensorBoard at the top for its GPU monitor, which
the tests do not use; when TensorBoard is absent a stand-in is put in place for that one
import and removed again.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterator
from types import ModuleType

import pytest

REASON = "SpikingJelly 2.0 is not installed (pip install --no-deps spikingjelly==2.0.0)"


def module(name: str) -> ModuleType:
    """``spikingjelly.activation_based.<name>``, or skip the calling test module."""
    pytest.importorskip("spikingjelly.activation_based", reason=REASON)
    with _tensorboard_stand_in() if name == "monitor" else contextlib.nullcontext():
        return importlib.import_module(f"spikingjelly.activation_based.{name}")


@contextlib.contextmanager
def _tensorboard_stand_in() -> Iterator[None]:
    key = "torch.utils.tensorboard"
    try:
        importlib.import_module(key)
    except ImportError:
        pass
    else:
        yield
        return
    sys.modules[key] = types.SimpleNamespace(SummaryWriter=None)  # type: ignore[assignment]
    try:
        yield
    finally:
        del sys.modules[key]
