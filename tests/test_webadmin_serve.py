"""The console as `privpi serve` mounts it: a real subprocess, plain HTTP, real cookies."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.support.serve import ADMIN_PASSWORD, start_server, stop

pytestmark = [pytest.mark.e2e]


def _opener():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def test_console_signs_in_over_plain_http(tmp_path):
    base, proc = start_server(str(tmp_path / "repo"))
    try:
        opener, jar = _opener()
        with opener.open(f"{base}/login") as r:
            page = r.read().decode()
            assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token}
        ).encode()
        with opener.open(f"{base}/login", data=form) as r:  # follows the 303
            assert r.url == f"{base}/"
            assert "Dashboard" in r.read().decode()
        cookie = next(c for c in jar if c.name == "privpi_session")
        assert not cookie.secure  # plain http: a Secure cookie would never come back
        with opener.open(f"{base}/connect") as r:
            assert f"index-url = {base}/simple/" in r.read().decode()
        with pytest.raises(urllib.error.HTTPError) as e:  # the read path is not the console
            opener.open(f"{base}/simple/")
        assert e.value.code == 401
    finally:
        stop(proc)
