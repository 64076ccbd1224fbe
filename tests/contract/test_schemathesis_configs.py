"""The schemathesis config files in `examples/schemathesis/` name what is in the specs.

Why: schemathesis drops, without a word, an `[[operations]]` entry that matches no operation and a body
binding whose path the operation's body does not have. A renamed operationId or body field would then
quietly turn off a check exception or stop a chain's first call from getting real values, and the
contract run (docs/contract-testing.md) would go on passing while reaching less. So: every operationId
an entry names exists in its spec, every `body.` binding resolves in the body of each operation the entry
applies to, and every value a bound dictionary holds is valid there.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.contract.specs import escape, load_spec, locate, pointer, schema_errors, spec_operations

CONFIGS = Path(__file__).resolve().parents[2] / "examples" / "schemathesis"
CONFIG_FILES = sorted(CONFIGS.glob("*.toml"))
COMBINATORS = ("allOf", "oneOf", "anyOf")


def test_there_is_a_config_file_per_fuzzed_spec() -> None:
    assert {path.stem for path in CONFIG_FILES} >= {"integration", "commandcenter", "gateway", "admin"}


def named_operation_ids(entry: dict[str, Any]) -> set[str]:
    """The operationIds an `[[operations]]` entry names, by list or by a `^(a|b|c)$` regex (the only
    regex form the config files use, so that each name can be checked)."""
    named = entry.get("include-operation-id", [])
    ids = {named} if isinstance(named, str) else set(named)
    if regex := entry.get("include-operation-id-regex"):
        match = re.fullmatch(r"\^\(([\w|]+)\)\$", regex)
        assert match, f"use the form ^(a|b)$, so each name can be checked: {regex}"
        ids |= set(match[1].split("|"))
    return ids


def body_schema_pointers(spec: dict[str, Any], operation: Any) -> list[str]:
    """JSON pointers of the JSON request body schema of an operation ([] when it takes none)."""
    if "requestBody" not in operation.definition:
        return []
    where = locate(spec, operation.location, "requestBody")
    content = pointer(spec, where).get("content", {})
    return [f"{where}/content/{escape(media)}/schema" for media in content if media.endswith("json")]


def leaves(spec: dict[str, Any], where: str, segments: list[str]) -> list[str]:
    """Pointers of the schemas `segments` (field names, `*` for any list item) lead to from `where`,
    through `$ref`s and every branch of allOf / oneOf / anyOf."""
    node = pointer(spec, where)
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return leaves(spec, node["$ref"], segments)
    if not segments:
        return [where]
    found = []
    for combinator in COMBINATORS:
        for index, _branch in enumerate(node.get(combinator, [])):
            found += leaves(spec, f"{where}/{combinator}/{index}", segments)
    head, rest = segments[0], segments[1:]
    if head == "*" and "items" in node:
        found += leaves(spec, f"{where}/items", rest)
    elif head in node.get("properties", {}):
        found += leaves(spec, f"{where}/properties/{escape(head)}", rest)
    elif head != "*" and isinstance(node.get("additionalProperties"), dict):
        found += leaves(spec, f"{where}/additionalProperties", rest)
    elif head != "*" and node.get("additionalProperties") is True and node.get("type") == "object":
        found.append(f"{where}/additionalProperties")  # any value: nothing more to check
    return found


def body_segments(key: str) -> list[str]:
    """`body.allowedIPs[*]` → ["allowedIPs", "*"]."""
    return [part for part in re.split(r"\.|\[(\*)\]", key.removeprefix("body.")) if part]


def dictionary_values(config: dict[str, Any], name: str) -> list[Any]:
    definition = config["dictionaries"][name]
    if "values" in definition:
        return definition["values"]
    text = (CONFIGS / definition["from-file"]).read_text()
    return [line.strip()[1:-1] for line in text.splitlines() if line.strip().startswith('"')]


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda path: path.name)
def test_every_operation_and_body_field_a_config_names_is_in_its_spec(path: Path) -> None:
    config = tomllib.loads(path.read_text())
    spec = load_spec(path.stem)
    operations = {operation.operation_id: operation for operation in spec_operations(path.stem, spec)}
    problems = []
    for entry in config.get("operations", []):
        ids = named_operation_ids(entry)
        problems += [f"no operation {operation_id}" for operation_id in sorted(ids - set(operations))]
        for key, binding in entry.get("parameters", {}).items():
            assert key.startswith("body."), f"{path.name}: only body bindings are checked here: {key}"
            for operation_id in sorted(ids & set(operations)):
                found = [
                    leaf
                    for body in body_schema_pointers(spec, operations[operation_id])
                    for leaf in leaves(spec, body, body_segments(key))
                ]
                if not found:
                    problems.append(f"{operation_id} has no body field {key}")
                    continue
                bound = isinstance(binding, dict)
                for value in dictionary_values(config, binding["dictionary"]) if bound else [binding]:
                    if all(schema_errors(spec, leaf, value, reading=False) for leaf in found):
                        problems.append(f"{operation_id}: {value!r} is not a valid {key}")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)
