"""``privpi serve``: run the repository locally (read path + console) on one port."""

from __future__ import annotations

import secrets

import click

from .context import AppContext, pass_app


def ensure_admin(app: AppContext) -> None:
    """On a first start (no users at all) create ``admin``, showing a random password once."""
    from ..users import UserStore

    store = UserStore(app.storage, actor="privpi serve")
    if store.list():
        return
    given = app.settings.admin_password
    password = given or secrets.token_urlsafe(18)
    store.add("admin", password, "admin")
    if given:
        click.echo("Created user admin with the password from PRIVPI_ADMIN_PASSWORD.")
    else:
        click.echo(f"Created user admin with password {password}")
        click.echo("It is shown only this once: change it with `privpi users passwd admin`.")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--realm", help="Basic auth realm (default PRIVPI_REALM, else privpi).")
@click.option(
    "--refresh",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between checks for user changes.",
)
@click.option(
    "--max-stale",
    default=900.0,
    show_default=True,
    type=click.FloatRange(0.1, 86400),
    help="Seconds the read path keeps using its last good copy of the user store while "
    "the store cannot be read; then it answers 503.",
)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option(
    "--upstream",
    metavar="URL",
    help="Redirect project pages that are neither private nor claimed to this index "
    "(for example https://pypi.org/simple/).",
)
@pass_app
def serve(
    app: AppContext,
    host: str,
    port: int,
    realm: str | None,
    refresh: float,
    max_stale: float,
    threads: int,
    upstream: str | None,
) -> None:
    """Serve the index at /simple/ and the console at / (Ctrl-C stops)."""
    from .. import index
    from ..settings import check_upstream
    from .localserver import create_server  # the console: Flask and waitress

    if max_stale <= refresh:
        raise click.UsageError(
            f"--max-stale ({max_stale:g}s) must be longer than --refresh ({refresh:g}s)"
        )
    if upstream:
        upstream = check_upstream(upstream)
    # The quarantined projects (and the names for upstream) are read from the root: make
    # sure it exists, or every file would answer 503.
    index.update_root(app.storage)
    ensure_admin(app)
    server, base_url = create_server(
        app.storage,
        host,
        port,
        realm=realm or app.settings.realm,
        refresh=refresh,
        max_stale=max_stale,
        threads=threads,
        upstream=upstream,
    )
    click.echo(f"privpi serving {app.storage.url} at {base_url}/simple/", err=False)
    if upstream:
        click.echo(f"Names neither private nor claimed redirect to {upstream}")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
