"""The `tokensmith` command, through Click's runner against this test's database."""

import ast
import contextlib
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import tokensmith
from tests.conftest import PASSWORD
from tests.integration.helpers import access_token, refresh_token
from tokensmith import config, users
from tokensmith.cli import main
from tokensmith.config import Settings


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("TOKENSMITH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TOKENSMITH_SECRET_KEY", settings.secret_key.decode())
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return run


def test_lifespan_change_applies_to_tokens_created_afterwards_on_a_running_app(cli, client, alice, clock):
    before = access_token(client, refresh_token(client))
    assert cli("conf", ".authentication.token.access_token_lifespan", "-s", "2").exit_code == 0
    after = access_token(client, refresh_token(client))
    assert before["token_expires_at"] == (clock.now() + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert after["token_expires_at"] == (clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_refresh_lifespan_is_set_in_days(cli, client, alice, clock):
    cli("conf", ".authentication.token.refresh_token_lifespan", "-s", "180")
    body = refresh_token(client)
    assert body["token_expires_at"] == (clock.now() + timedelta(days=180)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_conf_prints_a_value(cli):
    result = cli("conf", ".authentication.token.refresh_token_lifespan")
    assert result.exit_code == 0 and result.output.strip() == "60"


@pytest.mark.parametrize("value", ["0", "-1", "abc"])
def test_conf_refuses_nonsense_with_a_clear_message(cli, value):
    result = cli("conf", ".authentication.token.access_token_lifespan", "-s", value)
    assert result.exit_code != 0 and ".authentication.token.access_token_lifespan" in result.output


def test_conf_refuses_an_unknown_key(cli):
    result = cli("conf", ".authentication.token.nope", "-s", "3")
    assert result.exit_code != 0 and "Unknown setting" in result.output


def test_conf_without_a_key_lists_every_setting(cli):
    output = cli("conf").output
    assert ".feature_flags.enable_swagger = False" in output
    assert ".authentication.token.access_token_lifespan = 24 (hours)" in output


def test_user_create_reads_the_password_from_stdin_and_it_works(cli, client):
    result = cli("user", "create", "dana", "--role", "admin", input="a-long-password\n")
    assert result.exit_code == 0 and "dana" in result.output
    response = client.post(
        "/integration/v1/createRefreshToken/",
        json={"username": "dana", "password": "a-long-password", "name": "cli"},
    )
    assert response.status_code == 200


def test_user_create_refuses_a_duplicate(cli):
    cli("user", "create", "dana", input="a-long-password\n")
    result = cli("user", "create", "Dana", input="a-long-password\n")
    assert result.exit_code != 0 and "already exists" in result.output


def test_user_create_refuses_a_short_password(cli):
    result = cli("user", "create", "dana", input="short\n")
    assert result.exit_code != 0 and "at least" in result.output


def test_user_create_sso_needs_no_password(cli, client):
    assert cli("user", "create", "sam", "--sso").exit_code == 0
    assert "sso" in cli("user", "list").output


def test_user_list_never_shows_a_password_hash(cli, alice):
    output = cli("user", "list", "--json").output
    assert '"username": "alice"' in output and "argon2" not in output


def test_set_password_replaces_the_old_one(cli, client, alice):
    assert cli("user", "set-password", "alice", input="brand-new-password\n").exit_code == 0
    old = client.post(
        "/integration/v1/createRefreshToken/",
        json={"username": "alice", "password": "correct horse battery", "name": "x"},
    )
    new = client.post(
        "/integration/v1/createRefreshToken/",
        json={"username": "alice", "password": "brand-new-password", "name": "x"},
    )
    assert (old.status_code, new.status_code) == (401, 200)


def test_password_is_never_taken_as_an_argument(cli):
    result = CliRunner().invoke(main, ["user", "create", "eve", "--password", "x"])
    assert result.exit_code != 0


def test_db_upgrade_is_idempotent(cli):
    assert cli("db", "upgrade").exit_code == 0
    assert cli("db", "upgrade").exit_code == 0


def test_db_reset_needs_confirmation_and_then_empties_everything(cli, alice):
    assert cli("db", "reset").exit_code != 0
    assert cli("db", "reset", "--yes").exit_code == 0
    assert "alice" not in cli("user", "list").output


def test_db_reset_empties_a_database_whose_users_own_tokens(cli, client, alice):
    refresh = client.post(
        "/integration/v1/createRefreshToken/",
        json={"username": "alice", "password": PASSWORD, "name": "laptop"},
    )
    assert refresh.status_code == 200  # a credential row now points at alice's user row
    result = cli("db", "reset", "--yes")
    assert result.exit_code == 0, result.output
    assert "alice" not in cli("user", "list").output


def test_the_cli_finds_the_account_by_its_key(cli, core):
    users.create_user(core, "Ünal", PASSWORD)
    assert cli("user", "set-password", "ÜNAL", input="a brand new passphrase\n").exit_code == 0
    assert users.authenticate(core, "Ünal", "a brand new passphrase", None).username == "Ünal"


def test_serve_refuses_a_weak_chosen_admin_password_without_echoing_it(cli, monkeypatch):
    monkeypatch.setenv("TOKENSMITH_ADMIN_PASSWORD", "password1234")
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: None)  # never serve, whatever happens
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0 and "commonly used" in result.output
    assert "password1234" not in result.output.replace("TOKENSMITH_ADMIN_PASSWORD", "")


def test_access_table_prints_every_operation_with_its_callers(cli):
    from handlers import access

    result = cli("access-table")
    assert result.exit_code == 0
    assert result.output.strip() == access.table_markdown().strip()
    assert result.output.count("\n| `") == len(access.operations())


# --- which database: the one `serve` uses, and never a new empty one -----------------------------


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """An empty working directory, with no database named in the environment."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    monkeypatch.chdir(directory)
    monkeypatch.delenv("TOKENSMITH_DATABASE_URL", raising=False)
    monkeypatch.delenv("TOKENSMITH_SECRET_KEY", raising=False)
    return directory


def _workflow_file(tmp_path) -> str:
    path = tmp_path / "workflows.json"
    path.write_text('[{"identifier": "w", "steps": []}]')
    return str(path)


@pytest.mark.parametrize(
    "args",
    [
        ["user", "list"],
        ["user", "create", "dana"],
        ["user", "set-password", "alice"],
        ["conf"],
        ["conf", ".feature_flags.enable_swagger", "-s", "True"],
        ["db", "reset", "--yes"],
        ["seed", "{file}"],
        ["tenant", "workflows", "import", "some-tenant", "{file}"],
    ],
)
def test_a_command_where_there_is_no_database_says_which_it_looked_for_and_creates_nothing(
    elsewhere, tmp_path, args
):
    args = [arg.replace("{file}", _workflow_file(tmp_path)) for arg in args]
    result = CliRunner().invoke(main, args, input="a-long-password\n")
    assert result.exit_code == 1
    assert f"There is no tokensmith database at {elsewhere / 'tokensmith.db'}." in result.output
    assert "TOKENSMITH_DATABASE_URL is not set" in result.output
    assert "Point at your database with TOKENSMITH_DATABASE_URL" in result.output
    assert "Password" not in result.output  # refused before the prompt
    assert list(elsewhere.iterdir()) == []


def test_the_installed_command_says_so_without_a_traceback(elsewhere):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    result = subprocess.run(
        [sys.executable, "-m", "tokensmith.cli", "user", "list"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"Error: There is no tokensmith database at {elsewhere / 'tokensmith.db'}." in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_the_environment_names_the_database_from_any_directory(alice, elsewhere, settings, monkeypatch):
    monkeypatch.setenv("TOKENSMITH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TOKENSMITH_SECRET_KEY", settings.secret_key.decode())
    result = CliRunner().invoke(main, ["user", "list"])
    assert result.exit_code == 0 and "alice" in result.output
    assert list(elsewhere.iterdir()) == []


def test_a_named_database_that_is_missing_is_named_in_the_refusal(elsewhere, tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "prod.db"
    monkeypatch.setenv("TOKENSMITH_DATABASE_URL", f"sqlite:///{missing}")
    result = CliRunner().invoke(main, ["user", "list"])
    assert result.exit_code == 1
    assert f"There is no tokensmith database at {missing}." in result.output
    assert "It is the one TOKENSMITH_DATABASE_URL names." in result.output
    assert not missing.parent.exists()


def test_an_empty_database_file_is_refused_and_left_empty(elsewhere):
    (elsewhere / "tokensmith.db").touch()
    result = CliRunner().invoke(main, ["conf"])
    assert result.exit_code == 1 and "There is no tokensmith database" in result.output
    assert [(p.name, p.stat().st_size) for p in elsewhere.iterdir()] == [("tokensmith.db", 0)]


def test_a_database_without_tokensmiths_tables_is_refused_with_the_way_to_migrate_it(elsewhere):
    with contextlib.closing(sqlite3.connect(elsewhere / "tokensmith.db")) as connection:
        connection.execute("CREATE TABLE something_else (x INTEGER)")
    result = CliRunner().invoke(main, ["user", "list"])
    assert result.exit_code == 1
    assert f"The database {elsewhere / 'tokensmith.db'} has no tokensmith tables" in result.output
    assert "`tokensmith db upgrade` migrates it" in result.output


def test_an_unreachable_database_is_named_without_its_password(elsewhere, monkeypatch):
    monkeypatch.setenv("TOKENSMITH_DATABASE_URL", "postgresql://someone:hunter2@127.0.0.1:1/tokens")
    result = CliRunner().invoke(main, ["user", "list"])
    assert result.exit_code == 1
    assert "Cannot open the database postgresql://someone:***@127.0.0.1:1/tokens" in result.output
    assert "hunter2" not in result.output


def test_db_upgrade_creates_the_database_where_serve_would_and_then_the_others_find_it(elsewhere):
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert (elsewhere / "tokensmith.db").stat().st_size > 0
    created = runner.invoke(main, ["user", "create", "dana"], input="a-long-password\n")
    assert created.exit_code == 0 and "dana" in runner.invoke(main, ["user", "list"]).output


def test_serve_and_the_cli_resolve_the_database_in_one_place(tmp_path):
    assert Settings.from_env({}, cwd=tmp_path).database_url == config.database_url({}, tmp_path)
    env = {"TOKENSMITH_DATABASE_URL": "postgresql://u@h/d", "TOKENSMITH_SECRET_KEY": "k" * 32}
    assert Settings.from_env(env, cwd=tmp_path).database_url == "postgresql://u@h/d"


# --- the core's command-line face and the dialects ------------------------------------------------


def test_only_the_command_line_face_of_the_core_imports_handlers():
    """The gateway's `tenant` command reads the gateway's document format, so it lives in
    handlers/gateway/ and `tokensmith.cli` adds it; the core itself never imports handlers."""
    root = Path(tokensmith.__file__).parent
    importers = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name == "handlers" or name.startswith("handlers.") for name in names):
                importers.add(path.relative_to(root).as_posix())
    assert importers == {"cli.py", "cli_seed.py", "cli_demo.py"}  # the command-line faces


def test_the_tenant_command_is_the_gateways(cli):
    assert main.commands["tenant"].callback.__module__ == "handlers.gateway.cli"
    result = cli("tenant", "workflows", "import", "--help")
    assert result.exit_code == 0
    assert "Import the workflow definitions in FILE (JSON or YAML) into the tenant" in result.output
