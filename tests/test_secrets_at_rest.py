"""A database dump holds no usable token: issue one token of every kind, then read everything back."""

from pathlib import Path

import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.integration.helpers import access_token, call, refresh_token
from tokensmith.models import Base


def issue_one_of_every_kind(client, alice) -> list[str]:
    """Every secret the API hands out; a new dialect adds its kinds here."""
    refresh = refresh_token(client)
    access = access_token(client, refresh)
    regenerated = call(
        client, "regenRefreshToken", refresh_token=refresh["refresh_token"], user_id=alice.id
    ).json()
    return [refresh["refresh_token"], access["api_access_token"], regenerated["refresh_token"], PASSWORD]


def every_stored_value(engine) -> str:
    with engine.connect() as conn:
        return "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in conn.execute(sa.select(table))
        )


def test_no_secret_is_stored_anywhere(client, alice, core, settings):
    secrets = issue_one_of_every_kind(client, alice)
    dump = every_stored_value(core.db.engine)
    for secret in secrets:
        assert secret not in dump
        assert secret[16:] not in dump  # not even the part after the public id
    if settings.database_url.startswith("sqlite:///"):
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for secret in secrets:
            assert secret.encode() not in raw and secret[16:].encode() not in raw
