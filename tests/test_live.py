"""Real clients over a real socket: the seed document's sample, Alation's own SDK, and `tokensmith serve`."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import requests

from tests.conftest import PASSWORD, _free_port


def test_the_seed_documents_python_sample_works_unchanged(live_server, alice):
    base = live_server
    response = requests.post(
        base + "/integration/v1/createRefreshToken/",
        data={"username": "alice", "password": PASSWORD, "name": "Postman"},
    )
    assert response.status_code == 200
    assert response.json()["token_status"] == "ACTIVE" and response.json()["name"] == "Postman"


def test_alations_python_sdk_drives_the_token_flow(live_server, alice):
    from allie_sdk.methods.authentication import AlationAuthentication

    refresh = requests.post(
        live_server + "/integration/v1/createRefreshToken/",
        json={"username": "alice", "password": PASSWORD, "name": "sdk"},
    ).json()
    auth = AlationAuthentication(
        refresh_token=refresh["refresh_token"],
        user_id=str(alice.id),
        session=requests.Session(),
        host=live_server,
    )
    validated = auth.validate_refresh_token()
    assert validated.token_status == "ACTIVE" and validated.created_at is not None
    access = auth.create_access_token()
    assert access.api_access_token.startswith("tsa_") and access.token_expires_at is not None
    checked = auth.validate_access_token(access.api_access_token)
    assert checked.token_status == "ACTIVE" and checked.user_id == alice.id
    auth.revoke_access_tokens()
    assert auth.validate_access_token(access.api_access_token).token_status == "REVOKED"


def test_alations_sdk_reads_the_authenticated_user(live_server, alice):
    from allie_sdk import Alation

    refresh = requests.post(
        live_server + "/integration/v1/createRefreshToken/",
        json={"username": "alice", "password": PASSWORD, "name": "sdk"},
    ).json()
    client = Alation(host=live_server, user_id=alice.id, refresh_token=refresh["refresh_token"])
    user = client.user.get_authenticated_user()
    assert user.username == "alice" and user.id == alice.id


def test_serve_on_an_empty_directory_creates_admin_and_prints_its_password_once(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env["TOKENSMITH_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "tokensmith.cli", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(1)]
        while not lines[-1].startswith("Created user") and lines[-1] and len(lines) < 50:
            lines.append(process.stdout.readline())  # dependencies may warn first
        assert lines[-1].startswith("Created user 'admin' with password: "), lines
        password = lines[-1].rsplit(" ", 1)[1].strip()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                reply = httpx.post(
                    base + "/integration/v1/createRefreshToken/",
                    json={"username": "admin", "password": password, "name": "first"},
                )
                break
            except httpx.HTTPError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "the server did not answer within 90 s"
                time.sleep(0.2)
        assert reply.status_code == 200
        assert (tmp_path / "tokensmith.db").exists()
        secret_file = tmp_path / "tokensmith.db.secret"
        assert secret_file.stat().st_mode & 0o777 == 0o600
    finally:
        process.terminate()
        process.wait(timeout=10)
    again = subprocess.run(
        [sys.executable, "-m", "tokensmith.cli", "user", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.stdout.count("admin") == 2  # name and role, one account: no second admin, no new password


@pytest.mark.skipif(
    not os.environ.get("TOKENSMITH_TEST_DATABASE_URL"),
    reason="PostgreSQL not configured: set TOKENSMITH_TEST_DATABASE_URL to run the "
    "PostgreSQL tests (.ci/run does)",
)
def test_postgresql_backend_is_in_use(core):
    assert core.db.engine.dialect.name == "postgresql"


def test_repository_root_has_the_two_readme_commands():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "tokensmith serve" in readme and "pytest" in readme
