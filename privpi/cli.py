"""The ``privpi`` command line: parse, build the context, call one core function.

The core raises plain exceptions; this group alone turns them into the command line's
terms: a PrivpiError becomes one line ``Error: ...`` with its exit code (usage errors: 2),
anything unexpected one line as well; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import logging

import click

from .commands import claims, deploy, edge, incoming, publish, serve, tokens, users
from .commands.context import AppContext
from .errors import PrivpiError
from .settings import Settings
from .storage import DEFAULT_STORAGE


class PrivpiGroup(click.Group):
    """Translates core errors, and unexpected exceptions unless --debug is given."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except PrivpiError as e:
            raise click.ClickException(e.message) from e  # prints 'Error: ...', exit code 1
        except Exception as e:
            app = ctx.find_object(AppContext)
            if app is not None and app.debug:
                raise
            raise click.ClickException(
                f"unexpected {type(e).__name__}: {e} (run with --debug)"
            ) from e


@click.group(cls=PrivpiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--storage",
    "storage_url",
    metavar="URL",
    help="Folder path, file://PATH or s3://BUCKET[/PREFIX] "
    f"(default PRIVPI_STORAGE, else {DEFAULT_STORAGE}).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.version_option(package_name="privpi")
@click.pass_context
def main(ctx: click.Context, storage_url: str | None, debug: bool) -> None:
    """privpi: a private Python package index in S3 or a local folder."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
    ctx.obj = AppContext(storage_url, debug, Settings.from_environment())


for command in (
    users.users,
    tokens.tokens,
    serve.serve,
    edge.edge,
    incoming.sweep_incoming,
    publish.upload,
    publish.yank,
    publish.unyank,
    publish.delete,
    publish.reindex,
    publish.projects,
    deploy.deploy,
    deploy.destroy,
    claims.claim,
    claims.unclaim,
    claims.list_claims,
):
    main.add_command(command)
