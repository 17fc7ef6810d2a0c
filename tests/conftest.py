"""Settings of the whole suite: the versions under test and the optional peers, said in the header.

The differential tests import SpikingJelly 2.0 with ``pytest.importorskip``, so they skip where it
is not installed. It cannot be installed everywhere spikegrad runs: SpikingJelly 2.0 needs
Python >= 3.11 and torch >= 2.6. The header says which case a run is in, so a skipped
comparison is never mistaken for a passed one.

``--hypothesis-profile=no-shrink`` reports a failing property test with the first example that
fails, without shrinking it: the version matrix (tools/version_matrix.py) uses it, where a broken
torch feature fails every property test and shrinking each would take minutes.
"""

from __future__ import annotations

import importlib.metadata
import platform

import torch
from hypothesis import Phase, settings

#: SpikingJelly 2.0's own requirements (its package metadata).
SPIKINGJELLY_NEEDS = "Python >= 3.11 and torch >= 2.6"

settings.register_profile("no-shrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def pytest_report_header(config: object) -> list[str]:
    triton = _installed("triton")
    lines = [f"spikegrad under Python {platform.python_version()}, torch {torch.__version__}, "
             f"triton {triton or 'not installed'}"]
    spikingjelly = _installed("spikingjelly")
    if spikingjelly:
        lines.append(f"SpikingJelly {spikingjelly}: the differential tests run")
    else:
        lines.append(
            "SpikingJelly: not installed, so the differential tests are skipped (SpikingJelly 2.0 needs "
            f"{SPIKINGJELLY_NEEDS}; where it can install: pip install --no-deps spikingjelly==2.0.0)"
        )
    return lines
