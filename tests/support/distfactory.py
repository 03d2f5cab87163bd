"""Build small but real wheels and sdists for the tests (no build backend needed).

The wheels are installable by pip and uv: a module, METADATA, WHEEL and a RECORD with
hashes. ``make_wheel(tmp_path, "demo-pkg", "1.0")`` returns the path.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name


def metadata_text(
    name: str,
    version: str,
    requires_python: str | None = None,
    summary: str = "A test package",
    description: str = "",
    extra_headers: dict[str, str] | None = None,
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    for key, value in (extra_headers or {}).items():
        lines.append(f"{key}: {value}")
    if description:
        lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n\n" + description


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel_filename(name: str, version: str, tag: str = "py3-none-any") -> str:
    return f"{canonicalize_name(name).replace('-', '_')}-{version}-{tag}.whl"


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    summary: str = "A test package",
    description: str = "",
    metadata_name: str | None = None,
    metadata_version: str | None = None,
    padding: int = 0,
    tag: str = "py3-none-any",
    filename: str | None = None,
) -> Path:
    """A real installable wheel. metadata_name/metadata_version lie inside, for bad input."""
    module = canonicalize_name(name).replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": metadata_text(
            metadata_name or name,
            metadata_version or version,
            requires_python,
            summary,
            description,
        ).encode(),
        f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: privpi-tests\n"
        f"Root-Is-Purelib: true\nTag: {tag}\n".encode(),
    }
    if padding:
        files[f"{module}/padding.bin"] = bytes(padding)
    record = [_record_line(p, d) for p, d in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = Path(directory) / (filename or wheel_filename(name, version, tag))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p, d in files.items():
            zf.writestr(p, d)
    return path


def make_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    metadata_name: str | None = None,
    fmt: str = "tar.gz",
    filename: str | None = None,
) -> Path:
    """An sdist with PKG-INFO and a pyproject.toml (setuptools), as .tar.gz or .zip."""
    base = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    pkg_info = metadata_text(metadata_name or name, version, requires_python).encode()
    module = canonicalize_name(name).replace("-", "_")
    files = {
        f"{base}/PKG-INFO": pkg_info,
        f"{base}/pyproject.toml": (
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
        ).encode(),
        f"{base}/{module}/__init__.py": b"",
    }
    path = Path(directory) / (filename or f"{base}.{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            for p, d in files.items():
                zf.writestr(p, d)
    else:
        with tarfile.open(path, "w:gz") as tf:
            for p, d in files.items():
                info = tarfile.TarInfo(p)
                info.size = len(d)
                tf.addfile(info, io.BytesIO(d))
    return path


def large_wheel(directory: Path, name: str, size_mb: int, version: str = "1.0") -> Path:
    """A valid wheel whose payload is size_mb of random bytes, stored uncompressed (it does
    not compress, and a stored member is written at disk speed)."""
    module = canonicalize_name(name).replace("-", "_")
    info = f"{module}-{version}.dist-info"
    small = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{info}/METADATA": metadata_text(name, version).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    path = Path(directory) / wheel_filename(name, version)
    record = [_record_line(member, data) for member, data in small.items()]
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in small.items():
            zf.writestr(member, data)
        digest = hashlib.sha256()
        with zf.open(f"{module}/payload.bin", "w", force_zip64=True) as out:
            for _ in range(size_mb):
                chunk = os.urandom(1024 * 1024)
                digest.update(chunk)
                out.write(chunk)
        b64 = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
        record.append(f"{module}/payload.bin,sha256={b64},{size_mb * 1024 * 1024}")
        record.append(f"{info}/RECORD,,")
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path
