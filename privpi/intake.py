"""Checking and publishing a file that arrived by upload, whichever way it came.

Shared by the browser flow (:func:`privpi.uploads.finalize`) and the twine endpoint
(``webadmin/legacy.py``): limits and their messages, the file name check done before any
byte is stored, and PyPI's rule that a published file name always means the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from .errors import NotFound, PrivpiError, ValidationError
from .storage import Storage

DEFAULT_MAX_SIZE = 1024**3  # 1 GiB; PRIVPI_MAX_BROWSER_UPLOAD_BYTES changes it
CHUNK = 1024 * 1024


def max_upload_size() -> int:
    value = os.environ.get("PRIVPI_MAX_BROWSER_UPLOAD_BYTES")
    try:
        return int(value) if value else DEFAULT_MAX_SIZE
    except ValueError:
        raise PrivpiError(
            f"PRIVPI_MAX_BROWSER_UPLOAD_BYTES={value!r} is not a number of bytes"
        ) from None


def human_size(n: float) -> str:
    """1000 bytes, 1.95 KiB, 100 MiB, 1 GiB: three significant digits at most."""
    if n < 1024:
        return f"{int(n)} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            return f"{n:.3g} {unit}"
    raise AssertionError("unreachable")


def too_large(filename: str, limit: int) -> str:
    return f"{filename} is larger than the upload limit of {human_size(limit)}"


def check_filename(filename: str) -> str:
    """Refuse names that are not a wheel or sdist name before anything is stored."""
    if not filename or "/" in filename or "\\" in filename or filename.startswith("."):
        raise ValidationError(f"{filename!r} is not a plain file name")
    if any(ord(c) < 32 or ord(c) == 127 for c in filename):
        raise ValidationError(f"{filename!r} contains control characters")
    try:
        if filename.endswith(".whl"):
            parse_wheel_filename(filename)
        elif filename.endswith((".tar.gz", ".zip")):
            parse_sdist_filename(filename)
        else:
            raise ValidationError(
                f"{filename} is not a distribution: expected a wheel (.whl) or an sdist "
                "(.tar.gz or .zip)"
            )
    except (InvalidWheelFilename, InvalidSdistFilename) as e:
        raise ValidationError(f"{filename} is not a valid distribution file name: {e}") from None
    return filename


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


def project_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return parse_wheel_filename(filename)[0]
    return parse_sdist_filename(filename)[0]


def existing_sha256(storage: Storage, filename: str) -> str | None:
    """The sha256 the index lists for filename, or None when it is not published."""
    from . import index

    try:
        page = index.read_project(storage, project_of(filename))
    except NotFound:
        return None
    for entry in page.get("files", []):
        if entry.get("filename") == filename:
            return entry.get("hashes", {}).get("sha256", "")
    return None


def publish_new(
    storage: Storage, path: str, sha256: str, filename: str, uploader: str, max_size=None
) -> dict:
    """Publish unless present: identical bytes are "skipped", other bytes are refused.

    PyPI's rule: a file name, once published, always means the same bytes.
    """
    from . import publish  # the publishing engineer's module; imported late on purpose

    present = existing_sha256(storage, filename)
    if present is not None and present != sha256:
        raise ValidationError(
            f"File already exists: {filename} is published with other content, and a file "
            "name cannot be reused for different bytes (publish a new version)"
        )
    r = publish.publish(
        storage, path, filename=filename, uploader=uploader, existing="skip", max_size=max_size
    )
    return {"status": r.status, "project": r.project, "version": r.version, "filename": r.filename}
