"""schemathesis over every operation of every spec in `openapi/`, in-process, on a fresh database.

All default checks, with positive and negative data, plus stateful runs that follow each spec's
`links` (createRefreshToken → createAPIAccessToken → validateAPIAccessToken, …). Bounded so the suite
stays fast: FUZZ_EXAMPLES examples per operation and mode (default 25); raise it to dig deeper.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from handlers import routes
from handlers.routes import DIALECTS
from tests.conftest import PASSWORD
from tests.gateway.fuzzing import TRIGGER_SEED, gateway_headers, new_tenant_seed
from tests.integration.helpers import access_token, refresh_token

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "10"))
OPENAPI = routes.OPENAPI_DIR
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)


def _operations() -> list[tuple[str, str, str, str]]:
    """(spec stem, base path, method, path) for every operation, read from the spec files."""
    found = []
    for stem, base, _wire in DIALECTS:
        static = schemathesis.openapi.from_path(OPENAPI / f"{stem}.yaml")
        for result in static.get_all_operations():
            operation = result.ok()
            found.append((stem, base, operation.method.upper(), operation.path))
    return found


OPERATIONS = _operations()


@pytest.fixture
def valid_headers(request, client, alice, core) -> dict[str, str]:
    """Credentials that let the fuzzer past authentication, so it reaches the handlers too."""
    access = access_token(client, refresh_token(client))
    extra = DIALECT_HEADERS.get(request.node.callspec.params.get("stem"))
    return {"TOKEN": access["api_access_token"], **(extra(client, core, PASSWORD) if extra else {})}


# Operations that set a new password (passwords.check_new) or name an account (usernames.checked):
# both refuse some schema-valid values (common passwords, mixed-script or invisible characters).
SETS_A_PASSWORD = {
    ("gateway", "POST", "/platform/tenants"),
    ("admin", "POST", "/users"),
    ("admin", "PUT", "/users/{user_id}/password"),
}

# Operations that take a URL (webhooks.urls.check_url): a host, no user name, no fragment, a port in
# range are rules no JSON Schema pattern states, so schema-valid data may get a clear 400 there.
CHECKS_A_URL = {("admin", "POST", "/webhooks")}

# Dialects whose operations need credentials of their own: (client, core, password) -> headers.
DIALECT_HEADERS = {"gateway": gateway_headers}


def _live_schema(app, base: str):
    return schemathesis.openapi.from_asgi(f"{base}/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(
    "stem,base,method,path",
    OPERATIONS,
    ids=[f"{stem}:{method} {path}" for stem, _b, method, path in OPERATIONS],
)
def test_operation_conforms_to_its_spec(app, valid_headers, stem, base, method, path, mode):
    schema = _live_schema(app, base)
    operation = schema[path][method]
    raw = operation.definition.raw
    if mode is GenerationMode.NEGATIVE and not _has_inputs(schema, path, raw):
        pytest.skip("the operation takes no parameters and no body: there is no input to make invalid")
    uses_auth = bool(raw.get("security", schema.raw_schema.get("security")))
    # A new password or username must also pass rules no JSON Schema states (the common-password list,
    # mixed scripts: passwords.py, usernames.py), so schema-valid data may get a clear 400 there.
    excluded = (
        [positive_data_acceptance]
        if mode is GenerationMode.POSITIVE and (stem, method, path) in SETS_A_PASSWORD | CHECKS_A_URL
        else []
    )

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        headers = valid_headers if uses_auth and mode is GenerationMode.POSITIVE else None
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    run()


@pytest.mark.parametrize("stem,base", [(stem, base) for stem, base, _w in DIALECTS], ids=lambda v: v)
def test_stateful_sequences_follow_the_links(app, valid_headers, stem, base):
    schema = _live_schema(app, base)
    if not any(link for result in schema.get_all_operations() for link in _links(result.ok())):
        pytest.skip(f"{stem}.yaml declares no links, so there is no sequence to follow")
    machine = schema.as_state_machine()
    seeds = SEEDS.get(stem, {})
    calls = []

    class Machine(machine):  # type: ignore[misc,valid-type]
        def before_call(self, case):
            seed = seeds.get((case.operation.method.upper(), case.operation.path))
            positive = case.meta is None or case.meta.generation.mode.is_positive  # never repair invalid data
            if seed is not None and positive and isinstance(case.body, dict):
                case.body.update(seed() if callable(seed) else seed)

        def get_call_kwargs(self, case):
            # A case that breaks its headers on purpose (e.g. leaves out Authorization) keeps them broken.
            broken = case.meta is not None and any(
                location.is_in_header and component.mode.is_negative
                for location, component in case.meta.components.items()
            )
            return {} if broken else {"headers": valid_headers}

        def after_call(self, response, case):
            super().after_call(response, case)  # stateful checks look earlier responses up in its recorder
            calls.append((case.operation.path, response.status_code))

        def validate_response(self, response, case, *args, **kwargs):
            try:
                super().validate_response(response, case, *args, **kwargs)
            except Exception as exc:
                failures.append(exc)
                raise

    failures: list[Exception] = []
    try:
        Machine.run(
            settings=settings(
                max_examples=STATEFUL_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                stateful_step_count=6,
            )
        )
    except FlakyStrategyDefinition:
        # Link transitions draw from true randomness and the server makes new ids on every run, so a
        # replay may draw differently; schemathesis's own runner counts that as no failure. A failed
        # check is never hidden this way.
        if failures:
            raise
    followed = [path for path, status in calls if status < 300]
    assert len(set(followed)) > 1, f"no sequence got past its first call: {calls[:20]}"


def _has_inputs(schema, path: str, raw: dict) -> bool:
    path_item = schema.raw_schema["paths"][path]
    return bool(raw.get("parameters") or path_item.get("parameters") or raw.get("requestBody"))


def _links(operation) -> list:
    return [
        link
        for response in operation.definition.raw.get("responses", {}).values()
        if isinstance(response, dict)
        for link in response.get("links", {})
    ]


# Where a sequence must start from real credentials (random ones would never get past the first call),
# the body fields to put into that first call (or a function making them afresh for each call, where a
# replayed value would collide with what the first run created). A new dialect adds its entry point here.
SEEDS: dict[str, dict[tuple[str, str], Any]] = {
    "integration": {("POST", "/createRefreshToken/"): {"username": "alice", "password": PASSWORD}},
    "gateway": {("POST", "/workflow/trigger"): TRIGGER_SEED, ("POST", "/platform/tenants"): new_tenant_seed},
    # A URL that passes the rules its schema cannot state (CHECKS_A_URL), so the links are followed.
    "admin": {("POST", "/webhooks"): {"url": "https://hooks.example.com/fuzz"}},
}
