"""Helpers for the edge tests: a user store document, an in-memory source, recorded events."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from passlib.hash import pbkdf2_sha256

EVENTS = Path(__file__).parent.parent / "events"
ALICE_PASSWORD = "correct horse:battery"  # a colon inside: split on the first one only
BOB_PASSWORD = "disabled user password"


def store_doc(**users: tuple[str, bool]) -> dict:
    """A version-1 store: name=(password, enabled), hashed by passlib at test rounds."""
    return {
        "version": 1,
        "users": {
            name: {
                "hash": pbkdf2_sha256.using(rounds=1000).hash(pw),
                "roles": ["reader"],
                "enabled": enabled,
                "created": "2026-01-01T00:00:00Z",
                "updated": "2026-01-01T00:00:00Z",
            }
            for name, (pw, enabled) in users.items()
        },
    }


def default_doc() -> dict:
    return store_doc(alice=(ALICE_PASSWORD, True), bob=(BOB_PASSWORD, False))


class MemorySource:
    """A user store held in memory, answering conditional GETs like S3 does."""

    def __init__(self, doc: dict | None):
        self.calls = 0
        self.failing = False
        self.version = 0
        self.body = b""
        self.etag = None
        if doc is not None:
            self.put(doc)

    def put(self, doc: dict) -> None:
        self.version += 1
        self.body = json.dumps(doc).encode()
        self.etag = f'"v{self.version}"'

    def fetch(self, etag):
        self.calls += 1
        if self.failing or self.etag is None:
            raise ConnectionError("store unreachable")
        if etag == self.etag:
            return None
        return self.body, self.etag


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def load_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def request_event(uri: str, method: str = "GET", headers: dict[str, str] | None = None) -> dict:
    """A viewer-request event shaped like CloudFront's, built from the recorded one."""
    event = copy.deepcopy(_BASE_EVENT)
    req = event["Records"][0]["cf"]["request"]
    req["uri"], req["method"] = uri, method
    for name, value in (headers or {}).items():
        req["headers"][name.lower()] = [{"key": name, "value": value}]
    return event


_BASE_EVENT = load_event("malformed_missing")  # a recorded event without credentials
