"""The authenticator's own SigV4 and store read, without boto3.

The signature is checked against AWS's documented example and botocore's S3SigV4Auth.
The reads go to a moto server of this module's own with IAM authentication switched on,
so moto recomputes every signature and applies the IAM policies: a bad signature or a
missing permission is a real 403, not a formality.
"""

from __future__ import annotations

import calendar
import json
import time
import urllib.request
from dataclasses import dataclass

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from edge import sigv4
from edge.s3source import S3Error, S3Source
from edge.userstore import OK, Unavailable, UserCache
from privpi.keys import USERS_KEY
from tests.support.edge import ALICE_PASSWORD, Clock, default_doc
from tests.support.faultproxy import FaultProxy
from tests.support.net import moto

REGION = "eu-west-1"
BUCKET = "edge-store"
ODD_KEY = "team a/ünï+code/@key=~(1).json"  # every character class SigV4 escapes


# -- the signature -------------------------------------------------------------------


def test_signature_matches_aws_documented_example():
    """'GET Object' in https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html"""
    creds = sigv4.Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    when = calendar.timegm((2013, 5, 24, 0, 0, 0))
    headers = sigv4.sign(
        "GET", "examplebucket.s3.amazonaws.com", "/test.txt", {"Range": "bytes=0-9"},
        creds, "us-east-1", now=when,
    )  # fmt: skip
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE+/session=token"])
@pytest.mark.parametrize(
    "key", ["config/users.json", ODD_KEY, "a//double/slash", "sp ace%20pct", "*'!$&,;:"]
)
@pytest.mark.parametrize("etag", [None, '"9b2cf535f27731c974343645a3985328"'])
def test_signature_matches_botocore(key, token, etag):
    """botocore signs at its own clock; ours signs the same request at the time it used."""
    url = f"https://my-bucket.s3.{REGION}.amazonaws.com{sigv4.uri_path(key)}"
    request = AWSRequest("GET", url, headers={"If-None-Match": etag} if etag else {})
    S3SigV4Auth(BotoCredentials("AKIDEXAMPLE", "s3cr3t/+key", token), "s3", REGION).add_auth(
        request
    )
    when = calendar.timegm(time.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
    ours = sigv4.sign(
        "GET", f"my-bucket.s3.{REGION}.amazonaws.com", sigv4.uri_path(key),
        {"If-None-Match": etag} if etag else {},
        sigv4.Credentials("AKIDEXAMPLE", "s3cr3t/+key", token), REGION, now=when,
    )  # fmt: skip
    theirs = {k.lower(): v for k, v in request.headers.items()}
    assert ours["authorization"] == theirs["authorization"]
    for name in ("x-amz-date", "x-amz-content-sha256", "x-amz-security-token"):
        assert ours.get(name) == theirs.get(name)


def test_a_query_string_is_signed_as_botocore_signs_it():
    """privpi's S3 client lists with a query (ListObjectsV2): the same signer signs it."""
    params = {"list-type": "2", "prefix": "team a/ünï+code/", "continuation-token": "1/x=="}
    query = sigv4.canonical_query(params)
    url = f"https://my-bucket.s3.{REGION}.amazonaws.com/?{query}"
    request = AWSRequest("GET", url)
    S3SigV4Auth(BotoCredentials("AKIDEXAMPLE", "s3cr3t/+key"), "s3", REGION).add_auth(request)
    when = calendar.timegm(time.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
    ours = sigv4.sign(
        "GET", f"my-bucket.s3.{REGION}.amazonaws.com", "/", {},
        sigv4.Credentials("AKIDEXAMPLE", "s3cr3t/+key"), REGION, now=when, query=query,
    )  # fmt: skip
    assert ours["authorization"] == request.headers["Authorization"]


def test_endpoints_are_regional():
    """Regional virtual-hosted style; a dotted bucket would not match S3's certificate."""
    plain = S3Source("my-bucket", "ap-southeast-2", ODD_KEY, environ={})
    assert (plain.https, plain.host) == (True, "my-bucket.s3.ap-southeast-2.amazonaws.com")
    assert plain.path == "/team%20a/%C3%BCn%C3%AF%2Bcode/%40key%3D~%281%29.json"
    dotted = S3Source("my.bucket", "eu-west-1", USERS_KEY, environ={})
    assert (dotted.host, dotted.path) == ("s3.eu-west-1.amazonaws.com", "/my.bucket/" + USERS_KEY)
    local = S3Source("b", "eu-west-1", USERS_KEY, environ={"AWS_ENDPOINT_URL": "http://[::1]:9/"})
    assert (local.https, local.host, local.path) == (False, "[::1]:9", "/b/" + USERS_KEY)


# -- reads against a signature-checking S3 ------------------------------------------------


@dataclass
class SignedS3:
    endpoint: str
    reader: dict  # environment with credentials that may read the bucket
    session: dict  # temporary credentials (an assumed role): with AWS_SESSION_TOKEN
    stranger: dict  # a valid user without any permission
    store: bytes
    etag: str  # of the store


def _user(iam, name: str, policy: dict | None) -> dict:
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}  # fmt: skip


@pytest.fixture(scope="module")
def signed_s3():
    with moto("moto_server.py") as endpoint:
        kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                  aws_secret_access_key="testing")  # fmt: skip
        s3 = boto3.client("s3", **kw)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        store = json.dumps(default_doc()).encode()
        etag = s3.put_object(Bucket=BUCKET, Key=USERS_KEY, Body=store)["ETag"]
        s3.put_object(Bucket=BUCKET, Key=ODD_KEY, Body=b"odd")
        read = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
        ]}  # fmt: skip
        iam = boto3.client("iam", **kw)
        reader = _user(iam, "edge", read)
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
        ]}  # fmt: skip
        role = iam.create_role(RoleName="edge-role", AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName="edge-role", PolicyName="p", PolicyDocument=json.dumps(read))
        creds = boto3.client("sts", **kw).assume_role(
            RoleArn=role["Role"]["Arn"], RoleSessionName="edge"
        )["Credentials"]
        session = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
                   "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                   "AWS_SESSION_TOKEN": creds["SessionToken"]}  # fmt: skip
        stranger = _user(iam, "stranger", None)
        # From here on moto checks every request's signature and the caller's policies.
        switch = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth", b"0", {"Content-Type": "text/plain"}, method="POST"
        )
        urllib.request.urlopen(switch).close()
        yield SignedS3(endpoint, reader, session, stranger, store, etag)


def source(s3: SignedS3, env: dict, key: str = USERS_KEY, endpoint: str | None = None):
    env = {**env, "AWS_ENDPOINT_URL": endpoint or s3.endpoint}
    return S3Source(BUCKET, REGION, key, environ=env)


def test_read_200_then_304(signed_s3):
    src = source(signed_s3, signed_s3.reader)
    body, etag = src.fetch(None)
    assert (body, etag) == (signed_s3.store, signed_s3.etag)
    assert src.fetch(etag) is None  # If-None-Match: not modified
    assert src.fetch('"another"') == (body, etag)
    assert source(signed_s3, signed_s3.reader, ODD_KEY).fetch(None)[0] == b"odd"


def test_temporary_credentials_send_their_session_token(signed_s3):
    body, _ = source(signed_s3, signed_s3.session).fetch(None)
    assert json.loads(body)["version"] == 1
    without = {k: v for k, v in signed_s3.session.items() if k != "AWS_SESSION_TOKEN"}
    with pytest.raises(S3Error, match="403"):
        source(signed_s3, without).fetch(None)


@pytest.mark.parametrize(
    ("who", "code"), [("stranger", "AccessDenied"), ("bad secret", "SignatureDoesNotMatch")]
)
def test_403_fails_closed(signed_s3, who, code):
    env = signed_s3.stranger
    if who == "bad secret":
        env = {**signed_s3.reader, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    with pytest.raises(S3Error, match=f"403 {code}"):
        source(signed_s3, env).fetch(None)
    with pytest.raises(Unavailable):
        UserCache(source(signed_s3, env), clock=Clock()).check("alice", ALICE_PASSWORD)


def test_404_fails_closed(signed_s3):
    missing = source(signed_s3, signed_s3.reader, "config/nothing.json")
    with pytest.raises(S3Error, match="404 NoSuchKey"):
        missing.fetch(None)
    with pytest.raises(Unavailable):
        UserCache(missing, clock=Clock()).check("alice", ALICE_PASSWORD)


def test_no_credentials_is_a_clear_error():
    with pytest.raises(S3Error, match="no AWS credentials in the environment"):
        S3Source(
            BUCKET, REGION, USERS_KEY, environ={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
        ).fetch(None)


@pytest.fixture
def proxy(signed_s3):
    p = FaultProxy(signed_s3.endpoint)
    yield p
    p.close()


@pytest.mark.slow  # waits out two 1 s attempts
def test_slow_answer_gives_up_within_the_time_bound(signed_s3, proxy):
    proxy.add_rule("GET", USERS_KEY, action="delay", delay=30, times=100)
    src = source(signed_s3, signed_s3.reader, endpoint=proxy.url)
    started = time.monotonic()
    with pytest.raises(S3Error, match="TimeoutError|timed out"):
        src.fetch(None)
    took = time.monotonic() - started
    assert 1.9 < took < 3.0  # two attempts of 1 s, well inside the 5 s viewer limit
    assert len(proxy.faults()) == 2


def test_one_dropped_connection_is_retried(signed_s3, proxy):
    proxy.add_rule("GET", USERS_KEY, action="drop", times=1)
    body, _ = source(signed_s3, signed_s3.reader, endpoint=proxy.url).fetch(None)
    assert json.loads(body)["version"] == 1
    assert len(proxy.faults()) == 1


def test_dropped_connections_fail_closed(signed_s3, proxy):
    proxy.add_rule("GET", USERS_KEY, action="drop", times=100)
    cache = UserCache(source(signed_s3, signed_s3.reader, endpoint=proxy.url), clock=Clock())
    with pytest.raises(Unavailable):
        cache.check("alice", ALICE_PASSWORD)
    assert len(proxy.faults()) == 2
    proxy.clear()
    cache.clock.now += 5  # the retry after a failed read
    assert cache.check("alice", ALICE_PASSWORD) == OK
