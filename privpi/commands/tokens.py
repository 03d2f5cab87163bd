"""``privpi tokens``: API tokens for CI and tools (pip, uv, Poetry, twine, uv publish)."""

from __future__ import annotations

import click

from ..tokens import SCOPES, TokenInfo
from .context import AppContext, pass_app
from .users import store, table


@click.group()
def tokens() -> None:
    """Create, list and revoke API tokens (the user name to send is __token__)."""


@tokens.command()
@click.argument("user")
@click.option("--name", "label", metavar="LABEL", help="A label to revoke it by (default: random).")
@click.option("--scope", type=click.Choice(SCOPES), default="read", show_default=True)
@click.option(
    "--project",
    "projects",
    multiple=True,
    metavar="NAME",
    help="Limit the token to this project (repeat for several; default: every project).",
)
@click.option("--expires", "days", type=click.IntRange(min=1), metavar="DAYS", help="Days valid.")
@pass_app
def create(
    app: AppContext,
    user: str,
    label: str | None,
    scope: str,
    projects: tuple[str, ...],
    days: int | None,
) -> None:
    """Create a token for USER; it is printed once, alone on the last line."""
    secret, info = store(app).create_token(user, label, scope, projects, days)
    click.echo(
        f"Created {info.scope} token {info.label!r} for {info.user} "
        f"({describe_projects(info)}, {describe_expiry(info)}). It is shown only now:"
    )
    click.echo(secret)


@tokens.command("list")
@click.argument("user", required=False)
@pass_app
def list_(app: AppContext, user: str | None) -> None:
    """List tokens (of USER, or of everyone): never their secrets."""
    infos = store(app).tokens(user)
    if not infos:
        click.echo("No tokens. Create one with: privpi tokens create USER --name LABEL")
        return
    header = ("USER", "LABEL", "SCOPE", "PROJECTS", "CREATED", "EXPIRES")
    rows = [
        (
            i.user,
            i.label,
            i.scope,
            ",".join(i.projects) if i.projects is not None else "*",
            i.created,
            ("EXPIRED " if i.expired else "") + (i.expires or "never"),
        )
        for i in infos
    ]
    table(header, rows)


@tokens.command()
@click.argument("user")
@click.argument("label")
@pass_app
def revoke(app: AppContext, user: str, label: str) -> None:
    """Revoke USER's token LABEL: it stops working within a minute."""
    store(app).revoke_token(user, label)
    click.echo(f"Revoked token {label!r} of {user}.")


def describe_projects(info: TokenInfo) -> str:
    if info.projects is None:
        return "every project"
    return "only " + ", ".join(info.projects)


def describe_expiry(info: TokenInfo) -> str:
    return f"expires {info.expires}" if info.expires else "never expires"
