"""The core's context: the database, the server key, the clock and the password cost, handed to every
core function."""

from __future__ import annotations

from dataclasses import dataclass, field

from tokensmith.clock import Clock, SystemClock
from tokensmith.config import Settings
from tokensmith.db import Database, PoolSettings
from tokensmith.passwords import Passwords


@dataclass
class Core:
    db: Database
    key: bytes
    clock: Clock = field(default_factory=SystemClock)
    passwords: Passwords = field(default_factory=Passwords)

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None) -> Core:
        return cls(
            db=Database(
                settings.database_url,
                pool=PoolSettings(settings.db_pool_size, settings.db_pool_overflow, settings.db_pool_timeout),
            ),
            key=settings.secret_key,
            clock=clock or SystemClock(),
            passwords=Passwords(settings.argon2),
        )
