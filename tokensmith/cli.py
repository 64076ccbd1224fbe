"""The `tokensmith` command: serve, runtime settings (`conf`), users, and the database.

A face like `handlers/`: the one module of the core package allowed to import the HTTP layer (for
`serve`, and to add the commands that read a dialect's documents, which live beside that dialect).
Passwords are read from a prompt or standard input, never from an argument, so they do not end up in
shell history or `ps` output.

Every command finds the database as `serve` does (`config.database_url`). Only `serve` and
`db upgrade` create one; the others refuse, naming the database they looked for, rather than act on a
new empty file in whatever directory they were started from.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from tokensmith import config, runtime, users
from tokensmith.config import Settings, SettingsError
from tokensmith.core import Core
from tokensmith.db import Database
from tokensmith.errors import InvalidValue, TokensmithError

# Connexion imports Starlette's test client, whose deprecation notice is no news to someone serving.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def open_core(*, migrated: bool = True, create: bool = False) -> Core:
    """The core on the database `serve` would use, which must exist already (and, when `migrated`, be
    at the newest migration). Checked before the settings are read, which create a server key beside
    the database when there is none, and before SQLite is asked, which creates a missing file.
    `create`: a command that, like `serve`, makes the embedded database when there is none."""
    url = config.database_url(os.environ, Path.cwd())
    path = config.sqlite_file(url)
    if not create and path is not None and (not path.is_file() or path.stat().st_size == 0):
        raise _no_database(f"There is no tokensmith database at {path.absolute()}", create=True)
    if migrated:
        database = Database(url)
        try:
            current = database.is_current()
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise _no_database(f"Cannot open the database {_shown(url)}: {reason}", create=False) from None
        finally:
            database.dispose()
        if not current:
            raise _no_database(
                f"The database {_shown(url)} has no tokensmith tables, or not the newest ones.\n"
                "`tokensmith db upgrade` migrates it (`tokensmith serve` does too)",
                create=False,
            )
    return Core.open(_settings())


def _shown(url: str) -> str:
    path = config.sqlite_file(url)
    return str(path.absolute()) if path is not None else make_url(url).render_as_string(hide_password=True)


def _no_database(problem: str, *, create: bool) -> click.ClickException:
    if os.environ.get("TOKENSMITH_DATABASE_URL"):
        source = "It is the one TOKENSMITH_DATABASE_URL names."
    else:
        source = (
            f"TOKENSMITH_DATABASE_URL is not set, so that is {config.DEFAULT_DB_FILE} in the working "
            "directory."
        )
    advice = (
        "Point at your database with TOKENSMITH_DATABASE_URL (e.g. "
        "sqlite:////srv/tokensmith/tokensmith.db or postgresql://user@host/dbname)"
    )
    if create:
        advice += ", or create this one with `tokensmith db upgrade` (or `tokensmith serve`)"
    return click.ClickException(f"{problem}.\n{source}\n{advice}.")


def _fail(exc: TokensmithError) -> None:
    raise click.ClickException(exc.message) from exc


def _read_password(confirm: bool = True) -> str:
    """From a hidden prompt on a terminal; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.ClickException("No password on standard input.")
    return line


@click.group()
def main() -> None:
    """tokensmith: a self-hosted token authority."""
    from handlers.routes import register_settings  # the dialects' settings: a face may import handlers

    register_settings()


# --- serve -------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Bind address (default TOKENSMITH_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default TOKENSMITH_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--testing", is_flag=True, help="Testing mode: the testing API at /api/v1/testing (no token).")
@click.option("--allow-remote", is_flag=True, help="Testing mode on an address other than loopback.")
def serve(host: str | None, port: int | None, workers: int, testing: bool, allow_remote: bool) -> None:
    """Migrate the database if needed, create the first admin on an empty one, and serve every dialect.

    The limits before authentication (TOKENSMITH_MAX_HEADER_BYTES and the rest: handlers/serving.py)
    are uvicorn's options and a protocol of ours; serve refuses to start when that protocol no longer
    fits the installed uvicorn, rather than serve without them."""
    import uvicorn

    from handlers import serving
    from tokensmith.testing import mode

    if testing:  # the workers uvicorn starts read the environment, not this process's arguments
        os.environ["TOKENSMITH_TESTING"] = "1"
    if allow_remote:
        os.environ["TOKENSMITH_TESTING_ALLOW_REMOTE"] = "1"
    settings = _settings()
    if settings.testing:
        try:
            click.echo(mode.announce(host or settings.host, workers, settings.testing_allow_remote))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        serving.check()
    except RuntimeError as exc:
        raise click.ClickException(f"the request limits cannot be applied to this uvicorn: {exc}") from exc
    core = Core.open(settings)
    core.db.upgrade()
    try:
        generated = users.ensure_admin(core, os.environ.get("TOKENSMITH_ADMIN_PASSWORD") or None)
    except InvalidValue as exc:  # a chosen password that fails the rules: say why, never echo it
        core.db.dispose()
        raise click.ClickException(f"TOKENSMITH_ADMIN_PASSWORD: {exc.message}") from None
    if generated:
        click.echo(f"Created user 'admin' with password: {generated}")
        click.echo("This password is shown once. Change it with: tokensmith user set-password admin")
    core.db.dispose()
    uvicorn.run(
        "handlers.app:app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
        access_log=False,  # tokensmith writes its own JSON access log (no secrets, request ids)
        **serving.uvicorn_options(settings),
    )


# --- worker and jobs -----------------------------------------------------------------------------


@main.command()
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True, help="Worker threads.")
def worker(threads: int) -> None:
    """Run background jobs (workflow runs, webhook deliveries) in the foreground, apart from `serve`.

    For deployments that serve with TOKENSMITH_WORKERS=0 and run workers on their own. SIGTERM or
    SIGINT stops it gracefully: each thread finishes the job in hand; a job interrupted harder is taken
    over by another worker when its lease (TOKENSMITH_JOB_LEASE) expires."""
    import signal
    import threading
    from datetime import timedelta

    from tokensmith import jobs

    core = open_core()
    settings = _settings()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    workers = jobs.Workers(
        core,
        threads,
        poll=settings.job_poll_interval,
        lease=timedelta(seconds=settings.job_lease),
    )
    workers.start()
    click.echo(f"tokensmith worker: {threads} thread(s) on {_shown(settings.database_url)}; Ctrl-C stops.")
    try:
        while not stop.wait(1.0):
            if workers.alive < threads:  # a thread died of something it could not survive: say so, stop
                raise click.ClickException("a worker thread stopped unexpectedly; see the log above")
    finally:
        workers.stop()
        core.db.dispose()
    click.echo("tokensmith worker: stopped.")


@main.command("jobs")
@click.option(
    "--status",
    type=click.Choice(["queued", "done", "dead"]),
    default=None,
    help="Only jobs in this state (default: all).",
)
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def jobs_list(status: str | None, limit: int, as_json: bool) -> None:
    """List background jobs, due first: what is queued, what failed and why, what is dead."""
    from tokensmith import jobs

    core = open_core()
    try:
        for job in jobs.list_jobs(core, status, limit):
            row = {
                "id": job.id,
                "kind": job.kind,
                "status": job.status,
                "key": job.key,
                "run_at": job.run_at.isoformat() if job.run_at else None,
                "attempts": job.attempts,
                "failures": job.failures,
                "leased_until": job.leased_until.isoformat() if job.leased_until else None,
                "lease_owner": job.lease_owner,
                "last_error": job.last_error,
                "note": job.note,
            }
            if as_json:
                click.echo(json.dumps(row))
            else:
                due = row["run_at"] or "now"
                error = f"\t{job.last_error.splitlines()[0]}" if job.last_error else ""
                click.echo(f"{job.id}\t{job.kind}\t{job.status}\tdue {due}\tattempts {job.attempts}{error}")
    finally:
        core.db.dispose()


# --- conf --------------------------------------------------------------------------------------


def _show(value: object) -> str:
    return str(value) if not isinstance(value, bool) else ("True" if value else "False")


@main.command()
@click.argument("key", required=False)
@click.option("-s", "--set", "new_value", help="Set KEY to this value.")
def conf(key: str | None, new_value: str | None) -> None:
    """Print or set a runtime setting; with no KEY, list them all. Applies at once to every worker."""
    core = open_core()
    try:
        if key is None:
            with core.db.read() as session:
                for name, value in runtime.all_values(session).items():
                    spec = runtime.REGISTRY[name]
                    unit = f" ({spec.unit})" if spec.unit else ""
                    click.echo(f"{name} = {_show(value)}{unit}  # {spec.description}")
            return
        if new_value is None:
            with core.db.read() as session:
                click.echo(_show(runtime.get_value(session, key)))
            return
        value = runtime.change(core, key, new_value, actor="cli")
        click.echo(f"{runtime.normalise_key(key)} = {_show(value)}")
    except TokensmithError as exc:
        _fail(exc)
    finally:
        core.db.dispose()


# --- user --------------------------------------------------------------------------------------


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(users.ROLES), default="user", show_default=True)
@click.option("--sso", is_flag=True, help="An SSO account: no local password (and no password login).")
@click.option("--email", default=None)
@click.option("--first-name", default=None)
@click.option("--last-name", default=None)
def user_create(
    username: str, role: str, sso: bool, email: str | None, first_name: str | None, last_name: str | None
) -> None:
    """Create an account; the password is read from a prompt or standard input."""
    core = open_core()  # before the prompt: no password typed for a database that is not there
    try:
        password = None if sso else _read_password()
        created = users.create_user(
            core,
            username,
            password,
            role=role,
            auth_source="sso" if sso else "local",
            email=email,
            first_name=first_name,
            last_name=last_name,
            actor="cli",
        )
        click.echo(f"Created user {created.username!r} with id {created.id} and role {created.role}.")
    except TokensmithError as exc:
        _fail(exc)
    finally:
        core.db.dispose()


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def user_list(as_json: bool) -> None:
    """List accounts (never a password hash)."""
    core = open_core()
    try:
        for account in users.list_users(core):
            row = {
                "id": account.id,
                "username": account.username,
                "role": account.role,
                "auth_source": account.auth_source,
                "disabled": account.disabled,
            }
            if as_json:
                click.echo(json.dumps(row))
            else:
                flags = " (disabled)" if account.disabled else ""
                click.echo(f"{account.id}\t{account.username}\t{account.role}\t{account.auth_source}{flags}")
    finally:
        core.db.dispose()


@user.command("set-password")
@click.argument("username")
def user_set_password(username: str) -> None:
    """Set an account's password, read from a prompt or standard input."""
    core = open_core()
    try:
        users.set_password(core, username, _read_password(), actor="cli")
        click.echo(f"Password of {username!r} changed.")
    except TokensmithError as exc:
        _fail(exc)
    finally:
        core.db.dispose()


# --- db ----------------------------------------------------------------------------------------


@main.command("access-table")
def access_table() -> None:
    """Print who may call each operation, as the specs declare it (docs/security.md, "Who may call what")."""
    from handlers import access

    click.echo(access.table_markdown())


@main.group()
def db() -> None:
    """Database migrations and resets."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (creating the database when there is none)."""
    core = Core.open(_settings())
    try:
        core.db.upgrade()
        click.echo("Database is at the newest migration.")
    finally:
        core.db.dispose()


@db.command("reset")
@click.option("--yes", is_flag=True, help="Confirm: every user, token and setting is deleted.")
def db_reset(yes: bool) -> None:
    """Delete everything and migrate afresh (for contract tests between runs)."""
    if not yes:
        raise click.ClickException("This deletes every user, token and setting; add --yes to confirm.")
    core = open_core(migrated=False)
    try:
        core.db.reset()
        click.echo("Database reset.")
    finally:
        core.db.dispose()


from handlers.gateway.cli import tenant  # noqa: E402  (the gateway dialect's `tenant` group)
from tokensmith.cli_demo import demo  # noqa: E402  (`tokensmith demo`)
from tokensmith.cli_seed import seed  # noqa: E402  (`tokensmith seed FILE`)

main.add_command(tenant)
main.add_command(seed)
main.add_command(demo)


if __name__ == "__main__":  # pragma: no cover
    main()
