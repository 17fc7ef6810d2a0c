"""spikegrad.memory: keeping freed memory in the process (glibc)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spikegrad import memory


def test_bad_bound_is_refused() -> None:
    for bad in (-1, 2**31, 1.5, True, "1"):
        with pytest.raises(ValueError, match="max_kept must be an integer"):
            memory.keep_freed_memory(bad)  # type: ignore[arg-type]


def test_import_changes_nothing_and_the_setting_applies_in_its_process() -> None:
    # In a fresh process: importing spikegrad leaves the allocator alone; asking applies it.
    code = (
        "import spikegrad, spikegrad.memory as m; assert m.kept() is None; "
        "ok = m.keep_freed_memory(1 << 20); print(ok, m.kept())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    applied, kept = out.split()
    if applied == "True":
        assert kept == str(1 << 20)
    else:  # not glibc: nothing applied, nothing recorded
        assert kept == "None"
