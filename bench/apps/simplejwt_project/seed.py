"""Seed simplejwt's tables in the bench database: `python -m bench.apps.simplejwt_project.seed COUNT OUT`.

Runs in its own process (Django's settings are process-wide). Migrates Django's apps, creates the bench
users, then `COUNT` outstanding refresh tokens made by simplejwt itself (exactly what
`RefreshToken.for_user` writes, in bulk), every `BLACKLISTED_EVERY`-th of them blacklisted. The pool the
load generator sends is a random sample of the others, spread through the table like tokensmith's, and
is written to OUT as JSON.
"""

from __future__ import annotations

import json
import os
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.apps.simplejwt_project.settings")

BATCH = 5000


def main(count: int, out: Path) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import transaction
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    from bench import dataset

    call_command("migrate", verbosity=0, interactive=False)
    with transaction.atomic():
        User.objects.bulk_create(
            [User(id=uid, username=f"bench-user-{uid}", password="!") for uid in range(1, dataset.USERS + 1)]
        )
    pool_positions = set(random.Random(count).sample(range(count), min(dataset.POOL_SIZE, count)))
    pool: list[str] = []
    blacklisted: list[int] = []
    batch: list[OutstandingToken] = []
    now = datetime.now(UTC)
    with transaction.atomic():
        for index in range(count):
            user_id = index % dataset.USERS + 1
            token = RefreshToken()
            token[api_settings.USER_ID_CLAIM] = user_id
            text = str(token)
            batch.append(
                OutstandingToken(
                    id=index + 1,
                    user_id=user_id,
                    jti=token[api_settings.JTI_CLAIM],
                    token=text,
                    created_at=now,
                    expires_at=datetime.fromtimestamp(token["exp"], tz=UTC),
                )
            )
            if index in pool_positions:
                pool.append(text)
            elif index % dataset.BLACKLISTED_EVERY == 0:
                blacklisted.append(index + 1)
            if len(batch) >= BATCH:
                OutstandingToken.objects.bulk_create(batch)
                batch = []
        if batch:
            OutstandingToken.objects.bulk_create(batch)
        BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token_id=token_id) for token_id in blacklisted], batch_size=BATCH
        )
    random.Random(count + 1).shuffle(pool)
    out.write_text(json.dumps(pool))


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
