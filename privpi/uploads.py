"""Upload tickets: a file goes to ``incoming/<id>/<filename>`` first, then is published.

The browser never sends the bytes through the console when storage is S3: the console
creates a ticket, hands out a presigned POST for the ticket's key, and after the upload
``finalize`` validates and publishes the file through :mod:`privpi.publish`. With folder
storage the console itself receives the upload on a URL signed with its secret key.

Ticket state lives beside the upload as ``incoming/<id>.ticket.json`` and changes only by a
conditional write on its ETag, so finalize works across processes and Lambda invocations
and two finalizes of one ticket cannot both publish. Unfinished uploads are removed by
``sweep`` (locally) or the bucket's lifecycle rule on ``incoming/`` (in the cloud).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from .distributions import parse_filename
from .errors import NotFound, PreconditionFailed, PrivpiError, StorageError, ValidationError
from .intake import local_copy, publish_new, publish_stored_new, too_large
from .keys import INCOMING
from .principal import Principal
from .settings import DEFAULT_MAX_BROWSER_UPLOAD
from .storage import Storage

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

DEFAULT_TTL = 3600  # a ticket may be uploaded to and finalized within an hour
GRACE = 24 * 3600  # expired tickets stay a day, so a late finalize hears "expired"
# A finalize claims its ticket for this long (Lambda's longest run): if it died, or storage
# failed so it could not reopen the ticket, a finalize after the lease takes over.
FINALIZE_LEASE = 15 * 60
CHUNK = 1024 * 1024


class UploadError(PrivpiError):
    """A ticket cannot be used; ``status`` is the HTTP status the console answers with."""

    status = 400


class TicketNotFound(UploadError):
    status = 404


class TicketForbidden(UploadError):
    status = 403


class TicketExpired(UploadError):
    status = 410


class TicketConflict(UploadError):
    """Already finalized, being finalized, or the file has not arrived yet."""

    status = 409


class TooLarge(UploadError):
    status = 413


@dataclass(frozen=True)
class Ticket:
    id: str
    user: str
    filename: str
    created: float
    expires: float
    max_size: int
    state: str = "open"  # open -> finalizing -> published | skipped | replaced | refused
    result: dict[str, str] | None = None
    claimed: float = 0.0  # when the current finalize began (state "finalizing")

    @property
    def key(self) -> str:
        return f"{INCOMING}{self.id}/{self.filename}"

    @property
    def ticket_key(self) -> str:
        return ticket_key(self.id)

    def expired(self, now: float | None = None) -> bool:
        return (now or time.time()) >= self.expires

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()


def ticket_key(ticket_id: str) -> str:
    return f"{INCOMING}{ticket_id}.ticket.json"


def _valid_id(ticket_id: str) -> bool:
    return len(ticket_id) == 32 and all(c in "0123456789abcdef" for c in ticket_id)


def create(
    storage: Storage,
    user: str,
    filename: str,
    *,
    max_size: int = DEFAULT_MAX_BROWSER_UPLOAD,
    ttl: int = DEFAULT_TTL,
    principal: Principal | None = None,
) -> Ticket:
    """A new ticket for user to upload filename; stored before anything is uploaded.

    With a principal (every way in over HTTP), a project its grants or token do not cover
    is refused (Forbidden, 403) before anything is stored; finalize checks again.
    """
    parsed = parse_filename(filename)  # refuse a bad name before anything is stored
    if principal is not None:
        principal.require_publish(parsed.project)
    now = time.time()
    ticket = Ticket(
        id=secrets.token_hex(16),
        user=user,
        filename=filename,
        created=now,
        expires=now + ttl,
        max_size=max_size,
    )
    storage.write(
        ticket.ticket_key, ticket.to_json(), if_none_match=True, content_type="application/json"
    )
    return ticket


def load(storage: Storage, ticket_id: str) -> tuple[Ticket, str]:
    """The ticket and its ETag; TicketNotFound for unknown or malformed ids."""
    if not _valid_id(ticket_id):
        raise TicketNotFound(f"no upload with id {ticket_id!r}")
    try:
        blob = storage.read(ticket_key(ticket_id))
    except NotFound:
        raise TicketNotFound(
            f"no upload with id {ticket_id}: it never existed or expired long ago"
        ) from None
    try:
        return Ticket(**json.loads(blob.body)), blob.etag
    except (ValueError, TypeError):
        raise StorageError(f"the upload ticket {ticket_key(ticket_id)} is damaged") from None


def signature(secret: str | bytes, ticket: Ticket) -> str:
    """HMAC over what the folder-backend upload URL grants: id, user, filename, expiry."""
    key = secret.encode() if isinstance(secret, str) else secret
    msg = "\n".join([ticket.id, ticket.user, ticket.filename, str(int(ticket.expires))])
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


def check_upload(storage: Storage, secret: str | bytes, ticket_id: str, sig: str) -> Ticket:
    """The ticket a signed folder-backend upload may write to; fails closed."""
    ticket, _ = load(storage, ticket_id)
    if not hmac.compare_digest(signature(secret, ticket), sig or ""):
        raise TicketForbidden("the upload URL's signature is not valid")
    if ticket.expired():
        raise TicketExpired(f"the upload URL for {ticket.filename} has expired")
    if ticket.state != "open":
        raise TicketConflict(f"{ticket.filename} was already finalized")
    return ticket


class _Limited(io.RawIOBase):
    """A raw stream that refuses to read past a size limit (for streamed bodies); wrapped in
    io.BufferedReader it is the binary file that Storage.write reads in chunks."""

    def __init__(self, stream: IO[bytes], limit: int, filename: str) -> None:
        super().__init__()
        self.stream, self.limit, self.filename, self.count = stream, limit, filename, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        chunk = self.stream.read(min(len(view), CHUNK))
        self.count += len(chunk)
        if self.count > self.limit:
            raise TooLarge(too_large(self.filename, self.limit))
        view[: len(chunk)] = chunk
        return len(chunk)


def receive(storage: Storage, ticket: Ticket, stream: IO[bytes]) -> int:
    """Store a streamed body at the ticket's key in chunks; returns the size."""
    limited = _Limited(stream, ticket.max_size, ticket.filename)
    try:
        storage.write(
            ticket.key, io.BufferedReader(limited, CHUNK), content_type="application/octet-stream"
        )
    except TooLarge:
        storage.delete(ticket.key)
        raise
    if limited.count == 0:
        storage.delete(ticket.key)
        raise ValidationError(f"the upload of {ticket.filename} was empty")
    return limited.count


def _transition(storage: Storage, ticket: Ticket, etag: str, **changes: Any) -> tuple[Ticket, str]:
    new = replace(ticket, **changes)
    try:
        etag = storage.write(
            ticket.ticket_key, new.to_json(), if_match=etag, content_type="application/json"
        )
    except PreconditionFailed:
        raise TicketConflict(f"{ticket.filename} is already being finalized") from None
    return new, etag


def _claim(storage: Storage, ticket_id: str, user: str) -> tuple[Ticket, str]:
    """Move an open ticket of this user to 'finalizing'; exactly one caller wins."""
    ticket, etag = load(storage, ticket_id)
    if ticket.user != user:
        raise TicketForbidden(f"upload {ticket_id} belongs to another user")
    if ticket.state == "finalizing" and time.time() < ticket.claimed + FINALIZE_LEASE:
        retry_at = datetime.fromtimestamp(ticket.claimed + FINALIZE_LEASE, UTC)
        raise TicketConflict(
            f"{ticket.filename} is already being finalized; if that failed, "
            f"finalize again after {retry_at:%H:%M} UTC"
        )
    if ticket.state not in ("open", "finalizing"):
        raise TicketConflict(f"{ticket.filename} was already finalized ({ticket.state})")
    if ticket.expired():
        storage.delete(ticket.key)
        raise TicketExpired(
            f"the upload of {ticket.filename} expired at "
            f"{datetime.fromtimestamp(ticket.expires, UTC):%Y-%m-%d %H:%M} UTC; upload it again"
        )
    try:
        size = storage.head(ticket.key).size
    except NotFound:
        raise TicketConflict(
            f"{ticket.filename} has not arrived in storage; upload it before finalizing"
        ) from None
    if size > ticket.max_size:
        storage.delete(ticket.key)
        raise TooLarge(too_large(ticket.filename, ticket.max_size))
    return _transition(storage, ticket, etag, state="finalizing", claimed=time.time())


def finalize(
    storage: Storage, ticket_id: str, user: str, principal: Principal | None = None
) -> dict[str, str]:
    """Validate and publish an arrived upload as user; returns the result for the page.

    The result is ``{"status", "project", "version", "filename"}`` with status published
    or skipped (the identical file is already there). Raises UploadError/ValidationError
    otherwise; a refused file is removed and its ticket closed, so nothing half-published
    remains and a second finalize is refused.
    """
    if principal is not None:  # the grants may have changed since the ticket was made
        principal.require_publish(parse_filename(load(storage, ticket_id)[0].filename).project)
    ticket, etag = _claim(storage, ticket_id, user)
    try:
        out = _publish(storage, ticket, user)
    except ValidationError as e:
        _close(storage, ticket, etag, "refused", {"error": e.message})
        raise
    except BaseException:
        # Storage trouble or a crash: reopen the ticket so the user can retry finalize.
        with contextlib.suppress(Exception):
            _transition(storage, ticket, etag, state="open")
        raise
    _close(storage, ticket, etag, out["status"], out)
    return out


def _publish(storage: Storage, ticket: Ticket, user: str) -> dict[str, str]:
    """A file at hand (a folder) is checked thoroughly in place; one in a bucket is checked
    from ranged reads and copied inside the bucket, as the console on Lambda has neither the
    time nor the /tmp for a 1 GiB upload (privpi.stored)."""
    if storage.local_path(ticket.key) is None:
        return publish_stored_new(storage, ticket.key, ticket.filename, user, ticket.max_size)
    with local_copy(storage, ticket.key) as (path, _sha256):
        return publish_new(storage, path, ticket.filename, user, ticket.max_size)


def _close(storage: Storage, ticket: Ticket, etag: str, state: str, result: dict[str, str]) -> None:
    storage.delete(ticket.key)
    with contextlib.suppress(TicketConflict):
        _transition(storage, ticket, etag, state=state, result=result)


def sweep(storage: Storage, now: float | None = None) -> list[str]:
    """Remove uploads whose ticket expired (or that have no ticket); returns the keys."""
    now = now or time.time()
    removed = []
    tickets: dict[str, Ticket | None] = {}
    for info in storage.list(INCOMING):
        name = info.key[len(INCOMING) :]
        ticket_id = name.split("/", 1)[0].removesuffix(".ticket.json")
        if ticket_id not in tickets:
            tickets[ticket_id] = _load_quietly(storage, ticket_id)
        ticket = tickets[ticket_id]
        if name.endswith(".ticket.json"):
            stale = ticket is None or now >= ticket.expires + GRACE
        elif ticket is None:
            stale = info.last_modified.timestamp() < now - DEFAULT_TTL
        elif ticket.state == "finalizing":  # never pull a file from under a finalize
            stale = now >= ticket.expires + GRACE
        else:
            stale = ticket.state != "open" or now >= ticket.expires
        if stale:
            storage.delete(info.key)
            removed.append(info.key)
    return removed


def _load_quietly(storage: Storage, ticket_id: str) -> Ticket | None:
    try:
        return load(storage, ticket_id)[0]
    except (UploadError, StorageError):
        return None
