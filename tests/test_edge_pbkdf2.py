"""The stdlib verifier against hashes made by libpass (passlib) itself."""

from __future__ import annotations

import pytest
from passlib.hash import pbkdf2_sha256

from edge import pbkdf2

PASSWORDS = ["correct horse battery", "pässwörd-ünïcode-密码", "with:colons:inside", "x" * 1024, ""]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("rounds", [1, 1000, 29000])
def test_verifies_libpass_hashes(password, rounds):
    stored = pbkdf2_sha256.using(rounds=rounds).hash(password)
    assert pbkdf2.verify(password, stored)
    assert not pbkdf2.verify(password + "x", stored)
    assert not pbkdf2.verify(password[:-1], stored) or password == ""


def test_agrees_with_libpass_on_custom_salt_and_digest_sizes():
    stored = pbkdf2_sha256.using(rounds=500, salt_size=64).hash("s3cret-password")
    assert pbkdf2.verify("s3cret-password", stored)
    assert pbkdf2_sha256.verify("s3cret-password", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plaintext",
        "$pbkdf2-sha512$1000$abcd$efgh",
        "$pbkdf2-sha256$$abcd$efgh",
        "$pbkdf2-sha256$-5$abcd$efgh",
        "$pbkdf2-sha256$99999999999$abcd$efgh",
        "$pbkdf2-sha256$0$abcd$efgh",
        "$pbkdf2-sha256$1000$abcd",
        "$pbkdf2-sha256$1000$ab!d$efgh",
        "$pbkdf2-sha256$1000$abcd$",
        "$pbkdf2-sha256$1000$abcd$efgh$extra",
        None,
    ],
)
def test_malformed_hashes_never_verify(stored):
    assert pbkdf2.verify("anything", stored) is False
    pbkdf2.burn(stored)  # and burning time on them does not raise


def test_password_that_cannot_be_encoded_is_refused():
    stored = pbkdf2_sha256.using(rounds=10).hash("a")
    assert pbkdf2.verify("\udcff", stored) is False
