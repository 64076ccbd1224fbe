"""Path normalisation for endpoint scopes: one normal form, or none."""

import pytest

from tokensmith import paths


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("/app/orders", "/app/orders"),
        ("/App//Orders/", "/app/orders"),
        ("/app/./orders", "/app/orders"),
        ("/app/x/../orders", "/app/orders"),
        ("/app/orders%2F..%2Fadmin", "/app/admin"),
        ("/app/orders%252F..%252Fadmin", "/app/admin"),
        ("/app/orders/..;/admin", "/app/admin"),
        ("\\app\\orders", "/app/orders"),
        ("/app;v=1/orders", "/app/orders"),
    ],
)
def test_every_spelling_of_a_path_has_one_normal_form(raw, normal):
    assert paths.normalise(raw) == normal


@pytest.mark.parametrize("raw", ["/..", "/a/../..", "/a%00b", "/a\nb", "/a?b", "/%ff", 42, "/" + "a/" * 2000])
def test_a_path_no_server_would_route_has_no_normal_form(raw):
    assert paths.normalise(raw) is None


def test_within_is_segment_by_segment():
    assert paths.within(("app", "orders", "1"), ("app", "orders"))
    assert paths.within(("app", "orders"), ("app", "orders"))
    assert not paths.within(("app", "ordersx"), ("app", "orders"))
    assert not paths.within(("app",), ("app", "orders"))
