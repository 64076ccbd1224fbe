"""Webhooks for token events, delivered as the Standard Webhooks specification describes (docs/webhooks.md).

- `events`: the event types, their payloads, and `announce_*`, called by the core functions that make
  each change, in the change's own transaction (an outbox, through `tokensmith.jobs`);
- `subscriptions`: create, list, look up, delete subscriptions and read their deliveries, for a caller;
- `delivery`: the workers' side: fan an event out to the subscriptions that may see it, sign and send
  each message, retry with backoff, record every attempt;
- `expiry`: the periodic scan that finds tokens about to expire or just expired, by the core clock;
- `signing`: signing secrets (sealed at rest) and signatures;
- `urls`: which URLs a webhook may go to.

Nothing is re-exported here: `tokensmith.tokens` imports `events` while it is itself being imported, so
this package's `__init__` stays empty of imports.
"""
