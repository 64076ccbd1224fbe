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
    machine = _schema(app).include(path_regex="^/V4/(AccessToken|User$)").as_state_machine()

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


def test_schema_valid_create_bodies_are_accepted_once_their_times_are_in_range(app, clock, session_headers):
    """Every rule of create a client can know from the token type is in the schema (one shape per
    type), so a positive body is accepted once the values the server parses or judges against its
    state are made valid: times (its clock) move to tomorrow, addresses and endpoint paths (parsed by
    `networks` and `policy.scope_entry`; the schema describes them, it has no pattern for them) become
    real ones, `userId` (anyone else's is 403) goes. A field of another type's shape still fails it."""
    operation = _schema(app)["/V4/AccessToken"]["POST"]
    tomorrow = int(clock.now().timestamp()) + 24 * 3600

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def run(case):
        for field in ("renewableUntilTimestamp", "tokenExpiryTimestamp"):
            if field in case.body:
                case.body[field] = tomorrow
        case.body.pop("userId", None)
        if case.body.get("allowedIPs"):
            case.body["allowedIPs"] = ["10.0.0.0/8"]
        if case.body.get("apiEndpoints"):
            case.body["apiEndpoints"] = ["/WhoAmI"]
        case.call_and_validate(headers=session_headers)

    run()
