"""``privpi status`` and ``privpi tracks``: a project's PEP 792 status and PEP 708 tracks."""

from __future__ import annotations

import click

from ..statuses import STATUSES
from .context import AppContext, pass_app


@click.command("status")
@click.argument("project")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--reason", default="", help="Why (installers may show it).")
@pass_app
def status(app: AppContext, project: str, status: str, reason: str) -> None:
    """Mark a project active, archived, deprecated or quarantined (PEP 792).

    Archived and quarantined projects accept no uploads; a quarantined one lists no files
    and its files answer 404, until it is given another status.
    """
    from .. import status as core

    page = core.set_status(app.storage, project, status, reason, actor="cli")
    click.echo(f"{page['name']} is now {status}" + (f": {reason.strip()}" if reason else "."))


@click.command("tracks")
@click.argument("project")
@click.argument("url", required=False)
@click.option("--clear", is_flag=True, help="PROJECT tracks nothing any more.")
@pass_app
def tracks(app: AppContext, project: str, url: str | None, clear: bool) -> None:
    """Say that a project follows a project page on another index (PEP 708 tracks).

    PROJECT tracks URL, the project's page on the other index; --clear removes it.
    """
    from .. import status as core

    if bool(url) == clear:
        raise click.UsageError("give either URL or --clear")
    page = core.set_tracks(app.storage, project, None if clear else url, actor="cli")
    click.echo(
        f"{page['name']} tracks {url}." if url else f"{page['name']} tracks nothing any more."
    )
