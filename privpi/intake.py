"""Checking and publishing a file that arrived by upload, whichever way it came.

Shared by the browser flow (:func:`privpi.uploads.finalize`) and the twine endpoint
(``webadmin/legacy.py``): limits and their messages, a local copy of an uploaded object,
and the words for publish's refusal of a file name published with other bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator

from . import publish
from .errors import ValidationError
from .storage import Storage
from .units import human_size

CHUNK = 1024 * 1024


def too_large(filename: str, limit: int) -> str:
    return f"{filename} is larger than the upload limit of {human_size(limit)}"


@contextlib.contextmanager
def local_copy(storage: Storage, key: str) -> Iterator[tuple[str, str]]:
    """A local file holding the object and its sha256, read in chunks (flat memory).

    A folder already holds the file: it is hashed in place rather than copied, which
    saves writing several hundred MB once more. Other backends stream to a temp file.
    """
    digest = hashlib.sha256()
    local = storage.local_path(key)
    if local is not None:
        with open(local, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        yield str(local), digest.hexdigest()
        return
    with tempfile.TemporaryDirectory(prefix="privpi-upload-") as tmp:
        path = os.path.join(tmp, "upload")
        _, chunks = storage.open(key)
        with open(path, "wb") as f:
            for chunk in chunks:
                digest.update(chunk)
                f.write(chunk)
        yield path, digest.hexdigest()


def publish_new(
    storage: Storage, path: str, filename: str, uploader: str, max_size: int | None = None
) -> dict[str, str]:
    """Publish unless present: identical bytes are "skipped", other bytes are refused.

    publish decides (a file name always means the same bytes); this gives its refusal the
    words twine's --skip-existing and the upload page expect ("File already exists").
    """
    return _new(publish.publish, storage, path, filename, uploader, max_size)


def publish_stored_new(
    storage: Storage, key: str, filename: str, uploader: str, max_size: int | None = None
) -> dict[str, str]:
    """publish_new for a file already in storage at key, never read whole here (the
    console's browser uploads on Lambda: privpi.stored)."""
    return _new(publish.publish_stored, storage, key, filename, uploader, max_size)


def _new(
    publishing: Callable[..., publish.PublishResult],
    storage: Storage,
    source: str,
    filename: str,
    uploader: str,
    max_size: int | None,
) -> dict[str, str]:
    try:
        r = publishing(
            storage, source, filename=filename, uploader=uploader, existing="skip",
            max_size=max_size,
        )  # fmt: skip
    except publish.FileExists:
        raise ValidationError(
            f"File already exists: {filename} is published with other content, and a file "
            "name cannot be reused for different bytes (publish a new version)"
        ) from None
    return {"status": r.status, "project": r.project, "version": r.version, "filename": r.filename}
