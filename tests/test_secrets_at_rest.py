"""A database dump holds no usable token: issue one token of every kind, in every dialect, then read
everything back — every row of every table, and on SQLite the raw database and WAL files too."""

import base64
import json
from pathlib import Path

import sqlalchemy as sa

from tests.commandcenter import helpers as cc
from tests.conftest import PASSWORD
from tests.gateway.conftest import ADMIN_PASSWORD, tenant_body
from tests.gateway.conftest import BASE as GATEWAY
from tests.integration.helpers import access_token, call, refresh_token
from tokensmith.models import Base


def jwt_secrets(token: str) -> list[str]:
    """A JWT, its signature, and the `authToken` secret inside its payload."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return [token, token.split(".")[2], claims["authToken"]]


def issue_one_of_every_kind(client, alice, make_user) -> list[str]:
    refresh = refresh_token(client)
    access = access_token(client, refresh)
    regenerated = call(
        client, "regenRefreshToken", refresh_token=refresh["refresh_token"], user_id=alice.id
    ).json()
    secrets = [refresh["refresh_token"], access["api_access_token"], regenerated["refresh_token"]]

    session = cc.session(client)
    pair = cc.created(client, session, tokenType="ALL")
    renewed = cc.renew(client, pair["accessToken"], pair["refreshToken"]).json()
    secrets += [
        session["Authtoken"].removeprefix("QSDK "),
        pair["accessToken"],
        pair["refreshToken"],
        renewed["accessToken"],
        renewed["refreshToken"],
    ]

    make_user("root", role="superadmin")
    superadmin = client.post(f"{GATEWAY}/auth/login", json={"username": "root", "password": PASSWORD})
    superadmin_token = superadmin.json()["resultData"]["accessToken"]
    bearer = {"Authorization": f"Bearer {superadmin_token}"}
    tenant = client.post(f"{GATEWAY}/platform/tenants", json=tenant_body(), headers=bearer).json()[
        "resultData"
    ]
    again = client.get(
        f"{GATEWAY}/platform/apiaccesskeys/generate",
        headers=bearer,
        params={"tenantExternalId": tenant["tenantExternalId"]},
    ).json()["resultData"]
    for token in (superadmin_token, tenant["tenantAccessToken"], again["tenantAccessToken"]):
        secrets += jwt_secrets(token)
    return secrets + [PASSWORD, ADMIN_PASSWORD]


def every_stored_value(engine) -> str:
    with engine.connect() as conn:
        return "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in conn.execute(sa.select(table))
        )


def test_no_secret_is_stored_anywhere(client, alice, make_user, core, settings):
    secrets = issue_one_of_every_kind(client, alice, make_user)
    assert len(secrets) == 19 and all(secrets)  # 3 integration, 5 commandcenter, 9 gateway, 2 passwords
    # every secret whole, and each token's part after its public id (the first 16 characters) too
    needles = secrets + [secret[16:] for secret in secrets if len(secret) >= 40]
    dump = every_stored_value(core.db.engine)
    for needle in needles:
        assert needle not in dump
    if settings.database_url.startswith("sqlite:///"):
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for needle in needles:
            assert needle.encode() not in raw
