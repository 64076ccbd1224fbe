"""Who may do what: the one place tokensmith decides it. Deny by default.

Three questions, each answered here and nowhere else:

1. **May this kind of caller call this operation at all?** Every operation of every spec declares the
   caller kinds it admits (`x-tokensmith-access` in `openapi/`; parsed into a `Declaration`). A
   principal has exactly one kind — `user`, `admin`, `superadmin` (a user's role) or `tenant` (a
   tenant token) — and a login session is also of kind `session`. `anonymous` is the caller with no
   credential; an operation that admits it takes no credential at all (its credential, if any, travels
   in the body and is the core operation's to judge). A declaration may also say `platform: true`: only
   a caller whose administration spans the whole server (a superadmin, or an admin of no tenant) may
   call it, because it changes what every tenant sees (runtime settings).
2. **Which resources may this caller see or change?** Ownership is always a value, never "no filter":
   a user owns themselves and their credentials; a tenant token reaches its own tenant's tokens and
   nothing else; an admin administers the users of their tenant (an admin of no tenant: every user)
   whose role is not above their own, and those users' credentials; a superadmin administers
   everybody. The same rule answers both in Python (`administers`) and as SQL (`*_condition`), so a
   listing never shows what a look-up by id would hide, and the reverse.
3. **Roles:** `user < admin < superadmin`. Nobody grants a role above their own, and nobody changes
   the role, password, state or credentials of someone above them (that follows from 2).

Restrictions a credential carries (endpoint scope, address list) are checked by `check_restrictions`
on every authenticated call, in every dialect; they are inherited by everything derived from the
credential (`tokens.mint(derived_from=...)`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, select, true

from tokensmith import networks, paths
from tokensmith.auth import Principal
from tokensmith.errors import Forbidden, InvalidValue
from tokensmith.models import AuditEvent, Credential, Tenant, User, Webhook

ANONYMOUS, USER, ADMIN, SUPERADMIN, TENANT, SESSION = (
    "anonymous",
    "user",
    "admin",
    "superadmin",
    "tenant",
    "session",
)
CALLER_KINDS = (ANONYMOUS, USER, ADMIN, SUPERADMIN, TENANT, SESSION)
ROLES = (USER, ADMIN, SUPERADMIN)
ROLE_RANK = {USER: 1, ADMIN: 2, SUPERADMIN: 3}


# --- 1. operations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    """Which callers an operation admits, as its spec declares it."""

    callers: frozenset[str]
    platform: bool = False
    refusal: str | None = None  # the dialect's own words for a refused caller, where it has them

    @classmethod
    def parse(cls, raw: Any) -> Declaration:
        """From a spec's `x-tokensmith-access` value; ValueError says what is wrong with it."""
        if not isinstance(raw, Mapping):
            raise ValueError("declares no `x-tokensmith-access` (who may call it)")
        unknown_keys = set(raw) - {"callers", "platform", "refusal"}
        if unknown_keys:
            raise ValueError(f"`x-tokensmith-access` has unknown keys {sorted(unknown_keys)}")
        callers = raw.get("callers")
        if not isinstance(callers, list) or not callers:
            raise ValueError("`x-tokensmith-access.callers` must be a non-empty list")
        unknown = [c for c in callers if c not in CALLER_KINDS]
        if unknown:
            raise ValueError(f"`x-tokensmith-access.callers` names unknown kinds {unknown}")
        if ANONYMOUS in callers and len(callers) > 1:
            raise ValueError("an operation open to `anonymous` is open to everybody: list it alone")
        platform = raw.get("platform", False)
        if not isinstance(platform, bool) or (platform and not set(callers) <= {ADMIN, SUPERADMIN}):
            raise ValueError("`platform: true` goes with admin and superadmin callers only")
        refusal = raw.get("refusal")
        if refusal is not None and (not isinstance(refusal, str) or not refusal.strip()):
            raise ValueError("`x-tokensmith-access.refusal` must be a message")
        return cls(frozenset(callers), platform, refusal)

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS in self.callers


def caller_kind(principal: Principal) -> str:
    """The principal's one kind. A credential that speaks for neither a user nor a tenant is nobody."""
    if principal.user_id is not None:
        if principal.role not in ROLE_RANK:
            raise Forbidden("This credential's owner has no known role.")
        return principal.role
    if principal.tenant_id is not None:
        return TENANT
    raise Forbidden("This credential speaks for nobody.")


def is_session(principal: Principal) -> bool:
    return principal.kind == SESSION


def admits(declaration: Declaration, principal: Principal) -> bool:
    if declaration.anonymous:
        return True
    kind = caller_kind(principal)
    admitted = kind in declaration.callers or (is_session(principal) and SESSION in declaration.callers)
    if admitted and declaration.platform:
        return spans_platform(principal)
    return admitted


def require(declaration: Declaration, principal: Principal) -> None:
    if not admits(declaration, principal):
        raise Forbidden(_refusal(declaration))


def _refusal(declaration: Declaration) -> str:
    if declaration.refusal:
        return declaration.refusal
    if declaration.callers == {SESSION}:
        return "Only a login session may do this; an access token cannot."
    if declaration.platform:
        return "Only a superadmin or an admin of the whole server may do this."
    return f"This operation is for {', '.join(sorted(declaration.callers))} callers only."


# --- 2. resources -----------------------------------------------------------------------------------


def spans_platform(principal: Principal) -> bool:
    kind = caller_kind(principal)
    return kind == SUPERADMIN or (kind == ADMIN and principal.tenant_id is None)


def _roles_up_to(role: str) -> list[str]:
    return [r for r in ROLES if ROLE_RANK[r] <= ROLE_RANK[role]]


def administers(principal: Principal, user: User) -> bool:
    """May `principal` act on `user` (see their account and tokens, change them)? Everyone may act on
    themselves; see the module's docstring for the rest."""
    kind = caller_kind(principal)
    if kind == TENANT:
        return False
    if principal.user_id == user.id:
        return True
    if kind == SUPERADMIN:
        return True
    if kind != ADMIN or ROLE_RANK.get(user.role, 99) > ROLE_RANK[ADMIN]:
        return False
    return principal.tenant_id is None or principal.tenant_id == user.tenant_id


def users_condition(principal: Principal) -> ColumnElement[bool]:
    """`administers` as SQL over `User`."""
    kind = caller_kind(principal)
    if kind == TENANT:
        return false()
    if kind == SUPERADMIN:
        return true()
    itself = User.id == principal.user_id
    if kind != ADMIN:
        return itself
    below = User.role.in_(_roles_up_to(ADMIN))
    if principal.tenant_id is not None:
        below = below & (User.tenant_id == principal.tenant_id)
    return itself | below


def owned_condition(principal: Principal, user_column: Any, tenant_column: Any) -> ColumnElement[bool]:
    """The rows `principal` may see and change among rows owned like a credential: by a user
    (`user_column`) or else by a tenant (`tenant_column`). A row owned by neither matches nobody but a
    superadmin: no owner never reads as every owner."""
    kind = caller_kind(principal)
    if kind == SUPERADMIN:
        return true()
    tenant_owned = user_column.is_(None) & tenant_column.is_not(None)
    if kind == TENANT:
        return user_column.is_(None) & (tenant_column == principal.tenant_id)
    if kind == USER:
        return user_column == principal.user_id
    owned = user_column.in_(select(User.id).where(users_condition(principal)))
    if principal.tenant_id is not None:
        return owned | (tenant_owned & (tenant_column == principal.tenant_id))
    return owned | tenant_owned


def credentials_condition(principal: Principal) -> ColumnElement[bool]:
    """The credentials `principal` may see and revoke, as SQL over `Credential`."""
    return owned_condition(principal, Credential.user_id, Credential.tenant_id)


def webhooks_condition(principal: Principal) -> ColumnElement[bool]:
    """The webhook subscriptions `principal` may see and delete: its own, and those of everyone whose
    credentials it may see (an admin: the users and tenants it administers), by the credentials' rule.
    Which events a subscription receives is `credentials_condition` of its owner at fan-out time."""
    return owned_condition(principal, Webhook.owner_user_id, Webhook.owner_tenant_id)


def webhook_owner(principal: Principal) -> tuple[int | None, int | None]:
    """(user id, tenant id) that owns a subscription `principal` makes: the user behind the token, or
    the tenant a tenant token speaks for (never both, never neither)."""
    if caller_kind(principal) == TENANT:
        return None, principal.tenant_id
    return principal.user_id, None


def standing_owner(user: User | None, tenant: Tenant | None) -> Principal | None:
    """A subscription's owner as a caller, as they stand now, for deciding what it may receive: the user
    (with their current role and tenant) or the tenant. None, so nothing is received, when the account
    or its tenant is disabled, or when neither is given."""
    if tenant is not None and tenant.disabled:
        return None
    if user is not None:
        if user.disabled:
            return None
        return Principal(0, "", "subscription", "", user.id, user.username, user.role, user.tenant_id)
    if tenant is not None:
        return Principal(0, "", "subscription", "", None, None, TENANT, tenant.id)
    return None


def sees_credential(principal: Principal, credential: Credential, owner: User | None) -> bool:
    """`credentials_condition` for one credential already read (with its owning user, if any)."""
    kind = caller_kind(principal)
    if kind == SUPERADMIN:
        return True
    if credential.user_id is None:
        if credential.tenant_id is None or kind == USER:
            return False
        if kind == TENANT or principal.tenant_id is not None:
            return credential.tenant_id == principal.tenant_id
        return kind == ADMIN
    return owner is not None and owner.id == credential.user_id and administers(principal, owner)


def tenants_condition(principal: Principal) -> ColumnElement[bool]:
    """The tenants `principal` may see: every one for the platform's administrators, an admin's own."""
    if spans_platform(principal):
        return true()
    if caller_kind(principal) == ADMIN:
        return Tenant.id == principal.tenant_id
    return false()


def require_tenant_administration(principal: Principal) -> None:
    """Disabling a tenant or revoking its tokens changes the platform: its administrators' call."""
    if not spans_platform(principal):
        raise Forbidden("Only a superadmin or an admin of the whole server may change a tenant.")


def audit_condition(principal: Principal) -> ColumnElement[bool]:
    """The platform's administrators read the whole audit log; anyone else what they did themselves."""
    if spans_platform(principal):
        return true()
    return AuditEvent.actor == actor_of(principal)


def actor_of(principal: Principal) -> str:
    """How the audit log names the caller."""
    if caller_kind(principal) == TENANT:
        return f"tenant:{principal.tenant_id}"
    return f"user:{principal.user_id}"


# --- 3. roles ---------------------------------------------------------------------------------------


def require_may_grant(principal: Principal, role: str) -> None:
    """Nobody grants a role above their own."""
    if role not in ROLE_RANK:
        raise InvalidValue("role", f"Role must be one of {', '.join(ROLES)}.")
    kind = caller_kind(principal)
    if kind == TENANT or ROLE_RANK[role] > ROLE_RANK[kind]:
        raise Forbidden(f"You cannot grant the {role} role: it is above your own.")


def tenant_for_new_user(principal: Principal) -> int | None:
    """An admin of a tenant creates users inside it (so they stay the admin's to administer)."""
    return principal.tenant_id if caller_kind(principal) == ADMIN else None


# --- restrictions -------------------------------------------------------------------------------------


def check_restrictions(principal: Principal, candidate_paths: Iterable[str], client: str | None) -> None:
    """A credential limited to endpoints reaches only paths under one of them (in any of the given
    spellings of the request's path); one limited to addresses is refused from any other address."""
    if principal.endpoints and not covers(principal.endpoints, candidate_paths):
        raise Forbidden("This token is not allowed to call this API endpoint.")
    check_address(principal.attributes.get("allowed_ips"), client)


def check_address(allowed_ips: Iterable[str] | None, client: str | None) -> None:
    """A credential limited to client addresses is refused from any other (an unknown one included)."""
    if not networks.allows(allowed_ips, client):
        raise Forbidden("This token may not be used from this address.")


def covers(entries: Iterable[str], candidate_paths: Iterable[str]) -> bool:
    scopes = [s for s in (paths.segments_of(e) for e in entries) if s]  # an empty scope grants nothing
    for candidate in candidate_paths:
        segments = paths.segments_of(candidate)
        if segments is not None and any(paths.within(segments, scope) for scope in scopes):
            return True
    return False


def scope_entry(raw: Any, *, max_length: int) -> str:
    """An endpoint-scope entry as stored: any well-formed path, served here or not, except one that
    would cover everything."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text or len(text) > max_length:
        raise InvalidValue("endpoints", f"An endpoint is a path of 1 to {max_length} characters.")
    if not text.startswith("/"):
        text = "/" + text
    segments = paths.segments_of(text)
    if segments is None:
        raise InvalidValue("endpoints", "An endpoint must be a plain path (no query, no control characters).")
    if not segments:
        raise InvalidValue("endpoints", "An endpoint must name a path, not every path ('/').")
    parts = [part for part in text.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise InvalidValue("endpoints", "An endpoint must not contain '.' or '..' segments.")
    return "/" + "/".join(parts)
