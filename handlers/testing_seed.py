"""The seed document's wire shape (the testing API's body, and `tokensmith seed FILE` as YAML).

```yaml
users:    [{username: alice, password: "correct horse battery", role: user}]
tenants:  [{name: Acme, subDomain: acme, externalId: <a UUID; optional>,
           admin: {username: acme-admin, password: "…"}}]
tokens:   [{user: alice, value: "tsr_…", name: ci}, {user: alice, parent: "tsr_…", value: "tsa_…"}]
workflows: [{tenant: acme, definitions: [<what `tokensmith tenant workflows import` reads>]}]
runs:     [{tenant: acme, workflowIdentifier: sample_workflow, variables: {…}}]  # queued, as a trigger
webhooks: [{user: alice, url: "http://127.0.0.1:9000/hook", events: [token.revoked], id: <optional>}]
```

Workflow definitions are the gateway dialect's documents, and a seeded tenant's token is a gateway
tenant JWT, so this reader lives with the handlers and hands the core typed values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from handlers import routes
from handlers.commandcenter import wire as commandcenter_wire
from handlers.gateway import wire as gateway_wire
from handlers.integration import wire as integration_wire
from tokensmith import tenants
from tokensmith.errors import InvalidValue
from tokensmith.testing import seed as core_seed

# Which dialect a seeded prefixed token belongs to unless the document says: the one whose clients
# present that kind (integration refresh and access tokens, commandcenter sessions).
TOKEN_DIALECTS = core_seed.TokenDialects(
    known=tuple(stem for stem, _base, _wire in routes.DIALECTS if stem != "ops"),
    default_for_kind={"refresh": "integration", "access": "integration", "session": "commandcenter"},
    lifespan_settings={
        "refresh": integration_wire.CHAIN.refresh_lifespan_setting,
        "access": integration_wire.CHAIN.access_lifespan_setting,
    },
    entry_dialects=frozenset({commandcenter_wire.DIALECT}),
)


def document_from(raw: Any) -> core_seed.SeedDocument:
    """The typed document, or InvalidValue naming the entry and field that is wrong."""
    raw = _mapping(raw, "The seed document")
    unknown = set(raw) - {"users", "tenants", "tokens", "workflows", "runs", "webhooks"}
    if unknown:
        raise InvalidValue("document", f"Unknown part(s) of a seed document: {', '.join(sorted(unknown))}.")
    return core_seed.SeedDocument(
        users=[_user(item, f"users[{i}]") for i, item in enumerate(_list(raw, "users"))],
        tenants=[_tenant(item, f"tenants[{i}]") for i, item in enumerate(_list(raw, "tenants"))],
        tokens=[_token(item, f"tokens[{i}]") for i, item in enumerate(_list(raw, "tokens"))],
        workflows=[_workflows(item, f"workflows[{i}]") for i, item in enumerate(_list(raw, "workflows"))],
        runs=[_run(item, f"runs[{i}]") for i, item in enumerate(_list(raw, "runs"))],
        webhooks=[_webhook(item, f"webhooks[{i}]") for i, item in enumerate(_list(raw, "webhooks"))],
    )


def answer(done: core_seed.Seeded) -> dict[str, Any]:
    """The ids created, in the testing API's words."""
    return {
        "users": done.users,
        "tenants": {
            sub_domain: {
                "id": made["id"],
                "externalId": made["external_id"],
                "adminUserId": made["admin_user_id"],
                "token": made["token"],
                "tokenPublicId": made["token_public_id"],
            }
            for sub_domain, made in done.tenants.items()
        },
        "tokens": [
            {
                "id": token["id"],
                "publicId": token["public_id"],
                "kind": token["kind"],
                "dialect": token["dialect"],
                "userId": token["user_id"],
                "expiresAt": rfc3339(token["expires_at"]),
                **({"value": token["value"]} if "value" in token else {}),
            }
            for token in done.tokens
        ],
        "workflows": done.workflows,
        "runs": done.runs,
        "webhooks": done.webhooks,
    }


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_moment(text: Any, field: str) -> datetime:
    if not isinstance(text, str):
        raise InvalidValue(field, "An RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z.")
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise InvalidValue(field, "An RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z.") from None
    if moment.tzinfo is None:
        raise InvalidValue(field, "The date-time needs a UTC offset (Z or +hh:mm).")
    return moment.astimezone(UTC)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValue("document", f"{where} must be an object.")
    return value


def _list(raw: dict[str, Any], part: str) -> list[Any]:
    value = raw.get(part) or []
    if not isinstance(value, list):
        raise InvalidValue(part, f"{part} must be a list.")
    return value


def _text(item: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = item.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidValue(key, f"{where}.{key} must be a non-empty string.")
    return value


def _known(item: dict[str, Any], keys: set[str], where: str) -> None:
    unknown = set(item) - keys
    if unknown:
        raise InvalidValue("document", f"{where} has unknown field(s): {', '.join(sorted(unknown))}.")


def _user(item: Any, where: str) -> core_seed.SeedUser:
    item = _mapping(item, where)
    _known(item, {"username", "password", "role"}, where)
    return core_seed.SeedUser(
        username=_text(item, "username", where),  # type: ignore[arg-type]
        password=_text(item, "password", where),  # type: ignore[arg-type]
        role=_text(item, "role", where, required=False) or "user",
    )


def _tenant(item: Any, where: str) -> core_seed.SeedTenant:
    item = _mapping(item, where)
    _known(item, {"name", "subDomain", "description", "admin", "externalId"}, where)
    external_id = _text(item, "externalId", where, required=False)
    admin = _mapping(item.get("admin"), f"{where}.admin")
    _known(admin, {"username", "password", "email", "firstName", "lastName"}, f"{where}.admin")
    return core_seed.SeedTenant(
        tenants.NewTenant(
            name=_text(item, "name", where),  # type: ignore[arg-type]
            description=_text(item, "description", where, required=False),
            sub_domain=_text(item, "subDomain", where),  # type: ignore[arg-type]
            admin_username=_text(admin, "username", f"{where}.admin"),  # type: ignore[arg-type]
            admin_password=_text(admin, "password", f"{where}.admin"),  # type: ignore[arg-type]
            admin_email=_text(admin, "email", f"{where}.admin", required=False),
            admin_first_name=_text(admin, "firstName", f"{where}.admin", required=False),
            admin_last_name=_text(admin, "lastName", f"{where}.admin", required=False),
            external_id=None if external_id is None else tenants.parse_external_id(external_id),
        )
    )


def _token(item: Any, where: str) -> core_seed.SeedToken:
    item = _mapping(item, where)
    keys = {"user", "value", "kind", "dialect", "name", "parent", "expiresAt", "expiresIn", "deviceId"}
    _known(item, keys, where)
    expires_in = item.get("expiresIn")
    if expires_in is not None and (
        isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or not 0 < expires_in < 1e10
    ):
        raise InvalidValue("expiresIn", f"{where}.expiresIn must be a positive number of seconds.")
    expires_at = item.get("expiresAt")
    return core_seed.SeedToken(
        user=_text(item, "user", where),  # type: ignore[arg-type]
        value=_text(item, "value", where, required=False),
        kind=_text(item, "kind", where, required=False),
        dialect=_text(item, "dialect", where, required=False),
        name=_text(item, "name", where, required=False),
        parent=_text(item, "parent", where, required=False),
        expires_at=None if expires_at is None else parse_moment(expires_at, f"{where}.expiresAt"),
        expires_in=None if expires_in is None else timedelta(seconds=expires_in),
        device_id=_text(item, "deviceId", where, required=False),
    )


def _workflows(item: Any, where: str) -> core_seed.SeedWorkflows:
    item = _mapping(item, where)
    _known(item, {"tenant", "definitions"}, where)
    return core_seed.SeedWorkflows(
        tenant=_text(item, "tenant", where).lower(),  # type: ignore[union-attr]
        definitions=gateway_wire.definitions_from_document(item.get("definitions")),
    )


def _run(item: Any, where: str) -> core_seed.SeedRun:
    item = _mapping(item, where)
    _known(item, {"tenant", "workflowIdentifier", "variables"}, where)
    variables = item.get("variables") or {}
    if not isinstance(variables, dict):
        raise InvalidValue("variables", f"{where}.variables must be an object.")
    return core_seed.SeedRun(
        tenant=_text(item, "tenant", where).lower(),  # type: ignore[union-attr]
        workflow=_text(item, "workflowIdentifier", where),  # type: ignore[arg-type]
        variables=variables,
    )


def _webhook(item: Any, where: str) -> core_seed.SeedWebhook:
    item = _mapping(item, where)
    _known(item, {"user", "url", "events", "description", "id"}, where)
    events = item.get("events")
    if not isinstance(events, list):
        raise InvalidValue("events", f"{where}.events must be a list of event types.")
    return core_seed.SeedWebhook(
        user=_text(item, "user", where),  # type: ignore[arg-type]
        url=_text(item, "url", where),  # type: ignore[arg-type]
        events=events,
        description=_text(item, "description", where, required=False),
        id=_text(item, "id", where, required=False),
    )


def seed(core: Any, raw: Any) -> dict[str, Any]:
    """Read, seed, answer: what the testing API and `tokensmith seed` both do."""
    return answer(core_seed.seed(core, document_from(raw), gateway_wire.TENANT_TOKEN, TOKEN_DIALECTS))
