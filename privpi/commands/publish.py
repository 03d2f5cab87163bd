"""``privpi upload/yank/unyank/delete/reindex/projects``: thin wrappers over privpi.publish.

Each command imports the core when it runs: privpi.publish loads the page renderer (jinja2),
the distribution readers and packaging, which ``--help`` never needs (issue 15).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from ..errors import PrivpiError
from ..units import human_size, parse_size
from .context import AppContext, pass_app

if TYPE_CHECKING:
    from .. import publish
    from ..remote import Console


VERBS = {
    "published": "Published",
    "skipped": "Skipped (already published)",
    "replaced": "Replaced",
}


# Not click.ParamType[int, str]: click before 8.5 has no type parameters to subscript at run time.
class SizeParam(click.ParamType):  # type: ignore[type-arg]
    """A byte count such as 5000000, 100MB or 1GiB."""

    name = "size"

    def convert(
        self, value: int | str, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--skip-existing", is_flag=True, help="Skip files already published unchanged.")
@click.option("--overwrite", is_flag=True, help="Replace files already published (fixes pages).")
@click.option(
    "--max-size",
    type=SizeParam(),
    help="Refuse files larger than this (default PRIVPI_MAX_UPLOAD_BYTES, else 100MiB).",
)
@click.option(
    "--url",
    metavar="URL",
    help="Publish through this console (https://CONSOLE/) with a token, instead of "
    "writing to storage: no storage credentials needed, any size.",
)
@click.option(
    "--token-file",
    type=click.File("r"),
    help="With --url: read the token from this file (default: PRIVPI_TOKEN).",
)
@pass_app
def upload(
    app: AppContext,
    files: tuple[str, ...],
    skip_existing: bool,
    overwrite: bool,
    max_size: int | None,
    url: str | None,
    token_file: TextIO | None,
) -> None:
    """Publish wheels and sdists (.whl, .tar.gz, .zip).

    With --url, through a console's upload API: an identical file already published is
    skipped (not an error), as with --skip-existing; --overwrite needs storage.
    """
    if skip_existing and overwrite:
        raise click.UsageError("--skip-existing and --overwrite exclude each other")
    if url is None:
        if token_file is not None:
            raise click.UsageError("--token-file goes with --url")
        existing = "overwrite" if overwrite else "skip" if skip_existing else "refuse"
        limit = max_size or app.settings.max_upload_bytes
        _publish_all(files, lambda path: _upload_one(app, path, existing, limit))
        return
    if overwrite:
        raise click.UsageError("--overwrite works on storage directly, not with --url")
    token = token_file.read().strip() if token_file else app.settings.token
    console = _console(url, token)
    _publish_all(files, lambda path: _upload_remote(console, path, max_size))


def _publish_all(
    files: tuple[str, ...], publish_one: Callable[[Path], publish.PublishResult]
) -> None:
    """Each file in turn; each failure reported and counted, then exit 1 if any."""
    failed = 0
    for name in files:
        path = Path(name)
        try:
            result = publish_one(path)
        except PrivpiError as e:
            failed += 1
            click.echo(f"Error: {e.message}{_hint(e)}", err=True)
            continue
        click.echo(f"{VERBS[result.status]} {result.filename} ({result.project} {result.version}).")
    if failed:
        raise PrivpiError(f"{failed} of {len(files)} uploads failed")


def _hint(e: PrivpiError) -> str:
    """The flag that changes the answer, for the refusals a flag changes."""
    from ..publish import FileExists

    if isinstance(e, FileExists) and not e.same:
        return " (use --overwrite to replace it)"
    return ""


def _console(url: str, token: str | None) -> Console:
    if not token:
        raise click.UsageError("--url needs a token: set PRIVPI_TOKEN or pass --token-file")
    # Imported here: the HTTP client (urllib.request) costs start-up time that every other
    # command would pay for nothing.
    from ..remote import Console

    return Console(url, token)


def _upload_remote(console: Console, path: Path, max_size: int | None) -> publish.PublishResult:
    from ..intake import too_large

    size = path.stat().st_size
    if max_size is not None and size > max_size:
        raise PrivpiError(too_large(path.name, max_size))
    with click.progressbar(length=size, label=path.name, file=sys.stderr) as bar:
        return console.upload(path, bar.update)


def _upload_one(app: AppContext, path: Path, existing: str, max_size: int) -> publish.PublishResult:
    from .. import publish

    size = path.stat().st_size
    with click.progressbar(length=size, label=path.name, file=sys.stderr) as bar:
        return publish.publish(
            app.storage, path, existing=existing, max_size=max_size, progress=bar.update
        )


@click.command()
@click.argument("project")
@click.argument("version")
@click.option("--reason", default="", help="Why it is yanked (pip shows it).")
@pass_app
def yank(app: AppContext, project: str, version: str, reason: str) -> None:
    """Yank VERSION of PROJECT: pip skips it unless asked for exactly that version."""
    from .. import publish

    names = publish.yank(app.storage, project, version, reason)
    click.echo(f"Yanked {len(names)} file(s) of {project} {version}.")


@click.command()
@click.argument("project")
@click.argument("version")
@pass_app
def unyank(app: AppContext, project: str, version: str) -> None:
    """Undo a yank of VERSION of PROJECT."""
    from .. import publish

    names = publish.unyank(app.storage, project, version)
    click.echo(f"Unyanked {len(names)} file(s) of {project} {version}.")


@click.command()
@click.argument("project")
@click.argument("version", required=False)
@click.option("--file", "filename", metavar="FILENAME", help="Delete only this file.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def delete(
    app: AppContext, project: str, version: str | None, filename: str | None, yes: bool
) -> None:
    """Delete PROJECT, one VERSION of it, or one --file, with its pages entries."""
    from packaging.utils import canonicalize_name

    from .. import publish

    if not yes:
        names = publish.deletable(app.storage, project, version, filename)
        click.echo("This deletes:")
        for name in names:
            click.echo(f"  {name}")
        click.confirm("Delete these files for good?", abort=True)
    removed = publish.delete(app.storage, project, version, filename)
    click.echo(f"Deleted {len(removed)} file(s) from {canonicalize_name(project)}.")


@click.command()
@pass_app
def reindex(app: AppContext) -> None:
    """Rebuild every page from the stored files (the repair path)."""
    from .. import publish

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Reindexing", file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        result = publish.reindex(app.storage, progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for problem in result.problems:
        click.echo(f"Skipped {problem}", err=True)
    for name in result.in_flight:
        click.echo(f"Left {name} unlisted: younger than the grace period (an upload?)", err=True)
    click.echo(f"Reindexed {result.projects} project(s), {result.files} file(s).")
    if result.problems:
        raise PrivpiError(f"{len(result.problems)} stored file(s) are not valid distributions")


@click.command()
@pass_app
def projects(app: AppContext) -> None:
    """List projects with their file counts and total sizes.

    Also each one's latest version, last upload and status: three requests (the root, the
    listing summary and the audit log's newest keys) whatever the number of projects, plus
    a read of each project changed since the summary was last brought up to date.
    """
    from .. import listing

    shown = listing.load(app.storage, repair_limit=None)
    if shown.repaired:
        click.echo(
            f"The listing summary lacked {shown.repaired} project(s): read from their pages "
            "and stored (privpi reindex rebuilds it whole).",
            err=True,
        )
    if shown.behind:
        click.echo(
            "Some figures may be out of date: more projects changed since the listing "
            "summary was last brought up to date than one look takes in; run privpi reindex.",
            err=True,
        )
    if not shown.rows:
        click.echo("No projects yet.")
        return
    width = max(len("PROJECT"), *(len(row.name) for row in shown.rows))
    latest = max(len("LATEST"), *(len(row.latest or "-") for row in shown.rows))
    click.echo(
        f"{'PROJECT':<{width}}  {'FILES':>5}  {'SIZE':>9}  {'LATEST':<{latest}}  "
        f"{'LAST UPLOAD':<16}  STATUS"
    )
    for row in shown.rows:
        files, size = (row.files, human_size(row.bytes)) if row.known else ("?", "?")
        uploaded = (row.uploaded or "-")[:16].replace("T", " ")
        click.echo(
            f"{row.name:<{width}}  {files:>5}  {size:>9}  {row.latest or '-':<{latest}}  "
            f"{uploaded:<16}  {row.status}"
        )
