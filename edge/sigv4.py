"""AWS Signature Version 4 for one S3 request, with the standard library alone.

boto3 costs the authenticator seconds of cold start at 128 MB (about 7 % of one vCPU), so
the store read signs its own GET. The algorithm is AWS's
(https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html):
a canonical request, a string to sign scoped to date/region/service, and an HMAC chain
from the secret key. tests/test_edge_sigv4.py checks it against botocore's S3SigV4Auth.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from urllib.parse import quote

TYPE_CHECKING = False  # typing costs cold-start time: annotations only (mypy reads this)
if TYPE_CHECKING:
    from collections.abc import Mapping

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Credentials:
    """An access key pair, with the session token that temporary credentials carry."""

    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str | None = None):
        self.access_key, self.secret_key, self.token = access_key, secret_key, token or None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Credentials:
        """The role's credentials that Lambda puts in the environment; KeyError if absent."""
        return cls(
            environ["AWS_ACCESS_KEY_ID"],
            environ["AWS_SECRET_ACCESS_KEY"],
            environ.get("AWS_SESSION_TOKEN"),
        )


def uri_path(key: str) -> str:
    """The key as a URI path: every byte but RFC 3986's unreserved ones and '/' escaped."""
    return "/" + quote(key, safe="/~")


def sign(
    method: str,
    host: str,
    path: str,
    headers: dict[str, str],
    creds: Credentials,
    region: str,
    service: str = "s3",
    now: float | None = None,
    payload_hash: str = EMPTY_SHA256,
    query: str = "",
) -> dict[str, str]:
    """The headers to send: ``headers`` plus Host, the x-amz-* ones and Authorization.

    ``path`` is the escaped path as sent (S3 signs it as is, no second escaping); ``query``
    the query string as sent, made by canonical_query. Every header given is signed.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    out = {"host": host, **{k.lower(): v for k, v in headers.items()}}
    out["x-amz-date"] = stamp
    out["x-amz-content-sha256"] = payload_hash
    if creds.token:
        out["x-amz-security-token"] = creds.token
    names = sorted(out)
    canonical = "\n".join(
        [
            method,
            path,
            query,
            "".join(f"{n}:{' '.join(out[n].split())}\n" for n in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(creds.secret_key, stamp[:8], region, service)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out["authorization"] = (
        f"{ALGORITHM} Credential={creds.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


def canonical_query(params: Mapping[str, str]) -> str:
    """Parameters as SigV4 signs them and as they must be sent: sorted by name, names and
    values escaped but for RFC 3986's unreserved characters."""
    return "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items())
    )


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
