"""username key

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

`users.username_key`: the normalised name (NFKC + case folding, `tokensmith.usernames.key`) that every
look-up compares, UNIQUE, so SQLite and PostgreSQL agree on which names are the same account.

Existing rows get their key computed here, in Python (the database's `lower()` is what disagreed).
Names that were distinct before and now share a key (on SQLite, `Ünal` and `ünal` could both be
created) cannot both keep it: the oldest account (lowest id) keeps the key, and each later one gets
`DUPLICATE-<id>-<key>`, which no submitted name can match (a key never contains an upper-case ASCII
letter), so it cannot log in under the shared name until an operator resolves it. Each such account is
written to the audit log as `user.username_collision`.
"""

import unicodedata
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _key(username: str) -> str:
    """A frozen copy of `tokensmith.usernames.key` as of this revision (migrations never import code
    that may change after them)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return " ".join(folded.split())


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username_key", sa.String(length=255), nullable=True))

    connection = op.get_bind()
    users = sa.table(
        "users", sa.column("id", sa.Integer), sa.column("username", sa.String), sa.column("username_key")
    )
    audit = sa.table(
        "audit_events",
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("target", sa.String),
        sa.column("detail", sa.JSON),
    )
    taken: set[str] = set()
    now = datetime.now(UTC)
    if connection.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # the app's UTCDateTime stores naive UTC on SQLite
    for user_id, username in connection.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)):
        key = _key(username)[:255]
        if key in taken:
            key = f"DUPLICATE-{user_id}-{key}"[:255]
            connection.execute(
                sa.insert(audit).values(
                    at=now,
                    actor="system",
                    action="user.username_collision",
                    target=f"user:{user_id}",
                    detail={"key": key},
                )
            )
        taken.add(key)
        connection.execute(sa.update(users).where(users.c.id == user_id).values(username_key=key))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("username_key", existing_type=sa.String(length=255), nullable=False)
        batch_op.create_unique_constraint("uq_users_username_key", ["username_key"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_username_key", type_="unique")
        batch_op.drop_column("username_key")
