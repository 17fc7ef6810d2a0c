"""Fixtures of the neuron tests."""

from __future__ import annotations

import pytest

from .helpers import BACKENDS_UNDER_TEST


@pytest.fixture(params=BACKENDS_UNDER_TEST)
def backend(request: pytest.FixtureRequest) -> str:
    """Each multi-step kernel under test, by name."""
    return request.param
