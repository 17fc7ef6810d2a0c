"""Sphinx configuration of spikegrad's documentation site.

Build it with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (warnings are
errors). The galleries and the tutorials run the library at build time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "src"))  # the checkout's code, installed or not

os.environ.setdefault("MPLBACKEND", "Agg")

import spikegrad  # noqa: E402

project = "spikegrad"
author = "The spikegrad contributors"
copyright = "2026, The spikegrad contributors"
release = version = spikegrad.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "galleries",
    "apidoc",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = [
    "_build",
    "tutorials/*.py",
    "tutorials/GALLERY_HEADER.rst",
    "**/*.ipynb",
    "**.md5",
    "**.zip",
]
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
# torch's own docstrings (autograd.Function.forward ...) stay in torch's docs
autodoc_inherit_docstrings = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes:" as fields: properties documented below are not described twice
napoleon_custom_sections = [("Class attributes a definition may set", "params_style")]

sphinx_gallery_conf = {
    "examples_dirs": "tutorials",
    "gallery_dirs": "generated/tutorials",
    "filename_pattern": r".*\.py$",  # every tutorial runs at build time
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "show_memory": False,
    "write_computation_times": False,  # no sg_execution_times.rst in the sources
}

html_theme = "furo"
html_title = f"spikegrad {version}"
html_static_path: list[str] = []
