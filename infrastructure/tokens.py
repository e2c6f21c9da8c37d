"""API tokens: created by `ledger tokens add`, printed once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from domain.errors import InvalidInput
from domain.values import Principal, Role
from projections.store import Table, ViewStore

TOKENS = Table(
    "api_tokens",
    (
        ("token_hash", "text"),
        ("name", "text"),
        ("role", "text"),
        ("account_manager_id", "text"),
        ("created_at", "text"),
    ),
    key=("token_hash",),
)
PREFIX = "ldg_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the secret (shown once) and the principal it stands for."""

    token: str
    principal: Principal
    name: str


class TokenStore:
    """Bearer tokens and the principals they stand for, in the ledger's database."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view
        self._known: dict[str, Principal] = {}
        with view.transaction() as cursor:
            view.lock_schema(cursor)
            view.create_view_table(cursor, TOKENS)

    def issue(self, *, role: Role | str, name: str, account_manager_id: UUID | None = None) -> IssuedToken:
        """Creates a token; only its hash is kept, so the secret cannot be shown again."""
        role = Role(role)
        if not name.strip():
            raise InvalidInput("A token needs a name saying whose it is.", [{"field": "name", "message": "empty"}])
        if (role is Role.ACCOUNT_MANAGER) != (account_manager_id is not None):
            msg = "An account_manager token needs --account-manager-id, and only such a token takes one."
            raise InvalidInput(msg, [{"field": "account_manager_id", "message": msg}])
        token = PREFIX + secrets.token_urlsafe(32)
        with self.view.transaction() as cursor:
            cursor.execute(
                "INSERT INTO api_tokens (token_hash, name, role, account_manager_id, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    token_hash(token),
                    name.strip(),
                    role.value,
                    str(account_manager_id) if account_manager_id else None,
                    datetime.now(UTC).isoformat(),
                ),
            )
        principal = Principal(id=name.strip(), role=role, account_manager_id=account_manager_id)
        return IssuedToken(token=token, principal=principal, name=name.strip())

    def principal(self, token: str) -> Principal | None:
        """The principal a token stands for, or None for an unknown token.

        A known token is remembered (tokens never change); an unknown one is looked
        up afresh each time, so a token created a moment ago works at once.
        """
        digest = token_hash(token)
        known = self._known.get(digest)
        if known is not None:
            return known
        with self.view.reading() as cursor:
            row = cursor.execute(
                "SELECT name, role, account_manager_id FROM api_tokens WHERE token_hash = ?", (digest,)
            ).fetchone()
        if row is None:
            return None
        name, role, account_manager_id = row
        manager = UUID(account_manager_id) if account_manager_id else None
        principal = Principal(id=name, role=Role(role), account_manager_id=manager)
        if len(self._known) < 10_000:
            self._known[digest] = principal
        return principal
