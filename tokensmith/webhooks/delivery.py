"""Fan-out and delivery, in the job workers (never in the request that caused the event).

`webhook.event` (one per event, recorded with the change): for every subscription asking for the event's
type whose owner, as they stand now, may see the credential it is about (`policy.standing_owner` and
`policy.credentials_condition`, the admin API's credential listing rule), record a pending first
attempt and a `webhook.deliver` job, all in one transaction. A fan-out that crashes committed nothing
and runs again; one that ran twice finds its messages already there (a message id is derived from the
event's job and the subscription), so no subscription gets an event twice from one fan-out.

`webhook.deliver` (one per message): POST the body to the subscription's URL, signed as the Standard
Webhooks specification says, with the same `webhook-id` on every attempt. A 2xx answer ends it. Anything
else (another status, a timeout, a refused connection) is recorded as a failed attempt and retried after
`retry_delay(n)`: exponential from 5 seconds, times 4 each time, capped at 6 hours; the `MAX_ATTEMPTS`-th
failure gives up (about 19.6 hours after the first attempt). Every attempt is a `WebhookDelivery` row.
At least once: a worker that dies after sending and before recording sends that attempt again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from tokensmith import jobs, policy, runtime
from tokensmith.clock import SystemClock
from tokensmith.core import Core
from tokensmith.models import Credential, Tenant, User, Webhook, WebhookDelivery
from tokensmith.webhooks import signing, urls
from tokensmith.webhooks.events import EVENT_JOB

logger = logging.getLogger("tokensmith.webhooks")

DELIVER_JOB = "webhook.deliver"
PENDING, SUCCEEDED, FAILED, GIVEN_UP = "pending", "succeeded", "failed", "given-up"
STATUSES = (PENDING, SUCCEEDED, FAILED, GIVEN_UP)

FIRST_RETRY = timedelta(seconds=5)
RETRY_FACTOR = 4
RETRY_CAP = timedelta(hours=6)
MAX_ATTEMPTS = 10
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_ERROR = 500
USER_AGENT = "tokensmith-webhooks/1"
# The receiver compares `webhook-timestamp` with its own clock to refuse replays, so it is the real time
# even when the core's clock is a testing clock (every other time here is the core clock's).
_WALL = SystemClock()


def retry_delay(failures: int) -> timedelta:
    """The wait after the `failures`-th failed attempt: 5 s, 20 s, 80 s, ~5 min, ~21 min, ~85 min,
    ~5.7 h, then 6 h."""
    if failures >= 12:  # past the cap long before; no need for large powers
        return RETRY_CAP
    return min(RETRY_CAP, FIRST_RETRY * RETRY_FACTOR ** max(0, failures - 1))


def give_up_after() -> timedelta:
    """How long after the first attempt the last one is made: the sum of the waits between them."""
    return sum((retry_delay(n) for n in range(1, MAX_ATTEMPTS)), timedelta())


# --- fan-out -------------------------------------------------------------------------------------


def _owner_now(session: Any, hook: Webhook) -> policy.Principal | None:
    user = session.get(User, hook.owner_user_id) if hook.owner_user_id is not None else None
    tenant_id = (
        hook.owner_tenant_id if hook.owner_tenant_id is not None else (user.tenant_id if user else None)
    )
    tenant = session.get(Tenant, tenant_id) if tenant_id is not None else None
    if hook.owner_user_id is not None and user is None:
        return None
    return policy.standing_owner(user, tenant)


def receives(session: Any, hook: Webhook, subject: int) -> bool:
    """May this subscription's owner, as they stand now, see the credential `subject`? The same SQL
    rule as their credential listing, asked of that one row."""
    owner = _owner_now(session, hook)
    if owner is None:
        return False
    found = session.scalar(
        select(Credential.id).where(Credential.id == subject, policy.credentials_condition(owner))
    )
    return found is not None


def message_id(event_job_id: str, webhook_public_id: str) -> str:
    """The `webhook-id` of one event for one subscription: derived, so a repeated fan-out finds it."""
    digest = hashlib.sha256(f"{event_job_id}/{webhook_public_id}".encode()).hexdigest()
    return "msg_" + digest[:32]


def fan_out(core: Core, event_job_id: str, event: dict[str, Any], subject: int) -> int:
    """Queue the event for every subscription that receives it; returns how many were queued."""
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    event_type = event["type"]
    now = core.clock.now()
    queued = 0
    with core.db.write() as session:
        for hook in session.scalars(select(Webhook).order_by(Webhook.id)):
            if event_type not in (hook.events or ()) or not receives(session, hook, subject):
                continue
            message = message_id(event_job_id, hook.public_id)
            if session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.message_id == message)):
                continue
            session.add(
                WebhookDelivery(
                    webhook_id=hook.id,
                    message_id=message,
                    event_type=event_type,
                    attempt=1,
                    status=PENDING,
                    scheduled_at=now,
                )
            )
            payload = {"webhook": hook.id, "message": message, "subject": subject, "body": body}
            jobs.enqueue(session, DELIVER_JOB, payload, key=f"{DELIVER_JOB}:{message}", now=now)
            queued += 1
    return queued


@jobs.handler(EVENT_JOB)
def run_fan_out(core: Core, job: jobs.Job) -> None:
    fan_out(core, job.id, job.payload["event"], int(job.payload["subject"]))


# --- delivery ------------------------------------------------------------------------------------


def _send(url: str, secret: str, message: str, body: str) -> tuple[int | None, str | None]:
    """One POST: (status code, None) for an answer, (code or None, error) for anything but a 2xx."""
    timestamp = int(_WALL.now().timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature(secret, message, timestamp, body),
    }
    try:
        response = httpx.post(
            url, content=body.encode(), headers=headers, timeout=TIMEOUT, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR] or type(exc).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"The receiver answered {response.status_code}; only a 2xx ends a delivery."


def deliver(core: Core, payload: dict[str, Any]) -> timedelta | None:
    """Make the message's pending attempt, if it is due; record it. Returns when to come back (a
    failure with attempts left, or an attempt not yet due), None when the message is finished."""
    message = payload["message"]
    with core.db.read() as session:
        hook = session.get(Webhook, payload["webhook"])
        pending = session.scalar(
            select(WebhookDelivery)
            .where(WebhookDelivery.message_id == message, WebhookDelivery.status == PENDING)
            .order_by(WebhookDelivery.attempt)
        )
        if hook is None or pending is None:  # deleted, or already finished by an earlier run
            return None
        now = core.clock.now()
        if pending.scheduled_at > now:  # a run repeated after a crash, ahead of its retry time
            return pending.scheduled_at - now
        error: str | None = None
        if not receives(session, hook, int(payload["subject"])):
            error = "Not sent: the subscription's owner may no longer see this credential."
        allow_private = bool(runtime.get_value(session, urls.PRIVATE_SETTING))
        url, sealed, public_id = hook.url, hook.secret_sealed, hook.public_id
    code: int | None = None
    final = error is not None
    if error is None:
        error = urls.refusal(url, allow_private=allow_private)
    if error is None:
        try:
            secret = signing.unseal(core.key, sealed, public_id)
        except signing.SecretUnreadable as exc:
            error, final = str(exc), True
        else:
            code, error = _send(url, secret, message, payload["body"])
    return _record(core, pending, code, error, final)


def _record(
    core: Core, pending: WebhookDelivery, code: int | None, error: str | None, final: bool
) -> timedelta | None:
    now = core.clock.now()
    if error is None:
        status, wait = SUCCEEDED, None
    elif final or pending.attempt >= MAX_ATTEMPTS:
        status, wait = GIVEN_UP, None
    else:
        status, wait = FAILED, retry_delay(pending.attempt)
    with core.db.write() as session:
        changed = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == pending.id, WebhookDelivery.status == PENDING)
            .values(
                status=status,
                attempted_at=now,
                response_code=code,
                error=error,
                next_retry_at=now + wait if wait is not None else None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:  # another run recorded this attempt first
            return None
        if wait is not None:
            session.add(
                WebhookDelivery(
                    webhook_id=pending.webhook_id,
                    message_id=pending.message_id,
                    event_type=pending.event_type,
                    attempt=pending.attempt + 1,
                    status=PENDING,
                    scheduled_at=now + wait,
                )
            )
    if status != SUCCEEDED:
        logger.info("webhook %s attempt %d: %s (%s)", pending.message_id, pending.attempt, status, error)
    return wait


@jobs.handler(DELIVER_JOB)
def run_delivery(core: Core, job: jobs.Job) -> None:
    wait = deliver(core, job.payload)
    if wait is not None:
        raise jobs.Retry(wait, f"webhook delivery {job.payload['message']}: next attempt")
