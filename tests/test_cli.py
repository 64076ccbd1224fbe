"""The `tokensmith` command, through Click's runner against this test's database."""

from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.conftest import PASSWORD
from tests.integration.helpers import access_token, refresh_token
from tokensmith import users
from tokensmith.cli import main


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
