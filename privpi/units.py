"""Sizes as people read them: one formatter for the CLI, the console and every message."""

from __future__ import annotations


def human_size(n: float | None) -> str:
    """1000 bytes, 1.95 KiB, 100 MiB, 1 GiB: binary units, three significant digits at most.

    None (a size nobody recorded) is "?", so a damaged index entry cannot break a page.
    """
    if n is None:
        return "?"
    if n < 1024:
        return f"{int(n)} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            # .3g would print 1000 as "1e+03": whole numbers from there on.
            return f"{n:.3g} {unit}" if n < 1000 else f"{n:.0f} {unit}"
    raise AssertionError("unreachable")
