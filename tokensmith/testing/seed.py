"""Seed documents: users, tenants, tokens with caller-chosen values, and workflow definitions, in one go.

A seeded token is an ordinary credential: its value must be one tokensmith could have minted (prefix,
public id, secret, checksum: `crypto.parse` accepts it), only its keyed hash is stored, and its issue
is audited like any other. A contract test can therefore hard-code `tsr_…` in its source and have it
work against every fresh server. The document's wire shape is the testing API's
(`handlers.testing_seed` reads it); this module takes typed values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from tokensmith import (
    audit,
    crypto,
    jwt_tokens,
    policy,
    runtime,
    scoped_tokens,
    tenants,
    tokens,
    usernames,
    users,
    workflows,
)
from tokensmith.core import Core
from tokensmith.errors import Conflict, InvalidValue, NotFound, TokensmithError
from tokensmith.models import Credential, Tenant, User
from tokensmith.webhooks import subscriptions as webhook_subscriptions

ACTOR = "testing"
DEFAULT_SESSION_IDLE_MINUTES = 30


@dataclass(frozen=True)
class TokenDialects:
    """The dialects a seeded token may belong to, and the one whose clients present each kind of
    prefixed token unless the document names another. The HTTP layer knows them; the core is told."""

    known: tuple[str, ...]
    default_for_kind: dict[str, str]
    # kind → the runtime setting holding a new token's lifespan
    lifespan_settings: dict[str, str]
    # dialects whose access tokens are managed entries (`scoped_tokens`): a seeded access token there
    # becomes an entry its owner can list, edit, renew (with its parent refresh token) and delete
    entry_dialects: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SeedUser:
    username: str
    password: str
    role: str = "user"


@dataclass(frozen=True)
class SeedTenant:
    new: tenants.NewTenant


@dataclass(frozen=True)
class SeedToken:
    """`value` None: mint one (the answer carries it). `parent`: the value of the refresh token an
    access token was minted from. `expires_at` None: the kind's usual lifespan from now."""

    user: str
    value: str | None = None
    kind: str | None = None
    dialect: str | None = None
    name: str | None = None
    parent: str | None = None
    expires_at: datetime | None = None
    expires_in: timedelta | None = None
    device_id: str | None = None


@dataclass(frozen=True)
class SeedWorkflows:
    tenant: str  # the sub-domain of a tenant (seeded in the same document, or before)
    definitions: list[workflows.Definition]


@dataclass(frozen=True)
class SeedRun:
    """A run of a tenant's workflow, triggered as its API would be (queued: a worker, or
    `jobs.run_due`, runs it)."""

    tenant: str  # the sub-domain
    workflow: str  # the definition's identifier
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SeedWebhook:
    """A webhook subscription of a user's, as `POST /api/v1/webhooks` would make it; `id` may be chosen."""

    user: str
    url: str
    events: list[str]
    description: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class SeedDocument:
    users: list[SeedUser] = field(default_factory=list)
    tenants: list[SeedTenant] = field(default_factory=list)
    tokens: list[SeedToken] = field(default_factory=list)
    workflows: list[SeedWorkflows] = field(default_factory=list)
    runs: list[SeedRun] = field(default_factory=list)
    webhooks: list[SeedWebhook] = field(default_factory=list)


@dataclass
class Seeded:
    """What was created: ids (and the secrets a test needs: tenant tokens, minted token values)."""

    users: dict[str, int] = field(default_factory=dict)
    tenants: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    workflows: dict[str, list[str]] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)  # trigger ids
    webhooks: list[dict[str, str]] = field(default_factory=list)  # id and signing secret (shown once)


def seed(
    core: Core, document: SeedDocument, tenant_format: jwt_tokens.JwtFormat, dialects: TokenDialects
) -> Seeded:
    """Create everything in the document, in order: users, tenants, tokens, workflows, runs, webhooks. Each
    part is
    checked by the same rules as the API that would create it (password rules, username rules…); a
    failure stops the seed there and says which entry failed."""
    done = Seeded()
    for index, user in enumerate(document.users):
        with _entry("users", index):
            created = users.create_user(core, user.username, user.password, role=user.role, actor=ACTOR)
        done.users[created.username] = created.id
    for index, tenant in enumerate(document.tenants):
        with _entry("tenants", index):
            made, issued = tenants.create_tenant(core, tenant.new, tenant_format, actor=ACTOR)
        with core.db.read() as session:
            admin_id = session.scalar(select(User.id).where(User.tenant_id == made.id))
        done.tenants[made.sub_domain] = {
            "id": made.id,
            "external_id": made.external_id,
            "admin_user_id": admin_id,
            "token": issued.value,
            "token_public_id": issued.credential.public_id,
        }
    for index, token in enumerate(document.tokens):
        with _entry("tokens", index):
            done.tokens.append(_seed_token(core, token, dialects))
    for index, batch in enumerate(document.workflows):
        with _entry("workflows", index):
            with core.db.read() as session:
                external_id = session.scalar(
                    select(Tenant.external_id).where(Tenant.sub_domain == batch.tenant)
                )
            if external_id is None:
                raise NotFound(f"No tenant has the sub-domain {batch.tenant!r}.")
            imported = workflows.import_definitions(core, external_id, batch.definitions, actor=ACTOR)
        done.workflows.setdefault(batch.tenant, []).extend(d.identifier for d in imported)
    for index, run in enumerate(document.runs):
        with _entry("runs", index):
            with core.db.read() as session:
                tenant_id = session.scalar(select(Tenant.id).where(Tenant.sub_domain == run.tenant))
            if tenant_id is None:
                raise NotFound(f"No tenant has the sub-domain {run.tenant!r}.")
            triggered = workflows.trigger(core, tenant_id, run.workflow, run.variables)
        done.runs.append(triggered.record.trigger_id)
    for index, hook in enumerate(document.webhooks):
        with _entry("webhooks", index):
            with core.db.read() as session:
                owner = session.scalar(select(User).where(User.username_key == usernames.key(hook.user)))
            subscriber = policy.standing_owner(owner, None)
            if subscriber is None:
                raise NotFound(f"No enabled user is called {hook.user!r}.")
            made = webhook_subscriptions.create(
                core, subscriber, hook.url, hook.events, hook.description, public_id=hook.id
            )
        done.webhooks.append({"id": made.view.webhook.public_id, "secret": made.secret})
    return done


@contextmanager
def _entry(part: str, index: int) -> Iterator[None]:
    """Prefix a failure's message with the document entry it came from (`tokens[2]: …`)."""
    try:
        yield
    except TokensmithError as exc:
        exc.message = f"{part}[{index}]: {exc.message}"
        raise


def _seed_token(core: Core, token: SeedToken, dialects: TokenDialects) -> dict[str, Any]:
    value, kind = _value_and_kind(core, token)
    dialect = token.dialect or dialects.default_for_kind[kind]
    if dialect not in dialects.known:
        raise InvalidValue("dialect", f"The dialect is one of {', '.join(dialects.known)}.")
    now = core.clock.now()
    with core.db.write() as session:
        owner = session.scalar(select(User).where(User.username_key == usernames.key(token.user)))
        if owner is None:
            raise NotFound(f"No user is named {token.user!r}.")
        parent = None
        if token.parent is not None:
            parsed_parent = crypto.parse(token.parent)
            if parsed_parent is None:
                raise InvalidValue("parent", "The parent is not a tokensmith token value.")
            parent = session.scalar(select(Credential).where(Credential.public_id == parsed_parent.public_id))
            if parent is None or not crypto.hash_matches(core.key, token.parent, parent.secret_hash):
                raise NotFound("The parent token is not seeded (seed it earlier in the document).")
            if parent.user_id != owner.id:
                raise InvalidValue("parent", "The parent token belongs to another user.")
        public_id = crypto.parse(value).public_id  # type: ignore[union-attr]  (checked above)
        if session.scalar(select(Credential.id).where(Credential.public_id == public_id)) is not None:
            raise Conflict(f"A token with the public id {public_id} already exists.")
        attributes: dict[str, Any] = {}
        expires_at = token.expires_at or now + (token.expires_in or _lifespan(session, kind, dialects))
        if kind == "session":
            minutes = max(1, int((expires_at - now).total_seconds() // 60))
            attributes = {"device_id": token.device_id, "idle_minutes": min(minutes, 7 * 24 * 60)}
        scopes: list[Any] = []
        if parent is not None:  # a seeded child is restricted like one minted from its parent
            scopes, attributes = tokens.inherit_restrictions(parent, scopes, attributes)
        credential = Credential(
            public_id=public_id,
            kind=kind,
            dialect=dialect,
            user_id=owner.id,
            tenant_id=owner.tenant_id,
            name=token.name,
            family=parent.family if parent is not None else uuid.uuid4().hex,
            parent_id=parent.id if parent is not None else None,
            scopes=scopes,
            attributes=attributes,
            secret_hash=crypto.keyed_hash(core.key, value),
            created_at=now,
            expires_at=expires_at,
            renewable_until=None,
        )
        session.add(credential)
        session.flush()
        if kind == "access" and dialect in dialects.entry_dialects:
            scoped_tokens.adopt(credential, parent)
        audit.record(
            session,
            now,
            f"{kind}.issue",
            actor=ACTOR,
            target=public_id,
            dialect=dialect,
            name=token.name,
            seeded=True,
        )
        answer = {
            "id": credential.id,
            "public_id": public_id,
            "kind": kind,
            "dialect": dialect,
            "user_id": owner.id,
            "expires_at": expires_at,
        }
    if token.value is None:
        answer["value"] = value  # minted here: the one time it is shown
    return answer


def _value_and_kind(core: Core, token: SeedToken) -> tuple[str, str]:
    if token.value is None:
        if token.kind not in crypto.PREFIXES:
            raise InvalidValue(
                "kind", f"Without a value, a token needs a kind: one of {', '.join(crypto.PREFIXES)}."
            )
        return crypto.mint(token.kind, core.key).value, token.kind
    parsed = crypto.parse(token.value)
    if parsed is None:
        raise InvalidValue(
            "value",
            "Not a tokensmith token: a prefix (tsr_, tsa_, tss_), 12 + 32 base62 characters and its "
            "6-character checksum (`tokensmith.crypto`); seed one without a value to see one.",
        )
    if token.kind is not None and token.kind != parsed.kind:
        raise InvalidValue("kind", f"The value's prefix makes it a {parsed.kind} token, not {token.kind}.")
    return token.value, parsed.kind


def _lifespan(session: Any, kind: str, dialects: TokenDialects) -> timedelta:
    if kind in dialects.lifespan_settings:
        return runtime.get_span(session, dialects.lifespan_settings[kind])
    return timedelta(minutes=DEFAULT_SESSION_IDLE_MINUTES)
