"""The contract tests' shared server: one demo-seeded `tokensmith serve --testing` per test session
(per xdist worker), reset to the demo state by each test that changes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.demo_server import DemoServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "contract_cli: the docs' schemathesis commands against live servers (slow, minutes)"
    )


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """`tokensmith demo` on a fresh database, then `tokensmith serve --testing` with Swagger UI on."""
    server = DemoServer(tmp_path_factory.mktemp("demo-server"), testing=True)
    try:
        yield server
    finally:
        server.stop()
