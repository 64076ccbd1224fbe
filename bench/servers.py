"""uvicorn server processes: started pinned to a core, checked ready, and always stopped.

Each app runs as `uvicorn <target>` with one worker, uvloop and httptools (`uvicorn[standard]`, what
tokensmith is served with), access log off. Every process is started in its own session so it can be
stopped with everything it spawned, by its own id, and `stop()` escalates from SIGTERM to SIGKILL
within a bounded time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from bench import dataset
from bench.apps import environment

READY_TIMEOUT_S = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Cores:
    """Which core serves and which core loads; None where the machine cannot pin (one core, no taskset)."""

    server: int | None
    load: int | None

    @classmethod
    def detect(cls) -> Cores:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2 and shutil.which("taskset"):
            return cls(server=cpus[0], load=cpus[1])
        return cls(server=None, load=None)

    def describe(self) -> str:
        if self.server is None:
            return "not pinned (fewer than two cores or no taskset)"
        return f"servers on core {self.server}, load generator on core {self.load}"


def pinned(command: list[str], core: int | None) -> list[str]:
    return command if core is None else ["taskset", "-c", str(core), *command]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One app on one database, served by one uvicorn process."""

    label: str
    target: str
    env: dict[str, str]
    log_path: Path
    factory: bool = True
    lifespan: str = "auto"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, core: int | None) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.target,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            self.lifespan,
        ]
        if self.factory:
            command.append("--factory")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                pinned(command, core),
                cwd=dataset.REPO,
                env={**os.environ, "PYTHONPATH": str(dataset.REPO), **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until the port accepts connections; fails fast (with the log) if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited during start-up:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.label} did not listen within {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the server has used so far, from /proc.

        Per request this is the figure other work on the machine disturbs least: a busy neighbour
        lowers req/s a lot but the CPU a request costs only a little.
        """
        if self.process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL if it has not gone within the timeout."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


class Servable(Protocol):
    """How uvicorn serves an app (`bench.scenarios.App`)."""

    @property
    def target(self) -> str: ...

    @property
    def factory(self) -> bool: ...

    @property
    def lifespan(self) -> str: ...


def app_server(
    app: Servable, label: str, database_url: str, log_path: Path, validate_responses: bool = False
) -> Server:
    """A server for `app` on the database at `database_url`, with the bench's key (not started yet)."""
    return Server(
        label=label,
        target=app.target,
        env={
            environment.DATABASE_URL: database_url,
            environment.SECRET_KEY: dataset.SECRET_KEY.decode(),
            environment.VALIDATE_RESPONSES: "1" if validate_responses else "",
        },
        log_path=log_path,
        factory=app.factory,
        lifespan=app.lifespan,
    )


K = TypeVar("K")


@contextmanager
def running(servers: dict[K, Server], core: int | None) -> Iterator[dict[K, Server]]:
    """All of `servers` started on `core` and ready; every one stopped on the way out, whatever happens."""
    try:
        for server in servers.values():
            server.start(core)
        for server in servers.values():
            server.wait_ready()
        yield servers
    finally:
        for server in servers.values():
            server.stop()
