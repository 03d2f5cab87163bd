"""``privpi claim``, ``unclaim`` and ``claims``: names that never fall through to upstream."""

from __future__ import annotations

import click

from .context import AppContext, pass_app


@click.command()
@click.argument("patterns", nargs=-1, required=True, metavar="PATTERN...")
@pass_app
def claim(app: AppContext, patterns: tuple[str, ...]) -> None:
    """Claim names (acme-* matches every name starting acme-): with an upstream index,
    they answer here (404 until published) and never redirect there."""
    from .. import claims as core

    for pattern in [core.check_pattern(p) for p in patterns]:  # all valid before any change
        if core.claim(app.storage, pattern, actor="cli"):
            click.echo(f"Claimed {pattern}.")
        else:
            click.echo(f"{pattern} was claimed already.")


@click.command()
@click.argument("patterns", nargs=-1, required=True, metavar="PATTERN...")
@pass_app
def unclaim(app: AppContext, patterns: tuple[str, ...]) -> None:
    """Remove claimed patterns (names that are not private then fall through to upstream)."""
    from .. import claims as core

    for pattern in [core.check_pattern(p) for p in patterns]:
        core.unclaim(app.storage, pattern, actor="cli")
        click.echo(f"Unclaimed {pattern}.")


@click.command("claims")
@pass_app
def list_claims(app: AppContext) -> None:
    """List the claimed name patterns."""
    from .. import claims as core

    found = core.read(app.storage)
    for pattern in found:
        click.echo(pattern)
    if not found:
        click.echo("Nothing is claimed. Claim names with: privpi claim 'acme-*'")
