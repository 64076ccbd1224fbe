"""Every reply of the gateway dialect is Luma's envelope: success, our own failures, and the spec
layer's failures (400, 404, 405, 415, 413) alike; never problem+json."""

from tests.gateway.conftest import BASE, bearer

ENVELOPE_KEYS = {
    "status",
    "statusCode",
    "statusLine",
    "errors",
    "resultData",
    "warnings",
    "timestamp",
    "reasonPhrase",
    "metaInfo",
}


def assert_failure(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["status"] == "Failure" and body["statusCode"] == status
    assert body["resultData"] is None and body["warnings"] == [] and body["metaInfo"] is None
    assert body["errors"] and body["statusLine"] == body["errors"][0]["message"]
    assert isinstance(body["timestamp"], int)
    if code:
        assert body["errors"][0]["code"] == code
    return body


def test_success_is_the_envelope_with_status_code_zero_and_the_clock_in_milliseconds(
    client, tenant_key, clock
):
    body = client.get(f"{BASE}/workflowdefinition", headers=tenant_key).json()
    assert set(body) == ENVELOPE_KEYS
    assert body["status"] == "Success" and body["statusCode"] == 0 and body["errors"] is None
    assert body["warnings"] == [] and body["reasonPhrase"] is None and body["metaInfo"] is None
    assert body["timestamp"] == int(clock.now().timestamp() * 1000)


def test_a_missing_token_is_a_401_envelope_naming_the_header(client):
    body = assert_failure(client.get(f"{BASE}/workflowdefinition"), 401, "UNAUTHORIZED")
    assert "itas-api-access-key" in body["statusLine"] and body["reasonPhrase"] == "Unauthorized"


def test_a_missing_superadmin_token_is_a_401_envelope_naming_bearer(client):
    body = assert_failure(client.get(f"{BASE}/platform/tenants"), 401, "UNAUTHORIZED")
    assert "superadmin" in body["statusLine"] and "Bearer" in body["statusLine"]


def test_a_schema_violation_is_a_400_envelope_with_one_error_per_field(client, superadmin_token):
    response = client.post(f"{BASE}/platform/tenants", json={"name": 1}, headers=bearer(superadmin_token))
    body = assert_failure(response, 400, "VALIDATION_ERROR")
    assert {error["field"] for error in body["errors"]} == {"name", "subDomain", "tenantAdmin"}
    assert body["reasonPhrase"] == "Bad Request"


def test_a_malformed_query_parameter_is_a_400_envelope_with_a_one_line_message(client, superadmin_token):
    response = client.get(
        f"{BASE}/platform/apiaccesskeys/generate",
        params={"tenantExternalId": "nope"},
        headers=bearer(superadmin_token),
    )
    body = assert_failure(response, 400, "BAD_REQUEST")
    assert (
        "\n" not in body["statusLine"]
        and "tenantExternalId" in body["statusLine"]
        and "nope" not in body["statusLine"]
    )


def test_unparsable_json_is_a_400_envelope(client):
    response = client.post(
        f"{BASE}/auth/login", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert_failure(response, 400)


def test_an_unknown_path_is_a_404_envelope(client):
    assert_failure(client.get(f"{BASE}/no/such/thing"), 404, "NOT_FOUND")


def test_a_wrong_method_is_a_405_envelope(client, tenant_key):
    assert_failure(client.delete(f"{BASE}/workflowdefinition", headers=tenant_key), 405, "METHOD_NOT_ALLOWED")


def test_a_wrong_content_type_is_a_415_envelope(client):
    response = client.post(
        f"{BASE}/auth/login", content=b"username=a", headers={"content-type": "text/plain"}
    )
    assert_failure(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_an_oversized_body_is_a_413_envelope(client, settings):
    response = client.post(
        f"{BASE}/auth/login",
        content=b"x" * (settings.max_body_bytes + 1),
        headers={"content-type": "application/json"},
    )
    assert_failure(response, 413)


def test_no_gateway_failure_is_problem_json(client):
    for path in ["/workflowdefinition", "/workflowhistory/1", "/platform/tenants", "/nope"]:
        assert client.get(BASE + path).headers["content-type"] == "application/json", path
