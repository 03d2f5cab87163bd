"""What every template and view shares: template helpers and the confirmation step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, render_template, request, url_for
from flask_wtf import FlaskForm

from privpi.units import human_size

Event = dict[str, Any]  # an audit log event (privpi.audit)


def repository_url() -> str:
    """The index URL pip uses: configured, or /simple/ on this host (privpi serve)."""
    configured: str | None = current_app.config.get("REPOSITORY_URL")
    if configured:
        return configured.rstrip("/") + "/"
    return request.url_root.rstrip("/") + "/simple/"


def is_http_url(url: object) -> bool:
    """Only http(s) links from package metadata become hrefs (never javascript:)."""
    return isinstance(url, str) and url.lower().startswith(("https://", "http://"))


def shorttime(value: object) -> str:
    """2026-11-26T11:41:29.123Z -> 2026-11-26 11:41 UTC."""
    if not value:
        return ""
    text = str(value).replace("T", " ")
    return text[:16] + " UTC" if len(text) >= 16 else text


def _subject(e: Event) -> str:
    return " ".join(str(e[k]) for k in ("project", "version") if e.get(k))


EVENT_PHRASES: dict[str, Callable[[Event], str]] = {
    "publish": lambda e: (
        f"published {e.get('filename') or _subject(e)}"
        + (" (replaced)" if e.get("status") == "replaced" else "")
    ),
    "yank": lambda e: f"yanked {_subject(e)}" + (f": {e['reason']}" if e.get("reason") else ""),
    "unyank": lambda e: f"un-yanked {_subject(e)}",
    "delete": lambda e: f"deleted {e.get('filename') or _subject(e)}",
    "claim": lambda e: f"claimed {e['pattern']}",
    "unclaim": lambda e: f"unclaimed {e['pattern']}",
    "user.add": lambda e: f"added {e.get('user')} as {e.get('role', 'reader')}",
    "user.role": lambda e: f"made {e.get('user')} {', '.join(e.get('roles') or ['?'])}",
    "user.passwd": lambda e: f"set a new password for {e.get('user')}",
    "user.enable": lambda e: f"enabled {e.get('user')}",
    "user.disable": lambda e: f"disabled {e.get('user')}",
    "user.remove": lambda e: f"removed the user {e.get('user')}",
    "token.create": lambda e: (
        f"made a {e.get('scope')} token {e.get('label')!r} for {e.get('user')}"
    ),
    "token.revoke": lambda e: f"revoked {e.get('user')}'s token {e.get('label')!r}",
    "user.grant": lambda e: f"let {e.get('user')} publish {e.get('pattern')}",
    "user.ungrant": lambda e: f"took back {e.get('user')}'s grant {e.get('pattern')}",
    "user.signout": lambda e: f"ended every session of {e.get('user')}",
}


def describe_event(event: Event) -> str:
    """One line of plain text (the template escapes it) for an audit log event."""
    action = str(event.get("action", "?"))
    phrase = EVENT_PHRASES.get(action)
    if phrase is None:
        details = " ".join(
            str(event[k]) for k in ("project", "version", "filename", "user") if event.get(k)
        )
        return f"{action} {details}".strip()
    try:
        return phrase(event)
    except (KeyError, TypeError):  # an odd event must not break the dashboard
        return action


def confirmed(form: FlaskForm, question: str, action_label: str, danger: bool = True) -> str | None:
    """None once the user confirmed; otherwise the page asking them to.

    The action's form is posted twice: first from the page that offers it, then from
    this page with ``confirm=yes`` and the same values, so nothing changes on one click.
    """
    if form.confirm.data == "yes":
        return None
    return render_template(
        "confirm.html",
        form=form,
        question=question,
        action_label=action_label,
        danger=danger,
        action_url=request.path,
        back_url=request.referrer if _same_site(request.referrer) else url_for("dashboard.index"),
    )


def _same_site(url: str | None) -> bool:
    return url is not None and url.startswith(request.host_url)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["filesize"] = human_size
    app.jinja_env.filters["shorttime"] = shorttime
    app.jinja_env.filters["describe_event"] = describe_event
    app.jinja_env.globals["repository_url"] = repository_url
    app.jinja_env.globals["is_http_url"] = is_http_url
