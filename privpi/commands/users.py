"""``privpi users``: manage who may read and publish."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from ..errors import PrivpiError
from ..principal import ROLES
from ..users import UserStore
from .context import AppContext, pass_app


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise PrivpiError("--password-stdin was given but standard input is empty")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def store(app: AppContext) -> UserStore:
    return UserStore(app.storage, actor="cli")


@click.group()
def users() -> None:
    """Manage users: add, list, passwd, role, remove, disable, enable, grant, ungrant."""


@users.command()
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="reader", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def add(app: AppContext, name: str, role: str, password_stdin: bool) -> None:
    """Add user NAME with ROLE (asks for the password twice)."""
    user = store(app).add(name, read_password(password_stdin), role)
    click.echo(f"Added {user.name} ({user.role}).")


@users.command("list")
@pass_app
def list_(app: AppContext) -> None:
    """List users: name, role, enabled, created, publishing grants ('*': every project)."""
    rows = [
        (u.name, u.role, "yes" if u.enabled else "no", u.created, ",".join(u.grants) or "*")
        for u in store(app).list()
    ]
    if not rows:
        click.echo("No users yet. Add one with: privpi users add NAME --role admin")
        return
    table(("NAME", "ROLE", "ENABLED", "CREATED", "GRANTS"), rows)


def table(header: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@users.command()
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def passwd(app: AppContext, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME."""
    s = store(app)
    s.get(name)  # fail on an unknown user before asking for a password
    s.set_password(name, read_password(password_stdin))
    click.echo(f"Password of {name} changed.")


@users.command()
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@pass_app
def role(app: AppContext, name: str, role: str) -> None:
    """Change the role of NAME."""
    store(app).set_role(name, role)
    click.echo(f"{name} is now {role}.")


@users.command()
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Remove user NAME."""
    store(app).remove(name)
    click.echo(f"Removed {name}.")


@users.command()
@click.argument("name")
@pass_app
def disable(app: AppContext, name: str) -> None:
    """Disable NAME: their credentials stop working within a minute."""
    store(app).set_enabled(name, False)
    click.echo(f"Disabled {name}.")


@users.command()
@click.argument("name")
@pass_app
def enable(app: AppContext, name: str) -> None:
    """Enable NAME again."""
    store(app).set_enabled(name, True)
    click.echo(f"Enabled {name}.")


@users.command()
@click.argument("name")
@click.argument("pattern")
@pass_app
def grant(app: AppContext, name: str, pattern: str) -> None:
    """Let NAME publish, yank and delete projects matching PATTERN (e.g. 'acme-*').

    A user with grants publishes only matching projects; without any, every project.
    """
    s = store(app)
    pattern = s.grant(name, pattern)
    click.echo(f"{name} may publish projects matching {pattern} ({', '.join(s.get(name).grants)}).")


@users.command()
@click.argument("name")
@click.argument("pattern")
@pass_app
def ungrant(app: AppContext, name: str, pattern: str) -> None:
    """Take back NAME's grant PATTERN; with no grant left, NAME publishes every project."""
    s = store(app)
    pattern = s.ungrant(name, pattern)
    left = s.get(name).grants
    if left:
        click.echo(f"{name} no longer has grant {pattern}; left: {', '.join(left)}.")
    else:
        click.echo(
            f"{name} no longer has grant {pattern} and has no grants left: "
            "as a publisher, they may publish every project."
        )
