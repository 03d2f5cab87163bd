"""Sizes as the CLI, the console and every limit message print them."""

from __future__ import annotations

import pytest

from privpi.units import human_size


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "?"),
        (0, "0 bytes"),
        (1000, "1000 bytes"),
        (1023, "1023 bytes"),
        (1024, "1 KiB"),
        (2000, "1.95 KiB"),
        (64 * 1024, "64 KiB"),
        (100 * 1024**2, "100 MiB"),
        (1024**3, "1 GiB"),
        (5 * 1024**4, "5 TiB"),
        (1000 * 1024, "1000 KiB"),
        (1023.9 * 1024**2, "1024 MiB"),
        (2048 * 1024**4, "2048 TiB"),
    ],
)
def test_human_size_uses_binary_units_labelled_as_such(size, text):
    assert human_size(size) == text
