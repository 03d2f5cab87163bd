"""``privpi sweep-incoming``: remove unfinished uploads from ``incoming/``.

In the cloud the bucket's lifecycle rule on ``incoming/`` does the same; locally run this
from cron, or rely on the console, which sweeps on every finalize.
"""

from __future__ import annotations

import click

from .context import AppContext, pass_app


@click.command("sweep-incoming")
@pass_app
def sweep_incoming(app: AppContext) -> None:
    """Remove expired and abandoned uploads from incoming/."""
    from .. import uploads

    removed = uploads.sweep(app.storage)
    for key in removed:
        click.echo(f"removed {key}")
    click.echo(f"Swept {len(removed)} object{'s' if len(removed) != 1 else ''} from incoming/.")
