"""`tokensmith serve`'s uvicorn options and settings: each limit reaches uvicorn or our protocol, the
protocol checks at start that uvicorn is still what it was written against, and bad values are named."""

from __future__ import annotations

import pytest
import uvicorn
from click.testing import CliRunner
from uvicorn.importer import import_from_string
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from handlers import serving
from tokensmith.cli import main
from tokensmith.config import Settings, SettingsError

KEY = {"TOKENSMITH_SECRET_KEY": "k" * 32, "TOKENSMITH_DATABASE_URL": "sqlite:///:memory:"}


def test_every_limit_has_a_safe_default():
    settings = Settings.from_env(dict(KEY))
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.max_header_bytes == 16 * 1024 and settings.max_headers == 100
    assert settings.header_timeout == 10 and settings.body_timeout == 30
    assert settings.keep_alive_timeout == 5 and settings.max_connections == 1000
    assert settings.trusted_proxies == () and settings.metrics_token is None


def test_every_limit_is_read_from_its_variable():
    env = dict(
        KEY,
        TOKENSMITH_MAX_BODY_BYTES="2048",
        TOKENSMITH_MAX_HEADER_BYTES="4096",
        TOKENSMITH_MAX_HEADERS="20",
        TOKENSMITH_HEADER_TIMEOUT="2.5",
        TOKENSMITH_BODY_TIMEOUT="7",
        TOKENSMITH_KEEP_ALIVE_TIMEOUT="3",
        TOKENSMITH_MAX_CONNECTIONS="64",
    )
    settings = Settings.from_env(env)
    assert (settings.max_body_bytes, settings.max_header_bytes, settings.max_headers) == (2048, 4096, 20)
    assert (settings.header_timeout, settings.body_timeout, settings.keep_alive_timeout) == (2.5, 7, 3)
    options = serving.uvicorn_options(settings)
    assert options["http"] == serving.PROTOCOL and options["limit_concurrency"] == 64
    assert options["timeout_keep_alive"] == 3 and options["h11_max_incomplete_event_size"] == 4096
    assert serving.Limits.of(settings) == serving.Limits(4096, 20, 2.5, 7)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOKENSMITH_MAX_HEADER_BYTES", "lots"),
        ("TOKENSMITH_MAX_HEADERS", "0"),
        ("TOKENSMITH_MAX_CONNECTIONS", "-1"),
        ("TOKENSMITH_HEADER_TIMEOUT", "0"),
        ("TOKENSMITH_BODY_TIMEOUT", "nan"),
        ("TOKENSMITH_KEEP_ALIVE_TIMEOUT", "inf"),
        ("TOKENSMITH_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(dict(KEY, **{name: value}))


def test_the_protocol_class_is_importable_by_the_name_uvicorn_is_given():
    """A worker process is spawned and given the class by name, so it must import by that name."""
    assert import_from_string(serving.PROTOCOL) is serving.LimitedHttpToolsProtocol


def test_the_start_up_check_passes_on_the_installed_uvicorn():
    serving.check()


def test_the_start_up_check_fails_when_uvicorns_protocol_changes(monkeypatch):
    def on_header(self, name, value, extra):  # a parameter more than the protocol expects
        pass

    monkeypatch.setattr(HttpToolsProtocol, "on_header", on_header)
    with pytest.raises(RuntimeError, match="on_header"):
        serving.check()


def test_the_start_up_check_fails_when_the_probe_is_not_refused(monkeypatch):
    """A protocol whose callbacks are no longer called as expected (here: headers never counted)."""
    monkeypatch.setattr(serving.LimitedHttpToolsProtocol, "on_header", HttpToolsProtocol.on_header)
    with pytest.raises(RuntimeError, match="431"):
        serving.check()


def test_serve_refuses_to_start_without_its_limits(monkeypatch, tmp_path):
    def broken() -> None:
        raise RuntimeError("uvicorn changed")

    started = []
    monkeypatch.setattr(serving, "check", broken)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    monkeypatch.setenv("TOKENSMITH_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("TOKENSMITH_ADMIN_PASSWORD", "an-admin-password-long-enough")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0 and "uvicorn changed" in result.output
    assert started == []


def test_serve_passes_the_limits_to_uvicorn(monkeypatch, tmp_path):
    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    monkeypatch.setenv("TOKENSMITH_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("TOKENSMITH_ADMIN_PASSWORD", "an-admin-password-long-enough")
    monkeypatch.setenv("TOKENSMITH_MAX_CONNECTIONS", "77")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 0, result.output
    (options,) = started
    assert options["http"] == serving.PROTOCOL and options["limit_concurrency"] == 77


def test_the_old_forwarded_for_switch_is_a_clear_start_up_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TOKENSMITH_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("TOKENSMITH_TRUST_FORWARDED_FOR", "1")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("served"))
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0
    assert "TOKENSMITH_TRUSTED_PROXIES" in result.output and "Traceback" not in result.output
