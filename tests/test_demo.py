"""`tokensmith demo`: the demo data set every spec example names, seeded on a fresh database only.

Run as a reader runs it (the `tokensmith` command in a directory of its own; on PostgreSQL with
TOKENSMITH_TEST_DATABASE_URL set, in a schema of its own): it seeds, prints what to paste into Swagger
UI's Authorize, refuses a database that already has the demo or any user besides `admin`, and every
credential of demo.yaml then authenticates on a real server, as the user the docs say.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.contract.demo_server import (
    DemoDatabase,
    DemoServer,
    environment,
    seed_demo,
)
from tokensmith.cli_demo import document

DATA = document()
# Ids on a fresh database: the bootstrap `admin` is 1, then the users in order, then tenant admins.
USER_IDS = {
    entry["username"]: index
    for index, entry in enumerate([*DATA["users"], *(tenant["admin"] for tenant in DATA["tenants"])], start=2)
}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    made = DemoDatabase(tmp_path)
    try:
        yield tmp_path, environment(made.url, "demo-test-secret-key-of-enough-length-0123456789")
    finally:
        made.drop()


def _run(directory: Path, env: dict[str, str], *arguments: str, stdin: str | None = None) -> Any:
    import subprocess

    from tests.contract.demo_server import TOKENSMITH

    return subprocess.run(
        [str(TOKENSMITH), *arguments],
        cwd=directory,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_seeds_a_fresh_database_and_prints_the_credentials(database):
    directory, env = database
    demo = seed_demo(directory, env)
    tokens = [entry["value"] for entry in DATA["tokens"]]
    assert f"TOKEN: {tokens[1]}" in demo.output  # alice's integration access token
    assert f"TOKEN: {demo.admin_access_token}" in demo.output
    assert f"Authtoken: QSDK {tokens[3]}" in demo.output
    assert demo.tenant_token.count(".") == 2, "the tenant token is a JWT"
    for username, user_id in USER_IDS.items():
        if any(u["username"] == username for u in DATA["users"]):
            assert f"{username} ({user_id})" in demo.output


def test_demo_refuses_a_second_run(database):
    directory, env = database
    seed_demo(directory, env)
    again = _run(directory, env, "demo")
    assert again.returncode != 0
    assert "already holds users besides 'admin'" in again.stderr
    assert "Seeded" not in again.stdout


def test_demo_refuses_a_database_in_use(database):
    directory, env = database
    assert _run(directory, env, "db", "upgrade").returncode == 0
    made = _run(directory, env, "user", "create", "carol", stdin="carol-password-long\n")
    assert made.returncode == 0, made.stderr
    refused = _run(directory, env, "demo")
    assert refused.returncode != 0 and "fresh one" in refused.stderr
    users = _run(directory, env, "user", "list")
    assert "alice" not in users.stdout, "a refused demo must seed nothing"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    server = DemoServer(tmp_path_factory.mktemp("demo"), testing=False, swagger_ui=False)
    try:
        yield server
    finally:
        server.stop()


def _who(reply: httpx.Response) -> tuple[int, Any]:
    body = reply.json() if reply.headers.get("content-type", "").endswith("json") else reply.text
    return reply.status_code, body


def test_every_demo_token_authenticates_as_its_user(served: DemoServer):
    """Each token of demo.yaml, presented where its kind and dialect are accepted, is its user's."""
    url = served.url
    wrong = []
    for index, entry in enumerate(DATA["tokens"]):
        value, user_id = entry["value"], USER_IDS[entry["user"]]
        kind, dialect = value[:4], entry.get("dialect", "")
        if kind == "tsr_" and dialect == "commandcenter":  # a V4 entry's refresh half: alice lists it
            reply = httpx.get(
                f"{url}/commandcenter/api/V4/AccessToken",
                headers={"Authtoken": f"QSDK {DATA['tokens'][3]['value']}"},
                timeout=30,
            )
            names = (
                [e.get("tokenName") for e in reply.json().get("tokens", [])]
                if reply.status_code == 200
                else []
            )
            ok = entry["name"] in names and entry["user"] == "alice"
        elif kind == "tsr_":
            reply = httpx.post(
                f"{url}/integration/v1/validateRefreshToken/",
                json={"refresh_token": value, "user_id": user_id},
                timeout=30,
            )
            ok = reply.status_code == 200 and reply.json().get("token_status") == "ACTIVE"
        elif kind == "tsa_" and dialect in ("", "integration"):
            reply = httpx.get(f"{url}/api/v1/whoami", headers={"TOKEN": value}, timeout=30)
            ok = reply.status_code == 200 and reply.json().get("user_id") == user_id
        elif kind == "tsa_" and dialect == "commandcenter":
            reply = httpx.get(
                f"{url}/commandcenter/api/WhoAmI", headers={"Authorization": f"Bearer {value}"}, timeout=30
            )
            ok = reply.status_code == 200 and reply.json()["user"]["userId"] == user_id
        elif kind == "tss_":
            reply = httpx.get(
                f"{url}/commandcenter/api/WhoAmI", headers={"Authtoken": f"QSDK {value}"}, timeout=30
            )
            ok = reply.status_code == 200 and reply.json()["user"]["userId"] == user_id
        else:
            wrong.append(f"tokens[{index}]: no check for a {kind} token of dialect {dialect!r}: add one here")
            continue
        if not ok:
            wrong.append(f"tokens[{index}] ({entry['user']}): {_who(reply)}")
    tenant = httpx.get(
        f"{url}/gateway/api/v1/workflowdefinition",
        headers={"itas-api-access-key": served.demo.tenant_token},
        timeout=30,
    )
    if tenant.status_code != 200:
        wrong.append(f"the tenant token: {_who(tenant)}")
    else:
        listed = [d.get("workflowIdentifier") or d.get("identifier") for d in tenant.json()["resultData"]]
        seeded = [d["identifier"] for w in DATA["workflows"] for d in w["definitions"]]
        if sorted(map(str, listed)) != sorted(seeded):
            wrong.append(f"the tenant's workflows: {listed}, demo.yaml seeds {seeded}")
    assert not wrong, "demo credentials that do not authenticate as documented:\n" + "\n".join(wrong)


def test_the_demo_tenants_have_the_documented_external_ids(served: DemoServer):
    """The examples name Acme by its externalId; a seeded tenant must keep the one demo.yaml gives."""
    reply = httpx.get(
        f"{served.url}/gateway/api/v1/platform/tenants",
        headers={"Authorization": f"Bearer {served.superadmin_jwt()}"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    listed = {t["name"]: t["tenantExternalId"] for t in reply.json()["resultData"]}
    assert listed == {t["name"]: t["externalId"] for t in DATA["tenants"]}


def test_every_demo_password_logs_in(served: DemoServer):
    """The users' passwords in demo.yaml (the gateway superadmin's through the gateway login)."""
    wrong = []
    for entry in DATA["users"]:
        reply = httpx.post(
            f"{served.url}/integration/v1/createRefreshToken/",
            json={"username": entry["username"], "password": entry["password"], "name": "demo-check"},
            timeout=30,
        )
        if reply.status_code != 200 or reply.json()["user_id"] != USER_IDS[entry["username"]]:
            wrong.append(f"{entry['username']}: {_who(reply)}")
    assert served.superadmin_jwt().count(".") == 2
    assert not wrong, wrong
