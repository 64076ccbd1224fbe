"""A database dump holds no usable gateway token: neither the JWTs, nor their `authToken` secrets,
nor the tenant admin's password."""

from pathlib import Path

from tests.conftest import PASSWORD
from tests.gateway.conftest import ADMIN_PASSWORD, BASE, bearer
from tests.gateway.test_superadmin import claims_of
from tests.test_secrets_at_rest import every_stored_value


def test_no_gateway_secret_is_stored_anywhere(client, tenant, superadmin_token, core, settings):
    regenerated = client.get(
        f"{BASE}/platform/apiaccesskeys/generate",
        params={"tenantExternalId": tenant["tenantExternalId"]},
        headers=bearer(superadmin_token),
    ).json()["resultData"]["tenantAccessToken"]
    tokens = [tenant["tenantAccessToken"], regenerated, superadmin_token]
    secrets = [*tokens, *(token.split(".")[2] for token in tokens)]
    secrets += [claims_of(token)[1]["authToken"] for token in tokens] + [ADMIN_PASSWORD, PASSWORD]
    dump = every_stored_value(core.db.engine)
    for secret in secrets:
        assert secret not in dump
    if settings.database_url.startswith("sqlite:///"):
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for secret in secrets:
            assert secret.encode() not in raw
