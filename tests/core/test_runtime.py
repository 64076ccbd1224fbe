"""Runtime settings: one registry, the same refusals for the CLI and the API."""

from datetime import timedelta

import pytest

from tokensmith import runtime
from tokensmith.errors import InvalidValue


@pytest.mark.parametrize("raw", ["0", "-3", "ten", "1.5", "", "99999999"])
def test_nonsensical_lifespans_are_refused(raw):
    spec = runtime.spec_for(".authentication.token.refresh_token_lifespan")
    with pytest.raises(InvalidValue):
        runtime.parse_value(spec, raw)


@pytest.mark.parametrize("raw,expected", [("True", True), ("false", False), ("1", True), ("off", False)])
def test_flags_take_true_or_false(raw, expected):
    assert runtime.parse_value(runtime.spec_for(".feature_flags.enable_swagger"), raw) is expected


def test_flag_refuses_other_words():
    with pytest.raises(InvalidValue):
        runtime.parse_value(runtime.spec_for(".feature_flags.enable_swagger"), "maybe")


def test_key_spellings_with_and_without_dot_and_alation_prefix_are_one_key():
    spellings = [
        ".feature_flags.enable_swagger",
        "feature_flags.enable_swagger",
        "alation.feature_flags.enable_swagger",
    ]
    assert {runtime.spec_for(s).key for s in spellings} == {".feature_flags.enable_swagger"}


def test_unknown_key_names_the_known_ones():
    with pytest.raises(runtime.UnknownSetting, match="Known settings"):
        runtime.spec_for(".authentication.token.nope")


def test_values_are_stored_and_read_back(core):
    with core.db.write() as session:
        runtime.set_value(session, ".authentication.token.access_token_lifespan", "2", core.clock.now())
    with core.db.read() as session:
        assert runtime.get_value(session, ".authentication.token.access_token_lifespan") == 2
        assert runtime.get_value(session, ".authentication.token.refresh_token_lifespan") == 60


def test_a_dialects_settings_are_registered_from_outside_the_core_and_twice_is_once():
    """The core knows its own keys; a dialect's come from the HTTP layer (`routes.register_settings`,
    run by the session fixture as by `create_app`), and registering the same definition again is a no-op."""
    assert ".feature_flags.enable_swagger" in {spec.key for spec in runtime.CORE_SETTINGS}
    assert ".authentication.token.refresh_token_lifespan" not in {spec.key for spec in runtime.CORE_SETTINGS}
    before = dict(runtime.REGISTRY)
    from handlers.routes import register_settings

    register_settings()
    assert before == runtime.REGISTRY


def test_a_key_registered_twice_with_different_definitions_is_refused():
    known = runtime.spec_for(".feature_flags.enable_swagger")
    clash = runtime.SettingSpec(known.key, bool, True, "another default")
    with pytest.raises(runtime.SettingClash):
        runtime.register([clash])
    assert runtime.spec_for(known.key) == known


@pytest.mark.parametrize(
    "key,expected",
    [
        (".authentication.token.refresh_token_lifespan", timedelta(days=60)),
        (".authentication.token.access_token_lifespan", timedelta(hours=24)),
        (".commandcenter.access_token_lifespan", timedelta(minutes=30)),
        (".authentication.throttle.window", timedelta(minutes=15)),
    ],
)
def test_a_lifespan_is_read_in_the_unit_its_setting_declares(core, key, expected):
    with core.db.read() as session:
        assert runtime.get_span(session, key) == expected


def test_a_setting_that_is_no_duration_is_not_read_as_one(core):
    with core.db.read() as session, pytest.raises(ValueError, match="not a duration"):
        runtime.get_span(session, ".authentication.throttle.max_failures_per_account")
