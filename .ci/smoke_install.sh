#!/usr/bin/env bash
# Production parity: tokensmith installed the way an operator installs it — `pip install .` into a fresh
# virtual environment, no test extra, not editable — started with `tokensmith serve` on a free port and
# a temporary SQLite database, then asked a few questions over HTTP: format-checked query parameters
# (4xx, never 5xx), a body without a Content-Type, and a normal login. Run by .ci/run; takes ~1 minute.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$PWD"
# Nothing in the installed environment may come from the source tree: run from elsewhere.
cd "$work"
port="$("$work/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
password="smoke-test-password-$RANDOM$RANDOM"
TOKENSMITH_DATABASE_URL="sqlite:///$work/smoke.db" TOKENSMITH_ADMIN_PASSWORD="$password" \
  "$work/venv/bin/tokensmith" serve --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!

PORT="$port" PASSWORD="$password" LOG="$work/server.log" "$work/venv/bin/python" - <<'PY'
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.request

base = f"http://127.0.0.1:{os.environ['PORT']}"


def call(method, path, body=None, headers=None, content_type="application/json"):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(base + path, data=data, method=method, headers=dict(headers or {}))
    if data is not None and content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


deadline = time.monotonic() + 60
while True:
    try:
        if call("GET", "/healthz")[0] == 200:
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("tokensmith serve did not answer /healthz:\n" + open(os.environ["LOG"]).read())
    time.sleep(0.2)

failures = []


def expect(label, reply, low, high):
    status, body = reply
    print(f"{status} {label}")
    if not low <= status <= high:
        failures.append(f"{label}: {status} {body[:300]!r}")
    return body


login = {"username": "admin", "password": os.environ["PASSWORD"], "name": "smoke"}
refresh = json.loads(expect("log in", call("POST", "/integration/v1/createRefreshToken/", login), 200, 200))
access = json.loads(
    expect(
        "an access token",
        call(
            "POST",
            "/integration/v1/createAPIAccessToken/",
            {"refresh_token": refresh["refresh_token"], "user_id": refresh["user_id"]},
        ),
        200,
        200,
    )
)
token = {"TOKEN": access["api_access_token"]}
expect("audit with a good until", call("GET", "/api/v1/audit?until=2030-01-01T00:00:00Z", headers=token), 200, 200)
for query in ("/api/v1/audit?until=", "/api/v1/audit?until=x", "/api/v1/audit?since=2024-12-31T23:59:60Z",
              "/api/v1/credentials?used_before=x", "/api/v1/credentials?used_before="):
    expect(query, call("GET", query, headers=token), 400, 499)
def without_content_type(path, body):
    """urllib adds a form Content-Type to any body; http.client sends exactly what it is given."""
    connection = http.client.HTTPConnection("127.0.0.1", int(os.environ["PORT"]), timeout=10)
    connection.request("POST", path, body=body, headers={"Content-Length": str(len(body))})
    reply = connection.getresponse()
    return reply.status, reply.read()


expect(
    "a JSON body without a Content-Type",
    without_content_type("/integration/v1/validateAPIAccessToken/", b'{"user_id": 1, "api_access_token": "x"}'),
    415,
    415,
)
expect("a trailing-slash redirect", call("GET", "/integration/v1/userinfo", headers=token), 200, 499)
if failures:
    print(open(os.environ["LOG"]).read()[-4000:])
    sys.exit("production-parity smoke failed:\n" + "\n".join(failures))
print("production-parity smoke: ok")
PY
