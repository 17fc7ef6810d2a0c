"""User-defined surrogates for the shell: ``--import MODULE`` and the ``spikegrad.surrogates`` entry points.

A custom surrogate registers its name when the module that defines it is imported, so a command
finds it once that module is loaded in the command's own process. Two ways to get it loaded:

* ``--import MODULE`` (repeatable) on ``train``, ``compare``, ``plot`` and ``list``: a module
  name importable from the current folder or ``sys.path`` (``my_shapes``, ``lab.surrogates``)
  or the path of a Python file (``./my_shapes.py``);
* an installed package that declares an entry point in the group ``spikegrad.surrogates``, e.g.
  in its ``pyproject.toml``::

      [project.entry-points."spikegrad.surrogates"]
      my_shapes = "my_package.shapes"

  Every command loads these by itself; one that fails to load is reported in one line on stderr
  and skipped, so a broken plug-in does not stop commands that do not need it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType

from . import UsageError

#: The entry-point group that installed packages use to provide surrogates.
ENTRY_POINT_GROUP = "spikegrad.surrogates"


def add_import_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--import MODULE`` (repeatable) to a subcommand."""
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                        help="load custom surrogates first: a module name (importable from the current "
                             "folder) or a .py file; repeatable. Installed packages can provide them "
                             f"through the entry-point group {ENTRY_POINT_GROUP}")


def load_entry_points() -> list[str]:
    """Load every installed entry point of :data:`ENTRY_POINT_GROUP`; return their names.

    A failing entry point is reported on stderr (one line) and skipped.
    """
    loaded = []
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except Exception as exc:  # a plug-in may fail in any way; report it, keep the command usable
            dist = getattr(entry, "dist", None)
            package = f" (from {dist.name})" if dist is not None else ""
            print(f"spikegrad: warning: surrogate entry point {entry.name!r}{package} failed to load: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            loaded.append(entry.name)
    return loaded


def import_module(spec: str) -> ModuleType:
    """Import ``spec``: a dotted module name (the current folder is searched too) or a ``.py`` file.

    Raises:
        UsageError: the module is not found or raises while it is imported (one line).
    """
    try:
        if spec.endswith(".py") or os.sep in spec or (os.altsep and os.altsep in spec):
            return _import_file(Path(spec))
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())  # as `python -m` does; the console script does not
        return importlib.import_module(spec)
    except UsageError:
        raise
    except ModuleNotFoundError as exc:
        raise UsageError(f"--import {spec}: {exc}") from None
    except Exception as exc:  # the user's module may raise anything while it runs
        raise UsageError(f"--import {spec}: importing it raised {type(exc).__name__}: {exc}") from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise UsageError(f"--import {path}: no such file")
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"--import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so that pickle finds the classes it defines
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_user_surrogates(imports: Sequence[str]) -> None:
    """Load the installed entry points, then every ``--import`` (in order)."""
    load_entry_points()
    for spec in imports:
        import_module(spec)


__all__ = ["ENTRY_POINT_GROUP", "add_import_argument", "import_module", "load_entry_points",
           "load_user_surrogates"]
