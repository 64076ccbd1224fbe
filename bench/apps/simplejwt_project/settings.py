"""Django settings: only what `TokenVerifyView` with the blacklist needs, configured as documented.

- `BLACKLIST_AFTER_ROTATION` on, so every verify asks the blacklist table (one indexed join).
- SQLite: Django's default per-request connection (under ASGI each request runs in a fresh thread, so a
  persistent connection would not be reused). PostgreSQL: Django's own psycopg pool (`OPTIONS["pool"]`),
  which Django's documentation recommends for ASGI instead of persistent connections.
- Middleware: the two an API project keeps (security, common); no sessions, CSRF or messages.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SECRET_KEY = "tokensmith-bench-django-secret-key-not-a-real-secret-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
ROOT_URLCONF = "bench.apps.simplejwt_project.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(days=3650),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=3650),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}


def database_from_url(url: str) -> dict[str, Any]:
    """Django's DATABASES entry for the bench's SQLAlchemy-style URL (same file or schema as tokensmith)."""
    if url.startswith("sqlite:///"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url.removeprefix("sqlite:///")}
    parts = urlsplit(url)
    options: dict[str, Any] = {}
    query = parse_qs(parts.query)
    if "options" in query:
        options["options"] = unquote(query["options"][0])
    try:
        import psycopg_pool  # noqa: F401

        options["pool"] = {"min_size": 1, "max_size": 4}
    except ImportError:  # pragma: no cover - the bench extra installs it
        pass
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
    }


DATABASES = {"default": database_from_url(os.environ.get("BENCH_DATABASE_URL", "sqlite:///:memory:"))}
