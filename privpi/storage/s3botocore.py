"""What privpi still asks of botocore, imported only when used: presigned POSTs for the
console's browser uploads, and CloudFront invalidations. A ``privpi upload`` with its
credentials in the environment imports neither (privpi/storage/s3client.py does the rest).
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any, cast

import botocore.exceptions
from botocore.config import Config

from ..errors import StorageError
from . import awsenv
from .base import UploadTarget

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def presigned_post(
    bucket: str, region: str, endpoint_url: str | None, key: str, max_size: int, expires: int
) -> UploadTarget:
    """A POST of at most max_size bytes to key, valid expires seconds; signed here."""
    try:
        post = _s3(region, endpoint_url).generate_presigned_post(
            Bucket=bucket,
            Key=key,
            Conditions=[["content-length-range", 1, max_size]],
            ExpiresIn=expires,
        )
    except botocore.exceptions.BotoCoreError as e:
        raise StorageError(f"cannot sign an upload to {bucket}: {e}") from None
    return UploadTarget("POST", post["url"], post["fields"])


def invalidate(endpoint_url: str | None, distribution: str, paths: list[str]) -> None:
    # Any: the dev dependencies hold no CloudFront stubs for this one call.
    cloudfront: Any = awsenv.session().create_client("cloudfront", endpoint_url=endpoint_url)
    batch = {"Paths": {"Quantity": len(paths), "Items": paths}}
    try:
        cloudfront.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={**batch, "CallerReference": f"privpi-{time.time_ns()}"},
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        raise StorageError(f"could not invalidate {', '.join(paths)} in CloudFront: {e}") from None


@functools.cache
def _s3(region: str, endpoint_url: str | None) -> S3Client:
    """A client with Signature Version 4 and the bucket's regional virtual-hosted endpoint,
    https://BUCKET.s3.REGION.amazonaws.com/, which privpi's own client addresses too
    (edge.s3source.bucket_address).

    botocore's defaults would sign browser uploads with Signature Version 2 in us-east-1,
    eu-west-1 and other older regions, which S3 refuses on buckets created since June 2020
    (https://docs.aws.amazon.com/AmazonS3/latest/API/specify-signature-version.html#UsingAWSSDK-sig2-deprecation),
    and would post to the global https://BUCKET.s3.amazonaws.com/, which S3 answers for a new
    bucket outside us-east-1 with a temporary redirect that a browser does not follow for a
    CORS request (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html).
    Another S3 API server (endpoint_url: tests, benches) is addressed path-style.
    """
    client = awsenv.session().create_client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(
            signature_version="s3v4",
            s3={
                "addressing_style": "path" if endpoint_url else "virtual",
                "us_east_1_regional_endpoint": "regional",
            },
        ),
    )
    return cast("S3Client", client)  # botocore's stubs type it as a generic client
