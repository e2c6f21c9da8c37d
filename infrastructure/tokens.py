"""API tokens: issued once (printed, never stored), kept as a SHA-256 hash, revoked or expired but never deleted.

A token's name is the `actor_id` on every event it stores and the namespace of
its Idempotency-Keys, so a name is issued once only, even after revocation: the
trail keeps who held which name. Revocation marks the row (when, by whom).

Every request checks its token here. Lookups are cached for at most `FRESH_FOR`
seconds (0.5 s): a revocation, a deleted row or an account manager's
deactivation made by any process is refused by every process within that time,
while a busy token costs at most two reads a second. Expiry is checked against
the clock on every request.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from domain.errors import InvalidInput, NotFound, RuleViolation
from domain.values import Principal, Role
from infrastructure.sql import Cursor, Table, ViewStore

if TYPE_CHECKING:
    from domain.application import Ledger

log = logging.getLogger(__name__)

TOKENS = Table(
    "api_tokens",
    (
        ("token_hash", "text"),
        ("name", "text"),
        ("role", "text"),
        ("account_manager_id", "text"),
        ("created_at", "text"),
        ("expires_at", "text"),
        ("revoked_at", "text"),
        ("revoked_by", "text"),
    ),
    key=("token_hash",),
)
PREFIX = "ldg_"
UNIQUE_NAMES = "api_tokens__name_unique"
"""The unique index on names, made where the table holds no duplicates (older versions allowed them)."""
TOKENS_LOCK = 0x1ED70C
"""The PostgreSQL advisory lock that serialises issuing and revoking (SQLite's BEGIN IMMEDIATE already does)."""

NAME = re.compile(r"[A-Za-z0-9._@:-]{1,100}")
"""A new token's name: it goes on every event as `actor_id` and into logs, so nothing that could disguise it."""
NAME_RULE = "1 to 100 characters of A-Z a-z 0-9 . _ - @ :"

FRESH_FOR = 0.5
"""Seconds a token's lookup is trusted before it is read again: the bound on how stale a revocation can be."""
MAX_CACHED = 10_000

_DURATION = re.compile(r"([1-9][0-9]{0,5})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

Refusal = Literal["unknown", "revoked", "expired", "deactivated"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """An expiry as the command line gives it: an RFC 3339 time with its offset, or a duration from now (`90d`,
    `12h`, `30m`, `2w`)."""
    now = now or datetime.now(UTC)
    duration = _DURATION.fullmatch(text.strip())
    if duration is not None:
        return now + timedelta(**{_UNITS[duration.group(2)]: int(duration.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in text.upper():
        msg = (
            f"--expires {text!r} is neither an RFC 3339 time with its offset (2027-01-31T18:00:00+01:00) "
            "nor a duration such as 90d, 12h, 30m or 2w"
        )
        raise InvalidInput(msg, [{"field": "expires_at", "message": msg}])
    return moment


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the secret (shown once) and the principal it stands for."""

    token: str
    principal: Principal
    name: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class TokenRecord:
    """What is kept of a token: never the secret, and never shown with its hash."""

    name: str
    role: str
    account_manager_id: UUID | None
    created_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    def status(self, now: datetime | None = None) -> str:
        """`revoked`, `expired` or `active` (an account manager's deactivation is not a column: see `TokenStore`)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC)):
            return "expired"
        return "active"


class TokenRefused(Exception):
    """A request's token cannot act: unknown, revoked, expired, or its account manager is deactivated."""

    def __init__(self, reason: Refusal, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class _Lookup:
    """A token as last read, and when (monotonic seconds)."""

    principal: Principal
    expires_at: datetime | None
    refusal: TokenRefused | None
    read_at: float


_SELECT_BY_NAME = (
    "SELECT name, role, account_manager_id, created_at, expires_at, revoked_at, revoked_by FROM api_tokens "
    "WHERE name = ?"
)
_SELECT_BY_HASH = (
    "SELECT name, role, account_manager_id, created_at, expires_at, revoked_at, revoked_by FROM api_tokens "
    "WHERE token_hash = ?"
)


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _record(row: tuple[object, ...]) -> TokenRecord:
    name, role, manager, created, expires, revoked, revoked_by = row
    return TokenRecord(
        name=str(name),
        role=str(role),
        account_manager_id=UUID(str(manager)) if manager else None,
        created_at=_moment(str(created) if created else None),
        expires_at=_moment(str(expires) if expires else None),
        revoked_at=_moment(str(revoked) if revoked else None),
        revoked_by=str(revoked_by) if revoked_by else None,
    )


def account_manager_activity(ledger: Ledger) -> Callable[[UUID], bool]:
    """Whether an account manager is active now, read from their aggregate (not a view, which may lag)."""

    def active(account_manager_id: UUID) -> bool:
        return bool(ledger.account_manager(account_manager_id).active)

    return active


class TokenStore:
    """Bearer tokens and the principals they stand for, in the ledger's database.

    With `manager_active` (the ledger's word on an account manager), an account
    manager's token stops working when they are deactivated, and no token is
    issued for a deactivated or unknown one.
    """

    def __init__(
        self,
        view: ViewStore,
        *,
        manager_active: Callable[[UUID], bool] | None = None,
        fresh_for: float = FRESH_FOR,
    ) -> None:
        self.view = view
        self.manager_active = manager_active
        self.fresh_for = fresh_for
        self._known: dict[str, _Lookup] = {}
        self._lock = threading.Lock()
        with view.transaction() as cursor:
            view.lock_schema(cursor)
            view.create_view_table(cursor, TOKENS)
            view.add_missing_columns(cursor, TOKENS)
            self._make_names_unique(cursor)

    def _make_names_unique(self, cursor: Cursor) -> None:
        # A database from before names were unique may hold one name twice: it keeps working (issuing still
        # refuses a used name, under the lock), and gains the index once the duplicates are gone.
        duplicate = cursor.execute("SELECT name FROM api_tokens GROUP BY name HAVING COUNT(*) > 1 LIMIT 1").fetchone()
        if duplicate is not None:
            log.warning(
                "api_tokens holds the name %r more than once (made by an older ledger); names stay unique for new "
                "tokens, but without the unique index",
                duplicate[0],
            )
            return
        cursor.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {UNIQUE_NAMES} ON api_tokens (name)")

    def _lock_tokens(self, cursor: Cursor) -> None:
        if self.view.dialect == "postgres":
            cursor.execute("SELECT pg_advisory_xact_lock(?)", (TOKENS_LOCK,))

    # -- issuing and revoking --

    def issue(
        self,
        *,
        role: Role | str,
        name: str,
        account_manager_id: UUID | None = None,
        expires_at: datetime | None = None,
    ) -> IssuedToken:
        """Creates a token under a name never used before; only its hash is kept, so the secret cannot be shown
        again."""
        try:
            role = Role(role)
        except ValueError:
            msg = f"{role!r} is not a role; one of {', '.join(r.value for r in Role)}"
            raise InvalidInput(msg, [{"field": "role", "message": msg}]) from None
        name = name.strip()
        if not NAME.fullmatch(name):
            msg = f"A token's name is {NAME_RULE} (it is the actor_id on every event the token stores)."
            raise InvalidInput(msg, [{"field": "name", "message": NAME_RULE}])
        if (role is Role.ACCOUNT_MANAGER) != (account_manager_id is not None):
            msg = "An account_manager token needs an account manager id, and only such a token takes one."
            raise InvalidInput(msg, [{"field": "account_manager_id", "message": msg}])
        now = datetime.now(UTC)
        if expires_at is not None:
            if expires_at.tzinfo is None:
                msg = "expires_at needs its timezone offset"
                raise InvalidInput(msg, [{"field": "expires_at", "message": msg}])
            if expires_at <= now:
                msg = f"expires_at {expires_at.isoformat()} is not in the future"
                raise InvalidInput(msg, [{"field": "expires_at", "message": "must be in the future"}])
            expires_at = expires_at.astimezone(UTC)
        active = self.manager_active  # raises NotFound for an unknown account manager
        if account_manager_id is not None and active is not None and not active(account_manager_id):
            msg = f"Account manager {account_manager_id} is deactivated; a token for them could do nothing."
            raise RuleViolation(msg)
        token = PREFIX + secrets.token_urlsafe(32)
        with self.view.transaction() as cursor:
            self._lock_tokens(cursor)
            if cursor.execute("SELECT 1 FROM api_tokens WHERE name = ?", (name,)).fetchone() is not None:
                msg = (
                    f"A token named {name!r} was issued before; a name is never reused, revoked or not "
                    "(it is the actor_id on the events its token stored). Choose another name."
                )
                raise RuleViolation(msg)
            cursor.execute(
                "INSERT INTO api_tokens (token_hash, name, role, account_manager_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token_hash(token),
                    name,
                    role.value,
                    str(account_manager_id) if account_manager_id else None,
                    now.isoformat(),
                    expires_at.isoformat() if expires_at else None,
                ),
            )
        principal = Principal(id=name, role=role, account_manager_id=account_manager_id)
        return IssuedToken(token=token, principal=principal, name=name, expires_at=expires_at)

    def revoke(self, name: str, *, by: str) -> TokenRecord:
        """Marks the token of this name revoked (when, by whom); the row stays. Every process refuses it within
        `fresh_for` seconds, this one at once."""
        now = datetime.now(UTC)
        with self.view.transaction() as cursor:
            self._lock_tokens(cursor)
            rows = cursor.execute(_SELECT_BY_NAME, (name,)).fetchall()
            if not rows:
                msg = f"No token is named {name!r}."
                raise NotFound(msg)
            live = [row for row in rows if not row[5]]
            if not live:
                revoked = _record(rows[0])
                when = revoked.revoked_at.isoformat() if revoked.revoked_at else "earlier"
                msg = f"The token {name!r} was already revoked ({when}, by {revoked.revoked_by})."
                raise RuleViolation(msg)
            # An older database may hold the name twice: the name is the actor, so every such token goes.
            cursor.execute(
                "UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE name = ? AND revoked_at IS NULL",
                (now.isoformat(), by, name),
            )
            record = _record(live[0])
        with self._lock:
            for digest in [d for d, lookup in self._known.items() if lookup.principal.id == name]:
                del self._known[digest]
        return replace(record, revoked_at=now, revoked_by=by)

    def records(self, *, after: tuple[str, str] = ("", ""), limit: int = 100) -> list[TokenRecord]:
        """Tokens in the order they were issued (then by name), after `(created_at, name)`: never a secret or
        hash."""
        created, name = after
        with self.view.reading() as cursor:
            rows = cursor.execute(
                "SELECT name, role, account_manager_id, created_at, expires_at, revoked_at, revoked_by FROM api_tokens "
                "WHERE COALESCE(created_at, '') > ? OR (COALESCE(created_at, '') = ? AND name > ?) "
                "ORDER BY COALESCE(created_at, ''), name LIMIT ?",
                (created, created, name, limit),
            ).fetchall()
        return [_record(row) for row in rows]

    # -- authenticating --

    def authenticate(self, token: str) -> Principal:
        """The principal a token stands for; `TokenRefused` says why not (unknown, revoked, expired, deactivated).

        What was read is trusted for `fresh_for` seconds; an unknown token is
        looked up afresh each time, so a token issued a moment ago works at once.
        """
        digest = token_hash(token)
        return self._checked(self._fresh(digest) or self._read(digest))

    def cached(self, token: str) -> Principal | None:
        """`authenticate` without touching the store: None when the token must be read (not seen within
        `fresh_for` seconds), so that the event loop can answer a busy token inline and hand only reads to a
        thread."""
        lookup = self._fresh(token_hash(token))
        return None if lookup is None else self._checked(lookup)

    def _fresh(self, digest: str) -> _Lookup | None:
        lookup = self._known.get(digest)
        if lookup is None or time.monotonic() - lookup.read_at >= self.fresh_for:
            return None
        return lookup

    @staticmethod
    def _checked(lookup: _Lookup) -> Principal:
        if lookup.refusal is not None:
            raise lookup.refusal
        if lookup.expires_at is not None and lookup.expires_at <= datetime.now(UTC):
            msg = f"That token expired at {lookup.expires_at.isoformat()}; ask an admin for a new one."
            raise TokenRefused("expired", msg)
        return lookup.principal

    def principal(self, token: str) -> Principal | None:
        """The principal a token stands for, or None if it cannot act (see `authenticate` for why)."""
        try:
            return self.authenticate(token)
        except TokenRefused:
            return None

    def _read(self, digest: str) -> _Lookup:
        read_at = time.monotonic()  # before reading: the entry is never trusted past what it saw
        with self.view.reading() as cursor:
            row = cursor.execute(_SELECT_BY_HASH, (digest,)).fetchone()
        if row is None:
            with self._lock:
                self._known.pop(digest, None)
            raise TokenRefused("unknown", "That token is not known to this ledger.")
        record = _record(row)
        principal = Principal(id=record.name, role=Role(record.role), account_manager_id=record.account_manager_id)
        refusal = None
        if record.revoked_at is not None:
            refusal = TokenRefused(
                "revoked", f"That token was revoked at {record.revoked_at.isoformat()}; ask an admin for a new one."
            )
        elif record.account_manager_id is not None and not self._manager_is_active(record.account_manager_id):
            refusal = TokenRefused(
                "deactivated",
                f"That token's account manager ({record.account_manager_id}) is deactivated; it can do nothing.",
            )
        lookup = _Lookup(principal, record.expires_at, refusal, read_at)
        with self._lock:
            if len(self._known) >= MAX_CACHED:
                self._known.clear()
            self._known[digest] = lookup
        return lookup

    def _manager_is_active(self, account_manager_id: UUID) -> bool:
        if self.manager_active is None:
            return True
        try:
            return self.manager_active(account_manager_id)
        except NotFound:
            return False
