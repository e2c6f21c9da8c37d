"""The access log: every read by an auditor or compliance principal is itself recorded, for admins to list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.values import Principal, Role, utc_now
from infrastructure.sql import Table, ViewStore

ACCESS_LOG = Table(
    "api_access_log",
    (
        ("at", "text"),
        ("correlation_id", "text"),
        ("principal_id", "text"),
        ("role", "text"),
        ("method", "text"),
        ("path", "text"),
        ("query", "text"),
        ("status", "int"),
    ),
    key=("at", "correlation_id"),
)
LOGGED_ROLES = frozenset({Role.AUDITOR, Role.COMPLIANCE})


@dataclass(frozen=True)
class Access:
    at: str
    correlation_id: str
    principal_id: str
    role: str
    method: str
    path: str
    query: str
    status: int


class AccessLog:
    """Who read what, and when: appended for every read by an auditor or compliance principal."""

    def __init__(self, view: ViewStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.view = view
        self.clock = clock
        with view.transaction() as cursor:
            view.lock_schema(cursor)
            view.create_view_table(cursor, ACCESS_LOG)

    @staticmethod
    def is_logged(principal: Principal) -> bool:
        return principal.role in LOGGED_ROLES

    def record(
        self, principal: Principal, *, method: str, path: str, query: str, status: int, correlation_id: str
    ) -> None:
        with self.view.transaction() as cursor:
            cursor.execute(
                "INSERT INTO api_access_log (at, correlation_id, principal_id, role, method, path, query, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (at, correlation_id) DO NOTHING",
                (
                    self.clock().astimezone(UTC).isoformat(timespec="microseconds"),
                    correlation_id,
                    principal.id,
                    principal.role.value,
                    method,
                    path,
                    query,
                    status,
                ),
            )

    def entries(self, *, after: str = "", after_id: str = "", limit: int = 50) -> list[Access]:
        """Accesses in the order they happened, after the (`at`, correlation id) ending the previous page."""
        with self.view.reading() as cursor:
            statement = (
                "SELECT at, correlation_id, principal_id, role, method, path, query, status FROM api_access_log "
                f"WHERE at > ? OR (at = ? AND correlation_id > ?) ORDER BY at, correlation_id LIMIT {int(limit)}"
            )
            rows = cursor.execute(statement, (after, after, after_id)).fetchall()
        return [Access(*row) for row in rows]
