"""``privpi deploy``: the three stacks in order, each one's outputs fed to the next.

1. ``NAME-bucket`` (home region): the repository bucket, its policy, the IAM policies.
2. The authenticator zip, built for that bucket, uploaded under its SHA-256 to an artifact
   bucket in us-east-1 (Lambda@Edge functions live there), then ``NAME-authenticator``
   (us-east-1): the function and its published version, and the optional WAF web ACL that
   rate-limits each IP address (a CloudFront web ACL must live in us-east-1 too).
3. ``NAME-distribution`` (home region): CloudFront with the authenticator on viewer request
   and the web ACL, if any.
4. The bucket stack again, once, with the distribution's ARN for its bucket policy.

Every stack goes through a change set, so an unchanged deploy executes nothing. AWS clients
come from one factory (region, and AWS_ENDPOINT_URL through boto3), so tests run all of it
against a moto server.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError, NoCredentialsError

from .. import index, keys
from ..errors import PrivpiError, ValidationError
from ..keys import CONSOLE_ENV_KEY
from ..settings import check_upstream
from ..storage import s3_storage
from . import edgebuild, edgelogs, stacks

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

TEMPLATES = resources.files(__package__) / "templates"  # package data, in the wheel too
EDGE_REGION = "us-east-1"  # Lambda@Edge functions and CloudFront certificates live here
NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,28}[a-z0-9])?$")
CERTIFICATE = re.compile(r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]+$")
DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
ORIGIN = re.compile(r"^https://[^/\s]+$")
RATE_LIMITS = (10, 2_000_000_000)  # what a WAF rate-based rule accepts per evaluation window

# (service, region) -> boto3 client. Its type depends on the service named at run time, so
# callers annotate the client they get (S3Client, ...): that is where the typing happens.
Clients = Callable[[str, str], Any]
Current = dict[str, stacks.Stack | None]  # the deployed stacks by part, None if absent


def make_clients(
    session: boto3.session.Session | None = None, endpoint_url: str | None = None
) -> Clients:
    """The client factory: boto3's usual credentials; without endpoint_url, boto3 honours
    AWS_ENDPOINT_URL (how the tests point everything at a moto server)."""
    session = session or boto3.session.Session()
    # boto3-stubs types client() per literal service name; here the caller names it.
    return lambda service, region: session.client(  # type: ignore[call-overload]
        service, region_name=region, endpoint_url=endpoint_url
    )


@contextlib.contextmanager
def aws_errors() -> Iterator[None]:
    """AWS failures as one sentence: missing credentials, refused calls."""
    try:
        yield
    except NoCredentialsError:
        raise PrivpiError(
            "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY"
        ) from None
    except ClientError as e:
        err = e.response.get("Error", {})
        raise PrivpiError(
            f"AWS refused {e.operation_name}: {err.get('Code')}: {err.get('Message')}"
        ) from None


@dataclass
class Settings:
    name: str
    region: str
    domain: str | None = None  # None: keep the deployed value ("" removes it)
    certificate_arn: str | None = None
    console_origin: str | None = None
    old_version_days: int | None = None
    rate_limit: int | None = None  # requests per IP per 5 minutes; 0 removes the web ACL
    upstream: str | None = None  # baked into the authenticator: off unless given each time
    template_dir: Traversable = TEMPLATES

    def stack(self, part: str) -> str:
        return f"{self.name}-{part}"

    @property
    def console_function(self) -> str:
        return f"privpi-{self.name}-production"  # Zappa: PROJECT-STAGE


def validate(s: Settings) -> None:
    if not NAME.match(s.name or ""):
        raise ValidationError(
            f"invalid name {s.name!r}: lowercase letters, digits and dashes, 1-30 characters, "
            "starting with a letter"
        )
    if not edgebuild.REGION.match(s.region or ""):
        raise ValidationError(f"invalid AWS region {s.region!r} (for example eu-west-1)")
    if s.domain and not DOMAIN.match(s.domain):
        raise ValidationError(f"invalid domain {s.domain!r} (for example pypi.example.com)")
    if s.certificate_arn and not CERTIFICATE.match(s.certificate_arn):
        raise ValidationError(
            f"invalid certificate ARN {s.certificate_arn!r}: CloudFront needs an ACM "
            "certificate in us-east-1 (arn:aws:acm:us-east-1:ACCOUNT:certificate/ID)"
        )
    if s.console_origin and not ORIGIN.match(s.console_origin):
        raise ValidationError(
            f"invalid console origin {s.console_origin!r}: https://HOST, without a path"
        )
    if s.old_version_days is not None and s.old_version_days < 1:
        raise ValidationError(f"--keep-versions-days must be 1 or more, not {s.old_version_days}")
    if s.upstream:
        check_upstream(s.upstream)
    low, high = RATE_LIMITS
    if s.rate_limit not in (None, 0) and not low <= s.rate_limit <= high:
        raise ValidationError(
            f"--rate-limit must be 0 (no limit) or {low} to {high} requests per 5 minutes, "
            f"not {s.rate_limit}"
        )


@dataclass
class Result:
    repository_url: str
    storage_url: str
    outputs: dict[str, dict[str, str]]
    console_code_bucket: str = ""  # Zappa's s3_bucket


class Deployer:
    def __init__(
        self, settings: Settings, clients: Clients, echo: stacks.Echo, poll: float = 5.0
    ) -> None:
        validate(settings)
        self.s = settings
        self.echo = echo
        self.poll = poll
        self.clients = clients
        self.home: CloudFormationClient = clients("cloudformation", settings.region)
        self.edge: CloudFormationClient = clients("cloudformation", EDGE_REGION)
        self._account = ""

    def template(self, part: str) -> str:
        path = self.s.template_dir / f"{part}.yaml"
        try:
            return path.read_text(encoding="utf-8")
        except OSError as e:
            raise PrivpiError(f"cannot read template {path}: {e.strerror}") from None

    def current(self) -> Current:
        return {
            "bucket": stacks.describe(self.home, self.s.stack("bucket")),
            "authenticator": stacks.describe(self.edge, self.s.stack("authenticator")),
            "distribution": stacks.describe(self.home, self.s.stack("distribution")),
        }

    def account(self) -> str:
        if not self._account:
            sts: STSClient = self.clients("sts", self.s.region)
            self._account = sts.get_caller_identity()["Account"]
        return self._account

    def artifact_bucket(self, account: str) -> str:
        return f"privpi-{self.s.name}-artifacts-{account}"

    def console_code_bucket(self) -> str:
        """Zappa's s3_bucket: where `zappa update` uploads the console's zip. Without a fixed
        one Zappa makes a new randomly named bucket each time. In the home region, as
        Lambda takes a function's code only from a bucket in its own region."""
        return f"privpi-{self.s.name}-console-{self.account()}"

    # -- parameters: what the user gave, else what is deployed, else the default -------------

    def bucket_params(self, now: Current, distribution_arn: str | None = None) -> dict[str, str]:
        prev = now["bucket"].parameters if now["bucket"] else {}
        dist = now["distribution"].outputs if now["distribution"] else {}
        days = self.s.old_version_days
        return {
            "ConsoleOrigin": _pick(self.s.console_origin, prev.get("ConsoleOrigin"), ""),
            "OldVersionDays": str(days) if days else prev.get("OldVersionDays", "90"),
            "ConsoleFunctionName": self.s.console_function,
            "DistributionArn": distribution_arn
            or dist.get("DistributionArn")
            or prev.get("DistributionArn", ""),
        }

    def authenticator_params(self, now: Current, code: dict[str, str]) -> dict[str, str]:
        prev = now["authenticator"].parameters if now["authenticator"] else {}
        limit = self.s.rate_limit
        given = None if limit is None else str(limit)
        return {
            **code,
            "RateLimitPer5Minutes": _pick(given, prev.get("RateLimitPer5Minutes"), "0"),
            "LogRetentionDays": str(edgelogs.RETENTION_DAYS),
        }

    def distribution_params(
        self, now: Current, bucket: dict[str, str], version_arn: str, web_acl_arn: str = ""
    ) -> dict[str, str]:
        prev = now["distribution"].parameters if now["distribution"] else {}
        domain = _pick(self.s.domain, prev.get("Domain"), "")
        certificate = _pick(self.s.certificate_arn, prev.get("CertificateArn"), "")
        if bool(domain) != bool(certificate):
            raise ValidationError(
                "--domain and --certificate-arn go together: the alias needs its certificate"
            )
        return {
            "BucketRegionalDomainName": bucket["BucketRegionalDomainName"],
            "AuthenticatorVersionArn": version_arn,
            "Domain": domain,
            "CertificateArn": certificate,
            "WebAclArn": web_acl_arn,
        }

    # -- the deploy ---------------------------------------------------------------------------

    def deploy(self) -> Result:
        now = self.current()
        self.echo(f"1/3 bucket stack {self.s.stack('bucket')} ({self.s.region})")
        bucket = self.apply("bucket", self.home, self.bucket_params(now))
        code = self.upload_authenticator(bucket["BucketName"])
        auth_params = self.authenticator_params(now, code)
        self.detach_retired_web_acl(now, bucket, auth_params)
        self.echo(f"2/3 authenticator stack {self.s.stack('authenticator')} ({EDGE_REGION})")
        auth = self.apply("authenticator", self.edge, auth_params)
        edgelogs.keep_for(self.clients, auth["FunctionName"], edgelogs.RETENTION_DAYS, self.echo)
        self.echo(f"3/3 distribution stack {self.s.stack('distribution')} ({self.s.region})")
        web_acl = auth.get("WebAclArn", "")  # absent in stacks deployed before the option
        dist_params = self.distribution_params(now, bucket, auth["VersionArn"], web_acl)
        dist = self.apply("distribution", self.home, dist_params)
        now = self.current()
        wanted = self.bucket_params(now, dist["DistributionArn"])
        deployed = now["bucket"]
        if (
            deployed is None
            or deployed.parameters.get("DistributionArn") != wanted["DistributionArn"]
        ):
            self.echo("bucket policy: letting the distribution read packages/*")
            bucket = self.apply("bucket", self.home, wanted)
        self.ensure_console_secret(bucket["BucketName"])
        self.ensure_root_index(bucket["BucketName"])
        self.publish_distribution_id(bucket["BucketName"], dist["DistributionId"])
        console_code = self.console_code_bucket()
        self.ensure_bucket(self.clients("s3", self.s.region), console_code, self.s.region)
        return Result(
            repository_url=dist["RepositoryUrl"],
            storage_url=bucket["StorageUrl"],
            outputs={"bucket": bucket, "authenticator": auth, "distribution": dist},
            console_code_bucket=console_code,
        )

    def detach_retired_web_acl(
        self, now: Current, bucket: dict[str, str], auth_params: dict[str, str]
    ) -> None:
        """WAF refuses to delete a web ACL that a distribution still uses ("disassociate it
        from all resources first", https://docs.aws.amazon.com/waf/latest/APIReference/
        API_DeleteWebACL.html). Turning the rate limit off therefore updates the
        distribution without it before the authenticator stack deletes it."""
        dist = now["distribution"]
        attached = dist.parameters.get("WebAclArn") if dist else ""
        if dist is None or not attached or auth_params["RateLimitPer5Minutes"] != "0":
            return
        self.echo(f"0/3 distribution stack {self.s.stack('distribution')}: detaching the web ACL")
        version = dist.parameters["AuthenticatorVersionArn"]
        self.apply("distribution", self.home, self.distribution_params(now, bucket, version, ""))

    def apply(self, part: str, cf: CloudFormationClient, params: dict[str, str]) -> dict[str, str]:
        name = self.s.stack(part)
        stack = stacks.apply(cf, name, self.template(part), params, self.echo, self.poll)
        return stack.outputs

    def authenticator_zip(self, bucket: str) -> tuple[bytes, str, str]:
        """The zip, its key (named by content) and its base64 SHA-256 for the version."""
        data = edgebuild.build_zip(bucket, self.s.region, upstream=self.s.upstream)
        digest = hashlib.sha256(data)
        sha = base64.b64encode(digest.digest()).decode()
        return data, f"authenticator/{digest.hexdigest()}.zip", sha

    def upload_authenticator(self, bucket: str) -> dict[str, str]:
        data, key, sha = self.authenticator_zip(bucket)
        artifacts = self.artifact_bucket(self.account())
        s3: S3Client = self.clients("s3", EDGE_REGION)
        self.ensure_bucket(s3, artifacts)
        if object_exists(s3, artifacts, key):
            self.echo(f"  authenticator zip unchanged (s3://{artifacts}/{key})")
        else:
            s3.put_object(Bucket=artifacts, Key=key, Body=data, ContentType="application/zip")
            self.echo(f"  uploaded the authenticator zip ({len(data)} bytes) to s3://{artifacts}")
        return {
            "BucketName": bucket,
            "CodeBucket": artifacts,
            "CodeKey": key,
            "CodeSha256": sha,
        }

    def ensure_bucket(self, s3: S3Client, name: str, region: str = EDGE_REGION) -> None:
        """A private bucket of deploy's own (artifacts, the console's code), made once."""
        try:
            s3.head_bucket(Bucket=name)
            return
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code in ("403", "AccessDenied"):
                raise PrivpiError(f"the bucket {name} belongs to another account") from None
            if code not in ("404", "NoSuchBucket", "NotFound"):
                raise
        if region == "us-east-1":  # the default location: S3 refuses it as a constraint
            s3.create_bucket(Bucket=name)
        else:
            # A region name checked by validate(); boto3-stubs lists only the regions it knew.
            where = {"LocationConstraint": region}
            s3.create_bucket(Bucket=name, CreateBucketConfiguration=where)  # type: ignore[arg-type]
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        self.echo(f"  created the bucket {name} ({region})")

    def ensure_console_secret(self, bucket: str) -> None:
        """The console's Flask secret key, kept in the bucket for Zappa's remote_env.

        Written once: a new key on every deploy would sign everybody out.
        """
        s3: S3Client = self.clients("s3", self.s.region)
        if object_exists(s3, bucket, CONSOLE_ENV_KEY):
            return
        body = json.dumps({"PRIVPI_SECRET_KEY": secrets.token_hex(32)}) + "\n"
        s3.put_object(
            Bucket=bucket, Key=CONSOLE_ENV_KEY, Body=body.encode(), ContentType="application/json"
        )
        self.echo(f"  created the console's secret key at s3://{bucket}/{CONSOLE_ENV_KEY}")

    def ensure_root_index(self, bucket: str) -> None:
        """The authenticator reads the quarantined projects (and, with an upstream, the
        private names) from the root index and refuses files while there is none: a new
        bucket gets an empty one (an existing root is left as it is)."""
        index.update_root(s3_storage(bucket, region=self.s.region))

    def publish_distribution_id(self, bucket: str, distribution_id: str) -> None:
        """Tell publishers which distribution to invalidate (Storage.invalidate), in the bucket
        they already read, so nobody copies an id into their settings by hand."""
        s3: S3Client = self.clients("s3", self.s.region)
        body = json.dumps({"distribution_id": distribution_id}) + "\n"
        try:
            current = s3.get_object(Bucket=bucket, Key=keys.DISTRIBUTION)["Body"].read()
        except ClientError as e:
            if e.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
            current = None
        if current != body.encode():
            s3.put_object(
                Bucket=bucket, Key=keys.DISTRIBUTION, Body=body.encode(),
                ContentType="application/json",
            )  # fmt: skip


def _pick(given: str | None, deployed: str | None, default: str) -> str:
    if given is not None:
        return given
    return deployed if deployed is not None else default


def object_exists(s3: S3Client, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as e:
        if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
