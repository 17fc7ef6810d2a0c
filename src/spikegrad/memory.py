"""Keep freed memory in the process: the cure for the allocation wall on Linux.

glibc's ``malloc`` serves a large request (above ``M_MMAP_THRESHOLD``: 128 KiB at start,
raised by itself up to 32 MiB as large blocks are freed) with a fresh ``mmap`` and returns
it to the operating system on ``free``. A training step makes and frees the same large
tensors every step, so each one is mapped again and its pages are faulted in again on
first touch: at ``[128, 64, 1024]`` float32 (32 MiB) that costs more than the arithmetic.
:func:`keep_freed_memory` tells glibc to serve every request from its heap and to keep up
to a bounded amount of freed memory there, so the next step's tensors reuse pages that are
already mapped.

The cost is resident memory: the process keeps the peak of what it allocated, plus at most
``max_kept`` bytes of free memory at the top of its heap, instead of giving pages back as
soon as they are freed. Importing spikegrad changes nothing; ``spikegrad train`` and
``spikegrad bench`` call this themselves (``--allocator default`` turns it off).

Example:
    >>> from spikegrad import memory
    >>> applied = memory.keep_freed_memory()  # True on glibc (Linux), False elsewhere
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

__all__ = ["DEFAULT_MAX_KEPT", "keep_freed_memory", "kept"]

#: Free memory kept at the top of the heap by default: 1 GiB.
DEFAULT_MAX_KEPT = 1 << 30

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4

_KEPT: list[int] = []


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if os.name != "posix":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return None  # not glibc (musl, macOS): no mallopt with these meanings
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc


def keep_freed_memory(max_kept: int = DEFAULT_MAX_KEPT) -> bool:
    """Serve large allocations from the heap and keep up to ``max_kept`` freed bytes there.

    Args:
        max_kept: how many free bytes at the top of the heap glibc may keep instead of
            returning them to the operating system (``M_TRIM_THRESHOLD``), at most
            ``2**31 - 1``.

    Returns:
        ``True`` if glibc took the settings; ``False`` on a system without glibc (nothing
        changes there).

    Raises:
        ValueError: ``max_kept`` is not an integer in ``[0, 2**31 - 1]``.
    """
    if isinstance(max_kept, bool) or not isinstance(max_kept, int) or not 0 <= max_kept <= 2**31 - 1:
        raise ValueError(
            f"keep_freed_memory: max_kept must be an integer in [0, 2**31 - 1] bytes, got {max_kept!r}"
        )
    libc = _libc()
    if libc is None:
        return False
    # Every request from the heap (no mmap), and keep freed memory up to max_kept.
    applied = bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, max_kept))
    if applied:
        _KEPT[:] = [max_kept]
    return applied


def kept() -> int | None:
    """The ``max_kept`` of the last successful :func:`keep_freed_memory` in this process, or ``None``."""
    return _KEPT[0] if _KEPT else None
