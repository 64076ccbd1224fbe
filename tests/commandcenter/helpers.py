"""Request helpers for the commandcenter dialect's tests."""

from __future__ import annotations

import base64
from typing import Any

from tests.conftest import PASSWORD

BASE = "/commandcenter/api"
DEVICE = "laptop.example.com"


def encoded(password: str) -> str:
    return base64.b64encode(password.encode()).decode()


def login(client: Any, username: str = "alice", password: str = PASSWORD, **fields: Any) -> Any:
    body = {"username": username, "password": encoded(password), "deviceId": DEVICE, **fields}
    return client.post(f"{BASE}/Login", json=body)


def session(client: Any, username: str = "alice", **fields: Any) -> dict[str, str]:
    """`Authtoken` headers of a fresh login session."""
    response = login(client, username, **fields)
    assert "token" in response.json(), response.text
    return {"Authtoken": response.json()["token"]}


def create(client: Any, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"{BASE}/V4/AccessToken", headers=headers, json={"tokenName": "ci", **body})


def created(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """`tokenInfo` of a newly created token."""
    response = create(client, headers, **body)
    assert response.status_code == 200 and response.json()["error"]["errorCode"] == 0, response.text
    return response.json()["tokenInfo"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def renew(client: Any, access: str, refresh: str) -> Any:
    return client.post(f"{BASE}/V4/AccessToken/Renew", json={"accessToken": access, "refreshToken": refresh})


def listed(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{BASE}/V4/AccessToken", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()["tokens"]


def who_am_i(client: Any, headers: dict[str, str]) -> Any:
    return client.post(f"{BASE}/WhoAmI", headers={**headers, "Content-Type": "application/xml"})
