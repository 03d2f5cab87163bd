"""A short soak (tests/support/soak.py): privpi serve under concurrent readers while publishes
and user changes go on. No 5xx, no connection errors, no file lost or served wrong.

The full run (50 clients, 120 s) is ``.venv/bin/python bench/soak.py``; latency and memory
are figures it prints, never asserted here.
"""

from __future__ import annotations

import pytest

from tests.support.soak import run


@pytest.mark.slow
@pytest.mark.e2e
def test_short_soak_loses_nothing():
    result = run(duration=12, clients=8, threads=8)
    assert result["requests"] > 200, result
    assert result["5xx"] == 0, result["problems"]
    assert result["connection errors"] == 0, result["problems"]
    assert result["problems"] == []  # includes downloads that did not match their hash
    assert set(result["statuses"]) == {200}, result["statuses"]
    assert result["publish failures"] == []
    assert result["published during the run"] > 0
    assert result["lost files"] == []
    assert result["user changes"].get("users add", 0) > 0
    assert "users add failed" not in result["user changes"]
