"""Webhook signing secrets and signatures, as the Standard Webhooks specification defines them.

A secret is `whsec_` + base64 of 32 random bytes, shown to its subscriber once. Unlike a token it
cannot be kept only as a hash: every delivery is signed with it. So it is stored sealed: AES-256-GCM
under a key derived (HKDF-SHA256) from the server secret, with the subscription's public id as
associated data, so a sealed secret copied onto another subscription's row does not open. A database
dump without the server secret holds no usable signing secret; rotating the server secret makes every
sealed one unreadable (those subscriptions must be made again).

A message is signed as `v1,` + base64(HMAC-SHA256(secret bytes, f"{webhook-id}.{timestamp}.{body}")).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "whsec_"
SECRET_BYTES = 32
NONCE_BYTES = 12
_KEY_INFO = b"tokensmith webhook signing secrets v1"


class SecretUnreadable(Exception):
    """A sealed secret that does not open under this server's key (the key changed, or the row was
    tampered with): the delivery cannot be signed, so it is not sent."""


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks format, from `secrets`."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The bytes an HMAC is keyed with: the base64 part of `whsec_...` decoded."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def _sealing_key(server_key: bytes) -> bytes:
    """A key of its own for sealing, derived from the server secret: the secret itself keys the token
    hashes, and one key should not serve two purposes."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(server_key)


def seal(server_key: bytes, secret: str, bound_to: str) -> str:
    """The secret encrypted for storage, bound to `bound_to` (the subscription's public id)."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_sealing_key(server_key)).encrypt(nonce, secret.encode(), bound_to.encode())
    return base64.b64encode(nonce + sealed).decode()


def unseal(server_key: bytes, sealed: str, bound_to: str) -> str:
    raw = base64.b64decode(sealed)
    try:
        opened = AESGCM(_sealing_key(server_key)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to.encode()
        )
    except InvalidTag:
        raise SecretUnreadable("The signing secret does not open with this server's key.") from None
    return opened.decode()


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header's value for one attempt."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
