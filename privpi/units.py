"""Sizes as people read them: one formatter for the CLI, the console and every message."""

from __future__ import annotations

import re

SIZE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}
SIZE_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30})


def parse_size(text: str) -> int:
    """A byte count such as 5000000, 100MB or 1GiB; ValueError naming the text otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", str(text))
    if not match or match[2].upper() not in SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size such as 5000000, 100MB or 1GiB")
    return int(match[1]) * SIZE_UNITS[match[2].upper()]


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
