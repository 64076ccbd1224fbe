"""schemathesis over every operation of `openapi/commandcenter.yaml`, authenticated with a real session.

The project-wide `tests/test_fuzz.py` sends an integration `TOKEN`, which this dialect does not read, so
there every protected operation stops at 401. Here the fuzzer logs in first and sends `Authtoken: QSDK …`,
so generated data reaches the handlers, and the stateful run follows the spec's links
create → list → update → renew → delete with real tokens.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from handlers import routes
from tests.commandcenter.helpers import BASE, session
from tokensmith.models import AuditEvent

SPEC = routes.spec_path("commandcenter")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "15"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)
# Create and edit refuse schema-valid times relative to *now* (in the past, beyond a type's bound) and
# endpoints tokensmith does not serve: 400s a schema cannot rule out, so "valid data accepted" cannot hold.
TIME_DEPENDENT = {("POST", "/V4/AccessToken"), ("PUT", "/V4/AccessToken/{accessTokenId}")}


def _operations() -> list[tuple[str, str]]:
    """The canonical operations. The alias paths (`/v4/…`, `/V4/AccessToken/`) share their schemas and
    handlers; `tests/test_fuzz.py` fuzzes every path, aliases included."""
    static = schemathesis.openapi.from_path(SPEC)
    found = [(r.ok().method.upper(), r.ok().path) for r in static.get_all_operations()]
    return [(m, p) for m, p in found if not p.startswith("/v4/") and p != "/V4/AccessToken/"]


OPERATIONS = _operations()


# tokensmith refuses NUL anywhere in a request (no database stores it); the spec's own strings say so,
# and this keeps the fuzzer from putting one into the extra properties bodies may carry.
CONFIG = SchemathesisConfig.from_dict({"generation": {"allow-x00": False}})


def _schema(app):
    return schemathesis.openapi.from_asgi(f"{BASE}/openapi.json", app, config=CONFIG)


@pytest.fixture
def session_headers(client, alice) -> dict[str, str]:
    return session(client)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_the_spec_with_a_session(app, session_headers, method, path, mode):
    operation = _schema(app)[path][method]
    if (
        mode is GenerationMode.NEGATIVE
        and not operation.definition.raw.get("parameters")
        and not (operation.definition.raw.get("requestBody") or operation.definition.raw.get("security"))
    ):
        pytest.skip("nothing to make invalid")
    excluded = [positive_data_acceptance] if (method, path) in TIME_DEPENDENT else []

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        case.call_and_validate(headers=session_headers, excluded_checks=excluded)

    run()


def test_stateful_create_list_update_renew_delete(app, core, session_headers):
    # The canonical token operations, plus the user list (schemathesis reads create's `userId` as a
    # reference to a user, and only roots an operation whose references something can produce).
    machine = _without_user_id(app).include(path_regex="^/V4/(AccessToken|User$)").as_state_machine()

    class Machine(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case):
            return {"headers": session_headers}

        def before_call(self, case):
            """Creates keep their generated name and type but only the fields a real client sends with
            them, so that tokens get made and the links have something to follow (the stateless run
            above fuzzes create's other fields)."""
            if (case.method.upper(), case.path) in TIME_DEPENDENT and case.method.upper() == "POST":
                body = case.body if isinstance(case.body, dict) else {}
                kept = {"tokenName": body.get("tokenName") or "fuzz", "tokenType": body.get("tokenType", 2)}
                if kept["tokenType"] in (3, "CUSTOM"):
                    kept["apiEndpoints"] = ["/V4/AccessToken"]
                case.body = kept

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            time_dependent = (case.method.upper(), case.path) in TIME_DEPENDENT
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=[positive_data_acceptance] if time_dependent else None,
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    Machine.run(
        settings=settings(
            # enough sequences that some create is always followed along a link (the choice of
            # transition is random), without letting the suite's run time depend on luck
            max_examples=max(STATEFUL_EXAMPLES, 40),
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            stateful_step_count=6,
        )
    )
    with core.db.read() as db:
        actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("scoped_token.%"))))
    # Tokens were made, and the links from them were followed with real values.
    assert "scoped_token.create" in actions
    assert actions & {"scoped_token.update", "scoped_token.renew", "scoped_token.delete"}


def _without_user_id(app):
    """The spec as served, less create's `userId`: schemathesis reads it as a reference to a resource
    no operation produces, and never starts a sequence from an operation with such a reference. The
    server takes only the caller's own id there (the stateless run above fuzzes it)."""
    import copy

    from handlers import routes

    spec = copy.deepcopy(routes.spec("commandcenter"))
    for name in ("CreateRenewableAccessToken", "CreateCustomAccessToken", "CreateFixedLifetimeAccessToken"):
        spec["components"]["schemas"][name]["properties"].pop("userId", None)
    loaded = schemathesis.openapi.from_dict(spec, config=CONFIG)
    loaded.app = app
    return loaded


def _made_valid(body: dict, tomorrow: int) -> dict:
    """`body` with the values the server parses or judges against its state made valid: times (its
    clock) move to tomorrow, addresses and endpoint paths (parsed by `networks` and
    `policy.scope_entry`; the schema describes their forms, no pattern states them) become real ones,
    `userId` (anyone else's is 403) goes."""
    for field in ("renewableUntilTimestamp", "tokenExpiryTimestamp"):
        if field in body:
            body[field] = tomorrow
    body.pop("userId", None)
    if body.get("allowedIPs"):
        body["allowedIPs"] = ["10.0.0.0/8"]
    if body.get("apiEndpoints"):
        body["apiEndpoints"] = ["/WhoAmI"]
    return body


def test_schema_valid_create_bodies_are_accepted_once_their_state_dependent_values_are_valid(
    app, clock, session_headers
):
    """Every rule of create that follows from the token type is in the schema (one shape per type),
    so a positive body is accepted once `_made_valid`. A field of another type's shape fails it."""
    operation = _schema(app)["/V4/AccessToken"]["POST"]
    tomorrow = int(clock.now().timestamp()) + 24 * 3600

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def run(case):
        _made_valid(case.body, tomorrow)
        case.call_and_validate(headers=session_headers)

    run()


# The type a token must have for an edit that names `tokenType` to be one the server can make: the same
# type (a renewable token never becomes a fixed-lifetime one, nor OneTouch's 14-day bound a 30-day
# MS_SCIM token's), and for an edit that keeps the type, ALL.
_SAME_TYPE = {0: 2, "DEFAULT": 2}


def test_schema_valid_edit_bodies_are_accepted_on_a_token_of_their_type(app, client, clock, session_headers):
    """Edit's shapes hold every rule that follows from the `tokenType` it names; the rest depends on
    the token edited. On a token of the body's own type (ALL when it names none; then the fields of
    other types go, as the token's type decides them), with `accessTokenId` the path's, a positive
    body is accepted once `_made_valid`."""
    operation = _schema(app)["/V4/AccessToken/{accessTokenId}"]["PUT"]
    tomorrow = int(clock.now().timestamp()) + 24 * 3600

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def run(case):
        body = _made_valid(case.body, tomorrow)
        kind = body.get("tokenType")
        token = {"tokenType": _SAME_TYPE.get(kind, kind if kind is not None else 2)}
        if token["tokenType"] in (3, "CUSTOM"):
            token["apiEndpoints"] = ["/WhoAmI"]
        if kind is None:
            body.pop("tokenExpiryTimestamp", None)
            body.pop("apiEndpoints", None)
        made = client.post(
            f"{BASE}/V4/AccessToken", headers=session_headers, json={"tokenName": "e", **token}
        )
        assert made.status_code == 200, made.text
        entry = made.json()["tokenInfo"]["accessTokenId"]
        case.path_parameters["accessTokenId"] = entry
        if "accessTokenId" in body:
            body["accessTokenId"] = entry
        case.call_and_validate(headers=session_headers)

    run()
