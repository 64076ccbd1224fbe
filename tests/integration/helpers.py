"""Small request helpers for the integration dialect's tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD

BASE = "/integration/v1"


def create_refresh(
    client: Any, username: str = "alice", password: str = PASSWORD, name: str = "agent", **kwargs: Any
) -> Any:
    return client.post(
        f"{BASE}/createRefreshToken/",
        json={"username": username, "password": password, "name": name},
        **kwargs,
    )


def refresh_token(client: Any, username: str = "alice", name: str = "agent") -> dict[str, Any]:
    response = create_refresh(client, username=username, name=name)
    assert response.status_code == 200, response.text
    return response.json()


def access_token(client: Any, refresh: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        f"{BASE}/createAPIAccessToken/",
        json={"refresh_token": refresh["refresh_token"], "user_id": refresh["user_id"]},
    )
    assert response.status_code == 200, response.text
    return response.json()


def call(client: Any, operation: str, **body: Any) -> Any:
    return client.post(f"{BASE}/{operation}/", json=body)
