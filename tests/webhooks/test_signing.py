"""Signing secrets and signatures (pure): the Standard Webhooks format, sealing at rest, and the URL
rules, without a database."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook as Reference

from tokensmith.errors import InvalidValue
from tokensmith.webhooks import signing, urls

KEY = b"a server secret of a good length 0123456789"


def test_a_secret_is_whsec_and_32_random_bytes():
    first, second = signing.new_secret(), signing.new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first[6:])) == 32


def test_the_signature_is_the_reference_implementations():
    secret = signing.new_secret()
    moment = 1_767_268_800
    body = '{"type":"token.revoked","data":{"publicId":"tsr_x"}}'
    expected = Reference(secret).sign("msg_1", datetime.fromtimestamp(moment, UTC), body)
    assert signing.signature(secret, "msg_1", moment, body) == expected


def test_a_sealed_secret_opens_only_with_its_key_and_on_its_own_row():
    secret = signing.new_secret()
    sealed = signing.seal(KEY, secret, "wh_one")
    assert secret not in sealed and secret[6:] not in sealed
    assert signing.unseal(KEY, sealed, "wh_one") == secret
    assert signing.seal(KEY, secret, "wh_one") != sealed  # a fresh nonce each time
    with pytest.raises(signing.SecretUnreadable):
        signing.unseal(KEY, sealed, "wh_two")
    with pytest.raises(signing.SecretUnreadable):
        signing.unseal(b"another key entirely, also long enough", sealed, "wh_one")


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/a?b=c",
        "http://127.0.0.1:8080/hook",
        "http://localhost/x",
        "HTTPS://EXAMPLE.COM",
    ],
)
def test_urls_a_webhook_may_go_to_by_default(url):
    assert urls.check_url(url, allow_private=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://app.localhost/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_private_urls_are_refused_when_forbidden(url):
    with pytest.raises(InvalidValue):
        urls.check_url(url, allow_private=False)
    assert urls.refusal(url, allow_private=False) is not None
    assert urls.refusal(url, allow_private=True) is None


def test_a_public_literal_address_passes_and_only_the_host_is_shown():
    assert urls.check_url("https://93.184.216.34/x", allow_private=False)
    assert urls.refusal("https://93.184.216.34/x", allow_private=False) is None
    assert urls.host_of("https://hooks.example.com/secret-path?token=x") == "hooks.example.com"
