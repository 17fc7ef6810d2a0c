"""Every row of the fuzz table, held to the contract of :mod:`.contract`.

Deterministic: hypothesis derives its examples from the test itself (``derandomize``) and
keeps no example database, so every run tries the same cases.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .contract import run
from .targets import TABLE, Target


@pytest.mark.parametrize("target", TABLE, ids=lambda t: t.name)
def test_contract(target: Target) -> None:
    @settings(max_examples=target.examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        run(target.name, data.draw(target.cases, label="case"))

    fuzz()
