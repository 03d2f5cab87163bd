"""CloudFront invalidation after an overwrite or a delete, against moto's CloudFront over
HTTP: the distribution deploy names in config/distribution.json, the paths CloudFront
caches (the keys the authenticator rewrites URIs into), and a failure that warns."""

from __future__ import annotations

import json
import logging
import uuid

import boto3
import pytest

from privpi import keys, publish
from privpi.errors import StorageError
from tests.support.distfactory import make_wheel


def make_distribution() -> str:
    """A distribution in moto's CloudFront (its shape matters little here: only its id)."""
    origin = {"Id": "repository", "DomainName": "b.s3.eu-west-1.amazonaws.com",
              "S3OriginConfig": {"OriginAccessIdentity": ""}}  # fmt: skip
    config = {
        "CallerReference": uuid.uuid4().hex,
        "Comment": "privpi test",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "repository",
            "ViewerProtocolPolicy": "https-only",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
    }
    created = boto3.client("cloudfront").create_distribution(DistributionConfig=config)
    return created["Distribution"]["Id"]


def invalidated(distribution: str) -> list[list[str]]:
    """The paths of each invalidation of the distribution, oldest first."""
    cf = boto3.client("cloudfront")
    items = cf.list_invalidations(DistributionId=distribution)["InvalidationList"].get("Items")
    batches = []
    for item in reversed(items or []):
        inv = cf.get_invalidation(DistributionId=distribution, Id=item["Id"])["Invalidation"]
        batches.append(inv["InvalidationBatch"]["Paths"]["Items"])
    return batches


@pytest.fixture
def distribution(s3_storage) -> str:
    dist = make_distribution()
    body = json.dumps({"distribution_id": dist}).encode()
    s3_storage.write(keys.DISTRIBUTION, body, content_type="application/json")
    return dist


def test_bucket_invalidates_the_keys_in_the_distribution_deploy_named(s3_storage, distribution):
    changed = [keys.file_key("demo", "demo-1.0+local-py3-none-any.whl")]
    paths = s3_storage.invalidate(changed)
    assert paths == [  # as the authenticator rewrites it, and as the viewer asked
        "/packages/files/demo/demo-1.0%2Blocal-py3-none-any.whl",
        "/files/demo/demo-1.0%2Blocal-py3-none-any.whl",
    ]
    assert invalidated(distribution) == [paths]


def test_damaged_distribution_id_is_an_error_naming_the_key(s3_storage):
    s3_storage.write(keys.DISTRIBUTION, b"not json")
    with pytest.raises(StorageError, match="config/distribution.json .* is damaged"):
        s3_storage.invalidate([keys.file_key("demo", "demo-1.0.tar.gz")])


def test_overwrite_and_delete_invalidate_the_file_and_its_metadata(
    s3_storage, distribution, tmp_path
):
    wheel = make_wheel(tmp_path / "a", "demo", "1.0")
    publish.publish(s3_storage, wheel)
    publish.yank(s3_storage, "demo", "1.0", "bad")
    assert invalidated(distribution) == []  # new files and page changes: nothing to drop

    other = make_wheel(tmp_path / "b", "demo", "1.0", summary="different bytes")
    assert publish.publish(s3_storage, other, existing="overwrite").status == "replaced"
    file, metadata = keys.file_key("demo", wheel.name), keys.metadata_key("demo", wheel.name)
    expected = [
        f"/{file}",
        f"/{file.removeprefix(keys.PACKAGES)}",
        f"/{metadata}",
        f"/{metadata.removeprefix(keys.PACKAGES)}",
    ]
    assert invalidated(distribution) == [expected]

    publish.delete(s3_storage, "demo", "1.0")
    assert invalidated(distribution) == [expected, expected]


def test_a_failed_invalidation_warns_and_the_delete_stands(s3_storage, tmp_path, caplog):
    wheel = make_wheel(tmp_path, "demo", "1.0")
    publish.publish(s3_storage, wheel)
    body = json.dumps({"distribution_id": "ENOSUCHDIST"}).encode()
    s3_storage.write(keys.DISTRIBUTION, body)
    with caplog.at_level(logging.WARNING):
        assert publish.delete(s3_storage, "demo") == [wheel.name]
    assert not s3_storage.exists(keys.file_key("demo", wheel.name))
    assert "CloudFront may serve the old files until they expire" in caplog.text
    assert f"/{keys.file_key('demo', wheel.name)}" in caplog.text
