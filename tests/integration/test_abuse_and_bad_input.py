"""Throttled password guessing, oversized and malformed bodies, wrong methods: clear 4xx, never a 500."""

from tests.conftest import PASSWORD
from tests.integration.helpers import BASE, create_refresh


def test_account_is_throttled_after_five_failures_with_retry_after(client, alice):
    replies = [create_refresh(client, password=f"wrong-{i}") for i in range(5)]
    assert [reply.status_code for reply in replies] == [401] * 5
    throttled = create_refresh(client)  # even the right password waits now
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "429000"
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60


def test_unknown_user_is_throttled_exactly_like_a_real_one(client, alice):
    for i in range(5):
        create_refresh(client, username="mallory", password=f"wrong-{i}")
    assert create_refresh(client, username="mallory").status_code == 429


def test_throttle_lifts_after_the_window(client, alice, clock):
    for i in range(5):
        create_refresh(client, password=f"wrong-{i}")
    clock.advance(minutes=15, seconds=1)
    assert create_refresh(client).status_code == 200


def test_client_address_is_throttled_across_accounts(client, make_user):
    for i in range(20):
        create_refresh(client, username=f"user{i}", password="wrong")
    make_user("zoe")
    assert create_refresh(client, username="zoe").status_code == 429


def test_a_success_clears_the_accounts_failures(client, alice):
    for i in range(4):
        create_refresh(client, password=f"wrong-{i}")
    assert create_refresh(client).status_code == 200
    for i in range(4):
        create_refresh(client, password=f"wrong-{i}")
    assert create_refresh(client).status_code == 200


def test_failed_logins_are_audited_without_the_password(client, alice, core):
    from tokensmith.models import AuditEvent

    create_refresh(client, password="hunter2-secret")
    with core.db.read() as session:
        events = session.query(AuditEvent).filter_by(action="login.failed").all()
    assert len(events) == 1 and events[0].target == f"user:{alice.id}"
    assert "hunter2-secret" not in repr(events[0].detail)


def test_oversized_body_is_413_in_the_dialects_format(client):
    response = client.post(
        f"{BASE}/createRefreshToken/",
        content=b"{" + b" " * 1_100_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413 and response.json()["code"] == "413000"


def test_invalid_utf8_is_a_400_not_a_500(client):
    response = client.post(
        f"{BASE}/validateAPIAccessToken/",
        content=b'{"user_id": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["code"] == "400000"


def test_malformed_json_is_a_parse_error(client):
    response = client.post(
        f"{BASE}/validateAPIAccessToken/",
        content=b'{"user_id": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["detail"].startswith("JSON parse error")


def test_json_that_is_not_an_object_is_a_field_error(client):
    response = client.post(f"{BASE}/validateAPIAccessToken/", json=[1, 2])
    assert response.status_code == 400 and "non_field_errors" in response.json()


def test_unsupported_content_type_is_415_in_the_dialects_format(client):
    response = client.post(
        f"{BASE}/validateAPIAccessToken/", content=b"token", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415 and response.json()["code"] == "415000"


def test_wrong_method_is_405_in_the_dialects_format(client):
    response = client.get(f"{BASE}/createRefreshToken/")
    assert response.status_code == 405 and response.json() == {
        "detail": "Method Not Allowed",
        "code": "405000",
    }


def test_unknown_path_is_404_in_the_dialects_format(client):
    response = client.post(f"{BASE}/createRefreshTokens/", json={})
    assert response.status_code == 404 and response.json()["code"] == "404000"


def test_json_with_charset_is_accepted(client, alice):
    response = client.post(
        f"{BASE}/createRefreshToken/",
        content=f'{{"username":"alice","password":"{PASSWORD}","name":"sdk"}}'.encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_a_file_where_text_belongs_is_a_field_error(client):
    response = client.post(
        f"{BASE}/createRefreshToken/",
        files={"username": ("u.txt", b"alice"), "password": (None, "x"), "name": (None, "n")},
    )
    assert response.status_code == 400 and response.json() == {"username": ["Expected text, not a file."]}


def test_double_slashes_in_the_path_are_collapsed(client, alice):
    response = client.post(
        "/integration/v1//createRefreshToken/", json={"username": "alice", "password": PASSWORD, "name": "x"}
    )
    assert response.status_code == 200


def test_nul_characters_never_reach_the_database(client, alice):
    """PostgreSQL cannot store NUL: a look-up with one matches nothing, a write with one is a field error."""
    unknown = client.post(
        f"{BASE}/createRefreshToken/", json={"username": "al\x00ice", "password": PASSWORD, "name": "n"}
    )
    refused = client.post(
        f"{BASE}/createRefreshToken/", data={"username": "alice", "password": PASSWORD, "name": "a\x00b"}
    )
    assert unknown.status_code == 401 and unknown.json()["code"] == "401000"
    assert refused.status_code == 400 and list(refused.json()) == ["name"]
    token = client.post(
        f"{BASE}/createRefreshToken/", json={"username": "alice", "password": PASSWORD, "name": "ok"}
    ).json()
    listing = client.get(
        "/api/v1/credentials?owner=a%00b&family=%00", headers={"TOKEN": access_for(client, token)}
    )
    assert listing.status_code == 200 and listing.json()["items"] == []


def access_for(client, refresh: dict) -> str:
    return client.post(
        f"{BASE}/createAPIAccessToken/",
        json={"refresh_token": refresh["refresh_token"], "user_id": refresh["user_id"]},
    ).json()["api_access_token"]


def test_405_lists_every_method_the_spec_documents_for_the_path(client):
    assert client.request("OPTIONS", "/api/v1/users").headers["Allow"] == "GET, POST"
    assert client.get(f"{BASE}/createRefreshToken/").headers["Allow"] == "POST"
