"""What the figures were measured on and with: recorded in every result file, since a ratio only means
something next to the machine, the versions and how busy the machine was."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from typing import Any

from bench import dataset

PACKAGES = (
    "connexion",
    "uvicorn",
    "uvloop",
    "httptools",
    "starlette",
    "SQLAlchemy",
    "psycopg",
    "psycopg-pool",
    "jsonschema",
    "orjson",
    "fastapi",
    "pydantic",
    "Django",
    "djangorestframework",
    "djangorestframework-simplejwt",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _command(*args: str) -> str:
    """A command's output, or "" when it is missing or fails."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=10, cwd=dataset.REPO, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout or done.stderr).strip() if done.returncode == 0 else ""


def _wrk_version() -> str | None:
    """wrk prints its version with its usage text and exits 1, so its exit status is ignored here."""
    try:
        done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def git() -> dict[str, Any]:
    """The commit measured, and whether the working tree differed from it (read-only git commands).

    `BENCH_GIT_SHA` labels a tree that is not a git checkout (e.g. a `git archive` export of a commit,
    measured while the working tree is being edited)."""
    override = os.environ.get("BENCH_GIT_SHA")
    if override:
        return {"sha": override, "dirty": False}
    sha = _command("git", "rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = bool(_command("git", "status", "--porcelain", "--untracked-files=no"))
    return {"sha": sha, "dirty": dirty}


def describe() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": _wrk_version(),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
