"""The schema. One credential table serves every dialect; dialects differ only in how they present a row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which has no zones) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    sub_domain: Mapped[str] = mapped_column(String(255), unique=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("username_key", name="uq_users_username_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)  # as its owner spelt it
    # usernames.key(username): what every look-up and the uniqueness rule compare (see usernames.py)
    username_key: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")  # user | admin | superadmin
    auth_source: Mapped[str] = mapped_column(String(16), default="local")  # local | sso
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    created_at: Mapped[datetime]


class Credential(Base):
    """Every token of every kind: refresh, access, session, tenant, superadmin."""

    __tablename__ = "credentials"
    __table_args__ = (
        Index("ix_credentials_user_kind", "user_id", "kind"),
        Index("ix_credentials_tenant_kind", "tenant_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    dialect: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str | None] = mapped_column(String(255))
    family: Mapped[str] = mapped_column(String(36), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id"), index=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    renewable_until: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None]


class RuntimeSetting(Base):
    __tablename__ = "runtime_settings"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON text
    updated_at: Mapped[datetime]


class AuditEvent(Base):
    """Append-only (database triggers refuse UPDATE and DELETE); never holds a secret."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str | None] = mapped_column(String(255), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(255), index=True)
    client: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LoginThrottle(Base):
    """Failed password checks per account and per client address, shared by every worker."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime]
    blocked_until: Mapped[datetime | None]


class Webhook(Base):
    """A webhook subscription (tokensmith/webhooks/): where to send which token events, for whom.

    Owned by exactly one party, a user or a tenant (a tenant token made it); the CHECK makes
    "no owner" impossible, so it can never be read as "every owner". Which events it receives is decided
    at fan-out time from its owner as they are then (`policy.credentials_condition`). The signing secret
    is stored only encrypted with a key derived from the server secret (`webhooks.signing`)."""

    __tablename__ = "webhooks"
    __table_args__ = (
        CheckConstraint("(owner_user_id IS NULL) <> (owner_tenant_id IS NULL)", name="ck_webhooks_one_owner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    owner_tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str | None] = mapped_column(Text)
    secret_sealed: Mapped[str] = mapped_column(Text)  # AES-GCM: nonce + ciphertext, base64
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One delivery attempt of one message (an event for one subscription): `pending` until it is
    made, then `succeeded`, `failed` (`next_retry_at` says when the next one is due) or `given-up`.
    Every attempt of a message carries the message's `webhook-id` (`message_id`)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "attempt", name="uq_webhook_deliveries_attempt"),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # pending | succeeded | failed | given-up
    scheduled_at: Mapped[datetime]
    attempted_at: Mapped[datetime | None]
    response_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    next_retry_at: Mapped[datetime | None]


class WebhookScan(Base):
    """How far the expiry scan has looked (`scanned_until`, by the core clock): one row, so each
    credential's expiry and each lead time before it is looked at once however often the scan runs."""

    __tablename__ = "webhook_scan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scanned_until: Mapped[datetime]


class WorkflowDefinition(Base):
    __tablename__ = "workflow_definitions"
    __table_args__ = (UniqueConstraint("tenant_id", "identifier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    identifier: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    input_parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    steps: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]


class WorkflowRun(Base):
    __tablename__ = "workflow_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger_id: Mapped[str] = mapped_column(String(36), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("workflow_definitions.id"))
    status: Mapped[str] = mapped_column(String(16))
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    initiator_contact_id: Mapped[int | None] = mapped_column(Integer)
    initiator_application_id: Mapped[int | None] = mapped_column(Integer)
    initiation_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    start_time: Mapped[datetime]
    end_time: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The definition's steps as they were when the run was triggered (storage.stored_steps): a run runs
    # in the background, and a re-import meanwhile must not change the run under its feet.
    steps: Mapped[list[Any] | None] = mapped_column(JSON)


class WorkflowStep(Base):
    __tablename__ = "workflow_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("workflow_runs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[str] = mapped_column(String(255))
    activity_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[datetime | None]
    end_time: Mapped[datetime | None]
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    """One piece of background work (tokensmith/jobs.py), written in the transaction of the change that
    causes it. `status` is queued until a worker finishes it (done) or gives up on it (dead); a queued
    job is due from `run_at` (NULL: at once) and taken while `leased_until` lies ahead."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    key: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(8))  # queued | done | dead
    run_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # runs started (claims)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # errors and lost leases, for backoff and death
    leased_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # why it was last put back on purpose (a Retry's reason)
