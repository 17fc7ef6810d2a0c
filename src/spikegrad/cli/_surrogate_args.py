"""Command-line flags for choosing a surrogate and its parameters (shared by plot, train, compare).

Every parameter name in the registry becomes one optional flag (``--alpha``, ``--width`` ...);
:func:`build_surrogate` passes on the ones the user set and refuses a flag the chosen shape
does not take.
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any

from .. import surrogate
from . import UsageError


def _flags(cls: type[surrogate.Surrogate]) -> list[str]:
    """The numeric constructor parameters of a surrogate class (what gets a command-line flag)."""
    names = inspect.signature(cls).parameters
    return [p.name for p in cls.params if p.name in names]


def _param_users() -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for cls in surrogate.REGISTRY.values():
        for name in _flags(cls):
            users.setdefault(name, []).append(cls.__name__)
    return users


def add_surrogate_arguments(parser: argparse.ArgumentParser, *, name_flag: bool = True) -> None:
    """Add ``--surrogate NAME`` (optional) and one flag per known surrogate parameter."""
    if name_flag:
        # default None: a resumed run tells a flag the user gave from one left at its default
        parser.add_argument("--surrogate", default=None, metavar="NAME",
                            help="surrogate shape, e.g. atan, sigmoid, fast_sigmoid (default: atan; "
                                 "`spikegrad list` shows all)")
    group = parser.add_argument_group("surrogate parameters (each applies to the shapes named)")
    for name, users in _param_users().items():
        integer = any(p.integer for cls in surrogate.REGISTRY.values() for p in cls.params if p.name == name)
        group.add_argument(f"--{name}", type=int if integer else float, default=None, metavar="V",
                           help=f"{', '.join(users[:4])}{' ...' if len(users) > 4 else ''}")


def surrogate_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The surrogate parameters the user set on the command line."""
    return {name: getattr(args, name) for name in _param_users() if getattr(args, name, None) is not None}


def build_surrogate(name: str, args: argparse.Namespace, **extra: Any) -> surrogate.Surrogate:
    """Instantiate the named surrogate with the flags given; bad input becomes a :class:`UsageError`."""
    try:
        cls = surrogate.get(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    kwargs = {**surrogate_kwargs(args), **extra}
    accepted = set(_flags(cls))
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise UsageError(f"{cls.__name__} takes {', '.join(sorted(accepted)) or 'no parameters'}; "
                         f"--{unknown[0]} does not apply to it")
    signature = inspect.signature(cls).parameters.items()
    required = [name for name, p in signature
                if p.default is p.empty and p.kind is not p.VAR_KEYWORD and name not in kwargs]
    if required:
        raise UsageError(f"{cls.__name__} needs --{required[0]}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
