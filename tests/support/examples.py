"""Hypothesis example counts by profile (registered in tests/conftest.py).

``ci`` (the default: ``make test`` and CI) runs each property with its full count; ``fast``
(``make test-fast``, ``--hypothesis-profile=fast``) runs the same share of a far smaller
budget, so a property that matters more still gets more examples.
"""

from __future__ import annotations

from hypothesis import settings

PROFILES = {"ci": 100, "fast": 5}  # max_examples: 100 is hypothesis' own default


def examples(full: int) -> int:
    """``full`` examples under the ci profile, proportionally fewer under a smaller one."""
    return max(1, full * settings().max_examples // PROFILES["ci"])
