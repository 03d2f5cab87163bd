"""Helpers for the upload tests: a signed-in console client, the browser's three steps
(ticket, upload, finalize) done over HTTP, and a CORS rule for moto buckets."""

from __future__ import annotations

from pathlib import Path

import boto3
import requests

from tests.support.console import csrf_token, login, make_console, seed_users

CONSOLE_ORIGIN = "http://127.0.0.1:8080"


def allow_console_cors(bucket: str, endpoint: str, origin: str = CONSOLE_ORIGIN) -> None:
    """What the deployment's bucket stack does: the console's origin may POST uploads."""
    boto3.client("s3", endpoint_url=endpoint).put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [origin],
                    "AllowedMethods": ["POST"],
                    "AllowedHeaders": ["*"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        },
    )


class Browser:
    """What upload.js does, with a Flask test client as the console."""

    def __init__(self, storage, role: str = "publisher", **config):
        self.app = make_console(storage, **config)
        self.client = self.app.test_client()
        assert login(self.client, role).status_code == 303
        self.token = csrf_token(self.client, "/")

    def post_json(self, path: str, body: dict | None = None):
        return self.client.post(path, json=body or {}, headers={"X-CSRFToken": self.token})

    def ticket(self, filename: str, size: int = 1):
        return self.post_json("/upload/ticket", {"filename": filename, "size": size})

    def send(self, upload: dict, path: Path) -> tuple[int, str]:
        """The bytes to where the ticket says: the bucket (real HTTP) or the console."""
        if upload["method"] == "POST":
            with open(path, "rb") as f:
                r = requests.post(
                    upload["url"], data=upload["fields"], files={"file": (path.name, f)}, timeout=60
                )
            return r.status_code, r.text
        with open(path, "rb") as f:
            r = self.client.put(upload["url"], data=f, content_type="application/octet-stream")
        return r.status_code, r.get_data(as_text=True)

    def finalize(self, ticket: dict):
        return self.post_json(ticket["finalize"])

    def upload(self, path: Path) -> dict:
        r = self.ticket(path.name, path.stat().st_size)
        assert r.status_code == 200, r.get_json()
        ticket = r.get_json()
        status, body = self.send(ticket["upload"], path)
        assert status in (200, 201, 204), body
        r = self.finalize(ticket)
        assert r.status_code == 200, r.get_json()
        return r.get_json()


def seeded(storage):
    seed_users(storage)
    return storage
