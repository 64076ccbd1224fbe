"""The FastAPI twin of `validateAPIAccessToken/`, written the way FastAPI's own SQL tutorial teaches.

A pydantic request model, a sync endpoint (FastAPI runs it in its thread pool: anyio's 40 threads), a
SQLAlchemy session per request (the engine's default pool: 5 connections + 10 overflow), an ORM
`select` on the project's own model, and a pydantic response model. No tuning: it stands for "what a
team would write with FastAPI", which tokensmith should match, on SQLite and on PostgreSQL, local or
through the latency proxy.

The session is opened in the endpoint, not by the tutorial's `Depends` generator: with the generator
the session (and its pooled connection) stays open until after the response model is validated, and
FastAPI validates a sync endpoint's response in the same thread pool — so under 256 connections every
thread waits for a connection held by a request that waits for a thread, until the pool's 30 s
timeout (measured: no request answered, `QueuePool limit … reached` 500s). Closing the session in the
endpoint returns the connection before the response is validated, which is what a team meeting that
deadlock would do. (No `from __future__ import annotations`: FastAPI reads the endpoint's annotations.)
"""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from bench.apps import environment
from tokensmith import crypto
from tokensmith.models import Credential

ACCESS_INVALID = {"detail": "API Access Token provided is invalid.", "code": "401000"}


class ValidateRequest(BaseModel):
    api_access_token: Annotated[str, Field(max_length=1024)]
    user_id: int | Annotated[str, StringConstraints(pattern=r"^[0-9]{1,18}$")]


class APIAccessToken(BaseModel):
    api_access_token: str
    user_id: int
    created_at: str
    token_expires_at: str | None
    token_status: Literal["ACTIVE", "EXPIRED", "REVOKED"]


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def create() -> FastAPI:
    url = environment.database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
    else:
        engine = create_engine("postgresql+psycopg://" + environment.libpq_url(url).split("://", 1)[1])
    sessions = sessionmaker(engine)
    key = environment.secret_key()
    app = FastAPI()

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields: dict[str, list[str]] = {}
        for error in exc.errors():
            name = str(error["loc"][-1]) if len(error["loc"]) > 1 else "non_field_errors"
            fields.setdefault(name, []).append(error["msg"])
        return JSONResponse(fields, status_code=400)

    @app.post("/integration/v1/validateAPIAccessToken/", response_model=APIAccessToken)
    def validate_api_access_token(body: ValidateRequest) -> APIAccessToken | JSONResponse:
        parsed = crypto.parse(body.api_access_token)
        if parsed is None or parsed.kind != "access":
            return JSONResponse(ACCESS_INVALID, status_code=401)
        with sessions() as session:
            credential = session.scalar(select(Credential).where(Credential.public_id == parsed.public_id))
        if (
            credential is None
            or not crypto.hash_matches(key, body.api_access_token, credential.secret_hash)
            or credential.user_id != int(body.user_id)
        ):
            return JSONResponse(ACCESS_INVALID, status_code=401)
        now = datetime.now(UTC)
        if credential.revoked_at is not None:
            status: Literal["ACTIVE", "EXPIRED", "REVOKED"] = "REVOKED"
        elif credential.expires_at is not None and credential.expires_at <= now:
            status = "EXPIRED"
        else:
            status = "ACTIVE"
        return APIAccessToken(
            api_access_token=body.api_access_token,
            user_id=credential.user_id,
            created_at=_timestamp(credential.created_at),
            token_expires_at=_timestamp(credential.expires_at),
            token_status=status,
        )

    return app
