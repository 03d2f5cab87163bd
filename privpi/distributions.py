"""Distribution files: refuse what is not a safe, intact, self-consistent wheel or sdist.

``parse_filename(name)`` is the one reading of a filename. ``inspect(path)`` checks, in
order: the filename (no path separators or control characters, then ``packaging``'s own
wheel/sdist filename rules), the size limit, the archive (every member's checksum), and
the core metadata inside (wheel ``*.dist-info/METADATA``, sdist ``PKG-INFO``), whose name
and version must be the ones the filename claims.
Every refusal is one ValidationError sentence that names the file.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.tags import Tag
from packaging.utils import (
    BuildTag,
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from .errors import ValidationError

# Characters a wheel or sdist filename can need (name, PEP 440 version with epoch and
# local part, tags). Everything else (spaces, %, #, ?, quotes) would break a URL or a page.
SAFE_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
# A file system's 255-byte name limit, less what storage adds to a name: ".metadata" and
# a temporary ".<name>.<random>.tmp" while writing. No real distribution name comes near.
MAX_FILENAME = 200
MAX_METADATA = 8 * 1024 * 1024  # METADATA/PKG-INFO larger than this is an attack, not a README
# Checking an archive means decompressing it: refuse bombs before spending the CPU on them.
MAX_UNPACKED = 4 * 1024**3
# Finding PKG-INFO walks every tar header: 300,000 empty members cost seconds and 100+ MB.
# Real sdists hold a few thousand files (numpy's: about 3,000).
MAX_MEMBERS = 50_000
CHUNK = 1024 * 1024
WHEEL_METADATA = re.compile(r"^[^/]+\.dist-info/METADATA$")
SDIST_PKG_INFO = re.compile(r"^(?:\./)?[^/]+/PKG-INFO$")
# A wheel or sdist named twice (x-1.0-py3-none-any.whl.whl): packaging reads "any.whl" as
# two platform tags, but no build tool writes such a name.
DOUBLE_SUFFIXES = (".whl", ".tar.gz", ".tar", ".tgz", ".zip")
VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


@dataclass(frozen=True)
class Distribution:
    filename: str
    project: str  # canonical name, as in URLs and keys
    name: str  # as written in the metadata
    version: str
    kind: str  # "wheel" | "sdist"
    metadata: bytes
    requires_python: str | None
    summary: str | None
    sha256: str
    size: int


@dataclass(frozen=True)
class Filename:
    """What a wheel or sdist filename says, as ``packaging`` reads it."""

    filename: str
    project: str  # canonical name, as in URLs and keys
    version: Version
    kind: str  # "wheel" | "sdist"
    build: BuildTag = ()  # a wheel's build tag, () when it has none (and for sdists)
    tags: frozenset[Tag] = frozenset()  # a wheel's compatibility tags

    @property
    def identity(self) -> tuple[object, ...]:
        """What the name means once normalized: two names with one identity are one file
        (SECRETPKG-1.0-py3-none-any.whl is secretpkg-1.0-py3-none-any.whl; legt-01.0.tar.gz
        is legt-1.0.tar.gz), so an index holds at most one of them."""
        extension = self.filename.rsplit(".", 2 if self.filename.endswith(".tar.gz") else 1)[1:]
        return (extension, self.project, self.version, self.build, self.tags)


def kind_of(filename: str) -> str | None:
    if filename.endswith(".whl"):
        return "wheel"
    if filename.endswith((".tar.gz", ".zip")):
        return "sdist"
    return None


def parse_filename(filename: str) -> Filename:
    """The one reading of a distribution filename, or a ValidationError naming the file.

    Every way a file comes in (CLI, console, /legacy/, reindex, delete) uses this, so a
    name refused in one place is refused in all of them.
    """
    if not filename or "/" in filename or "\\" in filename:
        raise ValidationError(f"{filename!r} is not a plain filename (it has path separators)")
    if any(ord(c) < 32 or ord(c) == 127 for c in filename):
        raise ValidationError(f"{filename!r} is not a safe filename (it has control characters)")
    if len(filename) > MAX_FILENAME:
        raise ValidationError(f"{filename[:40]}... is longer than {MAX_FILENAME} characters")
    if not SAFE_FILENAME.match(filename):
        raise ValidationError(f"{filename!r} is not a safe distribution filename")
    kind = kind_of(filename)
    if kind is None:
        raise ValidationError(
            f"{filename} is not a distribution (expected a .whl, .tar.gz or .zip file)"
        )
    stem = filename.removesuffix(".whl") if kind == "wheel" else filename
    if (
        stem.lower().endswith(DOUBLE_SUFFIXES)
        and stem != filename
        or _sdist_stem_suffixed(filename)
    ):
        raise ValidationError(f"{filename} is not a valid {kind} filename: it has two extensions")
    build: BuildTag = ()
    tags: frozenset[Tag] = frozenset()
    try:
        if kind == "wheel":
            name, version, build, tags = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename) as e:
        raise ValidationError(f"{filename} is not a valid {kind} filename: {e}") from None
    if not valid_project_name(name):
        raise ValidationError(f"{filename} is not a valid {kind} filename: bad project name")
    return Filename(filename, canonicalize_name(name), version, kind, build, tags)


def _sdist_stem_suffixed(filename: str) -> bool:
    """An sdist name whose stem ends in another distribution extension (x-1.0.whl.zip)."""
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            return filename.removesuffix(suffix).lower().endswith(DOUBLE_SUFFIXES)
    return False


def valid_project_name(name: str) -> bool:
    """PEP 508's rule for a project name (before normalization)."""
    return bool(VALID_NAME.match(name))


def inspect(
    path: str | os.PathLike[str], filename: str | None = None, max_size: int | None = None
) -> Distribution:
    """Validate the distribution at path (named filename, default its basename)."""
    path = Path(path)
    filename = filename if filename is not None else path.name
    parse_filename(filename)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ValidationError(f"cannot read {filename}: {e.strerror}") from None
    _check_size(filename, size, max_size)
    with open(path, "rb") as f:
        return _inspect(f, filename, size, sha256_file(path), thorough=True)


def inspect_stream(
    f: BinaryIO, filename: str, size: int, sha256: str, max_size: int | None = None
) -> Distribution:
    """Validate a distribution from a seekable file whose reads are costly (an object in S3
    read by ranges), reading what validation needs: a zip's central directory and its
    metadata member (checked against its CRC), or a .tar.gz from start to end (its index is
    its content). Unlike inspect, the other zip members' checksums are not read."""
    parse_filename(filename)
    _check_size(filename, size, max_size)
    return _inspect(f, filename, size, sha256, thorough=False)


def _check_size(filename: str, size: int, max_size: int | None) -> None:
    if max_size is not None and size > max_size:
        raise ValidationError(f"{filename} is {size} bytes, over the {max_size}-byte size limit")


def _inspect(f: BinaryIO, filename: str, size: int, sha256: str, thorough: bool) -> Distribution:
    parsed = parse_filename(filename)
    project, version, kind = parsed.project, parsed.version, parsed.kind
    layout_problem = None
    if kind == "wheel":
        raw, layout_problem = _wheel_metadata(f, filename, thorough)
    elif filename.endswith(".zip"):
        raw = _zip_sdist_metadata(f, filename, thorough)
    else:
        raw = _tar_sdist_metadata(f, filename)
    meta, fields = _parse(raw, filename)
    _check_matches(meta, filename, project, version)
    if layout_problem:
        raise ValidationError(layout_problem)
    return Distribution(
        filename=filename,
        project=project,
        name=meta.name,
        version=str(version),
        kind=kind,
        metadata=raw,
        # As written (PyPI does the same): "<4,>=3.8" would surprise its author.
        requires_python=(fields.get("requires_python") or "").strip() or None,
        summary=meta.summary,
        sha256=sha256,
        size=size,
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _open_zip(f: BinaryIO, filename: str, thorough: bool = True) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        raise ValidationError(f"{filename} is not a valid zip archive") from None
    if sum(info.file_size for info in zf.infolist()) > MAX_UNPACKED:
        zf.close()
        raise ValidationError(f"{filename} unpacks to more than {MAX_UNPACKED} bytes")
    if not thorough:
        return zf
    try:
        bad = zf.testzip()  # reads every member: catches truncation and bit rot
    # zlib.error: a corrupt deflate stream; RuntimeError: an encrypted member;
    # NotImplementedError: a compression method or zip version zipfile does not know.
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
        RuntimeError,
        zlib.error,
    ) as e:
        zf.close()
        raise ValidationError(f"{filename} is a corrupt zip archive ({e})") from None
    if bad is not None:
        zf.close()
        raise ValidationError(f"{filename} is a corrupt zip archive (bad checksum in {bad})")
    return zf


def _read_zip_member(
    zf: zipfile.ZipFile, pattern: re.Pattern[str], filename: str, what: str
) -> bytes:
    names = [n for n in zf.namelist() if pattern.match(n)]
    if not names:
        raise ValidationError(f"{filename} has no {what} file")
    if len(names) > 1:
        raise ValidationError(f"{filename} has several {what} files: {', '.join(names)}")
    info = zf.getinfo(names[0])
    if info.file_size > MAX_METADATA:
        raise ValidationError(f"{filename} has an oversized {what} file")
    return zf.read(info)


def _wheel_metadata(f: BinaryIO, filename: str, thorough: bool) -> tuple[bytes, str | None]:
    """METADATA, and what is wrong with the wheel's layout (told after the metadata)."""
    with _open_zip(f, filename, thorough) as zf:
        raw = _read_zip_member(zf, WHEEL_METADATA, filename, "*.dist-info/METADATA")
        (metadata_name,) = [n for n in zf.namelist() if WHEEL_METADATA.match(n)]
        dist_info = metadata_name.split("/")[0]
        if f"{dist_info}/WHEEL" not in zf.namelist():
            return raw, f"{filename} has no {dist_info}/WHEEL file"
    # pip refuses a wheel whose .dist-info folder names another project; so do we.
    dist_name = dist_info.removesuffix(".dist-info").rsplit("-", 1)[0]
    if canonicalize_name(dist_name) != parse_filename(filename).project:
        return raw, f"{filename} holds {dist_info}, which names another project"
    return raw, None


def _zip_sdist_metadata(f: BinaryIO, filename: str, thorough: bool) -> bytes:
    with _open_zip(f, filename, thorough) as zf:
        return _read_zip_member(zf, SDIST_PKG_INFO, filename, "PKG-INFO")


def _tar_sdist_metadata(f: BinaryIO, filename: str) -> bytes:
    # First pass: decompress everything, so a truncated or bit-flipped file fails its CRC.
    try:
        with gzip.GzipFile(fileobj=f, mode="rb") as gz:
            unpacked = 0
            while chunk := gz.read(CHUNK):
                unpacked += len(chunk)
                if unpacked > MAX_UNPACKED:
                    raise ValidationError(f"{filename} unpacks to more than {MAX_UNPACKED} bytes")
        f.seek(0)
        with tarfile.open(fileobj=f, mode="r:gz") as tf:
            members = []
            for count, m in enumerate(tf, 1):  # not getmembers(): stop at the cap
                if count > MAX_MEMBERS:
                    raise ValidationError(f"{filename} has more than {MAX_MEMBERS} archive members")
                if SDIST_PKG_INFO.match(m.name):
                    members.append(m)
            if not members:
                raise ValidationError(f"{filename} has no PKG-INFO file")
            if len(members) > 1:
                names = ", ".join(m.name for m in members)
                raise ValidationError(f"{filename} has several PKG-INFO files: {names}")
            member = members[0]
            if not member.isfile() or member.size > MAX_METADATA:
                raise ValidationError(f"{filename} has an unusable PKG-INFO entry")
            content = tf.extractfile(member)
            return content.read() if content is not None else b""
    except (OSError, EOFError, tarfile.TarError, zlib.error) as e:
        raise ValidationError(f"{filename} is not a valid .tar.gz archive ({e})") from None


def _parse(raw: bytes, filename: str) -> tuple[Metadata, RawMetadata]:
    fields, _unparsed = parse_email(raw)
    for field in ("name", "version"):
        if not fields.get(field):
            raise ValidationError(f"{filename} has no {field.capitalize()} in its metadata")
    meta = Metadata.from_raw(fields, validate=False)
    try:
        # Accessing a field validates it; old Metadata-Versions (2.0) stay acceptable.
        meta.name, meta.version, meta.requires_python  # noqa: B018
    except InvalidMetadata as e:
        raise ValidationError(f"{filename} has invalid metadata: {e}") from None
    return meta, fields


def _check_matches(meta: Metadata, filename: str, project: str, version: Version) -> None:
    if canonicalize_name(meta.name) != project:
        raise ValidationError(
            f"{filename} names project {project} but its metadata says {meta.name}"
        )
    if meta.version != version:
        raise ValidationError(
            f"{filename} names version {version} but its metadata says {meta.version}"
        )
