"""Reset in well under a second: every table's rows held in memory, put back in one transaction.

`take()` reads every table of the schema (typed rows, through SQLAlchemy); `restore()` empties every
table and bulk-inserts the rows back, in one transaction, on SQLite and PostgreSQL alike. Ids come back
as they were, and the next id continues after them (PostgreSQL: the sequences are set; SQLite: a rowid
table reuses max(id) + 1 by itself).

The audit table is append-only: database triggers refuse UPDATE and DELETE. A reset is the one
sanctioned exception, and only in testing mode:
- PostgreSQL: `TRUNCATE` (which row-level DELETE triggers do not see) of every table, in the
  transaction; the trigger stays in place throughout.
- SQLite: the DELETE trigger is dropped, the table emptied and the trigger re-created from the very SQL
  `sqlite_master` held, all inside the one transaction (SQLite's DDL is transactional), so no other
  connection ever sees the table unguarded and a failure leaves the guard as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tokensmith.core import Core
from tokensmith.models import Base

AUDIT_TABLE = "audit_events"


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, list[dict[str, Any]]]

    def count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


def _tables() -> list[sa.Table]:
    return list(Base.metadata.sorted_tables)  # parents before children


def take(core: Core) -> Snapshot:
    with core.db.engine.connect() as connection:
        rows = {
            table.name: [
                dict(row._mapping)
                for row in connection.execute(sa.select(table).order_by(*table.primary_key))
            ]
            for table in _tables()
        }
    return Snapshot(rows)


DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for a transaction it chose to abort to break a deadlock
ATTEMPTS = 5


def restore(core: Core, snapshot: Snapshot) -> None:
    """The database exactly as `snapshot` found it (schema untouched), or unchanged on any failure.

    On PostgreSQL the TRUNCATE takes each table's exclusive lock in turn while the serving process's
    job workers read some of those tables: PostgreSQL may break the wait-for cycle by aborting the
    reset, which then rolled back whole and is simply tried again."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _restore_once(core, snapshot)
            return
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != DEADLOCK or attempt == ATTEMPTS:
                raise


def _restore_once(core: Core, snapshot: Snapshot) -> None:
    tables = _tables()
    with core.db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY"))
        else:
            _empty_sqlite(connection, tables)
        for table in tables:
            if snapshot.rows.get(table.name):
                connection.execute(table.insert(), snapshot.rows[table.name])
        if connection.dialect.name == "postgresql":
            for table in tables:
                if _serial_id(table) and snapshot.rows.get(table.name):
                    connection.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                            f'(SELECT MAX(id) FROM "{table.name}"))'
                        )
                    )


def _serial_id(table: sa.Table) -> bool:
    """Whether the table's key is an integer `id` a sequence hands out (a job's id is a UUID: none)."""
    return "id" in table.c and table.c.id.primary_key and isinstance(table.c.id.type, sa.Integer)


def _empty_sqlite(connection: sa.Connection, tables: list[sa.Table]) -> None:
    guards = connection.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table"),
        {"table": AUDIT_TABLE},
    ).all()
    delete_guards = [(name, sql) for name, sql in guards if "DELETE" in sql.upper()]
    for name, _sql in delete_guards:
        connection.execute(sa.text(f'DROP TRIGGER "{name}"'))
    for table in reversed(tables):  # children before parents (foreign keys are enforced)
        connection.execute(table.delete())
    for _name, sql in delete_guards:
        connection.execute(sa.text(sql))
