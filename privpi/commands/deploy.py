"""``privpi deploy`` and ``privpi destroy``: the repository in an AWS account."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # imported when a command runs: boto3 costs ~0.5 s that --help skips
    from ..aws import deploy as core

name_option = click.option(
    "--name", required=True, help="Names the stacks NAME-bucket, NAME-authenticator, ..."
)
region_option = click.option(
    "--region",
    envvar="AWS_REGION",
    required=True,
    help="Home region of the bucket and distribution stacks (the authenticator: us-east-1).",
)


@click.command()
@name_option
@region_option
@click.option("--domain", help="Serve the repository at this name (needs --certificate-arn).")
@click.option("--certificate-arn", help="ACM certificate in us-east-1 for --domain.")
@click.option("--console-origin", help="https://HOST of the console, for browser uploads.")
@click.option("--keep-versions-days", "old_version_days", type=int, help="Default 90.")
@click.option(
    "--rate-limit",
    type=int,
    help="WAF blocks an IP address over this many requests per 5 minutes; 0: no WAF "
    "(the default for a new repository).",
)
@click.option(
    "--zappa-settings",
    type=click.Path(dir_okay=False, path_type=Path),
    default="zappa_settings.json",
    show_default=True,
    help="Write the console's production stage here (skipped if the file is missing).",
)
@click.option(
    "--upstream",
    metavar="URL",
    help="Redirect project pages that are neither private nor claimed to this index, "
    "for example https://pypi.org/simple/ (off unless given, on every deploy).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option(
    "--template-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    hidden=True,  # tests and template development: the stacks' templates (default: packaged)
)
def deploy(
    name: str,
    region: str,
    domain: str | None,
    certificate_arn: str | None,
    console_origin: str | None,
    old_version_days: int | None,
    rate_limit: int | None,
    upstream: str | None,
    zappa_settings: Path | None,
    dry_run: bool,
    template_dir: Path | None,
) -> None:
    """Create or update the repository's three stacks in your AWS account."""
    from ..aws import deploy as core

    settings = core.Settings(
        name=name,
        region=region,
        domain=domain,
        certificate_arn=certificate_arn,
        console_origin=console_origin,
        old_version_days=old_version_days,
        rate_limit=rate_limit,
        upstream=upstream,
        template_dir=template_dir or core.TEMPLATES,
    )
    run(settings, zappa_settings, dry_run)


def run(
    settings: core.Settings,
    zappa_settings: Path | None,
    dry_run: bool,
    clients: core.Clients | None = None,
    poll: float = 5.0,
) -> core.Result | None:
    from ..aws import deploy as core

    with core.aws_errors():
        return _run(settings, zappa_settings, dry_run, clients, poll)


def _run(
    settings: core.Settings,
    zappa_settings: Path | None,
    dry_run: bool,
    clients: core.Clients | None,
    poll: float,
) -> core.Result | None:
    from ..aws import deploy as core
    from ..aws import deployplan, zappaconf

    d = core.Deployer(settings, clients or core.make_clients(), click.echo, poll=poll)
    if dry_run:
        for line in deployplan.plan(d):
            click.echo(line)
        if zappa_settings is not None and zappa_settings.exists():
            click.echo(f"Then: the console's settings (stage production) into {zappa_settings}")
        return None
    result = d.deploy()
    if zappa_settings is not None and zappa_settings.exists():
        zappaconf.update(zappa_settings, zappaconf.console_settings(settings, result))
        click.echo(f"Wrote the console's settings to {zappa_settings} (stage production).")
    else:
        click.echo("No zappa_settings.json here: the console's settings were not written.")
    url = result.repository_url
    host = url.split("://", 1)[1]
    click.echo("")
    click.echo(f"Repository: {url}")
    click.echo(f"Storage:    {result.storage_url}")
    click.echo(f"Install with: pip install --index-url https://USER:PASSWORD@{host} PACKAGE")
    click.echo(f"First user: privpi --storage {result.storage_url} users add NAME --role admin")
    return result


@click.command()
@name_option
@region_option
@click.option("--delete-bucket", is_flag=True, help="Also delete the bucket and every package.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def destroy(name: str, region: str, delete_bucket: bool, yes: bool) -> None:
    """Remove the stacks deploy made, in reverse; the bucket is kept unless --delete-bucket."""
    from ..aws import deploy as core
    from ..aws import teardown

    settings = core.Settings(name=name, region=region)
    what = "the stacks, the bucket and every package in it" if delete_bucket else "the stacks"
    if not yes:
        click.confirm(f"Delete {what} of repository {name!r} ({region})?", abort=True)
    with core.aws_errors():
        teardown.destroy(core.Deployer(settings, core.make_clients(), click.echo), delete_bucket)
    click.echo(f"Repository {name!r} removed.")
