"""Helpers for the native API's tests: a caller with an integration access token, admin or not."""

from __future__ import annotations

from typing import Any

from tests.integration.helpers import access_token, refresh_token


def token_for(client: Any, username: str) -> str:
    return access_token(client, refresh_token(client, username=username))["api_access_token"]


def headers_for(client: Any, username: str) -> dict[str, str]:
    return {"TOKEN": token_for(client, username)}
