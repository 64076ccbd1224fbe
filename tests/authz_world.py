"""A small, complete world for authorization tests: every kind of caller, each with a counterpart it must
not reach, built through the core (fast) on the test's database.

Parties (whose resources a request may name):
  ursula  a user of no tenant            victor   another user of no tenant
  tadmin1 the admin of tenant 1          tadmin2  the admin of tenant 2
  tuser1  a user of tenant 1             tuser2   a user of tenant 2
  padmin  an admin of no tenant (the whole server's)
  sam     a superadmin
  tenant1 / tenant2: the gateway tenants, each with its tenant token and one workflow run

Callers (`Variant`): who presents which credential, which party is theirs to act on ("own") and which
is somebody else's ("other"). The expected outcome of every call is derived from the spec's declaration
and from `ADMINISTERS`, written here from the documented rules, independently of `tokensmith.policy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy import select

from handlers.commandcenter.wire import ACCESS_LIFESPAN as CC_LIFESPAN
from handlers.gateway import wire as gateway_wire
from handlers.integration.wire import CHAIN
from tests.conftest import PASSWORD
from tokensmith import policy, refresh_tokens, scoped_tokens, sessions, tenants, users, verifier, workflows
from tokensmith.core import Core
from tokensmith.models import Base, Tenant, User
from tokensmith.verifier import Accepted
from tokensmith.webhooks import subscriptions as webhooks

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "workflows.yaml"
CC = "commandcenter"


@dataclass
class Party:
    """What requests name when they act on this party: ids, one spare credential, a V4 entry, a run."""

    name: str
    user_id: int | None = None
    username: str | None = None
    tenant_external_id: str | None = None
    spare_public_id: str | None = None
    spare_family: str | None = None
    spare_value: str | None = None
    entry_id: int | None = None
    trigger_id: str | None = None
    webhook_id: str | None = None  # a webhook subscription the party owns
    identifiers: set[str] = field(default_factory=set)  # what a caller who may not see it must never see


@dataclass(frozen=True)
class Variant:
    """A caller: its kind, the credential form it presents, and whose resources are its own / not."""

    name: str
    kind: str  # anonymous | user | admin | superadmin | tenant
    form: str | None  # access | session | superadmin-jwt | tenant-jwt
    holder: str | None  # the party whose credential it presents
    own: str | None
    other: str | None
    spans_platform: bool = False


VARIANTS = [
    Variant("anonymous", "anonymous", None, None, "ursula", "victor"),
    Variant("user-access", "user", "access", "ursula", "ursula", "victor"),
    Variant("user-session", "user", "session", "ursula", "ursula", "victor"),
    Variant("tenant-admin-access", "admin", "access", "tadmin1", "tuser1", "tuser2"),
    Variant("tenant-admin-session", "admin", "session", "tadmin1", "tuser1", "tuser2"),
    Variant("platform-admin-access", "admin", "access", "padmin", "ursula", "sam", spans_platform=True),
    Variant("superadmin-access", "superadmin", "access", "sam", "ursula", None, spans_platform=True),
    Variant("superadmin-jwt", "superadmin", "superadmin-jwt", "sam", "ursula", None, spans_platform=True),
    Variant("tenant-token", "tenant", "tenant-jwt", "tenant1", "tenant1", "tenant2"),
]

# Whose identifiers each caller may see (its own and what it administers), from the documented rules.
ADMINISTERS = {
    None: set(),
    "ursula": {"ursula"},
    "tadmin1": {"tadmin1", "tuser1", "tenant1"},
    "padmin": {"padmin", "ursula", "victor", "tadmin1", "tadmin2", "tuser1", "tuser2", "tenant1", "tenant2"},
    "sam": {
        "sam",
        "padmin",
        "ursula",
        "victor",
        "tadmin1",
        "tadmin2",
        "tuser1",
        "tuser2",
        "tenant1",
        "tenant2",
    },
    "tenant1": {"tenant1"},
}

USERS = {  # party → (username, role, tenant party); tuser1/2 are the tenants' own admins (role user)
    "ursula": ("user-ursula", "user", None),
    "victor": ("user-victor", "user", None),
    "tadmin1": ("tenant-one-admin", "admin", "tenant1"),
    "tadmin2": ("tenant-two-admin", "admin", "tenant2"),
    "padmin": ("platform-admin-pat", "admin", None),
    "sam": ("superadmin-sam", "superadmin", None),
}
TABLES = (
    "tenants",
    "users",
    "credentials",
    "workflow_definitions",
    "workflow_runs",
    "workflow_steps",
    "audit_events",
    "webhooks",
)
_CACHE: dict[str, Any] = {}


class World:
    """The same world for every test: built through the core on the first test's database, then copied
    row by row into each later test's fresh database (the clock starts at the same instant and the
    server key is the suite's, so every credential stays valid). `credentials[(holder, form)]` are the
    secrets callers present."""

    def __init__(self, core: Core) -> None:
        self.core = core
        cached = _CACHE.get("world")
        if cached is None:
            self.parties: dict[str, Party] = {}
            self.credentials: dict[tuple[str, str], str] = {}
            self._build()
            _CACHE["world"] = (self.parties, self.credentials, _rows(core))
        else:
            self.parties, self.credentials, rows = cached
            _restore(core, rows)

    def _build(self) -> None:
        core = self.core
        document = yaml.safe_load(EXAMPLES.read_text())
        definitions = gateway_wire.definitions_from_document(document)[:1]  # sample_workflow
        for number, word in ((1, "one"), (2, "two")):
            tenant, issued = tenants.create_tenant(
                core,
                tenants.NewTenant(
                    name=f"tenant {number}",
                    description=None,
                    sub_domain=f"matrix{number}",
                    admin_username=f"tenant-{word}-user",
                    admin_password=PASSWORD,
                ),
                gateway_wire.TENANT_TOKEN,
                actor="test",
            )
            workflows.import_definitions(core, tenant.external_id, definitions)
            run = workflows.trigger(
                core, tenant.id, "sample_workflow", {"sample_workflow_input_parameter1": "hi"}
            )
            name = f"tenant{number}"
            self.parties[name] = Party(
                name,
                tenant_external_id=tenant.external_id,
                spare_public_id=issued.credential.public_id,
                spare_family=issued.credential.family,
                spare_value=issued.value,
                trigger_id=run.record.trigger_id,
                identifiers={tenant.external_id, issued.credential.public_id},
            )
            self.credentials[(name, "tenant-jwt")] = issued.value
            with core.db.read() as session:
                owner_id = session.scalar(select(User.id).where(User.username == f"tenant-{word}-user"))
            self._user_party(f"tuser{number}", owner_id, f"tenant-{word}-user", tenant.external_id)
        for party, (username, role, tenant_party) in USERS.items():
            tenant_id = None
            external = None
            if tenant_party:
                external = self.parties[tenant_party].tenant_external_id
                with core.db.read() as session:
                    tenant_id = session.scalar(select(Tenant.id).where(Tenant.external_id == external))
            created = users.create_user(core, username, PASSWORD, role=role, tenant_id=tenant_id)
            self._user_party(party, created.id, username, external)
        sam = self.parties["sam"]
        jwt = tenants.superadmin_login(core, sam.username, PASSWORD, None, gateway_wire.SUPERADMIN_TOKEN)
        sam.identifiers.add(jwt.credential.public_id)
        self.credentials[("sam", "superadmin-jwt")] = jwt.value
        for name, party in self.parties.items():
            self._subscribe(name, party)
        # A tenant party's user-shaped parameters name its owner account (tenant callers may call none).
        for number in (1, 2):
            owner = self.parties[f"tuser{number}"]
            tenant = self.parties[f"tenant{number}"]
            tenant.user_id, tenant.entry_id = owner.user_id, owner.entry_id

    def _subscribe(self, name: str, party: Party) -> None:
        """One webhook subscription owned by the party (a tenant party's by the tenant itself)."""
        with self.core.db.read() as session:
            if name.startswith("tenant"):
                owner = policy.standing_owner(
                    None, session.scalar(select(Tenant).where(Tenant.external_id == party.tenant_external_id))
                )
            else:
                user = session.get(User, party.user_id)
                tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
                owner = policy.standing_owner(user, tenant)
        assert owner is not None
        created = webhooks.create(self.core, owner, f"https://hooks.example.com/{name}", ["token.revoked"])
        party.webhook_id = created.view.webhook.public_id
        party.identifiers.add(party.webhook_id)

    def _user_party(self, party: str, user_id: int, username: str, tenant_external_id: str | None) -> None:
        core = self.core
        refresh = refresh_tokens.create_refresh_token(core, username, PASSWORD, "matrix", None, chain=CHAIN)
        access = refresh_tokens.create_access_token(core, refresh.value, user_id, chain=CHAIN)
        spare = refresh_tokens.create_access_token(core, refresh.value, user_id, chain=CHAIN)
        login = sessions.login(
            core, username, PASSWORD, dialect=CC, device_id="matrix", idle_minutes=None, client=None
        )
        principal = verifier.authenticate(core, login.issued.value, Accepted(frozenset({verifier.SESSION})))
        pair = scoped_tokens.create(
            core,
            principal,
            scoped_tokens.Changes(name="matrix"),
            dialect=CC,
            access_lifespan_setting=CC_LIFESPAN,
        )
        self.credentials[(party, "access")] = access.value
        self.credentials[(party, "session")] = login.issued.value
        self.parties[party] = Party(
            party,
            user_id=user_id,
            username=username,
            tenant_external_id=tenant_external_id,
            spare_public_id=spare.credential.public_id,
            spare_family=spare.credential.family,
            spare_value=spare.value,
            entry_id=pair.entry.id,
            identifiers={
                username,
                refresh.credential.public_id,
                access.credential.public_id,
                spare.credential.public_id,
                login.issued.credential.public_id,
            },
        )

    def party_for(self, name: str | None, holder: str | None, *, own: bool) -> Party | None:
        """The party a request names, with what it lacks (a tenant, a run) taken from a tenant that is
        likewise the holder's own (tenant 1) or not (tenant 2); None when there is no such party."""
        if name is None:
            return None
        party = self.parties[name]
        fallback_name = "tenant1" if own else "tenant2"
        if not own and fallback_name in ADMINISTERS[holder]:
            return party
        fallback = self.parties[fallback_name]
        filled = Party(**{k: v for k, v in vars(party).items()})
        for attribute in ("tenant_external_id", "trigger_id", "user_id", "entry_id", "webhook_id"):
            if getattr(filled, attribute) is None:
                setattr(filled, attribute, getattr(fallback, attribute))
        return filled

    def foreign_identifiers(self, holder: str | None) -> set[str]:
        """Everything the holder may not see."""
        seen = ADMINISTERS[holder]
        return set().union(*(p.identifiers for name, p in self.parties.items() if name not in seen))


def _rows(core: Core) -> dict[str, list[dict[str, Any]]]:
    with core.db.engine.connect() as connection:
        return {
            table: [dict(row._mapping) for row in connection.execute(_ordered(Base.metadata.tables[table]))]
            for table in TABLES
        }


def _ordered(table: sa.Table) -> sa.Select:
    """By primary key: a row's parent (a credential's refresh token) is inserted before the row."""
    return sa.select(table).order_by(*table.primary_key.columns)


def _restore(core: Core, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Copy the world's rows into this test's (empty, migrated) database, as they were."""
    metadata = Base.metadata
    with core.db.engine.begin() as connection:
        for table in TABLES:
            if rows[table]:
                connection.execute(metadata.tables[table].insert(), rows[table])
        if connection.dialect.name == "postgresql":
            for table in TABLES:
                connection.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
