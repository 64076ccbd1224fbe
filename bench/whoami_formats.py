"""µs of CPU per in-process `GET /api/v1/whoami`, for each credential format (no server, no sockets):
`python -m bench.whoami_formats [--requests 2000] [--rounds 5]`. Every format goes through the one
verifier; this shows that none of them costs much more than an access token's one plain-SQL read.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from handlers.app import create_app
from handlers.gateway import wire as gateway_wire
from handlers.integration.wire import CHAIN
from tokensmith import refresh_tokens, sessions, tenants, users
from tokensmith.config import Settings

SECRET = b"bench-secret-key-of-enough-length-0123456789"
PASSWORD = "correct horse battery staple"


async def call(app: Any, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/whoami",
        "raw_path": b"/api/v1/whoami",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app(Settings(database_url=url, secret_key=SECRET))
        core = app.core
        user = users.create_user(core, "alice", PASSWORD)
        refresh = refresh_tokens.create_refresh_token(core, "alice", PASSWORD, "bench", None, chain=CHAIN)
        access = refresh_tokens.create_access_token(core, refresh.value, user.id, chain=CHAIN)
        login = sessions.login(
            core, "alice", PASSWORD, dialect="commandcenter", device_id="d", idle_minutes=60 * 24, client=None
        )
        _tenant, tenant_token = tenants.create_tenant(
            core,
            tenants.NewTenant(
                name="Acme",
                description="",
                sub_domain="acme",
                admin_username="acme-admin",
                admin_password=PASSWORD,
                admin_email="a@example.com",
                admin_first_name="A",
                admin_last_name="B",
            ),
            gateway_wire.TENANT_TOKEN,
            None,
        )
        formats = {
            "access (TOKEN)": [(b"token", access.value.encode())],
            "session (Authtoken QSDK)": [(b"authtoken", f"QSDK {login.issued.value}".encode())],
            "tenant JWT (Bearer)": [(b"authorization", f"Bearer {tenant_token.value}".encode())],
        }
        loop = asyncio.new_event_loop()
        try:
            for name, headers in formats.items():
                assert loop.run_until_complete(call(app, headers)) == 200, name
            costs: dict[str, list[float]] = {name: [] for name in formats}
            for _ in range(args.rounds):
                for name, headers in formats.items():

                    async def batch(headers=headers) -> None:
                        for _ in range(args.requests):
                            await call(app, headers)

                    started = time.process_time()
                    loop.run_until_complete(batch())
                    costs[name].append((time.process_time() - started) / args.requests * 1e6)
        finally:
            loop.close()
            core.db.dispose()
        for name, values in costs.items():
            print(
                f"{name:<26} {statistics.median(values):6.0f} µs CPU/request  "
                f"(rounds: {', '.join(f'{v:.0f}' for v in values)})"
            )


if __name__ == "__main__":
    main()
