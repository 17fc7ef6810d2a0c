"""The contract every fuzz case is held to, and the bookkeeping of what the cases did.

A public call given any arguments ends in one of two ways:

* a clear error: ``ValueError`` or ``TypeError``, raised by spikegrad's own code (not from
  inside torch), whose message names the offending parameter or input; or
* a documented result, checked by the case (shapes, dtypes, spikes in {0, 1} ...), with no
  NaN that the arguments did not already contain.

Anything else, any other exception or a NaN out of NaN-free arguments, fails the case.
Cases built from arguments that are valid by the documentation (``expect_ok``) must not
be refused at all.
"""

from __future__ import annotations

import collections
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

import spikegrad

#: spikegrad's source folder: a clear error is raised from a frame inside it.
_SPIKEGRAD = str(Path(spikegrad.__file__).resolve().parent)
#: The fuzz package itself (custom surrogate definitions are "user code" there).
_FUZZ = str(Path(__file__).resolve().parent)

#: How many cases each target ran and how they ended: ``{target: Counter(outcome)}``.
TALLY: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)


@dataclass
class Case:
    """One call of the public API with drawn arguments.

    Args:
        label: what is called, for failure messages (e.g. ``ATan(alpha=-1.0)(x: float16 (5,))``).
        call: runs the case and checks its result (raising ``AssertionError`` on a broken promise).
        names: words one of which a clear error must contain (parameter names, ``'input'``...).
        expect_ok: every argument is valid by the documentation: an error is a failure.
    """

    label: str
    call: Callable[[], Any]
    names: Sequence[str] = ()
    expect_ok: bool = False


def run(target: str, case: Case) -> str:
    """Run ``case`` under the contract; return ``'result'`` or ``'refused'`` (and tally it)."""
    try:
        case.call()
    except (ValueError, TypeError) as error:
        where = origin(error)
        message = str(error)
        assert where is not None, (
            f"{case.label}: {type(error).__name__} raised from inside a dependency, not by spikegrad:\n"
            f"{_trace(error)}"
        )
        assert not case.expect_ok, f"{case.label}: valid arguments refused: {type(error).__name__}: {message}"
        assert any(name in message for name in case.names), (
            f"{case.label}: the error names none of {list(case.names)}: {type(error).__name__}: {message}"
        )
        TALLY[target]["refused"] += 1
        return "refused"
    except AssertionError:
        raise
    except Exception as error:
        raise AssertionError(
            f"{case.label}: {type(error).__name__} instead of a clear error or a result:\n{_trace(error)}"
        ) from error
    TALLY[target]["result"] += 1
    return "result"


def origin(error: BaseException) -> str | None:
    """The innermost frame of spikegrad (or of a fuzz-defined custom shape) that raised ``error``.

    ``None`` when the innermost frame lies elsewhere (torch, Python's library): a traceback
    from inside a dependency.
    """
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return None
    innermost = str(Path(frames[-1].filename).resolve())
    if not (innermost.startswith(_SPIKEGRAD) or innermost.startswith(_FUZZ + "/custom")):
        return None
    # A torch function implemented in C raises from the spikegrad line that called it
    # (``return F.linear(...)``): that is torch's refusal, not spikegrad's.
    line = (frames[-1].line or "").lstrip()
    if not line.startswith(("raise", "assert")) and "raise" not in line:
        return None
    return innermost


def _trace(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__)[-12:])


# --------------------------------------------------------------------------- result checks


def assert_no_new_nan(label: str, what: str, out: Tensor, x: Tensor) -> None:
    """``out`` (shaped like ``x``) is NaN only where ``x`` is: NaN may pass through, never appear."""
    bad = torch.isnan(out) & ~torch.isnan(x.detach())
    assert not bool(bad.any()), (
        f"{label}: {what} is NaN at x = {x.detach()[bad].flatten()[:4].tolist()} (silent NaN)"
    )


def assert_finite_where(label: str, what: str, out: Tensor, x: Tensor) -> None:
    """``out`` is finite wherever ``x`` is not NaN (a gradient must never be inf or NaN)."""
    bad = ~torch.isfinite(out) & ~torch.isnan(x.detach())
    assert not bool(bad.any()), (
        f"{label}: {what} is {out[bad].flatten()[:4].tolist()} at x = "
        f"{x.detach()[bad].flatten()[:4].tolist()} (must be finite)"
    )


def describe(value: Any) -> str:
    """A short text for a drawn value (tensors by dtype, shape and a few values)."""
    if isinstance(value, torch.nn.Parameter):
        return f"Parameter({describe(value.data)})"
    if isinstance(value, Tensor):
        head = value.detach().flatten()[:4].tolist()
        grad = ", requires_grad" if value.requires_grad else ""
        return f"tensor({str(value.dtype)[6:]} {tuple(value.shape)} {head}{grad})"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
