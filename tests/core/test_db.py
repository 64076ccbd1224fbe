"""The plain-SQL helpers of the write path store and read rows exactly as SQLAlchemy does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import insert, select, text

from tokensmith import db, runtime
from tokensmith.db import PlainInsert, plain_rows
from tokensmith.models import AuditEvent, Credential

NOW = datetime(2026, 11, 25, 15, 9, 30, 123456, tzinfo=UTC)


def credential_values(public_id: str, user_id: int) -> dict:
    return {
        "public_id": public_id,
        "kind": "access",
        "dialect": "integration",
        "user_id": user_id,
        "tenant_id": None,
        "name": "ünïcode \N{SNOWMAN} name",
        "family": "f" * 32,
        "parent_id": None,
        "scopes": ["/api/v1/whoami", {"nested": [1, 2.5, None, True]}],
        "attributes": {"entry": 7, "allowed_ips": ["10.0.0.0/8"], "text": "a\"b'c"},
        "secret_hash": "0" * 64,
        "created_at": NOW,
        "expires_at": NOW + timedelta(hours=24),
        "renewable_until": None,
        "revoked_at": None,
        "revoked_reason": None,
        "last_used_at": None,
    }


def columns(row: Credential) -> dict:
    return {
        c.name: getattr(row, c.name)
        for c in Credential.__table__.columns
        if c.name not in ("id", "public_id")
    }


def test_a_plain_insert_stores_the_row_a_core_insert_would(core, alice):
    with core.db.write() as session:
        plain_id = PlainInsert(Credential.__table__)(session, credential_values("tsa_plain000000", alice.id))
        core_id = session.execute(
            insert(Credential).values(credential_values("tsa_core0000000", alice.id)).returning(Credential.id)
        ).scalar_one()
    assert plain_id != core_id
    with core.db.read() as session:
        plain = session.scalar(select(Credential).where(Credential.id == plain_id))
        made_by_core = session.scalar(select(Credential).where(Credential.id == core_id))
        assert plain.public_id == "tsa_plain000000"
        assert columns(plain) == columns(made_by_core)
    read_plain, read_core = (
        core.db.fast.credential("tsa_plain000000"),
        core.db.fast.credential("tsa_core0000000"),
    )
    assert read_plain.created_at == NOW and read_plain.scopes == credential_values("x", 0)["scopes"]
    assert {k: v for k, v in vars_of(read_plain).items() if k not in ("id", "public_id")} == {
        k: v for k, v in vars_of(read_core).items() if k not in ("id", "public_id")
    }


def vars_of(row) -> dict:
    return {name: getattr(row, name) for name in row.__slots__}


def test_a_plain_insert_returns_each_new_rows_own_id(core):
    insert_event = PlainInsert(AuditEvent.__table__)
    event = {"at": NOW, "action": "test", "actor": None, "target": None, "client": None, "detail": {"n": 1}}
    with core.db.write() as session:
        ids = [insert_event(session, {**event, "detail": {"n": n}}) for n in range(3)]
    with core.db.read() as session:
        stored = {
            e.id: e.detail["n"] for e in session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)))
        }
    assert stored == {ids[0]: 0, ids[1]: 1, ids[2]: 2}


def test_plain_rows_reads_inside_the_callers_transaction(core):
    with core.db.write() as session:
        runtime.set_value(session, ".authentication.token.access_token_lifespan", 5, NOW)
        session.flush()
        assert plain_rows(
            session,
            "SELECT value FROM runtime_settings WHERE key = {param}",
            (".authentication.token.access_token_lifespan",),
        ) == [("5",)]
        assert runtime.get_value(session, ".authentication.token.access_token_lifespan") == 5


def test_a_pooled_connection_the_server_dropped_is_replaced_not_failed(core, alice, monkeypatch):
    if core.db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no server to drop a connection (.ci/run runs it)")
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout counts as idle
    with core.db.read() as session:
        backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with psycopg.connect(core.db.engine.url.set(drivername="postgresql").render_as_string(False)) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    with core.db.read() as session:
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != backend


def test_a_plain_write_that_fails_leaves_nothing_behind(core):
    event = {
        "at": NOW,
        "action": "plain.rollback",
        "actor": None,
        "target": None,
        "client": None,
        "detail": {},
    }
    with pytest.raises(RuntimeError), core.db.write_plain() as transaction:
        PlainInsert(AuditEvent.__table__)(transaction, event)
        raise RuntimeError("abandon the transaction")
    with core.db.write_plain() as transaction:
        PlainInsert(AuditEvent.__table__)(transaction, {**event, "action": "plain.commit"})
    with core.db.read() as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("plain.%"))))
    assert actions == {"plain.commit"}
