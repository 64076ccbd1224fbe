"""Argon2id password hashing (slow on purpose: never on the token hot path, never on the event loop),
and the rules a new password must pass."""

from __future__ import annotations

import functools
import gzip
import string
import unicodedata
from dataclasses import dataclass
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tokensmith.errors import InvalidValue


@dataclass(frozen=True)
class Argon2Cost:
    """Argon2id's cost (process settings TOKENSMITH_ARGON2_*). The defaults are argon2-cffi's own
    (RFC 9106's low-memory profile), written out so that a library upgrade cannot change them unseen."""

    time_cost: int = 3  # passes over the memory
    memory_cost: int = 64 * 1024  # KiB
    parallelism: int = 4  # lanes


class Passwords:
    """Hashing and checking at one cost. A hash carries the parameters it was made with, so a hash made
    at another cost still verifies; `rehash` says when a verified one should be replaced."""

    def __init__(self, cost: Argon2Cost = Argon2Cost()) -> None:
        # argon2-cffi's default type is Argon2id
        self._hasher = PasswordHasher(
            time_cost=cost.time_cost, memory_cost=cost.memory_cost, parallelism=cost.parallelism
        )
        # Verified against when the user does not exist, so a miss costs what a wrong password does (made
        # here, at this cost: made at the first miss, it would make that miss take twice as long).
        self._dummy_hash = self._hasher.hash("tokensmith-dummy-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(_bytes(password))

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            matched = self._hasher.verify(stored_hash or self._dummy_hash, _bytes(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and bool(stored_hash)

    def rehash(self, stored_hash: str, password: str) -> str | None:
        """After `verify` accepted `password`: its hash at this cost when `stored_hash` was made with other
        parameters, else None. Only a login knows the password, so only a login can upgrade a hash."""
        if not self._hasher.check_needs_rehash(stored_hash):
            return None
        return self.hash(password)


def _bytes(password: str) -> bytes:
    """UTF-8, with a lone surrogate (valid JSON, not valid UTF-8) passed through instead of raising."""
    return password.encode("utf-8", "surrogatepass")


# --- rules for a new password (NIST SP 800-63B section 3.1.1.2) ------------------------------------

MIN_LENGTH = 12
_COMMON_LIST = "common-passwords.txt.gz"  # provenance and licence: data/common-passwords.NOTICE.txt
# A common password with digits or symbols around it ("password1234") counts as common too, when what is
# left once they are stripped has at least this many characters.
_MIN_COMMON_CORE = 4
_RUNS = (string.digits * 4, string.ascii_lowercase * 2)  # "123456789012", "mnopqrstuvwx"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list of the most common passwords, lower-cased, read once."""
    data = resources.files("tokensmith").joinpath("data", _COMMON_LIST).read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split())


def check_new(password: str, *, field: str = "password", username: str | None = None) -> None:
    """Refuse a password a guesser would try early; messages never repeat the password.

    At least `MIN_LENGTH` characters (Unicode code points, spaces count); not whitespace only; not on
    the bundled common-password list, alone or with digits and symbols around it; not one short chunk
    repeated (`abcabcabcabc`) nor a run (`123456789012`); not the username. No composition rules:
    NIST advises against them.
    """
    if not isinstance(password, str):
        raise InvalidValue(field, "A password must be text.")
    if len(password) < MIN_LENGTH:
        raise InvalidValue(field, f"Passwords need at least {MIN_LENGTH} characters.")
    folded = unicodedata.normalize("NFKC", password).strip().lower()
    if not folded:
        raise InvalidValue(field, "A password must not be only whitespace.")
    core = folded.strip(string.digits + string.punctuation + " ")
    if folded in common_passwords() or (len(core) >= _MIN_COMMON_CORE and core in common_passwords()):
        raise InvalidValue(field, "This password is on a list of commonly used passwords; choose another.")
    if folded in (folded + folded)[1:-1]:  # the string is a repetition of a shorter one
        raise InvalidValue(field, "A password must not be a short sequence repeated; choose another.")
    if any(folded in run or folded in run[::-1] for run in _RUNS):
        raise InvalidValue(field, "A password must not be a run of consecutive characters; choose another.")
    if username is not None and folded == unicodedata.normalize("NFKC", username).strip().lower():
        raise InvalidValue(field, "A password must not be the username.")
