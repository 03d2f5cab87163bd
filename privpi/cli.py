"""The ``privpi`` command line: parse, build the context, call one core function.

The core raises plain exceptions; this group alone turns them into the command line's
terms: a PrivpiError becomes one line ``Error: ...`` with its exit code (usage errors: 2),
anything unexpected one line as well; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib

import click

from .errors import PrivpiError
from .settings import DEFAULT_STORAGE, Settings

# Command name -> (module, attribute, one-line help). A command's module is imported only when
# that command runs or shows its own help: boto3, the deploy modules and the console (Flask,
# waitress) cost up to a second of imports that `privpi --help` and `privpi users list` must not
# pay (issue 15). The help line is here so the command list needs no import;
# tests/test_cli_lazy.py checks it against each command's docstring.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "claim": (
        "privpi.commands.claims",
        "claim",
        "Claim names (acme-* matches every name starting acme-): with an upstream index, "
        "they answer here (404 until published) and never redirect there.",
    ),
    "claims": ("privpi.commands.claims", "list_claims", "List the claimed name patterns."),
    "delete": (
        "privpi.commands.publish",
        "delete",
        "Delete PROJECT, one VERSION of it, or one --file, with its pages entries.",
    ),
    "deploy": (
        "privpi.commands.deploy",
        "deploy",
        "Create or update the repository's three stacks in your AWS account.",
    ),
    "destroy": (
        "privpi.commands.deploy",
        "destroy",
        "Remove the stacks deploy made, in reverse; the bucket is kept unless --delete-bucket.",
    ),
    "edge": ("privpi.commands.edge", "edge", "The CloudFront viewer-request authenticator."),
    "projects": (
        "privpi.commands.publish",
        "projects",
        "List projects with their file counts and total sizes.",
    ),
    "reindex": (
        "privpi.commands.publish",
        "reindex",
        "Rebuild every page from the stored files (the repair path).",
    ),
    "serve": (
        "privpi.commands.serve",
        "serve",
        "Serve the index at /simple/ and the console at / (Ctrl-C stops).",
    ),
    "sweep-incoming": (
        "privpi.commands.incoming",
        "sweep_incoming",
        "Remove expired and abandoned uploads from incoming/.",
    ),
    "tokens": (
        "privpi.commands.tokens",
        "tokens",
        "Create, list and revoke API tokens (the user name to send is __token__).",
    ),
    "status": (
        "privpi.commands.status",
        "status",
        "Mark a project active, archived, deprecated or quarantined (PEP 792).",
    ),
    "tracks": (
        "privpi.commands.status",
        "tracks",
        "Say that a project follows a project page on another index (PEP 708 tracks).",
    ),
    "unclaim": (
        "privpi.commands.claims",
        "unclaim",
        "Remove claimed patterns (names that are not private then fall through to upstream).",
    ),
    "unyank": ("privpi.commands.publish", "unyank", "Undo a yank of VERSION of PROJECT."),
    "upload": (
        "privpi.commands.publish",
        "upload",
        "Publish wheels and sdists (.whl, .tar.gz, .zip).",
    ),
    "users": (
        "privpi.commands.users",
        "users",
        "Manage users: add, list, passwd, role, remove, disable, enable, grant, ungrant.",
    ),
    "yank": (
        "privpi.commands.publish",
        "yank",
        "Yank VERSION of PROJECT: pip skips it unless asked for exactly that version.",
    ),
}


class PrivpiGroup(click.Group):
    """Loads commands from COMMANDS on use (click's LazyGroup pattern); translates core errors,
    and unexpected exceptions unless --debug is given."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}.{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMANDS' help lines, without importing any command."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit))
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
            from .commands.context import AppContext  # noqa: PLC0415 - loaded by main already

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
    # Here, not at the top: `privpi --help` never runs this, nor needs the storage modules.
    import logging  # noqa: PLC0415

    from .commands.context import AppContext  # noqa: PLC0415

    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
    ctx.obj = AppContext(storage_url, debug, Settings.from_environment())
