"""Clients generated from our specs, driven against a real server: the specs must be usable as-is.

Why: API consumers generate clients from `openapi/*.yaml`. A spec that the generator cannot turn into
working code, or that lies about a reply (a missing field, a wrong type, an undeclared field, a wrong
status), breaks them even when the server is right. Each spec in `handlers.routes.DIALECTS` is turned
into a Python package by openapi-python-client once per test session, every generated module is
imported, and each dialect's main flow is driven through the generated functions and asserted on the
parsed model objects that they return.

Adding a dialect: its spec is generated and imported automatically; write its flow as one function
decorated with `@flow("<spec stem>")` in the "Flows" section below. Until then its flow test is skipped
with a message that says so.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest

from handlers import routes
from tests.conftest import PASSWORD
from tests.contract.demo_server import DemoServer, credential_headers
from tests.contract.specs import (
    STEMS_AND_BASES,
    SpecOperation,
    first_success,
    load_spec,
    media_examples,
    operations,
    request_body,
    spec_operations,
    spec_path,
    status_matches,
)
from tokensmith.models import User

PACKAGE_PREFIX = "tokensmith_generated_"
# No post-generation hooks: the generated code is imported, never read by people, so it need not be
# formatted, and the run must not depend on `ruff` being on PATH.
GENERATOR_CONFIG = "post_hooks: []\n"
_URL_IN_MODULE = re.compile(r'"method":\s*"(?P<method>\w+)",\s*"url":\s*f?"(?P<url>[^"]*)"')
_TEMPLATE_PARAM = re.compile(r"\{[^}]*\}")


def _path_key(method: str, path: str) -> tuple[str, str]:
    """(METHOD, path with every `{parameter}` blanked): parameter names are renamed by the generator."""
    return method.upper(), _TEMPLATE_PARAM.sub("{}", path)


@dataclass
class GeneratedClient:
    """One generated package, and its operation modules indexed by the spec's method and path."""

    stem: str
    package: ModuleType
    operations: dict[tuple[str, str], ModuleType] = field(default_factory=dict)

    @property
    def models(self) -> ModuleType:
        return importlib.import_module(f"{self.package.__name__}.models")

    def connect(
        self, base_url: str, token: str | None = None, header: str = "Authorization", prefix: str = ""
    ) -> Any:
        """The generated `Client`, or `AuthenticatedClient` sending `<header>: [<prefix> ]<token>`.

        `raise_on_unexpected_status`: a status the spec does not declare for the operation fails.
        """
        if token is None:
            return self.package.Client(base_url=base_url, raise_on_unexpected_status=True)
        return self.package.AuthenticatedClient(
            base_url=base_url,
            token=token,
            auth_header_name=header,
            prefix=prefix,
            raise_on_unexpected_status=True,
        )

    def call(self, operation: str, client: Any, **kwargs: Any) -> Any:
        """Call `"METHOD /path"` (as written in the spec) through its generated `sync_detailed`."""
        method, path = operation.split(" ", 1)
        module = self.operations.get(_path_key(method, path))
        assert module is not None, f"{self.stem}: no generated function for {operation}"
        return module.sync_detailed(client=client, **kwargs)


def _generate(stem: str, root: Path) -> GeneratedClient:
    """Run the generator on the spec into `root`, import every module of the result, index the operations.

    `--fail-on-warning`: the generator skips an operation it cannot handle and only warns; here that
    fails, with the generator's own output.
    """
    package_name = f"{PACKAGE_PREFIX}{stem}"
    config = root / "generator-config.yaml"
    config.write_text(GENERATOR_CONFIG)
    command = [
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        str(spec_path(stem)),
        "--output-path",
        str(root / package_name),
        "--meta",
        "none",
        "--config",
        str(config),
        "--fail-on-warning",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not (root / package_name / "__init__.py").is_file():
        pytest.fail(
            f"openapi-python-client could not generate a client from openapi/{stem}.yaml "
            f"(exit {result.returncode}):\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    package = importlib.import_module(package_name)
    generated = GeneratedClient(stem=stem, package=package)
    broken = []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
        try:
            module = importlib.import_module(info.name)
        except Exception as exc:  # the generator wrote code that does not even import
            broken.append(f"{info.name.removeprefix(package_name + '.')}: {exc!r}")
            continue
        if ".api." in info.name and hasattr(module, "sync_detailed"):
            source = Path(module.__file__ or "").read_text()
            match = _URL_IN_MODULE.search(source)
            assert match, f"cannot find the method and URL in generated module {info.name}"
            generated.operations[_path_key(match["method"], match["url"])] = module
    if broken:
        pytest.fail(
            f"openapi/{stem}.yaml: generated modules that fail to import:\n  - " + "\n  - ".join(broken),
            pytrace=False,
        )
    return generated


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], GeneratedClient]]:
    """`generated_client(stem)`: the spec's client, generated at most once per test session (per worker)."""
    root = tmp_path_factory.mktemp("generated_clients")
    made: dict[str, GeneratedClient] = {}
    failed: dict[str, BaseException] = {}

    def get(stem: str) -> GeneratedClient:
        if stem in failed:  # report a failed generation again, without running the generator again
            raise failed[stem]
        if stem not in made:
            try:
                made[stem] = _generate(stem, root)
            except BaseException as exc:
                failed[stem] = exc
                raise
        return made[stem]

    yield get
    if str(root) in sys.path:
        sys.path.remove(str(root))
    for name in [name for name in sys.modules if name.startswith(PACKAGE_PREFIX)]:
        del sys.modules[name]


# --- helpers the flows share -------------------------------------------------------------------


def expect(response: Any, status: int, model: type) -> Any:
    """The parsed reply, after checking that it is what the spec promised, field for field.

    The generated parser is lenient: it drops fields it does not know and keeps a value of the wrong
    type as it came. So besides the status and the model class, the parsed object turned back into JSON
    must have the very shape of the raw reply (a field the server sends and the spec does not declare,
    or the reverse, is a lie in the spec), and every field must hold a value of its declared type.
    """
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.content[:2000]!r}"
    )
    parsed = response.parsed
    assert isinstance(parsed, model), f"expected a {model.__name__}, parsed {parsed!r}"
    raw = json.loads(response.content)
    assert _shape(parsed.to_dict()) == _shape(raw), (
        f"the {model.__name__} model does not cover the reply exactly:\n"
        f"  reply:  {raw!r}\n  parsed: {parsed.to_dict()!r}"
    )
    _check_types(parsed, model.__name__)
    return parsed


def _shape(value: Any) -> Any:
    """The keys of every object, recursively; scalars reduce to None (their types are checked apart)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return None


def _check_types(obj: Any, where: str) -> None:
    """Every attribute of a generated (attrs) model holds a value of its annotated type, recursively."""
    cls = type(obj)
    module = sys.modules[cls.__module__]
    package = cls.__module__.rsplit(".models", 1)[0]
    namespace = {
        **vars(importlib.import_module(f"{package}.types")),
        **vars(importlib.import_module(f"{package}.models")),
    }
    hints = typing.get_type_hints(cls, globalns=vars(module), localns=namespace)
    for attribute in attrs.fields(cls):
        value = getattr(obj, attribute.name)
        hint = hints[attribute.name]
        assert _matches(value, hint), f"{where}.{attribute.name} = {value!r} is not a {hint}"
        for item in value if isinstance(value, list) else [value]:
            if attrs.has(type(item)):
                _check_types(item, f"{where}.{attribute.name}")


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None) or hint is None:
        return value is None
    if origin is list:
        (item_hint,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_matches(item, item_hint) for item in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, origin or hint)


def assert_recent(moment: datetime, now: datetime) -> None:
    assert moment.tzinfo is not None, f"{moment!r} has no time zone"
    assert abs(moment - now) < timedelta(minutes=5), f"{moment!r} is not close to {now!r}"


@dataclass
class FlowContext:
    """What a flow gets: the running server, a user with a known password, and every generated client."""

    server: str
    user: User
    password: str
    client: Callable[[str], GeneratedClient]
    bases: dict[str, str]
    make_user: Callable[..., User]  # conftest's factory: make_user(name, role=...), password PASSWORD

    def url(self, stem: str) -> str:
        """The base URL of a dialect on the running server, e.g. `http://127.0.0.1:PORT/integration/v1`."""
        return self.server + self.bases[stem]

    def integration_access_token(self) -> str:
        """An integration API access token for `user`, made over plain HTTP (setup for other dialects)."""
        with httpx.Client(base_url=self.url("integration"), timeout=10) as http:
            refresh = http.post(
                "/createRefreshToken/",
                json={"username": self.user.username, "password": self.password, "name": "setup"},
            )
            assert refresh.status_code == 200, refresh.text
            access = http.post(
                "/createAPIAccessToken/",
                json={"refresh_token": refresh.json()["refresh_token"], "user_id": self.user.id},
            )
            assert access.status_code == 200, access.text
            return access.json()["api_access_token"]


FLOWS: dict[str, Callable[[FlowContext], None]] = {}


def flow(stem: str) -> Callable[[Callable[[FlowContext], None]], Callable[[FlowContext], None]]:
    """Register a dialect's main flow: `@flow("commandcenter")` above a function taking a FlowContext."""

    def register(function: Callable[[FlowContext], None]) -> Callable[[FlowContext], None]:
        FLOWS[stem] = function
        return function

    return register


# --- Flows: one function per dialect; a new dialect adds its own here -----------------------------


@flow("integration")
def integration_flow(ctx: FlowContext) -> None:
    """Alation's token lifecycle, then the access token used on the admin API's `whoami`.

    createRefreshToken → createAPIAccessToken → validateAPIAccessToken (ACTIVE) → whoami (TOKEN header)
    → revokeAPIAccessTokens → validateAPIAccessToken (REVOKED) → whoami refused (401).
    """
    api = ctx.client("integration")
    m = api.models
    anonymous = api.connect(ctx.url("integration"))
    now = datetime.now(UTC)

    refresh = expect(
        api.call(
            "POST /createRefreshToken/",
            anonymous,
            body=m.CreateRefreshTokenRequest(
                username=ctx.user.username, password=ctx.password, name="generated-client"
            ),
        ),
        200,
        m.RefreshToken,
    )
    assert refresh.refresh_token.startswith("tsr_") and refresh.user_id == ctx.user.id
    assert refresh.name == "generated-client" and refresh.token_status == m.TokenStatus.ACTIVE
    assert refresh.last_used_at is None
    assert_recent(refresh.created_at, now)
    assert refresh.token_expires_at > refresh.created_at

    token_body = m.RefreshTokenRequest(refresh_token=refresh.refresh_token, user_id=ctx.user.id)
    access = expect(
        api.call("POST /createAPIAccessToken/", anonymous, body=token_body), 200, m.APIAccessToken
    )
    assert access.api_access_token.startswith("tsa_") and access.user_id == ctx.user.id
    assert access.token_status == m.TokenStatus.ACTIVE
    assert_recent(access.created_at, now)

    # user_id as a string of digits, as Alation's SDK sends it: the spec's anyOf must generate for it too.
    check = m.AccessTokenRequest(api_access_token=access.api_access_token, user_id=str(ctx.user.id))
    validated = expect(
        api.call("POST /validateAPIAccessToken/", anonymous, body=check), 200, m.APIAccessToken
    )
    assert validated.token_status == m.TokenStatus.ACTIVE
    assert validated.api_access_token == access.api_access_token

    admin = ctx.client("admin")
    as_owner = admin.connect(ctx.url("admin"), token=access.api_access_token, header="TOKEN")
    me = expect(admin.call("GET /whoami", as_owner), 200, admin.models.WhoAmI)
    assert me.user_id == ctx.user.id and me.username == ctx.user.username
    assert access.api_access_token.startswith(me.token.public_id)
    assert me.token.kind == "access" and me.token.dialect == "integration"

    revoked = api.call("POST /revokeAPIAccessTokens/", anonymous, body=token_body)
    assert revoked.status_code == 200, revoked.content
    assert "generated-client" in revoked.parsed.detail

    after = expect(api.call("POST /validateAPIAccessToken/", anonymous, body=check), 200, m.APIAccessToken)
    assert after.token_status == m.TokenStatus.REVOKED

    refused = expect(admin.call("GET /whoami", as_owner), 401, admin.models.Problem)
    assert refused.status == 401

    unknown = m.AccessTokenRequest(api_access_token="tsa_not-a-real-token", user_id=ctx.user.id)
    error = expect(api.call("POST /validateAPIAccessToken/", anonymous, body=unknown), 401, m.Error)
    assert error.code == "401000"


@flow("admin")
def admin_flow(ctx: FlowContext) -> None:
    """The native API as an automation client uses it: who am I with a token, refused without a good one."""
    admin = ctx.client("admin")
    m = admin.models
    token = ctx.integration_access_token()

    me = expect(
        admin.call("GET /whoami", admin.connect(ctx.url("admin"), token=token, header="TOKEN")), 200, m.WhoAmI
    )
    assert me.user_id == ctx.user.id and me.username == ctx.user.username
    assert me.role == "user" and token.startswith(me.token.public_id)

    for bad in ("tsa_not-a-real-token", token + "x"):
        refused = expect(
            admin.call("GET /whoami", admin.connect(ctx.url("admin"), token=bad, header="TOKEN")),
            401,
            m.Problem,
        )
        assert refused.status == 401 and refused.title
    anonymous = expect(admin.call("GET /whoami", admin.connect(ctx.url("admin"))), 401, m.Problem)
    assert anonymous.status == 401


@flow("commandcenter")
def commandcenter_flow(ctx: FlowContext) -> None:
    """What cvpysdk does: Login → create a V4 access token → list it → use it → renew → delete → Logout.

    The old access token stops working on renewal, the renewed one on deletion, the session on logout.
    """
    cc = ctx.client("commandcenter")
    m = cc.models
    url = ctx.url("commandcenter")
    password = base64.b64encode(ctx.password.encode()).decode()
    login = expect(
        cc.call(
            "POST /Login", cc.connect(url), body=m.LoginRequest(username=ctx.user.username, password=password)
        ),
        200,
        m.LoginSucceeded,
    )
    assert login.token.startswith("QSDK tss_") and login.user_name == ctx.user.username
    session = cc.connect(url, token=login.token, header="Authtoken")

    created = expect(
        cc.call(
            "POST /V4/AccessToken",
            session,
            body=m.CreateRenewableAccessToken(
                token_name="generated-client", token_type=m.RenewableTokenTypeType0.ALL
            ),
        ),
        200,
        m.CreatedAccessToken,
    )
    info = created.token_info
    assert info.token_name == "generated-client" and info.user_id == ctx.user.id
    assert info.token_type == m.TokenType.ALL and info.access_token and info.refresh_token
    assert info.token_expiry_timestamp > datetime.now(UTC).timestamp()

    listed = expect(cc.call("GET /V4/AccessToken", session), 200, m.AccessTokenList)
    assert [token.access_token_id for token in listed.tokens] == [info.access_token_id]
    assert "tsa_" not in json.dumps(listed.to_dict()), "a listing must never show a secret"

    with_token = cc.connect(url, token=info.access_token, header="Authorization", prefix="Bearer")
    me = expect(cc.call("GET /WhoAmI", with_token), 200, m.WhoAmI)
    assert me.user.user_id == ctx.user.id and me.user.user_name == ctx.user.username

    renewed = expect(
        cc.call(
            "POST /V4/AccessToken/Renew",
            cc.connect(url),
            body=m.RenewAccessTokenRequest(access_token=info.access_token, refresh_token=info.refresh_token),
        ),
        200,
        m.RenewedAccessToken,
    )
    assert renewed.access_token_id == info.access_token_id
    assert renewed.access_token != info.access_token and renewed.refresh_token != info.refresh_token
    expect(cc.call("GET /WhoAmI", with_token), 401, m.Unauthorized)

    deleted = expect(
        cc.call("DELETE /V4/AccessToken/{accessTokenId}", session, access_token_id=info.access_token_id),
        200,
        m.Ok,
    )
    assert deleted.error_code == 0
    renewed_client = cc.connect(url, token=renewed.access_token, header="Authorization", prefix="Bearer")
    expect(cc.call("GET /WhoAmI", renewed_client), 401, m.Unauthorized)

    assert cc.call("POST /Logout", session).status_code == 200
    expect(cc.call("GET /V4/AccessToken", session), 401, m.Unauthorized)


@flow("gateway")
def gateway_flow(ctx: FlowContext) -> None:
    """A Luma superadmin's day: log in → create a tenant → the tenant's key works → regenerate → the old
    key is refused at once and the new one works."""
    gw = ctx.client("gateway")
    m = gw.models
    url = ctx.url("gateway")
    ctx.make_user("gateway-root", role="superadmin")
    login = expect(
        gw.call(
            "POST /auth/login",
            gw.connect(url),
            body=m.LoginRequest(username="gateway-root", password=ctx.password),
        ),
        200,
        m.LoginReply,
    )
    assert login.result_data.access_token == login.result_data.token
    superadmin = gw.connect(
        url, token=login.result_data.access_token, header="Authorization", prefix="Bearer"
    )

    admin = m.CreateTenantRequestTenantAdmin(username="boss@acme.example", password=ctx.password)
    created = expect(
        gw.call(
            "POST /platform/tenants",
            superadmin,
            body=m.CreateTenantRequest(name="Acme", sub_domain="acme", tenant_admin=admin),
        ),
        200,
        m.TenantTokenReply,
    )
    tenant = created.result_data
    assert tenant.tenant_access_token.count(".") == 2, "the tenant access token is a JWT"

    listed = expect(gw.call("GET /platform/tenants", superadmin), 200, m.TenantListReply)
    assert [t.tenant_external_id for t in listed.result_data] == [tenant.tenant_external_id]

    old_key = gw.connect(url, token=tenant.tenant_access_token, header="itas-api-access-key")
    definitions = expect(gw.call("GET /workflowdefinition", old_key), 200, m.DefinitionListReply)
    assert definitions.result_data == []

    regenerated = expect(
        gw.call(
            "GET /platform/apiaccesskeys/generate", superadmin, tenant_external_id=tenant.tenant_external_id
        ),
        200,
        m.TenantTokenReply,
    )
    new_key = regenerated.result_data.tenant_access_token
    assert new_key != tenant.tenant_access_token
    refused = expect(gw.call("GET /workflowdefinition", old_key), 401, m.FailureEnvelope)
    assert refused.status_code == 401 and refused.errors[0].code == "UNAUTHORIZED"
    new_client = gw.connect(url, token=new_key, header="itas-api-access-key")
    expect(gw.call("GET /workflowdefinition", new_client), 200, m.DefinitionListReply)


@flow("ops")
def ops_flow(ctx: FlowContext) -> None:
    """What a load balancer and a Prometheus scraper call: healthz, readyz, metrics (plain text)."""
    ops = ctx.client("ops")
    m = ops.models
    anonymous = ops.connect(ctx.url("ops"))
    assert expect(ops.call("GET /healthz", anonymous), 200, m.Health).status == "ok"
    assert expect(ops.call("GET /readyz", anonymous), 200, m.Health).status == "ready"
    metrics = ops.call("GET /metrics", anonymous)
    assert metrics.status_code == 200 and isinstance(metrics.parsed, str)
    assert "# TYPE" in metrics.parsed


# --- the tests ---------------------------------------------------------------------------------

STEM_IDS = [stem for stem, _base in STEMS_AND_BASES]
# Every spec a testing-mode server serves: the testing API's spec is generated and round-tripped too.
ALL_STEMS = [stem for stem, _base, _wire in routes.mounted(testing=True)]
ALL_BASES = {stem: base for stem, base, _wire in routes.mounted(testing=True)}
# What an operationId that names a Python path left in generated names (`handlers_integration_…`).
INTERNAL_PREFIXES = ("handlers_", "handlers.")


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_every_spec_generates_a_client_with_a_working_function_per_operation(generated_client, stem):
    client = generated_client(stem)
    declared = {_path_key(op.method, op.path): str(op) for op in operations(stem)}
    missing = sorted(text for key, text in declared.items() if key not in client.operations)
    assert not missing, f"openapi/{stem}.yaml: the generated client has no function for {missing}"
    extra = sorted(set(client.operations) - set(declared))
    assert not extra, f"generated functions for operations the spec lacks: {extra}"
    for module in client.operations.values():
        for name in ("sync", "sync_detailed", "asyncio", "asyncio_detailed"):
            assert callable(getattr(module, name, None)), f"{module.__name__} lacks {name}()"


@pytest.mark.parametrize("stem", STEM_IDS)
def test_main_flow_through_the_generated_client_against_a_live_server(
    request: pytest.FixtureRequest, generated_client, make_user, stem
):
    run = FLOWS.get(stem)
    if run is None:
        pytest.skip(
            f"no generated-client flow for {stem}.yaml yet (its client does generate and import): "
            f'add one with @flow("{stem}") in tests/contract/test_generated_clients.py'
        )
    generated_client(stem)  # generation failures are reported first, with the generator's output
    user = make_user("contract-tester")
    server = request.getfixturevalue("live_server")
    run(
        FlowContext(
            server=server,
            user=user,
            password=PASSWORD,
            client=generated_client,
            bases=dict(STEMS_AND_BASES),
            make_user=make_user,
        )
    )


# --- names and body kinds, over every operation of every spec -------------------------------------------


def internal_names(client: GeneratedClient) -> list[str]:
    """Module, function and class names of the generated package that carry an internal prefix."""
    found = []
    package = client.package
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        relative = info.name.removeprefix(f"{package.__name__}.")
        if any(part.lower().startswith(INTERNAL_PREFIXES) for part in relative.split(".")):
            found.append(f"module {relative}")
        module = sys.modules[info.name]
        for name, member in vars(module).items():
            defined_here = getattr(member, "__module__", None) == info.name
            if defined_here and callable(member) and name.lower().startswith(INTERNAL_PREFIXES):
                found.append(f"{relative}.{name}")
    return found


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_no_generated_name_carries_an_internal_prefix(generated_client, stem):
    client = generated_client(stem)
    found = internal_names(client)
    assert not found, f"openapi/{stem}.yaml: generated names with an internal prefix: {found}"


# How the generated `_get_kwargs` sends each body kind, and the media types of the spec behind each.
_BODY_BRANCH = re.compile(
    r"isinstance\(body,\s*(?P<cls>(?!Unset\b)\w+)\):\s*\n"
    r"(?:\s*if not isinstance\(body, Unset\):\s*\n)?"  # an optional body's guard
    r'\s*_kwargs\["(?P<kind>json|data|files)"\]'
)
_BODY_ONLY = re.compile(r'_kwargs\["(?P<kind>json|data|files)"\]')
_BODY_RAW = re.compile(r'_kwargs\["(?P<kind>json|data|files)"\]\s*=\s*body\s*$', re.MULTILINE)
RAW = "(sent as it is)"  # a body kind whose value the generated code sends without a model
KIND_MEDIA_TYPES = {
    "json": lambda media_type: "json" in media_type,
    "data": lambda media_type: media_type == "application/x-www-form-urlencoded",
    "files": lambda media_type: media_type == "multipart/form-data",
}


def body_kinds(module: ModuleType) -> dict[str, list[str]]:
    """kind (`json`, `data` = form, `files` = multipart) → the model class names the generated function
    sends that way (empty: whatever its `body` parameter is annotated with; several: an `anyOf`)."""
    source = Path(module.__file__ or "").read_text()
    branches: dict[str, list[str]] = {}
    for match in _BODY_BRANCH.finditer(source):
        branches.setdefault(match["kind"], []).append(match["cls"])
    for match in _BODY_RAW.finditer(source):
        branches.setdefault(match["kind"], []).append(RAW)
    for match in _BODY_ONLY.finditer(source):
        branches.setdefault(match["kind"], [])
    return branches


def coerce(value: Any, annotation: Any, models: ModuleType) -> Any:
    """A spec example (JSON data) as the generated code wants it: a model, an enum member, a datetime."""
    import enum

    if isinstance(annotation, str):
        annotation = getattr(models, annotation, Any)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(annotation):
            if arm is type(None) or getattr(arm, "__name__", "") == "Unset":
                continue
            try:
                return coerce(value, arm, models)
            except (TypeError, ValueError, KeyError, AttributeError):
                continue
        raise TypeError(f"{value!r} fits none of {annotation}")
    if isinstance(annotation, type):
        if attrs.has(annotation) and isinstance(value, dict):
            return annotation.from_dict(value)
        if issubclass(annotation, enum.Enum):
            return annotation(value)
        if issubclass(annotation, datetime) and isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        if annotation in (int, float, str, bool) and not isinstance(value, annotation):
            raise TypeError(f"{value!r} is not a {annotation.__name__}")
    return value


def python_name(name: str) -> str:
    """The argument name the generator gives a parameter (its own snake case; a keyword or a builtin
    it reserves, such as `format`, gets `_`)."""
    from openapi_python_client.strings import fix_reserved_words, snake_case

    return fix_reserved_words(snake_case(name))


def round_trip(
    server: DemoServer, client: GeneratedClient, spec: dict[str, Any], operation: SpecOperation
) -> list[str]:
    """Send each body kind the generated function offers, built from the spec's example for that media
    type, on a freshly reset demo server; what went wrong (empty: each answered its first 2xx)."""
    module = client.operations.get(_path_key(operation.method, operation.path))
    if module is None:
        return ["no generated function"]
    content = (request_body(spec, operation) or {}).get("content") or {}
    signature = inspect.signature(module.sync_detailed)
    hints = typing.get_type_hints(module.sync_detailed, globalns=vars(module))
    problems = []
    arguments: dict[str, Any] = {}
    for parameter in operation.parameters:
        examples = media_examples(spec, parameter)
        name = python_name(parameter["name"])
        if not examples:
            problems.append(f"{parameter.get('in')} parameter {parameter['name']!r}: no example")
        elif name not in signature.parameters:
            problems.append(f"parameter {parameter['name']!r}: the function has no argument {name!r}")
        else:
            arguments[name] = coerce(examples[0][1], hints.get(name, Any), client.models)
    if problems:
        return problems
    for kind, class_names in body_kinds(module).items():
        media_type = next((m for m in content if KIND_MEDIA_TYPES[kind](m.split(";")[0].lower())), None)
        if media_type is None:
            problems.append(f"{kind} body: the generated code sends one, the spec lists no such media type")
            continue
        examples = media_examples(spec, content[media_type])
        if not examples:
            problems.append(f"{media_type}: no example to send")
            continue
        annotation: Any = hints.get("body", Any)
        if class_names:  # the models the generated code sends this way, as one union
            arms = tuple(Any if name == RAW else getattr(client.models, name) for name in class_names)
            annotation = typing.Union[arms]  # noqa: UP007 (built at run time)
        try:
            body = coerce(examples[0][1], annotation, client.models)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            problems.append(f"{media_type}: the example does not make a {annotation}: {exc!r}")
            continue
        server.reset()
        generated = client.package.Client(
            base_url=server.url + ALL_BASES[client.stem],
            headers=credential_headers(server, spec, operation),
            raise_on_unexpected_status=False,
        )
        try:
            reply = module.sync_detailed(client=generated, body=body, **arguments)
        except Exception as exc:  # the generated code itself failed (encoding, parsing)
            problems.append(f"{media_type} ({kind}): the generated function raised {exc!r}")
            continue
        expected = first_success(spec, operation)
        if expected is None or not status_matches(expected, reply.status_code):
            problems.append(
                f"{media_type} ({kind}): expected {expected}, got {reply.status_code} {reply.content[:300]!r}"
            )
    return problems


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_every_body_kind_the_client_offers_round_trips_on_the_demo_server(
    generated_client, demo_server: DemoServer, stem: str
):
    """JSON, form and multipart bodies, as the generated client encodes them, from the spec's examples."""
    client = generated_client(stem)
    spec = load_spec(stem)
    problems = []
    for operation in spec_operations(stem, spec):
        if request_body(spec, operation) is None:
            continue
        problems += [f"{operation.test_id}: {p}" for p in round_trip(demo_server, client, spec, operation)]
    assert demo_server.alive(), demo_server.log_tail()
    assert not problems, f"openapi/{stem}.yaml through its generated client:\n  - " + "\n  - ".join(problems)
