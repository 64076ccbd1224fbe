"""The limits before authentication, against a real `tokensmith serve` over raw sockets on loopback.

The server runs with small limits (a 4 KiB head, 20 headers, 1 s for the head, 1.5 s for the body,
1 s keep-alive, 8 connections) so each refusal shows in about a second. Every socket has a timeout and
every loop a bound.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import _free_port, serving

ADMIN_PASSWORD = "transport-limits-admin-password"
LIMITS = {
    "TOKENSMITH_MAX_HEADER_BYTES": "4096",
    "TOKENSMITH_MAX_HEADERS": "20",
    "TOKENSMITH_HEADER_TIMEOUT": "1",
    "TOKENSMITH_BODY_TIMEOUT": "1.5",
    "TOKENSMITH_KEEP_ALIVE_TIMEOUT": "1",
    "TOKENSMITH_MAX_CONNECTIONS": "8",
    "TOKENSMITH_MAX_BODY_BYTES": "65536",
}
CREATE_REFRESH = "/integration/v1/createRefreshToken/"


class Server:
    def __init__(self, process: subprocess.Popen, port: int) -> None:
        self.process = process
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`tokensmith serve` itself (one worker, so its pid is the server's), on a fresh SQLite file."""
    directory = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env.update(LIMITS, TOKENSMITH_PORT=str(port), TOKENSMITH_ADMIN_PASSWORD=ADMIN_PASSWORD)
    log = (directory / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tokensmith.cli", "serve"],
        cwd=directory,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    served = Server(process, port)
    with serving(process, served.base + "/healthz", directory / "server.log", log):
        yield served


class Reply:
    def __init__(self, raw: bytes, closed: bool, seconds: float) -> None:
        self.raw = raw
        self.closed = closed  # the server closed the connection after it
        self.seconds = seconds
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        self.status = int(lines[0].split()[1]) if lines[0].startswith(b"HTTP/1.1 ") else None
        self.headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(b":") for line in lines[1:])
        }

    def json(self) -> dict:
        return orjson.loads(self.body)


def read_reply(sock: socket.socket, limit: float = 6.0) -> Reply:
    """Everything the server sends until it closes the connection or `limit` seconds pass."""
    started = time.monotonic()
    received = b""
    closed = False
    sock.settimeout(0.2)
    while time.monotonic() - started < limit:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            closed = True
            break
        if not data:
            closed = True
            break
        received += data
    return Reply(received, closed, time.monotonic() - started)


def head(path: str = "/healthz", method: str = "GET", extra: bytes = b"") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + extra


# --- the head -------------------------------------------------------------------------------------


def test_a_head_past_the_size_limit_is_431_in_the_dialects_format_and_closed(server):
    with server.connect() as sock:
        sock.sendall(head(CREATE_REFRESH, "POST", b"X-Padding: " + b"a" * 6000))  # unfinished
        reply = read_reply(sock)
    assert reply.status == 431 and reply.closed
    assert reply.json()["code"] == "431000"


def test_a_huge_unfinished_head_is_not_read_past_the_limit(server):
    """Ten 20 MB heads once took a worker from 116 to 341 MB; now each is cut off at 4 KiB."""
    before = server.rss_kib()
    for _ in range(10):
        with server.connect() as sock:
            sent = 0
            sock.sendall(head() + b"X-Huge: ")
            try:
                while sent < 20 * 1024 * 1024:
                    sock.sendall(b"a" * 65536)
                    sent += 65536
            except OSError:
                pass  # the server answered and closed long before 20 MB
            reply = read_reply(sock)
        assert reply.status in (431, None) and reply.closed
        assert sent < 20 * 1024 * 1024
    assert server.rss_kib() - before < 20 * 1024


def test_a_head_with_too_many_headers_is_431(server):
    fields = b"".join(b"X-Field-%d: %d\r\n" % (i, i) for i in range(30))
    with server.connect() as sock:
        sock.sendall(head("/api/v1/whoami", extra=fields + b"\r\n"))
        reply = read_reply(sock)
    assert reply.status == 431 and reply.closed
    assert reply.headers[b"content-type"] == b"application/problem+json" and reply.json()["status"] == 431


def test_a_head_that_does_not_arrive_in_time_is_408_and_closed(server):
    with server.connect() as sock:
        sock.sendall(head())  # no blank line: the head never ends
        reply = read_reply(sock)
    assert reply.status == 408 and reply.closed
    assert 0.8 < reply.seconds < 3


def test_a_head_dripped_a_byte_at_a_time_still_meets_the_deadline(server):
    started = time.monotonic()
    with server.connect() as sock:
        try:
            for byte in head() + b"X-Slow: " + b"a" * 40:
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
        except OSError:
            pass  # closed under us: what the test wants
        reply = read_reply(sock)
    assert reply.closed and reply.status == 408
    assert time.monotonic() - started < 4.5


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server):
    with server.connect() as sock:
        reply = read_reply(sock)
    assert reply.closed and reply.raw == b""
    assert 0.8 < reply.seconds < 3


def test_an_idle_connection_after_a_reply_is_closed_after_the_keep_alive_timeout(server):
    with server.connect() as sock:
        sock.sendall(head(extra=b"\r\n"))
        reply = read_reply(sock)
    assert reply.status == 200 and reply.closed
    assert reply.seconds < 3


# --- the body -------------------------------------------------------------------------------------


def test_a_dripped_body_is_408_at_the_body_deadline_and_closed(server):
    fields = b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(head(CREATE_REFRESH, "POST", fields) + b'{"username": "admin"')
        started = time.monotonic()
        try:
            for _ in range(20):  # a byte every 0.5 s: far slower than the 1.5 s deadline allows
                sock.sendall(b" ")
                time.sleep(0.5)
                if time.monotonic() - started > 2.5:
                    break
        except OSError:
            pass
        reply = read_reply(sock)
    assert reply.status == 408 and reply.closed
    assert reply.json()["code"] == "408000" and reply.headers[b"connection"] == b"close"


def test_a_dripped_body_nobody_reads_is_cut_off_at_the_body_deadline(server):
    """/healthz answers at once without reading the body; the connection used to stay open for as
    long as the client kept dripping it (each byte reset the keep-alive timer)."""
    with server.connect() as sock:
        sock.sendall(head("/healthz", "GET", b"Content-Length: 1000\r\n\r\n"))
        started = time.monotonic()
        closed = False
        for _ in range(40):  # at most ~4 s
            try:
                sock.sendall(b"x")
            except OSError:
                closed = True
                break
            time.sleep(0.1)
        reply = read_reply(sock, limit=1.0)
    assert reply.status == 200
    assert closed or reply.closed
    assert time.monotonic() - started < 4.5


def _chunked(data: bytes, size: int) -> bytes:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def test_a_chunked_body_over_a_raw_socket_is_served(server):
    body = orjson.dumps({"username": "admin", "password": ADMIN_PASSWORD, "name": "chunked"})
    fields = b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(head(CREATE_REFRESH, "POST", fields) + _chunked(body, 5))
        reply = read_reply(sock)
    assert reply.status == 200, reply.raw
    assert reply.json()["name"] == "chunked"


def test_a_chunked_body_from_a_real_client_is_served(server):
    body = orjson.dumps({"username": "admin", "password": ADMIN_PASSWORD, "name": "httpx"})
    pieces = iter([body[:10], body[10:]])
    response = httpx.post(
        server.base + CREATE_REFRESH, content=pieces, headers={"content-type": "application/json"}, timeout=10
    )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 200 and response.json()["name"] == "httpx"


def test_a_chunked_body_past_the_size_limit_is_413_before_it_is_all_sent(server):
    fields = b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    sent = 0
    with server.connect() as sock:
        sock.sendall(head(CREATE_REFRESH, "POST", fields))
        try:
            while sent < 10 * 1024 * 1024:  # 10 MB offered; the limit is 64 KiB
                sock.sendall(b"4000\r\n" + b" " * 0x4000 + b"\r\n")
                sent += 0x4000
        except OSError:
            pass
        reply = read_reply(sock)
    assert reply.status == 413 and reply.closed
    assert reply.json()["code"] == "413000"
    assert sent < 10 * 1024 * 1024


# --- connections ----------------------------------------------------------------------------------


def test_requests_past_the_connection_limit_get_503(server):
    idle = [server.connect() for _ in range(int(LIMITS["TOKENSMITH_MAX_CONNECTIONS"]))]
    try:
        with server.connect() as sock:
            sock.sendall(head(extra=b"\r\n"))
            reply = read_reply(sock, limit=3)
    finally:
        for sock in idle:
            sock.close()
    assert reply.status == 503
    time.sleep(1.2)  # the idle ones are closed by now; the server serves again
    assert httpx.get(server.base + "/healthz", timeout=5).status_code == 200
