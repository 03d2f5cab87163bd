"""Finalizing a browser upload in a bucket (moto over HTTP) never brings the file through
the console: validation reads a wheel's central directory and metadata by ranges, S3
computes the SHA-256, and the file reaches packages/ by a server-side copy."""

from __future__ import annotations

import hashlib
import os
import zipfile

import boto3
import pytest

from privpi import index, keys, uploads
from privpi.errors import ValidationError
from tests.support.distfactory import make_wheel

MB = 1024 * 1024


class Transfer:
    """Bytes the S3 client received in GetObject bodies and sent in PutObject bodies,
    counted by a listener of privpi's S3 client."""

    def __init__(self, client):
        self.received = self.sent = 0
        client.listeners.append(self._count)

    def _count(self, call):
        if call.operation == "GetObject":
            self.received += call.received
        if call.operation == "PutObject":
            self.sent += call.sent


def big_wheel(directory, size: int):
    """A valid wheel with size incompressible bytes in it."""
    wheel = make_wheel(directory, "big-demo", "1.0")
    with zipfile.ZipFile(wheel, "a", zipfile.ZIP_STORED) as zf:
        zf.writestr("big_demo/blob.bin", os.urandom(size))
    return wheel


def test_a_large_wheel_is_finalized_by_ranged_reads_and_a_copy(s3_storage, tmp_path):
    wheel = big_wheel(tmp_path, 24 * MB)
    t = uploads.create(s3_storage, "alice", wheel.name)
    s3_storage.write(t.key, wheel.read_bytes())
    transfer = Transfer(s3_storage.client)

    result = uploads.finalize(s3_storage, t.id, "alice")
    received, sent = transfer.received, transfer.sent

    assert result["status"] == "published"
    (entry,) = index.read_project(s3_storage, "big-demo")["files"]
    assert entry["hashes"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entry["size"] == wheel.stat().st_size
    stored = s3_storage.read(keys.file_key("big-demo", wheel.name)).body
    assert stored == wheel.read_bytes()
    head = boto3.client("s3", endpoint_url=s3_storage.config.endpoint_url).head_object(
        Bucket=s3_storage.config.bucket, Key=keys.file_key("big-demo", wheel.name)
    )
    assert head["CacheControl"] == keys.cache_control(keys.file_key("big-demo", wheel.name))
    assert received < 3 * MB  # the central directory and METADATA, not 24 MB
    assert sent < 1 * MB  # pages, metadata, the ticket: never the file


def test_other_bytes_under_a_published_name_are_refused_without_a_download(s3_storage, tmp_path):
    wheel = make_wheel(tmp_path / "a", "again", "1.0")
    other = make_wheel(tmp_path / "b", "again", "1.0", summary="different bytes")
    for path in (wheel, other):
        t = uploads.create(s3_storage, "alice", path.name)
        s3_storage.write(t.key, path.read_bytes())
        if path is wheel:
            assert uploads.finalize(s3_storage, t.id, "alice")["status"] == "published"
    with pytest.raises(ValidationError, match="File already exists"):
        uploads.finalize(s3_storage, t.id, "alice")
    stored = s3_storage.read(keys.file_key("again", wheel.name)).body
    assert stored == wheel.read_bytes()
