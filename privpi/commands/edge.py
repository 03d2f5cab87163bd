"""``privpi edge build``: write the Lambda@Edge authenticator zip."""

from __future__ import annotations

import contextlib
import os

import click

from ..errors import PrivpiError
from .context import AppContext, pass_app


@click.group()
def edge() -> None:
    """The CloudFront viewer-request authenticator."""


@edge.command()
@click.option("--bucket", required=True, help="The bucket holding config/users.json.")
@click.option("--region", required=True, help="The bucket's region, e.g. eu-west-1.")
@click.option("--realm", help="Basic auth realm (default PRIVPI_REALM, else privpi).")
@click.option("--prefix", default="", help="Key prefix of the repository in the bucket.")
@click.option(
    "--upstream",
    metavar="URL",
    help="Redirect project pages neither private nor claimed to this index (default: off).",
)
@click.option(
    "--output",
    "-o",
    default="privpi-edge.zip",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True),
)
@pass_app
def build(
    app: AppContext,
    bucket: str,
    region: str,
    realm: str | None,
    prefix: str,
    upstream: str | None,
    output: str,
) -> None:
    """Build the deployable zip (handler: viewer_request.handler)."""
    from ..aws.edgebuild import build_zip

    realm = realm or app.settings.realm
    data = build_zip(bucket, region, realm=realm, prefix=prefix, upstream=upstream)
    tmp = f"{output}.part"
    try:  # never leave a half-written zip behind
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, output)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise PrivpiError(f"cannot write {output}: {e.strerror}") from None
    click.echo(f"Wrote {output} ({len(data)} bytes) for bucket {bucket} in {region}.")
