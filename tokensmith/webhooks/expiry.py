"""Expiry-driven events: `token.expiring` and `token.expired`, found by a scan that follows the core clock.

Nothing happens at the moment a token expires, so these events are found by looking: one periodic job
(`webhook.scan`, made when the first subscription asks for either event) runs every `SCAN_EVERY` by the
core clock, which in testing mode is the testing clock. Each run looks at the stretch of time since the
previous one (`WebhookScan.scanned_until`) and announces, in the same transaction that moves the mark on:

- `token.expired` for every live (unrevoked) token whose expiry fell in that stretch;
- `token.expiring` for every live token whose remaining life crossed a lead time
  (`.webhooks.expiring_lead_time_1` / `_2`, hours; 7 days and 1 day by default) in that stretch and that
  has not expired yet. A token born with less life than a lead time never crosses it, so short-lived
  access tokens do not announce "one week left".

Each event's job key is (event, credential, lead time), so a stretch looked at twice (a clock set back
in testing mode, a run repeated after a crash) announces nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from tokensmith import jobs, runtime
from tokensmith.core import Core
from tokensmith.models import Credential, WebhookScan
from tokensmith.webhooks import events

logger = logging.getLogger("tokensmith.webhooks")

SCAN_JOB = "webhook.scan"
SCAN_KEY = "webhook.scan"
SCAN_EVERY = timedelta(minutes=1)
SCANNED = (events.EXPIRING, events.EXPIRED)
LEAD_TIME_SETTINGS = (".webhooks.expiring_lead_time_1", ".webhooks.expiring_lead_time_2")
_MARK = 1


def ensure_scan(session: Any, now: datetime) -> None:
    """Start the scan if it is not running (idempotent: the job's key), looking from `now` on."""
    if session.get(WebhookScan, _MARK) is None:
        session.add(WebhookScan(id=_MARK, scanned_until=now))
        session.flush()
    jobs.enqueue(session, SCAN_JOB, {}, key=SCAN_KEY, now=now)


def lead_times(session: Any) -> list[int]:
    """The configured lead times in hours, each once, the ones turned off (0) left out."""
    return sorted({int(runtime.get_value(session, key)) for key in LEAD_TIME_SETTINGS} - {0}, reverse=True)


def scan(core: Core) -> int:
    """Look at the time since the last scan and announce what expired or crossed a lead time in it.
    Returns how many events were recorded."""
    now = core.clock.now()
    with core.db.write() as session:
        mark = session.scalar(select(WebhookScan).where(WebhookScan.id == _MARK).with_for_update())
        if mark is None:
            session.add(WebhookScan(id=_MARK, scanned_until=now))
            return 0
        since, mark.scanned_until = mark.scanned_until, now  # set back with the clock, too: keys dedupe
        if now <= since:
            return 0
        live = Credential.revoked_at.is_(None)
        announced = 0
        if events.wanted(session, events.EXPIRED):
            expired = list(
                session.scalars(
                    select(Credential.id).where(
                        live, Credential.expires_at > since, Credential.expires_at <= now
                    )
                )
            )
            events.announce_expired(session, now, expired)
            announced += len(expired)
        if events.wanted(session, events.EXPIRING):
            for hours in lead_times(session):
                lead = timedelta(hours=hours)
                candidates = session.execute(
                    select(Credential.id, Credential.created_at, Credential.expires_at).where(
                        live,
                        Credential.expires_at > now,
                        Credential.expires_at > since + lead,
                        Credential.expires_at <= now + lead,
                    )
                ).all()
                # born with at least `lead` to live (compared here: SQLite has no date arithmetic)
                crossing = [row.id for row in candidates if row.created_at <= row.expires_at - lead]
                events.announce_expiring(session, now, crossing, hours)
                announced += len(crossing)
        return announced


@jobs.handler(SCAN_JOB)
def run_scan(core: Core, job: jobs.Job) -> None:
    """The periodic job: scan, then come back in `SCAN_EVERY`. It never ends and never dies: a failed
    scan is logged and tried again at the next turn (its stretch of time is still unscanned)."""
    try:
        scan(core)
    except Exception as exc:
        logger.exception("webhook expiry scan failed; trying again in %s", SCAN_EVERY)
        raise jobs.Retry(SCAN_EVERY, f"scan failed: {exc}") from exc
    raise jobs.Retry(SCAN_EVERY, "next expiry scan")
