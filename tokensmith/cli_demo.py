"""`tokensmith demo`: the documented demo data set (tokensmith/data/demo.yaml) into a fresh database.

Every example in the specs names this data (alice, the Acme tenant, the demo tokens), so after this
command Swagger UI's "Try it out" with the prefilled values succeeds. It refuses a database that
already holds users other than the bootstrap `admin`: the examples name user ids, which only a fresh
database gives out in a known order.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import yaml
from sqlalchemy import func, select

from tokensmith.errors import InvalidValue, TokensmithError

DEMO_FILE = Path(__file__).resolve().parent / "data" / "demo.yaml"


def document() -> dict:
    """The demo seed document, as `tokensmith seed` and the testing API's seed read it."""
    return yaml.safe_load(DEMO_FILE.read_text())


@click.command("demo")
def demo() -> None:
    """Seed the demo data set the specs' examples name (a fresh database only); print its credentials."""
    from handlers import testing_seed
    from tokensmith import jobs, users
    from tokensmith.cli import open_core
    from tokensmith.models import User

    core = open_core(migrated=False, create=True)
    try:
        core.db.upgrade()
        try:
            generated = users.ensure_admin(core, os.environ.get("TOKENSMITH_ADMIN_PASSWORD") or None)
        except InvalidValue as exc:
            raise click.ClickException(f"TOKENSMITH_ADMIN_PASSWORD: {exc.message}") from None
        if generated:
            click.echo(f"Created user 'admin' with password: {generated}")
        with core.db.read() as session:
            others = session.scalar(select(func.count(User.id)).where(User.username != "admin"))
        if others:
            raise click.ClickException(
                "this database already holds users besides 'admin'; the demo data set needs a fresh one "
                "(its examples name user ids). Point TOKENSMITH_DATABASE_URL at a new database."
            )
        seeded = testing_seed.seed(core, document())
        jobs.run_due(core)  # the demo's workflow run, completed before anyone looks at its history
    except TokensmithError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        core.db.dispose()
    click.echo(_summary(seeded))


def _summary(seeded: dict) -> str:
    data = document()
    tokens = [t["value"] for t in data["tokens"]]
    tenant = next(iter(seeded["tenants"].values()))
    return "\n".join(
        [
            "Seeded the demo data set (tokensmith/data/demo.yaml). In Swagger UI, Authorize with:",
            f"  integration / admin API  TOKEN: {tokens[1]}  (alice)",
            f"  admin API as an admin    TOKEN: {tokens[2]}  (demo-admin)",
            f"  commandcenter            Authtoken: QSDK {tokens[3]}  (alice)",
            "  gateway /platform        Bearer: log in as demo-superadmin / demo-superadmin-password",
            f"  gateway workflows        itas-api-access-key: {tenant['token']}",
            "Users: " + ", ".join(f"{name} ({user_id})" for name, user_id in seeded["users"].items()),
            "Passwords are in tokensmith/data/demo.yaml. Use the demo only on a server you do not expose.",
        ]
    )
