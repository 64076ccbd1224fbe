"""Who may call each operation, as the specs declare it (`x-tokensmith-access`), read once per process.

`check_declarations()` runs when the app is built and refuses to build it when an operation of any
spec declares nothing, declares something `policy.Declaration` cannot read, or contradicts its own
`security`: an operation open to `anonymous` takes no credential (`security: []` or none at all), and
every other operation requires one. The decision itself is `tokensmith.policy`'s; this module only
finds the declaration of the operation a request was routed to, and prints the "who may call what"
table that docs/security.md carries (`tokensmith access-table`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from handlers import routes
from tokensmith.policy import CALLER_KINDS, SESSION, Declaration

EXTENSION = "x-tokensmith-access"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class UndeclaredAccess(RuntimeError):
    """A spec has an operation whose callers are not (properly) declared: the app is not built."""


def operations(
    dialects: list[tuple[str, str, Any]] | None = None,
) -> list[tuple[str, str, str, str, dict[str, Any], Any]]:
    """(spec stem, base path, method, path, operation, effective security) of every operation of
    `dialects` (by default every always-mounted one: `routes.DIALECTS`)."""
    found = []
    for stem, base, _wire in routes.DIALECTS if dialects is None else dialects:
        spec = routes.spec(stem)
        for path, item in spec["paths"].items():
            for method in _METHODS:
                operation = item.get(method)
                if isinstance(operation, dict):
                    security = operation.get("security", spec.get("security"))
                    found.append((stem, base, method, path, operation, security))
    return found


@cache
def declarations() -> dict[tuple[str, str], Declaration]:
    """(base path, operationId) → its declaration. Raises `UndeclaredAccess` listing every fault."""
    return _declarations_of(None)


@cache
def _optional_declarations(stems: tuple[str, ...]) -> dict[tuple[str, str], Declaration]:
    return _declarations_of([row for row in routes.mounted(True) if row[0] in stems])


def _declarations_of(dialects: list[tuple[str, str, Any]] | None) -> dict[tuple[str, str], Declaration]:
    table: dict[tuple[str, str], Declaration] = {}
    faults = []
    for stem, base, method, path, operation, security in operations(dialects):
        where = f"{stem}.yaml {method.upper()} {path}"
        try:
            declaration = Declaration.parse(operation.get(EXTENSION))
        except ValueError as exc:
            faults.append(f"{where}: {exc}")
            continue
        takes_credential = bool(security) and any(bool(requirement) for requirement in security)
        if declaration.anonymous and takes_credential:
            faults.append(f"{where}: open to anonymous callers, yet its `security` asks for a credential")
        if not declaration.anonymous and not takes_credential:
            faults.append(f"{where}: admits only {sorted(declaration.callers)}, yet takes no credential")
        table[(base, operation.get("operationId", ""))] = declaration
    if faults:
        raise UndeclaredAccess(
            "Who may call these operations is not declared properly:\n" + "\n".join(faults)
        )
    return table


def check_declarations(dialects: list[tuple[str, str, Any]] | None = None) -> None:
    """Refuse to build an app serving an operation whose callers are not declared: every one of
    `routes.DIALECTS`, and the optional specs in `dialects` (the testing API) when it mounts them."""
    declarations()
    optional = tuple(sorted(row[0] for row in dialects or () if row not in routes.DIALECTS))
    if optional:
        _optional_declarations(optional)


def declaration_for(base_path: str, operation_id: str) -> Declaration:
    """The declaration of a routed operation. An operation the table lacks admits nobody."""
    found = declarations().get((base_path, operation_id))
    return found if found is not None else Declaration(frozenset({"nobody"}))


def describe(declaration: Declaration) -> str:
    """A declaration in words, for the table and for people."""
    if declaration.anonymous:
        return "anyone (no credential; one in the body is the operation's to judge)"
    words = []
    for kind in CALLER_KINDS:
        if kind in declaration.callers:
            words.append("a login session (any role)" if kind == SESSION else kind)
    text = ", ".join(words)
    if declaration.platform:
        text += " — of the whole server (an admin of a tenant may not)"
    return text


def table_markdown() -> str:
    """docs/security.md's "Who may call what": one row per operation, from the specs' declarations."""
    lines = ["| operation | who may call it |", "|---|---|"]
    for _stem, base, method, path, operation, _security in operations():
        declaration = declarations()[(base, operation.get("operationId", ""))]
        lines.append(f"| `{method.upper()} {base}{path}` | {describe(declaration)} |")
    return "\n".join(lines)
