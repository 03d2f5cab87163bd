"""The storage contract: every backend behaves the same (folder and S3 over HTTP)."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import boto3
import pytest
import requests

from privpi.errors import NotFound, PreconditionFailed, StorageError
from privpi.storage import open_storage


def _s3(storage):
    """A plain boto3 client on the storage's S3 server: to read headers privpi does not."""
    return boto3.client("s3", endpoint_url=storage.config.endpoint_url)


def test_write_then_read_returns_body_and_etag(storage):
    etag = storage.write("a/b.txt", b"hello")
    blob = storage.read("a/b.txt")
    assert blob.body == b"hello"
    assert blob.etag == etag


def test_read_missing_raises_not_found(storage):
    with pytest.raises(NotFound, match="nope.txt"):
        storage.read("nope.txt")


def test_etag_changes_with_content(storage):
    first = storage.write("k.json", b"1")
    second = storage.write("k.json", b"2")
    assert first != second
    assert storage.head("k.json").etag == second


def test_read_if_changed(storage):
    etag = storage.write("k.json", b"one")
    assert storage.read_if_changed("k.json", etag) is None
    assert storage.read_if_changed("k.json", None).body == b"one"
    new = storage.write("k.json", b"two")
    blob = storage.read_if_changed("k.json", etag)
    assert (blob.body, blob.etag) == (b"two", new)


def test_if_none_match_creates_only_once(storage):
    storage.write("once", b"a", if_none_match=True)
    with pytest.raises(PreconditionFailed):
        storage.write("once", b"b", if_none_match=True)
    assert storage.read("once").body == b"a"


def test_if_match_replaces_only_the_version_read(storage):
    etag = storage.write("doc", b"v1")
    new = storage.write("doc", b"v2", if_match=etag)
    with pytest.raises(PreconditionFailed):
        storage.write("doc", b"v3", if_match=etag)
    assert storage.read("doc").body == b"v2"
    assert storage.head("doc").etag == new


def test_if_match_on_missing_object_fails(storage):
    with pytest.raises(PreconditionFailed):
        storage.write("missing", b"x", if_match='"0123"')
    assert not storage.exists("missing")


def test_delete_is_idempotent(storage):
    storage.write("d/x", b"x")
    storage.delete("d/x")
    storage.delete("d/x")
    assert not storage.exists("d/x")


def test_list_by_prefix_in_key_order(storage):
    for key in ["p/b", "p/a/z", "p/a-", "q/c", "p/c/d/e"]:
        storage.write(key, key.encode())
    keys = [o.key for o in storage.list("p/")]
    assert keys == sorted(["p/b", "p/a/z", "p/a-", "p/c/d/e"])
    assert [o.key for o in storage.list("p/a")] == sorted(["p/a/z", "p/a-"])
    assert [o.key for o in storage.list("nothing/")] == []
    sizes = {o.key: o.size for o in storage.list("")}
    assert sizes["q/c"] == 3


@pytest.mark.slow
def test_list_is_lazy_and_paginated(storage):
    for i in range(1005):  # more than one S3 page of 1000
        storage.write(f"many/{i:05d}", b"")
    it = storage.list("many/")
    assert next(it).key == "many/00000"
    assert sum(1 for _ in it) == 1004


def test_head(storage):
    etag = storage.write("h/file.bin", b"12345")
    info = storage.head("h/file.bin")
    assert (info.key, info.size, info.etag) == ("h/file.bin", 5, etag)
    assert info.last_modified.tzinfo is not None
    with pytest.raises(NotFound):
        storage.head("h/none")


def test_copy(storage):
    storage.write("src", b"data")
    storage.copy("src", "dst/copy")
    assert storage.read("dst/copy").body == b"data"
    with pytest.raises(NotFound):
        storage.copy("no-src", "x")


def test_copy_only_creates_when_asked_and_sets_headers(storage):
    storage.write("src", b"new bytes", content_type="application/octet-stream")
    storage.write("dst", b"old bytes")
    with pytest.raises(PreconditionFailed):
        storage.copy("src", "dst", if_none_match=True)
    assert storage.read("dst").body == b"old bytes"
    storage.copy("src", "fresh", if_none_match=True, content_type="application/zip",
                 cache_control="max-age=60")  # fmt: skip
    assert storage.read("fresh").body == b"new bytes"
    if storage.url.startswith("s3://"):  # a folder keeps no headers: the server derives them
        head = _s3(storage).head_object(Bucket=storage.config.bucket, Key="fresh")
        assert (head["ContentType"], head["CacheControl"]) == ("application/zip", "max-age=60")


def test_read_range(storage):
    payload = bytes(range(256)) * 8192  # 2 MiB: more than one chunk of open()
    storage.write("r/file.zip", io.BytesIO(payload))
    assert storage.read_range("r/file.zip", 0, 10) == payload[:10]
    assert storage.read_range("r/file.zip", 1_500_000, 70_000) == payload[1_500_000:1_570_000]
    assert storage.read_range("r/file.zip", len(payload) - 5, 100) == payload[-5:]
    assert storage.read_range("r/file.zip", len(payload) + 1, 10) == b""
    with pytest.raises(NotFound):
        storage.read_range("r/none.zip", 0, 10)


def test_sha256_is_the_content_hash_and_changes_nothing_readers_see(storage):
    payload = b"distribution bytes " * 100_000
    storage.write("s/file.whl", io.BytesIO(payload), content_type="application/zip",
                  cache_control="max-age=31536000, immutable")  # fmt: skip
    assert storage.sha256("s/file.whl") == hashlib.sha256(payload).hexdigest()
    assert storage.read("s/file.whl").body == payload
    if storage.url.startswith("s3://"):  # S3 computes it by copying the object onto itself
        head = _s3(storage).head_object(Bucket=storage.config.bucket, Key="s/file.whl")
        assert head["ContentType"] == "application/zip"
        assert head["CacheControl"] == "max-age=31536000, immutable"
    with pytest.raises(NotFound):
        storage.sha256("s/none.whl")


def test_streaming_large_bodies(storage):
    payload = bytes(range(256)) * 40_000  # 10 MB, over the folder's content-etag limit
    storage.write("big/file.whl", io.BytesIO(payload))
    info, chunks = storage.open("big/file.whl")
    assert info.size == len(payload)
    received = list(chunks)
    assert len(received) > 1  # it came in pieces, not one body
    assert b"".join(received) == payload
    assert storage.head("big/file.whl").etag == info.etag


@pytest.mark.parametrize(
    "key", ["../escape", "/abs", "a//b", "a/./b", "a/../b", ".hidden", "a\\b", "a\x00b"]
)
def test_unsafe_keys_are_refused(storage, key):
    with pytest.raises(StorageError, match="invalid storage key"):
        storage.write(key, b"x")


def test_local_path_is_the_object_itself_or_none(storage):
    storage.write("incoming/t/a.whl", b"wheel bytes")
    path = storage.local_path("incoming/t/a.whl")
    assert path is None or path.read_bytes() == b"wheel bytes"
    with pytest.raises(StorageError, match="invalid storage key"):
        storage.local_path("../escape")
    with pytest.raises(StorageError, match="invalid storage key"):
        storage.upload_target("../escape", 10, expires=60)


def test_folder_gives_its_files_in_place_and_takes_no_direct_upload(folder_storage):
    folder_storage.write("incoming/t/a.whl", b"wheel bytes")
    path = folder_storage.local_path("incoming/t/a.whl")
    assert path == folder_storage.root / "incoming/t/a.whl"
    with pytest.raises(NotFound, match="incoming/t/gone.whl"):
        folder_storage.local_path("incoming/t/gone.whl")
    # the console receives (and sweeps) folder uploads itself
    assert folder_storage.upload_target("incoming/t/b.whl", 10, expires=60) is None
    assert folder_storage.expires_incoming is False


def test_bucket_takes_direct_uploads_signed_with_a_size_limit(s3_storage):
    assert s3_storage.local_path("incoming/t/a.whl") is None  # callers stream it instead
    assert s3_storage.expires_incoming is True  # the bucket's lifecycle rule
    target = s3_storage.upload_target("incoming/t/a.whl", 100, expires=60)
    assert target.method == "POST"
    r = requests.post(target.url, data=target.fields, files={"file": b"x" * 100}, timeout=10)
    assert r.status_code in (200, 204), r.text
    assert s3_storage.read("incoming/t/a.whl").body == b"x" * 100
    # moto does not enforce the policy (AWS does): check the signed limit is in it
    policy = json.loads(base64.b64decode(target.fields["policy"]))
    assert ["content-length-range", 1, 100] in policy["conditions"]


def test_folder_writes_leave_no_temp_files(folder_storage):
    folder_storage.write("x/y.json", b"{}")
    with pytest.raises(PreconditionFailed):
        folder_storage.write("x/y.json", b"{}", if_none_match=True)
    assert sorted(p.name for p in (folder_storage.root / "x").iterdir()) == ["y.json"]


def test_folder_is_a_browsable_mirror(folder_storage):
    folder_storage.write("packages/simple/index.html", b"<html>")
    assert (folder_storage.root / "packages/simple/index.html").read_bytes() == b"<html>"


def test_missing_bucket_is_reported(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    s = open_storage("s3://no-such-bucket-here")
    with pytest.raises(StorageError, match="bucket no-such-bucket-here does not exist"):
        s.read("config/users.json")
    with pytest.raises(StorageError, match="does not exist"):
        list(s.list("packages/"))


def test_unreachable_endpoint_is_reported(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(StorageError, match="cannot reach bucket some-bucket"):
        open_storage("s3://some-bucket").read("config/users.json")


def test_s3_prefix_keeps_keys_relative(s3_bucket):
    s = open_storage(f"s3://{s3_bucket}/team-a")
    s.write("packages/x", b"1")
    assert [o.key for o in s.list("packages/")] == ["packages/x"]
    assert open_storage(f"s3://{s3_bucket}").read("team-a/packages/x").body == b"1"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "unknown storage URL scheme 'ftp'"),
        ("s3://Bad_Bucket", "invalid S3 bucket name"),
        ("file://", "names no folder"),
    ],
)
def test_bad_storage_urls(url, message):
    with pytest.raises(StorageError, match=message):
        open_storage(url)


def test_a_name_too_long_to_exist_is_not_found(storage):
    key = "packages/simple/" + "x" * 300 + "/index.json"
    with pytest.raises(NotFound):
        storage.read(key)
    with pytest.raises(NotFound):
        storage.head(key)
    with pytest.raises(NotFound):
        storage.open(key)
    assert not storage.exists(key)


def test_invalidate_does_nothing_without_a_cache_in_front(storage):
    # A folder never has one; a bucket has one once privpi deploy wrote config/distribution.json
    # (tests/test_invalidation.py covers that against moto's CloudFront).
    assert storage.invalidate(["packages/files/demo/demo-1.0.tar.gz"]) == []
    with pytest.raises(StorageError, match="invalid storage key"):
        storage.invalidate(["packages/../config/users.json"])
