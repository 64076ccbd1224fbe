"""Trusted proxies: `X-Forwarded-For` is believed only from a configured proxy, and the client is the
rightmost entry that is not one; a client cannot pick its own address to pass `allowedIPs` or to rotate
past the per-address throttle."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from handlers.app import create_app
from tests.commandcenter.helpers import bearer, created, session, who_am_i
from tests.integration.helpers import create_refresh
from tokensmith.networks import TrustedProxies, parse_networks

PROXIES = TrustedProxies(parse_networks("10.0.0.0/8, 192.0.2.10, 2001:db8::/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("198.51.100.7", ["203.0.113.9"], "198.51.100.7"),  # not a proxy: its header is ignored
        ("10.0.0.1", [], "10.0.0.1"),  # a proxy's own request
        ("10.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["6.6.6.6, 203.0.113.9"], "203.0.113.9"),  # the client's own entry proves nothing
        ("10.0.0.1", ["6.6.6.6", "203.0.113.9"], "203.0.113.9"),  # several header lines, in order
        ("10.0.0.1", ["6.6.6.6, 203.0.113.9, 10.9.9.9"], "203.0.113.9"),  # through two proxies
        ("192.0.2.10", ["203.0.113.9, 192.0.2.10"], "203.0.113.9"),
        ("192.0.2.11", ["203.0.113.9"], "192.0.2.11"),  # one address, not its neighbour
        ("10.0.0.1", ["10.0.0.7"], "10.0.0.7"),  # nothing but proxies: the farthest one
        ("::ffff:10.0.0.1", ["203.0.113.9"], "203.0.113.9"),  # an IPv4 proxy seen on a dual-stack socket
        ("2001:db8::1", ["2a00:1450::1, 2001:db8::2"], "2a00:1450::1"),
        ("2001:db8::1", ["::ffff:203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["203.0.113.9:5100"], "203.0.113.9"),  # proxies that add the port
        ("10.0.0.1", ["[2a00:1450::1]:443"], "2a00:1450::1"),
        ("10.0.0.1", ["unknown"], "unknown"),  # what our proxy wrote, though not an address
        ("10.0.0.1", [""], "10.0.0.1"),
        (None, ["203.0.113.9"], None),
    ],
)
def test_the_client_is_the_rightmost_entry_that_is_not_a_trusted_proxy(peer, forwarded, client):
    assert PROXIES.client(peer, forwarded) == client


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards():
    assert TrustedProxies(()).client("10.0.0.1", ["203.0.113.9"]) == "10.0.0.1"


def test_proxy_lists_are_normalised_and_bad_entries_named():
    assert parse_networks(" 10.1.2.3/8,192.0.2.1,, 2001:DB8::/32 ,::ffff:192.0.2.2") == (
        "10.0.0.0/8",
        "192.0.2.1/32",
        "2001:db8::/32",
        "192.0.2.2/32",
    )
    with pytest.raises(ValueError, match="'proxy.example'"):
        parse_networks("10.0.0.1, proxy.example")


@pytest.fixture
def behind_proxy(settings, clock):
    """The app as it runs behind a proxy at 10.0.0.1, with that proxy trusted, and a client for it."""
    app = create_app(
        dataclasses.replace(settings, trusted_proxies=("10.0.0.0/8",)), clock=clock, migrate=False
    )
    yield app, TestClient(app, client=("10.0.0.1", 40000), raise_server_exceptions=False)
    app.core.db.dispose()


def test_a_client_behind_a_trusted_proxy_cannot_rotate_past_the_address_throttle(behind_proxy, make_user):
    _app, proxy = behind_proxy
    for i in range(20):  # each with a different made-up address on the left
        create_refresh(
            proxy,
            username=f"user{i}",
            password="wrong",
            headers={"X-Forwarded-For": f"6.6.6.{i}, 203.0.113.9"},
        )
    make_user("zoe")
    throttled = create_refresh(proxy, username="zoe", headers={"X-Forwarded-For": "6.6.6.99, 203.0.113.9"})
    assert throttled.status_code == 429
    elsewhere = create_refresh(proxy, username="zoe", headers={"X-Forwarded-For": "203.0.113.10"})
    assert elsewhere.status_code == 200  # another client behind the same proxy is not throttled


def test_a_client_cannot_forward_its_way_past_the_address_throttle(client, make_user):
    for i in range(20):
        create_refresh(
            client, username=f"user{i}", password="wrong", headers={"X-Forwarded-For": f"6.6.6.{i}"}
        )
    make_user("zoe")
    assert create_refresh(client, username="zoe", headers={"X-Forwarded-For": "6.6.6.99"}).status_code == 429


def test_allowed_ips_see_the_forwarded_client_only_through_a_trusted_proxy(app, client, alice, behind_proxy):
    token = created(client, session(client), allowedIPs=["203.0.113.0/24"])["accessToken"]
    _proxied_app, proxy = behind_proxy
    inside = {"X-Forwarded-For": "203.0.113.9", **bearer(token)}
    assert who_am_i(proxy, inside).status_code == 200
    spoofed = {"X-Forwarded-For": "203.0.113.9, 198.51.100.1", **bearer(token)}
    assert who_am_i(proxy, spoofed).status_code == 403
    direct = TestClient(app, client=("198.51.100.1", 40000))  # not a proxy: its header is ignored
    assert who_am_i(direct, inside).status_code == 403
