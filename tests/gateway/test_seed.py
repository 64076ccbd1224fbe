"""Replays of the seed's samples (Luma's Confluence pages, quoted in our wire reference, section 3).

The regenerate sample URI is `api/v1/platform/apiaccesskeys/generate?tenantExternalId=<uuid>`,
relative to the gateway's `/gateway` mount (the endpoint table gives the full path).
"""

import base64
import re
import uuid

from tests.gateway.conftest import BASE, bearer
from tokensmith import jobs

SEED_JWT_HEADER = "eyJhbGciOiJIUzUxMiJ9"  # base64url of {"alg":"HS512"}, as the seed's token begins

SEED_CREATE_TENANT = {
    "name": "test tenant1",
    "description": None,
    "subDomain": "tenant1",
    "tenantAdmin": {
        "username": "admin@tenant1.com",
        "email": "admin@tenant1.com",
        "firstName": "admin",
        "lastName": "tenant1",
        "password": "a real password, the seed masks it as *****",
    },
}


def raw_payload(token: str) -> str:
    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


def assert_seed_envelope(body: dict, status_line: str, clock) -> dict:
    assert list(body) == [
        "status",
        "statusCode",
        "statusLine",
        "errors",
        "resultData",
        "warnings",
        "timestamp",
        "reasonPhrase",
        "metaInfo",
    ]
    assert body["status"] == "Success"
    assert body["statusCode"] == 0
    assert body["statusLine"] == status_line
    assert body["errors"] is None
    assert body["warnings"] == []
    assert body["timestamp"] == int(clock.now().timestamp() * 1000) and len(str(body["timestamp"])) == 13
    assert body["reasonPhrase"] is None
    assert body["metaInfo"] is None
    return body["resultData"]


def assert_seed_tenant_token(result: dict, tenant_external_id: str | None = None) -> None:
    assert list(result) == ["tenantId", "tenantExternalId", "tenantAccessToken"]
    assert isinstance(result["tenantId"], int)
    assert str(uuid.UUID(result["tenantExternalId"])) == result["tenantExternalId"]
    if tenant_external_id:
        assert result["tenantExternalId"] == tenant_external_id
    header, _payload, _signature = result["tenantAccessToken"].split(".")
    assert header == SEED_JWT_HEADER
    payload = raw_payload(result["tenantAccessToken"])
    prefix = '{"tenantExternalId":"' + result["tenantExternalId"] + '","authToken":"'
    assert payload.startswith(prefix) and re.match(r"[A-Za-z0-9]{50}\",", payload[len(prefix) :])
    assert '"iss":"http://itas.serviceaide.com"' in payload and '"jti":' in payload and '"iat":' in payload
    assert '"exp"' not in payload


def test_the_seeds_create_tenant_sample(client, superadmin_token, clock):
    response = client.post(
        f"{BASE}/platform/tenants",
        json=SEED_CREATE_TENANT,
        headers={"Content-Type": "application/json", **bearer(superadmin_token)},
    )
    assert response.status_code == 200
    assert_seed_tenant_token(assert_seed_envelope(response.json(), "Successfully created the Tenant.", clock))


def test_the_seeds_regenerate_sample_request_uri(client, superadmin_token, tenant, clock):
    uri = f"/gateway/api/v1/platform/apiaccesskeys/generate?tenantExternalId={tenant['tenantExternalId']}"
    response = client.get(uri, headers={"Content-Type": "application/json", **bearer(superadmin_token)})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    result = assert_seed_envelope(response.json(), "Able to generate new access key successfully.", clock)
    assert_seed_tenant_token(result, tenant["tenantExternalId"])
    assert result["tenantId"] == tenant["tenantId"]


def test_the_seeds_workflow_samples(client, tenant, examples, clock):
    headers = {"Content-Type": "application/json", "itas-api-access-key": tenant["tenantAccessToken"]}
    listed = client.get(
        f"{BASE}/workflowdefinition?filter=name=='*password*'&orderBy=name asc&skip=0&top=10", headers=headers
    )
    result = assert_seed_envelope(listed.json(), "Successfully retrieved Workflow definition.", clock)
    assert [list(d) for d in result] == [["identifier", "name", "description", "inputParameters"]]
    body = {
        "workflowIdentifier": "sample_workflow",
        "variables": {"sample_workflow_input_parameter1": "sample_input_value1"},
        "initiatorContactId": 1,
        "initiatorApplicationId": -2,
        "initiationInfo": {"lumaChannelAccountId": "e54b080f-b306-4946-b9cc-4e0000000000"},
    }
    trigger_id = client.post(f"{BASE}/workflow/trigger", json=body, headers=headers).json()["resultData"][
        "triggerId"
    ]
    jobs.run_due(client.app.core)  # what the worker threads of `serve` do
    history = client.get(f"{BASE}/workflowhistory/{trigger_id}", headers=headers).json()
    run = assert_seed_envelope(history, "Successfully retrieved workflow history record.", clock)
    for field in (
        "initiatorContactId",
        "initiatorApplicationId",
        "inputParameters",
        "startTime",
        "endTime",
        "timeSpent",
        "status",
        "href",
        "id",
    ):
        assert field in run
    assert run["href"] == f"/api/v1/workflowHistory/{run['id']}"
    steps = client.get(
        f"{BASE}/workflowhistory/{trigger_id}/stephistory?filter=status==COMPLETED"
        "&orderBy=startTime asc&skip=0&top=10",
        headers=headers,
    ).json()
    records = assert_seed_envelope(steps, "Successfully retrieved workflow step history records.", clock)
    assert [record["activityName"] for record in records] == ["Echo the input", "Upper-case the input"]
