"""AWS credentials and region for privpi's S3 client, the environment first.

AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN are what botocore's chain
reads first and what a CI login (GitHub's OIDC role action) exports: then botocore is never
imported. Otherwise botocore's own chain resolves them (profiles, SSO, web identity, the
container and instance metadata endpoints), imported only then; temporary credentials are
refreshed by botocore itself when they near their expiry (get_frozen_credentials, per
request). The region likewise: AWS_REGION, AWS_DEFAULT_REGION, else botocore's config.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from edge import sigv4

if TYPE_CHECKING:
    import botocore.session

DEFAULT_REGION = "us-east-1"  # botocore's for S3 when nothing names one


class MissingCredentials(Exception):
    """Neither the environment nor botocore's chain holds AWS credentials."""


class Credentials:
    """``get()``: the credentials to sign the next request with."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self._fixed: sigv4.Credentials | None = None
        self._chain: Any = None  # botocore's Credentials (refreshable or not)
        if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
            self._fixed = sigv4.Credentials.from_environment(environ)

    def get(self) -> sigv4.Credentials:
        if self._fixed is not None:
            return self._fixed
        import botocore.exceptions  # noqa: PLC0415 - imported with the session, only here

        try:
            if self._chain is None:
                self._chain = session().get_credentials()
            if self._chain is None:
                raise MissingCredentials("no AWS credentials found")
            frozen = self._chain.get_frozen_credentials()  # refreshed if about to expire
        except botocore.exceptions.BotoCoreError as e:  # a profile half set, SSO expired...
            raise MissingCredentials(str(e)) from None
        return sigv4.Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def region(environ: Mapping[str, str] = os.environ) -> str:
    found = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    return found or session().get_config_variable("region") or DEFAULT_REGION


def ca_bundle(environ: Mapping[str, str] = os.environ) -> str | None:
    """The CA certificates to trust instead of the system's, as botocore reads them."""
    return environ.get("AWS_CA_BUNDLE") or None


@cache
def session() -> botocore.session.Session:
    """One botocore session per process, as boto3's default session: for the credential
    chain, and for what stays on botocore (presigned POSTs, CloudFront, deploy)."""
    import botocore.session  # noqa: PLC0415 - costs 0.1 s of start-up: only when needed

    return botocore.session.get_session()
