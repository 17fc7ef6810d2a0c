"""The parts a neuron definition declares: its parameters and its state variables.

A :class:`Param` says what a constructor argument is (default, allowed values, one line of
documentation); a :class:`State` names a state variable and its value at rest. From these
the neuron base class derives the constructor and its signature, validation on construction
*and* on later assignment (``node.tau = -1`` raises like ``LIFNode(tau=-1)``), ``repr``,
``reset`` and the table of neurons in the docs.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

__all__ = [
    "REQUIRED",
    "Checked",
    "Param",
    "State",
    "check_bool",
    "check_number",
    "choice",
    "flag",
    "integer",
    "number",
    "optional_number",
]

#: The default of a parameter that must be given.
REQUIRED: Any = inspect.Parameter.empty


@dataclasses.dataclass(frozen=True)
class Param:
    """One constructor argument of a neuron.

    Args:
        name: the keyword (SpikingJelly's name).
        default: its default, or :data:`REQUIRED`.
        check: ``check(owner, name, value) -> value``: the normalised value, or a
            ``TypeError``/``ValueError`` naming the value and what was expected. ``None``
            when the attribute validates itself (``step_mode``).
        rule: the allowed values in words, for the docs.
        doc: one line for the docs.
        attribute: stored as a validated attribute of the module; ``False`` for an argument
            only the constructor uses (handed to the class's ``setup``, e.g. PLIF's
            ``init_tau``).
    """

    name: str
    default: Any
    check: Callable[[str, str, Any], Any] | None
    rule: str
    doc: str = ""
    attribute: bool = True

    def with_default(self, default: Any) -> Param:
        """The same parameter with another default (a class that changes SpikingJelly's)."""
        return dataclasses.replace(self, default=default)


@dataclasses.dataclass(frozen=True)
class State:
    """A state variable: a memory of the module that the step reads and updates.

    Args:
        name: the attribute (``v``, ``w`` ...), SpikingJelly's name.
        rest: its value at rest (after ``reset``), a number or a function of the module
            read at every reset (``v`` rests at ``v_reset``, which may have changed).
        doc: one line for the docs.
    """

    name: str
    rest: float | Callable[[Any], float]
    doc: str = ""

    def value(self, node: Any) -> float:
        return float(self.rest(node)) if callable(self.rest) else float(self.rest)


# --------------------------------------------------------------------------- checks


def check_number(
    owner: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = False,
    high_inclusive: bool = False,
) -> float:
    """A finite real number within the bounds, returned as ``float``.

    Raises:
        TypeError: not a real number (bools and tensors are refused).
        ValueError: NaN, infinite, or out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    ok = math.isfinite(value)
    if low is not None:
        ok = ok and (value >= low if low_inclusive else value > low)
    if high is not None:
        ok = ok and (value <= high if high_inclusive else value < high)
    if not ok:
        raise ValueError(
            f"{owner}: {name} must be {_number_rule(low, high, low_inclusive, high_inclusive)}, got {value!r}"
        )
    return value


def _number_rule(low: float | None, high: float | None, low_inclusive: bool, high_inclusive: bool) -> str:
    bounds = []
    if low is not None:
        bounds.append(f"{'>=' if low_inclusive else '>'} {low:g}")
    if high is not None:
        bounds.append(f"{'<=' if high_inclusive else '<'} {high:g}")
    return "a finite number" + (" " + " and ".join(bounds) if bounds else "")


def check_bool(owner: str, name: str, value: Any) -> bool:
    """``True`` or ``False``; anything else is a ``TypeError``."""
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return value


def number(
    name: str,
    default: Any,
    doc: str = "",
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = False,
    high_inclusive: bool = False,
) -> Param:
    """A finite real number, optionally bounded."""

    def check(owner: str, param: str, value: Any) -> float:
        return check_number(owner, param, value, low, high, low_inclusive, high_inclusive)

    return Param(name, default, check, _number_rule(low, high, low_inclusive, high_inclusive), doc)


def optional_number(name: str, default: Any, doc: str = "") -> Param:
    """A finite real number or ``None``."""

    def check(owner: str, param: str, value: Any) -> float | None:
        return None if value is None else check_number(owner, param, value)

    return Param(name, default, check, "a finite number or None", doc)


def flag(name: str, default: Any, doc: str = "") -> Param:
    """``True`` or ``False``."""
    return Param(name, default, check_bool, "True or False", doc)


def integer(name: str, default: Any, doc: str = "", *, low: int | None = None) -> Param:
    """A Python ``int`` (not a bool), optionally ``>= low``."""

    def check(owner: str, param: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{owner}: {param} must be an integer, got {value!r} ({type(value).__name__})")
        value = int(value)
        if low is not None and value < low:
            raise ValueError(f"{owner}: {param} must be an integer >= {low}, got {value}")
        return value

    return Param(name, default, check, "an integer" + (f" >= {low}" if low is not None else ""), doc)


def choice(name: str, default: Any, options: Sequence[Any], doc: str = "") -> Param:
    """One of ``options``."""
    allowed = tuple(options)

    def check(owner: str, param: str, value: Any) -> Any:
        if not any(value is o or (type(value) is type(o) and value == o) for o in allowed):
            raise ValueError(f"{owner}: {param} must be one of {allowed}, got {value!r}")
        return value

    return Param(name, default, check, "one of " + ", ".join(repr(o) for o in allowed), doc)


def check_surrogate(owner: str, name: str, value: Any) -> nn.Module:
    """A surrogate module instance (any ``nn.Module`` mapping ``h - v_threshold`` to spikes)."""
    if isinstance(value, type) and issubclass(value, nn.Module):
        raise TypeError(
            f"{owner}: {name} must be an instance, got the class {value.__name__}; "
            f"write {value.__name__}() instead"
        )
    if not isinstance(value, nn.Module):
        raise TypeError(
            f"{owner}: {name} must be a surrogate module (e.g. surrogate.ATan(), or a custom one "
            f"from surrogate.from_derivative), got {value!r} ({type(value).__name__})"
        )
    return value


class Checked:
    """An attribute validated on every assignment, so ``node.tau = x`` is as strict as the
    constructor. The value lives in the instance's ``__dict__`` under ``_<name>``."""

    def __init__(self, param: Param) -> None:
        self.param = param
        self.name = param.name
        self.slot = "_" + param.name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.slot = "_" + name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        try:
            return obj.__dict__[self.slot]
        except KeyError:
            raise AttributeError(f"{type(obj).__name__} has no attribute {self.name!r} yet") from None

    def __set__(self, obj: Any, value: Any) -> None:
        check = self.param.check
        obj.__dict__[self.slot] = check(type(obj).__name__, self.name, value) if check else value
