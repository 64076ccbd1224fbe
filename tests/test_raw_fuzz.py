"""A fuzzer over raw bytes, beside schemathesis (tests/test_fuzz.py), which only sends what a spec
describes. Here hypothesis sends every operation of every spec arbitrary bytes as its body, arbitrary
header values (Content-Type and the credential headers included), and arbitrary path and query text,
sometimes with good credentials so that requests get past authentication. Two promises are checked on
each reply: never a 5xx, and a refused request (any 4xx) changed no stored state — the tables a
client's requests write are dumped before and after and compared.

What a refused request may still write, and so is left out of the comparison: the audit log and the
login throttle (a failed login is recorded by design), and a credential's `last_used_at` (authentication
succeeds before a bad body is refused). Bounded by RAW_FUZZ_EXAMPLES per operation (default 25).
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
import sqlalchemy as sa
from connexion.json_schema import resolve_refs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import routes
from tests.hostile import credentials, operation_id, operations
from tokensmith.models import Base

EXAMPLES = int(os.environ.get("RAW_FUZZ_EXAMPLES", "25"))
OPERATIONS = operations()
COMPARED_TABLES = [t for t in Base.metadata.sorted_tables if t.name not in ("audit_events", "login_throttle")]
IGNORED_COLUMNS = {"last_used_at"}

CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/json; charset=nope",
    "Application/JSON",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "text/plain",
    "application/problem+json",
    "*/*",
    "",
]
HOSTILE_VALUES = [b"[" * 5000 + b"]" * 5000, b"9" * 5000, b"-" + b"9" * 40, b"NaN", b"1e999", b'"\\ud800"']
HEADER_NAMES = ["Content-Type", "TOKEN", "Authorization", "Authtoken", "Accept", "X-Forwarded-For", "Cookie"]

# Header values: any byte a client can put on the wire (HTTP forbids CR, LF and NUL in a value).
header_bytes = st.binary(max_size=80).map(
    lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"").strip()
)
# Text includes unpaired surrogates (hypothesis leaves category Cs out unless asked): json.dumps writes
# them as `\\udXXX` escapes, as a hostile client would.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def bodies(draw: Any, field_names: list[str]) -> bytes:
    """Arbitrary bytes, or JSON over the operation's own field names (more likely to reach the handler),
    sometimes with bytes flipped or cut."""
    kind = draw(st.sampled_from(["bytes", "json", "mangled", "hostile"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "hostile":  # a value no layer behind validation can hold, in one of the operation's fields
        name = draw(st.sampled_from(field_names)) if field_names else "x"
        return b'{"%s": %s}' % (name.encode(), draw(st.sampled_from(HOSTILE_VALUES)))
    names = st.sampled_from(field_names) if field_names else st.text(max_size=12)
    body = json.dumps(draw(st.dictionaries(names, json_values, max_size=5))).encode()
    if kind == "mangled" and body:
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + draw(st.binary(max_size=8)) + body[at + draw(st.integers(0, 3)) :]
    return body


@st.composite
def requests(draw: Any, path: str, field_names: list[str], has_auth: bool) -> dict[str, Any]:
    segments = path.split("/")
    if draw(st.integers(0, 3)) == 0:  # a path segment replaced by arbitrary text
        index = draw(st.integers(1, len(segments) - 1))
        segments[index] = quote(draw(st.text(max_size=20)), safe="")
    query = quote_from_bytes(draw(st.binary(max_size=60)), safe="=&")
    headers = {name: draw(header_bytes) for name in draw(st.sets(st.sampled_from(HEADER_NAMES), max_size=4))}
    choice = draw(st.integers(0, 4))  # mostly JSON, so that bodies reach validation and the handlers
    if choice < 3:
        headers["Content-Type"] = b"application/json"
    elif choice == 3:
        headers["Content-Type"] = draw(st.sampled_from(CONTENT_TYPES)).encode()
    return {
        "url": "/".join(segments) + (f"?{query}" if query else ""),
        "headers": headers,
        "content": draw(bodies(field_names)),
        "authenticated": has_auth and draw(st.integers(0, 3)) > 0,
    }


def dump(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every compared table's rows (in key order), without the columns a refusal may still touch."""
    with engine.connect() as conn:
        found = {}
        for table in COMPARED_TABLES:
            columns = [c for c in table.columns if c.name not in IGNORED_COLUMNS]
            rows = conn.execute(sa.select(*columns).order_by(*table.primary_key.columns)).all()
            found[table.name] = [tuple(row) for row in rows]
        return found


def _field_names(stem: str, operation: dict[str, Any]) -> list[str]:
    """Every property name the operation's request body schema mentions (refs resolved)."""
    resolved = resolve_refs({**routes.spec(stem), "x-operation": copy.deepcopy(operation)})["x-operation"]
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                found.update(node["properties"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(resolved.get("requestBody", {}))
    return sorted(found)


@pytest.mark.parametrize("row", OPERATIONS, ids=operation_id)
def test_raw_bytes_never_get_a_5xx_and_a_refusal_changes_nothing(app, client, make_user, row):
    stem, base, method, path, operation = row
    auth = credentials(client, make_user)[base]
    engine = app.core.db.engine
    names = _field_names(stem, operation)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests(path, names, bool(auth)))
    def run(request: dict[str, Any]) -> None:
        headers = {**(auth if request["authenticated"] else {}), **request["headers"]}
        before = dump(engine)
        response = client.request(method, request["url"], headers=headers, content=request["content"])
        assert response.status_code < 500, (request, response.status_code, response.text[:500])
        if 400 <= response.status_code < 500:
            assert dump(engine) == before, (request, response.status_code, response.text[:300])

    run()
