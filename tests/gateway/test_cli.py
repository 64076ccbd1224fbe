"""`tokensmith tenant workflows import <tenantExternalId> <file>`: JSON or YAML, all or nothing."""

import json
import uuid

import pytest
import yaml
from click.testing import CliRunner

from tests.gateway.conftest import BASE, EXAMPLES, triggered
from tokensmith.cli import main


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("TOKENSMITH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TOKENSMITH_SECRET_KEY", settings.secret_key.decode())

    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def identifiers(client, tenant_key):
    return [
        d["identifier"]
        for d in client.get(f"{BASE}/workflowdefinition", headers=tenant_key).json()["resultData"]
    ]


def one_workflow(**changes) -> dict:
    workflow = {
        "identifier": "greet",
        "name": "Greet",
        "description": "Says hello.",
        "inputParameters": {"parameters": [{"parameter": "who", "dataType": "TEXT", "required": True}]},
        "steps": [
            {"id": "hello", "name": "Say hello", "kind": "set", "values": {"greeting": "Hello ${who}"}}
        ],
    }
    workflow.update(changes)
    return workflow


def write(tmp_path, document, name="workflows.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document) if name.endswith(".json") else yaml.safe_dump(document))
    return str(path)


def test_importing_the_shipped_examples_makes_them_listable(cli, client, tenant, tenant_key):
    result = cli("tenant", "workflows", "import", tenant["tenantExternalId"], str(EXAMPLES))
    assert result.exit_code == 0
    assert result.output.strip() == (
        f"Imported 3 workflow definitions into tenant {tenant['tenantExternalId']}: "
        "sample_workflow, reset_user_password, provision_vm"
    )
    assert sorted(identifiers(client, tenant_key)) == [
        "provision_vm",
        "reset_user_password",
        "sample_workflow",
    ]


def test_a_json_file_with_input_parameters_as_json_text_imports_and_runs(
    cli, client, tenant, tenant_key, tmp_path
):
    workflow = one_workflow(inputParameters=json.dumps(one_workflow()["inputParameters"]))
    assert (
        cli(
            "tenant", "workflows", "import", tenant["tenantExternalId"], write(tmp_path, [workflow])
        ).exit_code
        == 0
    )
    trigger_id = triggered(client, tenant_key, "greet", who="world")
    run = client.get(f"{BASE}/workflowhistory/{trigger_id}", headers=tenant_key).json()["resultData"]
    assert run["status"] == "COMPLETED"


def test_reimporting_replaces_a_definition_by_identifier(cli, client, tenant, tenant_key, tmp_path):
    cli(
        "tenant",
        "workflows",
        "import",
        tenant["tenantExternalId"],
        write(tmp_path, {"workflows": [one_workflow()]}),
    )
    renamed = one_workflow(name="Greet warmly")
    cli("tenant", "workflows", "import", tenant["tenantExternalId"], write(tmp_path, [renamed], "again.yaml"))
    listed = client.get(f"{BASE}/workflowdefinition", headers=tenant_key).json()["resultData"]
    assert [(d["identifier"], d["name"]) for d in listed] == [("greet", "Greet warmly")]


INVALID_DEFINITIONS = [
    (one_workflow(identifier="has space"), "Identifier 'has space' must be"),
    (
        one_workflow(inputParameters={"parameters": [{"parameter": "who", "dataType": "COLOUR"}]}),
        "unknown data type 'colour'",
    ),
    (
        one_workflow(
            inputParameters={
                "parameters": [
                    {
                        "parameter": "who",
                        "dataType": "TEXT",
                        "validations": [{"constraintType": "MINIMUM", "enforcementValue": 3}],
                    }
                ]
            }
        ),
        "minimum does not apply to data type 'text'",
    ),
    (
        one_workflow(
            inputParameters={
                "parameters": [
                    {
                        "parameter": "who",
                        "dataType": "TEXT",
                        "validations": [{"constraintType": "PATTERN", "enforcementValue": "("}],
                    }
                ]
            }
        ),
        "the pattern does not compile",
    ),
    (one_workflow(steps=[{"id": "x", "kind": "teleport"}]), "unknown kind 'teleport'"),
    (
        one_workflow(steps=[{"id": "x", "kind": "set", "values": {"a": "${nobody}"}}]),
        "refers to nobody, which nothing defines before it",
    ),
    (
        one_workflow(steps=[{"id": "x", "kind": "compute", "op": "divide", "args": [1], "into": "y"}]),
        "divide takes 2 to 2 scalar args",
    ),
    (
        one_workflow(
            steps=[{"id": "x", "kind": "fail_if", "left": 1, "op": "==", "right": 1, "colour": "red"}]
        ),
        "unknown: colour",
    ),
    (one_workflow(steps=[]), "needs 1 to 100 steps"),
    (one_workflow(description="nul\x00"), "text may not contain NUL characters"),
]


def test_an_invalid_definition_is_refused_with_a_clear_message_and_nothing_is_imported(
    cli, client, tenant, tenant_key, tmp_path
):
    for workflow, message in INVALID_DEFINITIONS:
        document = [one_workflow(identifier="fine"), workflow]
        result = cli("tenant", "workflows", "import", tenant["tenantExternalId"], write(tmp_path, document))
        assert result.exit_code == 1 and message in result.output, (message, result.output)
    assert identifiers(client, tenant_key) == []


def test_duplicate_identifiers_in_one_document_are_refused(cli, tenant, tmp_path):
    path = write(tmp_path, [one_workflow(), one_workflow()])
    result = cli("tenant", "workflows", "import", tenant["tenantExternalId"], path)
    assert result.exit_code == 1 and "only once per document" in result.output


def test_an_unknown_or_malformed_tenant_is_refused(cli, tmp_path, settings):
    path = write(tmp_path, [one_workflow()])
    unknown = cli("tenant", "workflows", "import", str(uuid.uuid4()), path)
    assert unknown.exit_code == 1 and "No tenant has this external id." in unknown.output
    malformed = cli("tenant", "workflows", "import", "tenant1", path)
    assert malformed.exit_code == 1 and "must be a UUID" in malformed.output


def test_an_unreadable_document_is_refused(cli, tenant, tmp_path):
    for name, text in [("bad.json", "{nope"), ("bad.yaml", "a: [b"), ("list.yaml", "42")]:
        (tmp_path / name).write_text(text)
        result = cli("tenant", "workflows", "import", tenant["tenantExternalId"], str(tmp_path / name))
        assert result.exit_code == 1 and "Error:" in result.output, name


def test_user_create_with_the_superadmin_role_makes_a_gateway_superadmin(cli, client):
    result = CliRunner().invoke(
        main, ["user", "create", "boss", "--role", "superadmin"], input="boss password\n"
    )
    assert result.exit_code == 0, result.output
    response = client.post(f"{BASE}/auth/login", json={"username": "boss", "password": "boss password"})
    assert response.status_code == 200 and response.json()["resultData"]["tokenType"] == "Bearer"
