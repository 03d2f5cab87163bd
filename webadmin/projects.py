"""Projects: the searchable list, one project's page, and yank / unyank / delete.

The list reads the root index JSON and the listing summary (privpi.listing) and keeps them
until their ETags change, then searches and paginates in memory: two conditional reads and
one list of the audit log's newest keys per request, however many projects and files there
are.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from packaging.utils import canonicalize_name

from privpi import index as repo_index
from privpi import keys, listing, publish
from privpi import status as project_status
from privpi.distributions import valid_project_name
from privpi.errors import NotFound, PrivpiError, ValidationError
from privpi.principal import Forbidden

from .auth import role_required
from .extensions import actor, storage
from .forms import DeleteForm, StatusForm, VersionForm, YankForm
from .project_data import describe, group_versions
from .views import confirmed

bp = Blueprint("projects", __name__, url_prefix="/projects")
LISTING_CACHE = "privpi.listing-cache"
Page = dict[str, Any]  # a project's PEP 691 JSON (privpi.index)


def _read_cached(key: str, parse: Callable[[bytes], Any]) -> tuple[str | None, Any]:
    """(ETag, parsed body) of key, parsed again only when its ETag changed; (None, None)
    when it is missing."""
    cache: dict[str, tuple[str, Any]] = current_app.extensions.setdefault(LISTING_CACHE, {})
    cached = cache.get(key)
    try:
        blob = storage().read_if_changed(key, cached[0] if cached else None)
    except NotFound:
        return None, None
    if blob is None:  # unchanged since the cached copy (only asked with its ETag)
        assert cached is not None
        return cached
    cache[key] = (blob.etag, parse(blob.body))
    return cache[key]


def _root(body: bytes) -> Page:
    try:
        root = json.loads(body)
        if isinstance(root, dict) and all(isinstance(p["name"], str) for p in root["projects"]):
            return root
    except (ValueError, KeyError, TypeError):
        pass
    raise PrivpiError(
        f"the root index {keys.ROOT_JSON} is damaged; run `privpi reindex` to rebuild it"
    )


def current_listing() -> listing.Listing:
    """Every project the root lists with its figures (privpi.listing): two conditional
    reads and one list of the audit log's newest keys per request, however many projects
    there are; recomputed only when the root or the summary changed or the audit log names
    projects the summary has not folded in yet."""
    root_etag, root = _read_cached(keys.ROOT_JSON, _root)
    summary_etag, summary = _read_cached(keys.LISTING, listing.loads)
    changed = listing.changes(storage(), summary)
    cache: dict[str, Any] = current_app.extensions[LISTING_CACHE]
    versions = (root_etag, summary_etag)
    moved = changed.position != listing.position(summary)  # news in the audit log
    if moved or cache.get("listing", (None,))[0] != versions:
        root = root or repo_index.empty_root()
        shown = listing.listing(storage(), root, summary, summary_etag, changed=changed)
        if shown.stored:  # written back: the next request reads the folded summary
            return shown
        cache["listing"] = (versions, shown)
    result: listing.Listing = cache["listing"][1]
    return result


def project_names() -> list[str]:
    """Every project's canonical name, sorted."""
    return [row.name for row in current_listing().rows]


def search(names: list[str], query: str) -> list[str]:
    """Names containing the query (normalized like names); exact, then prefix matches first."""
    q = canonicalize_name(query.strip()) if query.strip() else ""
    if not q:
        return names
    hits = [n for n in names if q in n]
    hits.sort(key=lambda n: (n != q, not n.startswith(q)))  # stable: keeps name order
    return hits


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        abort(400, f"The page number {raw!r} is not a positive whole number.")
    return int(raw)


@bp.route("")
@role_required("reader")
def index() -> ResponseReturnValue:
    query = request.args.get("q", "")[:200]
    page = _page_number()
    per_page = current_app.config["PROJECTS_PER_PAGE"]
    shown = current_listing()
    rows = {row.name: row for row in shown.rows}
    hits = search(list(rows), query)
    pages = max(1, -(-len(hits) // per_page))
    start = (page - 1) * per_page
    return render_template(
        "projects.html",
        query=query,
        shown=[rows[name] for name in hits[start : start + per_page]],
        missing=shown.missing,
        behind=shown.behind,
        total=len(rows),
        matches=len(hits),
        page=page,
        pages=pages,
    )


def _load(name: str, missing_ok: bool = False) -> tuple[str, Page]:
    """(canonical name, project JSON dict); 404 for other names and, unless missing_ok (then
    an empty page), for a project without pages or whose files were all deleted (its page
    stays, empty)."""
    if not valid_project_name(name):
        abort(404, f"There is no project named {name!r}.")
    project = canonicalize_name(name)
    try:
        data = repo_index.read_project(storage(), project)
    except NotFound:
        if missing_ok:
            return project, repo_index.empty_project(project)
        abort(404, f"There is no project named {name!r}.")
    if not data.get("files") and "_held" not in data and not missing_ok:
        abort(404, f"There is no project named {name!r}.")
    return project, data


def _project_page(
    project: str, data: Page, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    versions = group_versions(data.get("files", []))
    return (
        render_template(
            "project.html",
            project=project,
            display_name=data.get("name", project),
            versions=versions,
            about=describe(storage(), project, versions),
            status=project_status.status_of(data),
            status_reason=data.get("project-status", {}).get("reason", ""),
            held=len(data.get("_held", [])),
            statuses=project_status.STATUSES,
            error=error,
        ),
        status,
    )


@bp.route("/<name>")
@role_required("reader")
def detail(name: str) -> ResponseReturnValue:
    project, data = _load(name)
    if project != name:
        return redirect(url_for("projects.detail", name=project), 301)
    return _project_page(project, data)


def _may_publish(project: str) -> None:
    """403, naming the project, for a publisher whose grants do not cover it."""
    try:
        current_user.principal.require_publish(project)
    except Forbidden as e:
        abort(403, e.message)


def _check_version(project: str, data: Page, version: str) -> None:
    versions = {f.get("_version") for f in data.get("files", [])}
    if version not in versions:
        abort(404, f"{project} has no version {version!r}.")


def _act(
    project: str,
    data: Page,
    form: FlaskForm,
    question: str,
    label: str,
    action: Callable[[], object],
    done: str,
    danger: bool = True,
) -> ResponseReturnValue:
    """Validate, confirm, run the publishing action, then back to the project page."""
    if not form.validate_on_submit():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        return _project_page(project, data, f"Nothing was changed: {errors}.", 400)
    ask = confirmed(form, question, label, danger)
    if ask:
        return ask
    try:
        action()
    except PrivpiError as e:
        return _project_page(project, data, e.message, 400)
    flash(done, "success")
    return redirect(url_for("projects.detail", name=project), 303)


def _version_form(name: str, form: VersionForm) -> tuple[str, Page, str]:
    """The project a publisher may change, its page, and the form's version (if any, one the
    page lists: 404 otherwise)."""
    project, data = _load(name)
    _may_publish(project)
    version = form.version.data or ""
    if version:
        _check_version(project, data, version)
    return project, data, version


@bp.route("/<name>/yank", methods=["POST"])
@role_required("publisher")
def yank(name: str) -> ResponseReturnValue:
    form = YankForm()
    project, data, version = _version_form(name, form)
    reason = (form.reason.data or "").strip()
    return _act(
        project,
        data,
        form,
        f"Yank {project} {version}? pip will skip it unless asked for exactly this version."
        + (f" Reason: {reason}" if reason else ""),
        "Yank",
        lambda: publish.yank(storage(), project, version, reason=reason, actor=actor()),
        f"Yanked {project} {version}.",
    )


@bp.route("/<name>/unyank", methods=["POST"])
@role_required("publisher")
def unyank(name: str) -> ResponseReturnValue:
    form = VersionForm()
    project, data, version = _version_form(name, form)
    return _act(
        project,
        data,
        form,
        f"Un-yank {project} {version}? pip will install it again.",
        "Un-yank",
        lambda: publish.unyank(storage(), project, version, actor=actor()),
        f"{project} {version} is no longer yanked.",
        danger=False,
    )


@bp.route("/<name>/delete", methods=["POST"])
@role_required("admin")
def delete(name: str) -> ResponseReturnValue:
    project, data = _load(name, missing_ok=True)  # files whose pages are gone can go too
    _may_publish(project)
    form = DeleteForm()
    version, filename = form.version.data or None, form.filename.data or None
    try:  # the core says what there is to delete, as the CLI asks it
        publish.deletable(storage(), project, version, filename)
    except ValidationError as e:
        abort(404, f"Nothing was deleted: {e}.")
    what = filename or (f"{project} {version}" if version else f"the whole project {project}")
    response = _act(
        project,
        data,
        form,
        f"Delete {what}? The files are removed from the repository; this cannot be undone.",
        "Delete",
        lambda: publish.delete(
            storage(), project, version=version, filename=filename, actor=actor()
        ),
        f"Deleted {what}.",
    )
    if not version and not filename and getattr(response, "status_code", 0) == 303:
        return redirect(url_for("projects.index"), 303)
    return response


@bp.route("/<name>/status", methods=["POST"])
@role_required("publisher")
def status(name: str) -> ResponseReturnValue:
    """PEP 792 status, for the project's publishers (their grants apply) and admins."""
    project, data = _load(name)
    _may_publish(project)
    form = StatusForm()
    new, reason = form.status.data or "", (form.reason.data or "").strip()
    return _act(
        project,
        data,
        form,
        f"Mark {project} {new}? " + project_status.EFFECTS.get(new, ""),
        f"Mark {new}",
        lambda: project_status.set_status(storage(), project, new, reason, actor=actor()),
        f"{project} is now {new}.",
        danger=new == "quarantined",
    )
