"""The ``privpi`` command line: parse, build the context, call one core function.

Every failure the user can act on is a PrivpiError, printed by click as one line with exit
code 1 (usage errors: 2). Anything unexpected is turned into one line as well; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import functools
import logging

import click

from .errors import PrivpiError
from .storage import DEFAULT_STORAGE, Storage, open_storage


class AppContext:
    """What every command gets: the storage, opened on first use."""

    def __init__(self, storage_url: str | None, debug: bool):
        self.storage_url = storage_url
        self.debug = debug

    @functools.cached_property
    def storage(self) -> Storage:
        return open_storage(self.storage_url)


pass_app = click.make_pass_decorator(AppContext)


class PrivpiGroup(click.Group):
    """Turns unexpected exceptions into one clear line unless --debug is given."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as e:
            app = ctx.find_object(AppContext)
            if app is not None and app.debug:
                raise
            raise PrivpiError(f"unexpected {type(e).__name__}: {e} (run with --debug)") from e


@click.group(cls=PrivpiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--storage",
    "storage_url",
    envvar="PRIVPI_STORAGE",
    metavar="URL",
    help=f"Folder path, file://PATH or s3://BUCKET[/PREFIX] (default {DEFAULT_STORAGE}).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.version_option(package_name="privpi")
@click.pass_context
def main(ctx: click.Context, storage_url: str | None, debug: bool) -> None:
    """privpi: a private Python package index in S3 or a local folder."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
    ctx.obj = AppContext(storage_url, debug)


def _register() -> None:
    from .commands import users

    main.add_command(users.users)
    main.add_command(__import__("privpi.commands.serve", fromlist=["_"]).serve)
    main.add_command(__import__("privpi.commands.edge", fromlist=["_"]).edge)
    main.add_command(__import__("privpi.commands.incoming", fromlist=["_"]).sweep_incoming)
    __import__("privpi.commands.publish", fromlist=["_"]).register(main)
    __import__("privpi.commands.deploy", fromlist=["_"]).register(main)


_register()
