"""The test environment holds everything the ``test`` extra promises, triton above all.

Optional-dependency tests skip when their package is missing (``tests/kernels/test_triton.py``
skips as a whole module without ``triton``), which is right on a user's machine and wrong in
CI: there a missing package means the suite silently tested less. These checks make a test
environment that lacks part of the ``test`` extra fail loudly instead.

A machine that cannot install a package (no triton wheel for the platform) may name it in
``SPIKEGRAD_TESTS_WITHOUT`` (comma-separated) to run the rest on purpose.
"""

from __future__ import annotations

import importlib.metadata
import os

import pytest
from packaging.requirements import Requirement

from spikegrad.kernels import triton_loop

ALLOWED_MISSING = {name.strip().lower() for name in os.environ.get("SPIKEGRAD_TESTS_WITHOUT", "").split(",")
                   if name.strip()}
INSTALL = "pip install -e '.[test]'"


def _test_extra() -> list[Requirement]:
    """The requirements of spikegrad's ``test`` extra, from the installed package's metadata."""
    requirements = [Requirement(text) for text in importlib.metadata.requires("spikegrad") or []]
    return [r for r in requirements if r.marker is not None and r.marker.evaluate({"extra": "test"})]



def test_the_test_extra_brings_triton():
    names = {r.name.lower() for r in _test_extra()}
    assert "triton" in names, (
        "the 'test' extra in pyproject.toml must list triton, or tests/kernels/test_triton.py skips")


@pytest.mark.parametrize("requirement", _test_extra(), ids=lambda r: r.name)
def test_every_package_of_the_test_extra_is_installed(requirement: Requirement):
    name = requirement.name.lower()
    if name in ALLOWED_MISSING:
        pytest.skip(f"{name} is allowed to be missing here (SPIKEGRAD_TESTS_WITHOUT)")
    try:
        version = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{requirement} (from the 'test' extra) is not installed, so the tests that need it "
                    f"would skip; install the extra: {INSTALL}")
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{requirement.name} {version} is installed, the 'test' extra asks for {requirement}; {INSTALL}")


def test_triton_kernel_tests_can_run():
    """The condition ``test_triton.py`` skips on: it must hold wherever the test extra is installed."""
    if "triton" in ALLOWED_MISSING:
        pytest.skip("triton is allowed to be missing here (SPIKEGRAD_TESTS_WITHOUT)")
    assert triton_loop.available(), (
        f"triton is not installed: tests/kernels/test_triton.py would skip as a whole; {INSTALL}")
