"""A commandcenter session on the native API: it authenticates, and using it there keeps it alive."""

from tests.commandcenter.helpers import session


def test_a_session_authenticates_the_native_api_and_its_use_there_slides_the_idle_expiry(
    client, alice, clock
):
    headers = session(client)
    for _ in range(3):
        clock.advance(minutes=20)  # each gap is inside the 30-minute idle timeout, the total is not
        assert client.get("/api/v1/whoami", headers=headers).status_code == 200
    clock.advance(minutes=31)
    assert client.get("/api/v1/whoami", headers=headers).status_code == 401
