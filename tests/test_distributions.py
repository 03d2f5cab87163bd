"""Distribution validation: real-world filenames, real PyPI files, and every bad input."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

import pytest
from packaging.version import Version

from privpi.distributions import Filename, inspect, parse_filename
from privpi.errors import ValidationError
from tests.support.distfactory import make_sdist, make_wheel


@pytest.mark.parametrize(
    ("filename", "project", "version", "kind"),
    [
        ("demo-1.0-py3-none-any.whl", "demo", "1.0", "wheel"),
        ("Django-4.2.tar.gz", "django", "4.2", "sdist"),
        ("django-4.2.7-py3-none-any.whl", "django", "4.2.7", "wheel"),
        ("zope.interface-6.0.tar.gz", "zope-interface", "6.0", "sdist"),
        (
            "zope_interface-6.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "zope-interface",
            "6.0",
            "wheel",
        ),
        ("numpy-1.26.0-cp312-cp312-macosx_11_0_arm64.whl", "numpy", "1.26.0", "wheel"),
        (
            "python_dateutil-2.9.0.post0-py2.py3-none-any.whl",
            "python-dateutil",
            "2.9.0.post0",
            "wheel",
        ),
        ("pkg-1.0rc1.tar.gz", "pkg", "1.0rc1", "sdist"),
        ("pkg-1.0.dev3.zip", "pkg", "1.0.dev3", "sdist"),
        ("pkg-1!2.0-py3-none-any.whl", "pkg", "1!2.0", "wheel"),
        ("pkg-1.0+local.1-py3-none-any.whl", "pkg", "1.0+local.1", "wheel"),
        ("torch-2.1.0-1-cp311-cp311-linux_x86_64.whl", "torch", "2.1.0", "wheel"),
        ("PyYAML-6.0.1-cp311-cp311-win_amd64.whl", "pyyaml", "6.0.1", "wheel"),
        ("typing_extensions-4.12.2-py3-none-any.whl", "typing-extensions", "4.12.2", "wheel"),
        ("backports.zoneinfo-0.2.1.tar.gz", "backports-zoneinfo", "0.2.1", "sdist"),
        ("Flask-SQLAlchemy-3.1.1.tar.gz", "flask-sqlalchemy", "3.1.1", "sdist"),
        ("pywin32_ctypes-0.2.2-py3-none-any.whl", "pywin32-ctypes", "0.2.2", "wheel"),
        ("a-1-py3-none-any.whl", "a", "1", "wheel"),
        (
            "cryptography-41.0.0-cp37-abi3-manylinux_2_28_aarch64.whl",
            "cryptography",
            "41.0.0",
            "wheel",
        ),
        ("pyreadline-2.1.zip", "pyreadline", "2.1", "sdist"),
        (
            "setuptools-69.0.0.post20231124-py3-none-any.whl",
            "setuptools",
            "69.0.0.post20231124",
            "wheel",
        ),
        ("black-24.1.0-cp312-cp312-musllinux_1_1_x86_64.whl", "black", "24.1.0", "wheel"),
        ("Pillow-10.0.0-pp310-pypy310_pp73-win_amd64.whl", "pillow", "10.0.0", "wheel"),
        ("pip-24.0-py3-none-any.whl", "pip", "24.0", "wheel"),
        ("ruamel.yaml.clib-0.2.8.tar.gz", "ruamel-yaml-clib", "0.2.8", "sdist"),
        ("foo_bar-2024.1.1-py3-none-any.whl", "foo-bar", "2024.1.1", "wheel"),
        ("foo_bar-1.0.tar.gz", "foo-bar", "1.0", "sdist"),
        ("cffi-1.16.0-cp312-cp312-win32.whl", "cffi", "1.16.0", "wheel"),
    ],
)
def test_real_world_filenames(filename, project, version, kind):
    parsed = parse_filename(filename)
    assert (parsed.project, str(parsed.version), parsed.kind) == (project, version, kind)
    assert parsed.filename == filename
    assert bool(parsed.tags) == (kind == "wheel")


def test_parse_filename_gives_a_wheels_build_tag_and_tags():
    torch = parse_filename("torch-2.1.0-1-cp311-cp311-linux_x86_64.whl")
    assert torch.build == (1, "")
    assert {str(t) for t in torch.tags} == {"cp311-cp311-linux_x86_64"}
    dateutil = parse_filename("python_dateutil-2.9.0.post0-py2.py3-none-any.whl")
    assert dateutil.build == ()
    assert {str(t) for t in dateutil.tags} == {"py2-none-any", "py3-none-any"}
    assert parse_filename("Django-4.2.tar.gz") == Filename(
        "Django-4.2.tar.gz", "django", Version("4.2"), "sdist"
    )


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("../evil-1.0.tar.gz", "has path separators"),
        ("dir/pkg-1.0.tar.gz", "has path separators"),
        ("pkg\\x-1.0.tar.gz", "has path separators"),
        ("", "has path separators"),
        ("pkg-1.0\n.tar.gz", "has control characters"),
        ("pkg-1.0\x00.whl", "has control characters"),
        ("pkg-1.0\x7f.whl", "has control characters"),
        ("pkg 1.0.tar.gz", "is not a safe distribution filename"),
        ("pkg-1.0.tar.gz?x=1", "is not a safe distribution filename"),
        ("pkg%2f-1.0.tar.gz", "is not a safe distribution filename"),
        (".hidden-1.0.tar.gz", "is not a safe distribution filename"),
        ("-1.0.tar.gz", "is not a safe distribution filename"),
        ('pkg"<x>-1.0.tar.gz', "is not a safe distribution filename"),
        ("x" * 300 + "-1.0.tar.gz", "is longer than 200 characters"),
        ("pkg-1.0.exe", "is not a distribution (expected a .whl, .tar.gz or .zip file)"),
        ("pkg-1.0.tar.bz2", "is not a distribution"),
        ("pkg-1.0-py2.7.egg", "is not a distribution"),
        ("pkg-1.0-rc1.tar.gz", "is not a valid sdist filename"),
        ("pkg-1.0.whl", "is not a valid wheel filename"),
        ("pkg-notaversion-py3-none-any.whl", "is not a valid wheel filename"),
        ("pkg_-1.0.tar.gz", "is not a valid sdist filename: bad project name"),
        ("pkg.tar.gz", "is not a valid sdist filename"),
        ("notes.txt", "notes.txt is not a distribution"),
        ("pkg-1.0-py3-none-any.WHL", "is not a distribution"),
        ("pkg-1.0.tgz", "is not a distribution"),
        ("pkg-1.0-x-py3-none-any.whl", "is not a valid wheel filename"),
        ("pkg-1.0-py3-none.whl", "is not a valid wheel filename"),
        ("pkg--1.0.tar.gz", "is not a valid sdist filename"),
    ],
)
def test_unsafe_or_invalid_filenames_are_refused(filename, message):
    with pytest.raises(ValidationError) as e:
        parse_filename(filename)
    assert message in e.value.message


def test_real_distributions_from_pypi(real_dists):
    found = {f: inspect(p) for f, p in real_dists.items()}
    summary = {
        f: (d.project, d.name, d.version, d.kind, d.requires_python) for f, d in found.items()
    }
    assert summary == {
        "six-1.10.0-py2.py3-none-any.whl": ("six", "six", "1.10.0", "wheel", None),
        "Jinja2-2.11.3-py2.py3-none-any.whl": (
            "jinja2",
            "Jinja2",
            "2.11.3",
            "wheel",
            ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*",
        ),
        "python_dateutil-2.9.0.post0-py2.py3-none-any.whl": (
            "python-dateutil",
            "python-dateutil",
            "2.9.0.post0",
            "wheel",
            "!=3.0.*,!=3.1.*,!=3.2.*,>=2.7",
        ),
        "six-1.16.0.tar.gz": ("six", "six", "1.16.0", "sdist", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*"),
        "zope.event-5.0.tar.gz": ("zope-event", "zope.event", "5.0", "sdist", ">=3.7"),
    }
    for filename, dist in found.items():
        data = real_dists[filename].read_bytes()
        assert (dist.sha256, dist.size) == (hashlib.sha256(data).hexdigest(), len(data))
        assert dist.metadata.startswith(b"Metadata-Version: ")


def test_built_wheel_and_sdists(tmp_path):
    wheel = inspect(make_wheel(tmp_path, "My.Pkg", "2.0", requires_python=">=3.9,<4"))
    assert (wheel.filename, wheel.project, wheel.name, wheel.version) == (
        "my_pkg-2.0-py3-none-any.whl",
        "my-pkg",
        "My.Pkg",
        "2.0",
    )
    assert (wheel.requires_python, wheel.summary) == (">=3.9,<4", "A test package")
    for fmt in ("tar.gz", "zip"):
        sdist = inspect(make_sdist(tmp_path, "my-pkg", "2.0", fmt=fmt))
        assert (sdist.kind, sdist.project, sdist.version) == ("sdist", "my-pkg", "2.0")
        assert b"Name: my-pkg" in sdist.metadata


def test_filename_argument_overrides_the_path_name(tmp_path):
    path = make_wheel(tmp_path, "demo", "1.0")
    upload = path.rename(tmp_path / "upload.tmp")
    assert inspect(upload, filename="demo-1.0-py3-none-any.whl").project == "demo"
    with pytest.raises(ValidationError, match="'upload.tmp' is not a safe|not a distribution"):
        inspect(upload)


def _corrupt_member(path):
    data = bytearray(path.read_bytes())
    index = data.index(b"PK\x03\x04") + 40  # inside the first member's compressed data
    data[index] ^= 0xFF
    path.write_bytes(bytes(data))


def _zip_without_metadata(tmp_path):
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("demo/__init__.py", "")
        zf.writestr("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    return path


def _tar_without_pkg_info(tmp_path):
    path = tmp_path / "demo-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("demo-1.0/setup.py")
        info.size = 0
        tf.addfile(info, io.BytesIO(b""))
    return path


def _wheel_with_metadata(tmp_path, text, dist_info="demo-1.0.dist-info", wheel=True):
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{dist_info}/METADATA", text)
        if wheel:
            zf.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\n")
    return path


GOOD_METADATA = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda d: (d / "demo-1.0-py3-none-any.whl").write_bytes(b"not a zip") and None,
            "demo-1.0-py3-none-any.whl is not a valid zip archive",
        ),
        (
            lambda d: (d / "demo-1.0.tar.gz").write_bytes(b"not gzip") and None,
            "demo-1.0.tar.gz is not a valid .tar.gz archive",
        ),
        (
            lambda d: (d / "demo-1.0.zip").write_bytes(b"PK\x03\x04 truncated") and None,
            "demo-1.0.zip is not a valid zip archive",
        ),
        (_zip_without_metadata, "demo-1.0-py3-none-any.whl has no *.dist-info/METADATA file"),
        (_tar_without_pkg_info, "demo-1.0.tar.gz has no PKG-INFO file"),
        (
            lambda d: make_wheel(d, "demo", "1.0", metadata_name="other"),
            "demo-1.0-py3-none-any.whl names project demo but its metadata says other",
        ),
        (
            lambda d: make_wheel(d, "demo", "1.0", metadata_version="1.1"),
            "demo-1.0-py3-none-any.whl names version 1.0 but its metadata says 1.1",
        ),
        (
            lambda d: make_sdist(d, "demo", "1.0", metadata_name="evil"),
            "demo-1.0.tar.gz names project demo but its metadata says evil",
        ),
        (
            lambda d: _wheel_with_metadata(d, GOOD_METADATA, wheel=False),
            "demo-1.0-py3-none-any.whl has no demo-1.0.dist-info/WHEEL file",
        ),
        (
            lambda d: _wheel_with_metadata(d, GOOD_METADATA, dist_info="evil-1.0.dist-info"),
            "demo-1.0-py3-none-any.whl holds evil-1.0.dist-info, which names another project",
        ),
        (
            lambda d: _wheel_with_metadata(d, "Metadata-Version: 2.1\nVersion: 1.0\n\n"),
            "demo-1.0-py3-none-any.whl has no Name in its metadata",
        ),
        (
            lambda d: _wheel_with_metadata(d, "Metadata-Version: 2.1\nName: demo\nVersion: x\n"),
            "demo-1.0-py3-none-any.whl has invalid metadata: 'x' is invalid for 'version'",
        ),
        (
            lambda d: _wheel_with_metadata(
                d, "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Python: >>3\n"
            ),
            "demo-1.0-py3-none-any.whl has invalid metadata",
        ),
    ],
)
def test_bad_distributions_are_refused_naming_the_file(tmp_path, build, message):
    build(tmp_path)
    (path,) = tmp_path.iterdir()
    with pytest.raises(ValidationError) as e:
        inspect(path)
    assert message in e.value.message


def test_corrupt_member_is_caught_by_its_checksum(tmp_path):
    path = make_wheel(tmp_path, "demo", "1.0", padding=4096)
    _corrupt_member(path)
    with pytest.raises(ValidationError, match=r"demo-1.0-py3-none-any.whl is a corrupt zip"):
        inspect(path)


def test_truncated_tarball_is_refused(tmp_path):
    path = make_sdist(tmp_path, "demo", "1.0")
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValidationError, match=r"demo-1.0.tar.gz is not a valid .tar.gz archive"):
        inspect(path)


def test_size_limit(tmp_path):
    path = make_wheel(tmp_path, "demo", "1.0", padding=50_000)
    size = path.stat().st_size
    assert inspect(path, max_size=size).size == size
    with pytest.raises(ValidationError) as e:
        inspect(path, max_size=size - 1)
    assert e.value.message == (
        f"demo-1.0-py3-none-any.whl is {size} bytes, over the {size - 1}-byte size limit"
    )


def test_archive_bombs_are_refused_before_unpacking(tmp_path, monkeypatch):
    monkeypatch.setattr("privpi.distributions.MAX_UNPACKED", 100_000)
    wheel = make_wheel(tmp_path, "demo", "1.0", padding=200_000)  # compresses to ~200 bytes
    with pytest.raises(ValidationError, match="demo-1.0-py3-none-any.whl unpacks to more than"):
        inspect(wheel)
    sdist = tmp_path / "demo-2.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        info = tarfile.TarInfo("demo-2.0/big")
        info.size = 200_000
        tf.addfile(info, io.BytesIO(bytes(200_000)))
    with pytest.raises(ValidationError, match="demo-2.0.tar.gz unpacks to more than 100000 bytes"):
        inspect(sdist)


@pytest.mark.parametrize(
    "filename",
    [
        "x-1.0-py3-none-any.whl.whl",
        "x-1.0-py3-none-any.tar.gz.whl",
        "x-1.0.whl.zip",
        "x-1.0.zip.tar.gz",
    ],
)
def test_names_with_two_extensions_are_refused_with_a_sentence(filename):
    with pytest.raises(ValidationError, match="two extensions"):
        parse_filename(filename)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("SECRETPKG-1.0-py3-none-any.whl", "secretpkg-1.0-py3-none-any.whl"),
        ("legt-01.0-py3-none-any.whl", "legt-1.0-py3-none-any.whl"),
        ("legt-01.0.tar.gz", "legt-1.0.tar.gz"),
        ("Demo.Pkg-1.0-1-py3-none-any.whl", "demo_pkg-1.0-1-py3-none-any.whl"),
        ("x-1.0-py2.py3-none-any.whl", "x-1.0-py3.py2-none-any.whl"),
    ],
)
def test_names_that_mean_one_distribution_share_an_identity(a, b):
    assert parse_filename(a).identity == parse_filename(b).identity


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("x-1.0-py3-none-any.whl", "x-1.0-1-py3-none-any.whl"),  # build tag
        ("x-1.0-py3-none-any.whl", "x-1.0-py2-none-any.whl"),  # tags
        ("x-1.0.tar.gz", "x-1.0.zip"),  # archive format
        ("x-1.0.tar.gz", "x-1.0.post0.tar.gz"),  # version
    ],
)
def test_different_distributions_have_different_identities(a, b):
    assert parse_filename(a).identity != parse_filename(b).identity


def test_sdist_with_too_many_members_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("privpi.distributions.MAX_MEMBERS", 50)
    path = tmp_path / "many-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for n in range(60):  # empty members before PKG-INFO, as in the attack
            tf.addfile(tarfile.TarInfo(f"many-1.0/empty{n}"), io.BytesIO(b""))
        info = tarfile.TarInfo("many-1.0/PKG-INFO")
        meta = b"Metadata-Version: 2.1\nName: many\nVersion: 1.0\n"
        info.size = len(meta)
        tf.addfile(info, io.BytesIO(meta))
    with pytest.raises(ValidationError, match="more than 50 archive members"):
        inspect(path)
