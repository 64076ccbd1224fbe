"""How an access credential reads as its owner's entry (tokensmith.scoped_tokens.chains.entry_of)."""

from datetime import UTC, datetime, timedelta

from tokensmith.models import Credential
from tokensmith.scoped_tokens.chains import entry_of
from tokensmith.scoped_tokens.model import ALL, CUSTOM, Entry

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_renewed_links_entry_is_its_chains_first_id_with_the_chains_restrictions():
    current = Credential(
        id=15,
        user_id=7,
        name="deploy",
        expires_at=NOW + timedelta(hours=1),
        renewable_until=NOW + timedelta(days=90),
        scopes=["/v4/Jobs"],
        attributes={"entry": 11, "type": "custom", "allowed_ips": ["10.0.0.0/8"]},
    )
    created, refresh_expiry = NOW - timedelta(days=2), NOW + timedelta(days=14)
    assert entry_of(
        current, created_at=created, refresh_expires_at=refresh_expiry, last_used_at=NOW
    ) == Entry(
        id=11,
        user_id=7,
        name="deploy",
        type=CUSTOM,
        created_at=created,
        expires_at=NOW + timedelta(hours=1),
        renewable_until=NOW + timedelta(days=90),
        refresh_expires_at=refresh_expiry,
        last_used_at=NOW,
        endpoints=("/v4/Jobs",),
        allowed_ips=("10.0.0.0/8",),
    )


def test_a_credential_without_entry_attributes_is_its_own_entry_of_the_default_type():
    bare = Credential(
        id=3, user_id=7, name=None, expires_at=None, renewable_until=None, scopes=None, attributes=None
    )
    entry = entry_of(bare, created_at=NOW, refresh_expires_at=None, last_used_at=None)
    assert (entry.id, entry.name, entry.type, entry.endpoints, entry.allowed_ips) == (3, "", ALL, (), ())


def test_an_unknown_stored_type_reads_as_the_default_rather_than_failing_a_listing():
    odd = Credential(id=3, user_id=7, name="x", scopes=[], attributes={"type": "retired"})
    assert entry_of(odd, created_at=NOW, refresh_expires_at=None, last_used_at=None).type is ALL
