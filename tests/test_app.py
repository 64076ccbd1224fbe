"""The app factory: every spec mounted, migrations on serve, Swagger UI behind its flag, the spec URL."""

import glob
import inspect
import re
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from starlette.testclient import TestClient

from handlers import resolution, routes
from handlers.app import create_app
from handlers.routes import DIALECTS
from tests.conftest import PASSWORD
from tokensmith import runtime
from tokensmith.config import Settings
from tokensmith.db import Database

SPECS = sorted(glob.glob(str(routes.OPENAPI_DIR / "*.yaml")))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: Path(p).stem)
def test_spec_is_valid_openapi(path):
    spec, base = read_from_filename(path)
    validate(spec, base_uri=base)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: Path(p).stem)
def test_operation_ids_are_unique_within_each_spec(path):
    """Connexion keys an API's operations by operationId: a repeat silently routes to one function.
    Across specs a name may repeat (`whoAmI` is the admin API's and Commvault's): each is its own API."""
    seen: dict[str, str] = {}
    for route, item in yaml.safe_load(Path(path).read_text())["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                where = f"{method.upper()} {route}"
                assert operation["operationId"] not in seen, (
                    f"{where} repeats {seen.get(operation['operationId'])}"
                )
                seen[operation["operationId"]] = where


@pytest.mark.parametrize("path", SPECS, ids=lambda p: Path(p).stem)
def test_operation_ids_are_wire_names_that_resolve_to_handlers(path):
    """What generated clients and Swagger UI show: a camelCase name, no module path; and every one
    reaches a coroutine function through the resolver."""
    spec = yaml.safe_load(Path(path).read_text())
    for operation_id, dotted in resolution.handler_names(spec).items():
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*", operation_id), operation_id
        assert inspect.iscoroutinefunction(resolution.function(dotted)), dotted


def test_every_spec_file_is_mounted():
    """Every spec is always mounted, but the testing API's, which only testing mode mounts."""
    assert {Path(p).stem for p in SPECS} == {stem for stem, _base, _wire in routes.mounted(True)}
    assert {stem for stem, _base, _wire in routes.mounted(False)} == {stem for stem, _b, _w in DIALECTS}


def test_serving_an_empty_database_migrates_it(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}", secret_key=b"s" * 32)
    app = create_app(settings)
    assert Database(settings.database_url).is_current()
    with TestClient(app) as client:
        assert (
            client.post(
                "/integration/v1/validateAPIAccessToken/", json={"api_access_token": "x", "user_id": 1}
            ).status_code
            == 401
        )


def test_swagger_ui_is_off_by_default_and_toggles_without_restart(client, core):
    assert client.get("/integration/v1/ui/").status_code == 404
    with core.db.write() as session:
        runtime.set_value(session, ".feature_flags.enable_swagger", "True", core.clock.now())
    for _stem, base, _wire in DIALECTS:
        page = client.get(f"{base}/ui/")
        assert page.status_code == 200 and "swagger" in page.text.lower()
    with core.db.write() as session:
        runtime.set_value(session, ".feature_flags.enable_swagger", "False", core.clock.now())
    assert client.get("/integration/v1/ui/").status_code == 404


def test_spec_json_is_served_whatever_the_flag(client):
    response = client.get("/openapi/api_authentication/")
    assert response.status_code == 200
    assert "/createRefreshToken/" in response.json()["paths"]
    for _stem, base, _wire in DIALECTS:
        assert client.get(f"{base}/openapi.json").status_code == 200


def test_a_second_app_instance_sees_a_revoke_at_once(settings, clock, client, alice):
    from tests.integration.helpers import access_token, call, refresh_token

    refresh = refresh_token(client)
    access = access_token(client, refresh)
    other = create_app(settings, clock=clock, migrate=False)
    with TestClient(other) as second:
        assert second.get("/api/v1/whoami", headers={"TOKEN": access["api_access_token"]}).status_code == 200
        call(client, "revokeAPIAccessTokens", refresh_token=refresh["refresh_token"], user_id=alice.id)
        assert second.get("/api/v1/whoami", headers={"TOKEN": access["api_access_token"]}).status_code == 401
    other.core.db.dispose()


def test_the_settings_schema_of_the_admin_spec_is_the_runtime_registry():
    """The PATCH /settings body lists every key with the registry's own type and bounds, and no other."""
    spec = yaml.safe_load((Path(SPECS[0]).parent / "admin.yaml").read_text())
    body = spec["paths"]["/settings"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    declared = body["properties"]
    assert set(declared) == set(runtime.REGISTRY)
    for key, setting in runtime.REGISTRY.items():
        schema = declared[key]
        expected_type = {int: "integer", bool: "boolean", str: "string"}[setting.type]
        assert schema["type"] == expected_type, key
        if setting.type is int:
            assert (schema["minimum"], schema["maximum"]) == (setting.minimum, setting.maximum), key
        if setting.type is str:
            assert (schema["minLength"], schema["maxLength"]) == (setting.minimum, setting.maximum), key


@pytest.mark.parametrize("direct_dispatch", [True, False], ids=["direct", "connexion"])
def test_a_json_media_type_in_any_case_is_read_as_json(settings, clock, make_user, direct_dispatch):
    app = create_app(settings, clock=clock, migrate=False, direct_dispatch=direct_dispatch)
    make_user("carol")
    with TestClient(app, raise_server_exceptions=False) as client:
        body = b'{"username": "carol", "password": "%s", "name": "x"}' % PASSWORD.encode()
        for content_type in ("Application/JSON", "APPLICATION/JSON; charset=UTF-8"):
            response = client.post(
                "/integration/v1/createRefreshToken/", content=body, headers={"Content-Type": content_type}
            )
            assert response.status_code == 200, response.text
    app.core.db.dispose()


@pytest.mark.parametrize("path", SPECS, ids=lambda p: Path(p).stem)
def test_spec_reads_the_same_with_any_yaml_parser(path):
    """The server reads its specs with libyaml, which lets `{type: about:blank}` pass; the pure-Python
    parser (what generators and other tools use) refuses it. A spec must mean the same to both."""
    text = Path(path).read_text()
    assert yaml.load(text, Loader=yaml.SafeLoader) == routes.spec(Path(path).stem)  # noqa: S506
