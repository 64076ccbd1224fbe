"""What the hostile-input tests share: every operation of every spec, and credentials for each dialect."""

from __future__ import annotations

import re
from typing import Any

from handlers import routes
from tests.commandcenter.helpers import session
from tests.conftest import PASSWORD
from tests.gateway.conftest import login as gateway_login
from tests.integration.helpers import access_token, refresh_token

METHODS = ("get", "put", "post", "delete", "patch")


def operations() -> list[tuple[str, str, str, str, dict[str, Any]]]:
    """(spec stem, base path, METHOD, concrete path, operation) for every operation; path parameters get 1."""
    found = []
    for stem, base, _wire in routes.DIALECTS:
        for path, item in routes.spec(stem)["paths"].items():
            for method in METHODS:
                if method in item:
                    concrete = re.sub(r"\{[^}]+\}", "1", path)
                    found.append((stem, base, method.upper(), f"{base}{concrete}", item[method]))
    return found


def operation_id(row: tuple) -> str:
    return f"{row[0]}:{row[2]} {row[3]}"


def credentials(client: Any, make_user: Any) -> dict[str, dict[str, str]]:
    """Headers that get a superadmin past each dialect's authentication, by base path."""
    make_user("root", role="superadmin")
    token = access_token(client, refresh_token(client, username="root"))["api_access_token"]
    bearer = gateway_login(client, "root", PASSWORD).json()["resultData"]["accessToken"]
    return {
        "/integration/v1": {"TOKEN": token},
        "/api/v1": {"TOKEN": token},
        "/commandcenter/api": session(client, "root"),
        "/gateway/api/v1": {"Authorization": f"Bearer {bearer}"},
        "": {"TOKEN": token},
    }


def json_body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")
