"""A real `tokensmith serve` on a database `tokensmith demo` seeded, as a reader of the docs makes one.

The contract tests (examples executed, generated clients, the docs' schemathesis commands) all talk to
such a server: the specs' examples name the demo data (alice = user 2, the Acme tenant, the fixed token
values in tokensmith/data/demo.yaml), so only a demo-seeded database makes them succeed. The server is a
separate process on a free loopback port, started with the `tokensmith` command itself, so what is
tested is what "Try it out" in Swagger UI meets.

Database: a fresh SQLite file in the given directory, or, with TOKENSMITH_TEST_DATABASE_URL set, a
PostgreSQL schema of its own (made here, dropped on `stop()`), as tests/conftest.py does per run.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tokensmith.cli_demo import document

START_TIMEOUT_SECONDS = 90.0
TOKENSMITH = Path(sys.prefix) / "bin" / "tokensmith"
ADMIN_PASSWORD = "demo-bootstrap-admin-password"
SWAGGER_FLAG = ".feature_flags.enable_swagger"
_TENANT_KEY_LINE = re.compile(r"itas-api-access-key:\s*(?P<token>\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_url_with_schema(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@dataclass
class Demo:
    """What `tokensmith demo` printed and the demo document holds: the credentials the examples expect."""

    output: str
    tenant_token: str
    data: dict[str, Any] = field(default_factory=document)

    def token(self, name: str) -> str:
        """A demo token's value by its `name:` in demo.yaml, or by the position the comments give."""
        for entry in self.data["tokens"]:
            if entry.get("name") == name:
                return entry["value"]
        raise KeyError(name)

    @property
    def alice_access_token(self) -> str:
        """alice's integration API access token (the `TOKEN` header of the integration spec)."""
        return self.data["tokens"][1]["value"]

    @property
    def admin_access_token(self) -> str:
        """demo-admin's token (the `TOKEN` header of the native admin API)."""
        return self.token("demo-admin-token")

    @property
    def alice_session(self) -> str:
        """alice's commandcenter session, as the `Authtoken` header carries it."""
        return "QSDK " + self.data["tokens"][3]["value"]

    def password(self, username: str) -> str:
        return next(u["password"] for u in self.data["users"] if u["username"] == username)


class DemoDatabase:
    """A fresh database for one server: an SQLite file, or a PostgreSQL schema made for it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._pg = os.environ.get("TOKENSMITH_TEST_DATABASE_URL", "").strip()
        self._schema: str | None = None
        if self._pg:
            import sqlalchemy as sa

            from tokensmith.db import Database

            self._schema = f"ts_demo_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            engine = sa.create_engine(Database(self._pg).engine.url)
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self._schema}"'))
            engine.dispose()
            self.url = pg_url_with_schema(self._pg, self._schema)
        else:
            self.url = f"sqlite:///{directory / 'tokensmith.db'}"

    def drop(self) -> None:
        if self._schema is None:
            return
        import sqlalchemy as sa

        from tokensmith.db import Database

        engine = sa.create_engine(Database(self._pg).engine.url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self._schema}" CASCADE'))
        engine.dispose()
        self._schema = None


def environment(database_url: str, secret: str, **extra: str) -> dict[str, str]:
    """The process environment of every `tokensmith` command on this server's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env.update(
        TOKENSMITH_DATABASE_URL=database_url,
        TOKENSMITH_SECRET_KEY=secret,
        TOKENSMITH_ADMIN_PASSWORD=ADMIN_PASSWORD,
        **extra,
    )
    return env


def seed_demo(directory: Path, env: dict[str, str]) -> Demo:
    """Run `tokensmith demo`; its output names the tenant token (a JWT, minted at seeding)."""
    done = subprocess.run(
        [str(TOKENSMITH), "demo"], cwd=directory, env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"tokensmith demo failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    match = _TENANT_KEY_LINE.search(done.stdout)
    if match is None:
        raise RuntimeError(f"tokensmith demo printed no itas-api-access-key:\n{done.stdout}")
    return Demo(output=done.stdout, tenant_token=match["token"])


class DemoServer:
    """`tokensmith demo`, then `tokensmith serve [--testing]`, in `directory`; `stop()` ends both."""

    def __init__(self, directory: Path, *, testing: bool, swagger_ui: bool = True) -> None:
        """`swagger_ui`: turn the Swagger UI flag on before serving, as the docs' "Try it out" does
        (in testing mode it is then part of the state every reset returns to)."""
        self.directory = directory
        self.testing = testing
        self.database = DemoDatabase(directory)
        self.env = environment(self.database.url, secrets.token_urlsafe(48))
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "server.log"
        try:
            self.demo = seed_demo(directory, self.env)
            if swagger_ui:
                done = self.cli("conf", SWAGGER_FLAG, "-s", "True")
                if done.returncode != 0:
                    raise RuntimeError(f"cannot turn Swagger UI on: {done.stdout}{done.stderr}")
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        command = [str(TOKENSMITH), "serve", "--port", str(self.port)]
        if self.testing:
            command.append("--testing")
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                command, cwd=self.directory, env=self.env, stdout=sink, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"tokensmith serve exited while starting:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"tokensmith serve did not start:\n{self.log_tail()}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, characters: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""

    def cli(self, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """A `tokensmith` command on this server's database (e.g. `conf`), as a reader runs it."""
        return subprocess.run(
            [str(TOKENSMITH), *arguments],
            cwd=self.directory,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def reset(self) -> None:
        """Testing mode: back to the demo state the server started with."""
        reply = httpx.post(self.url + "/api/v1/testing/reset", json={}, timeout=60)
        if reply.status_code != 200:
            raise RuntimeError(f"reset failed: {reply.status_code} {reply.text}")

    def superadmin_jwt(self) -> str:
        """A gateway access token from logging in as demo-superadmin (the `/platform` Bearer)."""
        reply = httpx.post(
            self.url + "/gateway/api/v1/auth/login",
            json={"username": "demo-superadmin", "password": self.demo.password("demo-superadmin")},
            timeout=60,
        )
        if reply.status_code != 200:
            raise RuntimeError(f"demo-superadmin login failed: {reply.status_code} {reply.text}")
        return reply.json()["resultData"]["accessToken"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.database.drop()


def credential_headers(server: DemoServer, spec: dict[str, Any], operation: Any) -> dict[str, str]:
    """The demo credential for the first of the operation's security alternatives that the demo has."""
    security = operation.definition.get("security", spec.get("security")) or []
    if not security:
        return {}
    schemes = (spec.get("components") or {}).get("securitySchemes") or {}
    for alternative in security:
        headers: dict[str, str] = {}
        for name in alternative:
            credential = demo_credential(server, operation.stem, name, schemes.get(name) or {})
            if credential is None:
                break
            headers.update(credential)
        else:
            return headers
    raise LookupError(f"the demo has no credential for any of the security alternatives {security}")


def demo_credential(
    server: DemoServer, stem: str, name: str, scheme: dict[str, Any]
) -> dict[str, str] | None:
    demo = server.demo
    if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
        header = scheme.get("name", "")
        value = {
            "token": demo.admin_access_token if stem == "admin" else demo.alice_access_token,
            "authtoken": demo.alice_session,
            "itas-api-access-key": demo.tenant_token,
        }.get(header.lower())
        return None if value is None else {header: value}
    if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
        superadmin = "superadmin" in (name + str(scheme.get("x-bearerInfoFunc", ""))).lower()
        if stem == "gateway" and superadmin:
            return {"Authorization": f"Bearer {server.superadmin_jwt()}"}
    return None
