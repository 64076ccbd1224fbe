"""Typed errors the core raises; each dialect maps them to its own wire error in one table."""

from __future__ import annotations


class TokensmithError(Exception):
    """Base class. `message` is safe to show a client: it never holds a secret."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class TokenInvalid(TokensmithError):
    """Unknown, malformed, foreign (another owner's) or unusable token: one error, so nothing leaks."""


class TokenExpired(TokensmithError):
    pass


class TokenRevoked(TokensmithError):
    pass


class LoginFailed(TokensmithError):
    """Wrong password, unknown user or disabled account: deliberately indistinguishable."""


class NotAllowed(TokensmithError):
    """Understood, but this account may not do it (e.g. an SSO user creating a refresh token)."""


class Forbidden(TokensmithError):
    pass


class NotFound(TokensmithError):
    pass


class Conflict(TokensmithError):
    pass


class Throttled(TokensmithError):
    def __init__(self, retry_after: int, message: str = "Too many failed attempts.") -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class InvalidValue(TokensmithError):
    """A value the core refuses; `field` names what was wrong so a dialect can point at it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Unavailable(TokensmithError):
    """The server cannot serve this now (every database connection busy past the pool's timeout):
    the request changed nothing and may be retried."""

    retry_after = 1
