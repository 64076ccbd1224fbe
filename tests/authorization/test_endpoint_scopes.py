"""Endpoint scopes are paths matched at segment boundaries on normalised paths, not string prefixes."""

import pytest

from tests.commandcenter.helpers import BASE, bearer, create, created, session


def scoped(client, *endpoints):
    return bearer(created(client, session(client), tokenType=3, apiEndpoints=list(endpoints))["accessToken"])


def test_a_scope_is_not_a_string_prefix_of_a_longer_segment(client, make_user):
    """An admin's token limited to `/User` (Commvault's user API) reaches not the native `/users`."""
    make_user("root", role="admin")
    admin_scoped = bearer(
        created(client, session(client, username="root"), tokenType=3, apiEndpoints=["/User"])["accessToken"]
    )
    assert client.get("/api/v1/users", headers=admin_scoped).status_code == 403
    created_user = client.post(
        "/api/v1/users",
        headers=admin_scoped,
        json={"username": "sneaky", "password": "a long enough password", "role": "admin"},
    )
    assert created_user.status_code == 403


def test_a_one_letter_scope_opens_nothing_that_merely_starts_with_it(client, make_user):
    make_user("root", role="admin")
    root = session(client, username="root")
    token = bearer(created(client, root, tokenType=3, apiEndpoints=["/a"])["accessToken"])
    assert client.get("/api/v1/audit", headers=token).status_code == 403


@pytest.mark.parametrize("everything", ["/", "//", "/./", "/%2e/", "/a/.."])
def test_a_scope_covering_everything_is_refused(client, alice, everything):
    response = create(client, session(client), tokenType=3, apiEndpoints=[everything])
    assert response.status_code == 400 and response.json()["errorMessage"].startswith("apiEndpoints: ")


def test_a_scope_reaches_its_path_and_below_whatever_the_case(client, alice):
    token = scoped(client, "/v4/accesstoken")
    assert client.get(f"{BASE}/V4/AccessToken", headers=token).status_code == 200
    assert client.get(f"{BASE}/V4/AccessToken/", headers=token).status_code == 200
    assert client.post(f"{BASE}/WhoAmI", headers=token).status_code == 403


def test_a_relative_scope_reaches_only_its_own_dialect(client, alice):
    """`/whoami` on a commandcenter token is the commandcenter WhoAmI, not the native /api/v1/whoami."""
    token = scoped(client, "/whoami")
    assert client.post(f"{BASE}/WhoAmI", headers=token).status_code == 200
    assert client.get("/api/v1/whoami", headers=token).status_code == 403
