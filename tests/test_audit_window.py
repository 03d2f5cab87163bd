"""Counting one kind of audit event over a period: from the keys alone, back to the
period's start and no further, within bounds that say when they cut the count short."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from privpi import audit, keys
from privpi.storage import FolderStorage
from tests.support.auditlog import write_event
from tests.support.publish import RequestCounter

NOW = datetime.now(UTC)


def test_counts_one_action_from_the_keys_alone(storage):
    for _ in range(3):
        audit.record(storage, "publish", "alice", project="demo")
    audit.record(storage, "yank", "alice", project="demo")
    audit.record(storage, "user.add", "admin", user="bob")
    write_event(storage, NOW - timedelta(weeks=30), "publish")  # before the period
    counter = RequestCounter(storage.client) if hasattr(storage, "client") else None

    window = audit.times_since(storage, "publish", NOW - timedelta(weeks=1))

    assert len(window.times) == 3
    assert window.complete
    assert all(NOW - timedelta(minutes=5) < t <= datetime.now(UTC) for t in window.times)
    if counter:  # one list request, no event read
        assert counter.take() == {"ListObjectsV2": 1}


def test_events_of_the_older_key_format_are_read(storage):
    write_event(storage, NOW - timedelta(days=3), "publish", legacy=True)
    write_event(storage, NOW - timedelta(days=2), "yank", legacy=True)
    write_event(storage, NOW - timedelta(days=1), "publish")
    counter = RequestCounter(storage.client) if hasattr(storage, "client") else None

    window = audit.times_since(storage, "publish", NOW - timedelta(weeks=1))

    assert sorted(window.times) == [
        datetime.fromtimestamp(int((NOW - timedelta(days=d)).timestamp() * 1000) / 1000, UTC)
        for d in (3, 1)
    ]
    if counter:  # only the two older-format events are read
        assert counter.take() == {"ListObjectsV2": 1, "GetObject": 2}


class CountingFolder(FolderStorage):
    """A real folder storage that counts the listed keys its callers consumed."""

    consumed = 0

    def list(self, prefix: str = ""):
        for info in super().list(prefix):
            self.consumed += 1
            yield info


def test_reads_no_event_older_than_the_period(tmp_path):
    storage = CountingFolder(tmp_path / "repo")
    for days in range(8, 200):
        write_event(storage, NOW - timedelta(days=days), "publish")
    for days in range(1, 4):
        write_event(storage, NOW - timedelta(days=days), "publish")

    window = audit.times_since(storage, "publish", NOW - timedelta(weeks=1))

    assert len(window.times) == 3
    assert window.complete
    assert storage.consumed == 4  # the three, then the first older one ends the listing


def test_bounds_cut_the_count_short_and_say_where(tmp_path):
    storage = FolderStorage(tmp_path / "repo")
    times = [NOW - timedelta(days=d) for d in (1, 2, 3, 4, 5)]
    for when in times:
        write_event(storage, when, "publish")
    since = NOW - timedelta(weeks=1)

    listed = audit.times_since(storage, "publish", since, max_listed=3)
    assert not listed.complete
    assert len(listed.times) == 3
    assert listed.reached == datetime.fromtimestamp(int(times[2].timestamp() * 1000) / 1000, UTC)

    write_event(storage, NOW - timedelta(days=6), "publish", legacy=True)
    write_event(storage, NOW - timedelta(days=6, hours=1), "publish", legacy=True)
    read = audit.times_since(storage, "publish", since, max_reads=1)
    assert not read.complete
    assert len(read.times) == 6


@pytest.mark.parametrize("bad", ["Publish", "pub-lish", "../x", ""])
def test_an_action_must_be_key_safe(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        audit.key_for(0, bad)


def test_events_about_a_project_name_it_in_their_key(storage):
    """The listing summary learns which projects changed from the keys alone
    (privpi.folding); the older formats still parse, and counting still works."""
    audit.record(storage, "publish", "ann", project="Demo_Pkg", version="1.0")
    audit.record(storage, "user.add", "ann", user="bob")
    parsed = [audit.parse_key(i.key) for i in storage.list(keys.AUDIT)]
    assert sorted((k.action, k.project) for k in parsed if k) == [
        ("publish", "demo-pkg"),
        ("user.add", None),
    ]
    legacy = audit.parse_key(f"{keys.AUDIT}{10**14 - 5:014d}-00ff.json")
    assert legacy is not None
    assert (legacy.ms, legacy.action, legacy.project) == (5, None, None)
    assert audit.parse_key(f"{keys.AUDIT}stray.txt") is None
    assert len(audit.times_since(storage, "publish", NOW - timedelta(days=1)).times) == 1


@pytest.mark.parametrize("bad", ["", "../x", "a/b"])
def test_a_project_in_a_key_must_be_a_name(bad):
    with pytest.raises(ValueError, match="invalid project name"):
        audit.key_for(0, "publish", bad)
