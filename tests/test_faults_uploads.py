"""Browser-upload finalize under S3 faults: a failed finalize can be retried, nothing is
half published, and a refused upload is not published later.

The browser's upload to ``incoming/`` is stood in for by a direct write; finalize runs
through the fault proxy exactly as the console calls it.
"""

from __future__ import annotations

import pytest

from privpi import index, uploads
from privpi.errors import PrivpiError
from tests.support.distfactory import make_wheel
from tests.support.faultproxy import EXHAUST

# make test-fast leaves these out: every fault that exhausts boto3's retries waits out
# its backoff, seconds a test.
pytestmark = pytest.mark.slow

WHEEL = "demo-1.0-py3-none-any.whl"


@pytest.fixture
def arrived(faulty, tmp_path):
    """A publisher's open ticket whose file has arrived in incoming/."""
    path = make_wheel(tmp_path, "demo", "1.0")
    ticket = uploads.create(faulty.direct, "pub", WHEEL)
    faulty.direct.write(ticket.key, path.read_bytes())
    return ticket


def listed(storage) -> list[str]:
    try:
        return [f["filename"] for f in index.read_project(storage, "demo")["files"]]
    except PrivpiError:
        return []


@pytest.mark.parametrize(
    ("method", "key"),
    [
        ("GET", "/incoming/"),  # reading the arrived file
        ("PUT", f"/packages/files/demo/{WHEEL}$"),
        ("PUT", "/packages/simple/demo/index.json"),
    ],
)
def test_failed_finalize_can_be_retried(faulty, arrived, method, key):
    rule = faulty.proxy.add_rule(method, key, action="503", times=EXHAUST)
    with pytest.raises(PrivpiError):
        uploads.finalize(faulty.storage, arrived.id, "pub")
    assert rule.fired == EXHAUST
    result = uploads.finalize(faulty.storage, arrived.id, "pub")  # the page's retry
    assert result["status"] in ("published", "skipped")
    assert listed(faulty.direct) == [WHEEL]
    with pytest.raises(uploads.TicketConflict):
        uploads.finalize(faulty.storage, arrived.id, "pub")  # and only once


def test_absorbed_faults_leave_no_trace(faulty, arrived):
    faulty.proxy.add_rule("*", "/", action="503", first_try=True, times=10**6)
    result = uploads.finalize(faulty.storage, arrived.id, "pub")
    assert result["status"] == "published"
    assert listed(faulty.direct) == [WHEEL]
    assert not faulty.direct.exists(arrived.key)  # incoming/ is tidied
    print(f"finalize: {len(faulty.proxy.faults())} faults absorbed by retries")


def test_finalize_retry_after_the_reopen_also_failed(faulty, arrived, monkeypatch):
    faulty.proxy.add_rule("PUT", "/packages/simple/demo/index.json", action="503", times=EXHAUST)
    # the ticket's first write is the claim (passes), the second the reopen (fails)
    faulty.proxy.add_rule("PUT", f"{arrived.id}.ticket.json", nth=2, action="503", times=EXHAUST)
    with pytest.raises(PrivpiError):
        uploads.finalize(faulty.storage, arrived.id, "pub")
    with pytest.raises(uploads.TicketConflict, match="if that failed, finalize again after"):
        uploads.finalize(faulty.storage, arrived.id, "pub")  # the claim's lease still runs
    assert listed(faulty.direct) == []
    monkeypatch.setattr(uploads, "FINALIZE_LEASE", 0)  # the lease has ended
    result = uploads.finalize(faulty.storage, arrived.id, "pub")
    assert listed(faulty.direct) == [WHEEL]
    assert result["filename"] == WHEEL
