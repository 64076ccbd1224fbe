"""The core's room: it imports neither the HTTP layer nor Connexion, and names no dialect.

Read from the source (every import statement, at any depth, and every line of text), so a lazy import
inside a function or a dialect's name in a string is caught as surely as a top-level one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "tokensmith"
FORBIDDEN_IMPORTS = ("handlers", "connexion", "starlette")
# Faces like handlers/ (the command line): they may import the HTTP layer, and speak of dialects.
FACES = re.compile(r"^(cli|cli_\w+|cli/.*)\.py$")
DIALECT_WORDS = re.compile(r"integration|commandcenter|gateway|alation|commvault|serviceaide|luma", re.I)
# Still naming a dialect, each for a reason given here; the list only ever shrinks.
DIALECT_WORDS_ALLOWED: set[str] = set()  # none: a dialect hands the core its names as values


def core_modules() -> list[Path]:
    return sorted(path for path in CORE.rglob("*.py") if "migrations" not in path.parts)


def relative(path: Path) -> str:
    return path.relative_to(CORE).as_posix()


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", core_modules(), ids=relative)
def test_the_core_imports_neither_the_http_layer_nor_connexion(path):
    if FACES.match(relative(path)):
        pytest.skip("a face of tokensmith, like handlers/")
    bad = sorted(name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN_IMPORTS)
    assert not bad, f"tokensmith/{relative(path)} imports {bad}"


@pytest.mark.parametrize("path", core_modules(), ids=relative)
def test_the_core_names_no_dialect(path):
    name = relative(path)
    if FACES.match(name) or name in DIALECT_WORDS_ALLOWED:
        pytest.skip("allowed to name a dialect (see DIALECT_WORDS_ALLOWED)")
    hits = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if DIALECT_WORDS.search(line)
    ]
    assert not hits, f"tokensmith/{name} names a dialect:\n" + "\n".join(hits)


def test_the_allow_list_names_only_modules_that_still_need_it():
    for name in DIALECT_WORDS_ALLOWED:
        if (CORE / name).is_file():
            assert DIALECT_WORDS.search((CORE / name).read_text()), f"{name} no longer needs its place"


def test_the_checks_can_fail():
    sample = CORE.parent / "handlers" / "security.py"
    assert {"handlers.context"} <= imported_modules(sample)
    assert DIALECT_WORDS.search(sample.read_text())
