"""Request ids, JSON access logs and Prometheus metrics: what the outer ASGI layer records per request.

The access log line names the operation's path template (never the raw path, which may carry ids)
and the token's public id (never the token). Metrics live in a registry per app, so several app
instances in one process (as in the tests) do not mix their figures.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from tokensmith import stats
from tokensmith.core import Core

access_log = logging.getLogger("tokensmith.access")
_token_id: ContextVar[str | None] = ContextVar("tokensmith_token_id", default=None)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def note_token(public_id: str) -> None:
    """Security functions call this so the access log can name the token (by its public id)."""
    _token_id.set(public_id)


# A made id: this process's random prefix and a counter, unique across processes and restarts without
# a call to the OS per request (uuid4 was ~2 µs of a ~200 µs request).
_ID_PREFIX = uuid.uuid4().hex[:16]
_id_counter = itertools.count(1)


def request_id_from(incoming: str | None) -> str:
    """Keep a proxy's id when it is sane (so logs join up), otherwise make one."""
    if incoming and _SAFE_REQUEST_ID.match(incoming):
        return incoming
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


class Metrics:
    """This app's registry, and who may read it: anyone, or with `token` set (TOKENSMITH_METRICS_TOKEN)
    only a scraper presenting `Authorization: Bearer <token>`."""

    def __init__(self, core: Core, token: str | None = None) -> None:
        self._token = token.encode() if token else None
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tokensmith_http_requests",
            "HTTP requests by operation and status.",
            ["operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tokensmith_http_request_duration_seconds",
            "Request latency by operation.",
            ["operation"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.registry.register(_CoreCollector(core))
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, operation: str, status: int, seconds: float) -> None:
        children = self._children.get((operation, status))
        if children is None:  # a label look-up takes a lock and builds a key: once per pair, not per request
            children = (self.requests.labels(operation, str(status)), self.latency.labels(operation))
            self._children[(operation, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def allows(self, authorization: str | None) -> bool:
        """True when no token is set, or `authorization` is `Bearer <the token>` (compared in constant
        time, so the reply's timing does not reveal how much of a guess was right)."""
        if self._token is None:
            return True
        scheme, _, presented = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        # Header text is the raw bytes read as Latin-1; the token is the environment's UTF-8.
        return hmac.compare_digest(presented.strip().encode("latin-1", "replace"), self._token)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _CoreCollector:
    """Token figures, read at scrape time from the core."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def describe(self) -> list:
        return []

    def collect(self) -> Any:
        figures = stats.database_figures(self.core)
        families = [
            ("tokensmith_tokens_issued", "Tokens issued, by kind.", "issued", CounterMetricFamily),
            ("tokensmith_tokens_revoked", "Tokens revoked, by kind.", "revoked", CounterMetricFamily),
            (
                "tokensmith_tokens_live",
                "Tokens neither expired nor revoked, by kind.",
                "live",
                GaugeMetricFamily,
            ),
        ]
        for name, doc, key, family_class in families:
            family = family_class(name, doc, labels=["kind"])
            for kind, value in sorted(figures[key].items()):
                family.add_metric([kind], value)
            yield family
        failed = CounterMetricFamily("tokensmith_failed_logins", "Failed password checks.")
        failed.add_metric([], figures["failed_logins"][""])
        yield failed
        validated = CounterMetricFamily(
            "tokensmith_tokens_validated",
            "Token validations in this process, by kind and outcome.",
            labels=["kind", "outcome"],
        )
        for (kind, outcome), value in sorted(stats.validations().items()):
            validated.add_metric([kind, outcome], value)
        yield validated


def log_to_stdout() -> None:
    """When serving: one bare JSON line per request on standard output (replacing uvicorn's access log)."""
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


def log_request(*, method: str, operation: str, status: int, seconds: float, request_id: str) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    access_log.info(
        orjson.dumps(
            {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "method": method,
                "path": operation,
                "status": status,
                "latency_ms": round(seconds * 1000, 3),
                "request_id": request_id,
                "token_id": _token_id.get(),
            }
        ).decode()
    )
