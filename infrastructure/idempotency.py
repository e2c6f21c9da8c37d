"""Idempotency keys: the first response to a POST, stored durably and replayed for the same key and body."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.utils import retry

from projections.store import Table, ViewStore

KEYS = Table(
    "api_idempotency",
    (
        ("principal_id", "text"),
        ("idempotency_key", "text"),
        ("request_hash", "text"),
        ("status", "int"),
        ("headers", "text"),
        ("body", "text"),
        ("created_at", "text"),
    ),
    key=("principal_id", "idempotency_key"),
)
ABANDONED_AFTER = timedelta(minutes=2)
"""A reservation with no response after this long belongs to a request that died; its key may be used again."""


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reservation:
    """What a key's lookup found: a response to replay, a mismatch, a request still running, or a fresh key."""

    replay: StoredResponse | None = None
    mismatch: bool = False
    in_progress: bool = False


class IdempotencyStore:
    """Keys per principal: reserved before the command runs, completed with its response."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view
        with view.transaction() as cursor:
            view.lock_schema(cursor)
            view.create_view_table(cursor, KEYS)

    def reserve(self, principal_id: str, key: str, fingerprint: str) -> Reservation:
        """Claims the key for this request, or says why it cannot: replay, mismatch, or in progress."""
        now = datetime.now(UTC)
        with self.view.transaction() as cursor:
            row = cursor.execute(
                "SELECT request_hash, status, headers, body, created_at FROM api_idempotency "
                "WHERE principal_id = ? AND idempotency_key = ?",
                (principal_id, key),
            ).fetchone()
            if row is not None:
                stored_hash, status, headers, body, created_at = row
                if stored_hash != fingerprint:
                    return Reservation(mismatch=True)
                if status is not None:
                    return Reservation(replay=StoredResponse(status, orjson.loads(headers), body.encode()))
                if now - datetime.fromisoformat(created_at) < ABANDONED_AFTER:
                    return Reservation(in_progress=True)
                cursor.execute(
                    "DELETE FROM api_idempotency WHERE principal_id = ? AND idempotency_key = ?", (principal_id, key)
                )
            cursor.execute(
                "INSERT INTO api_idempotency (principal_id, idempotency_key, request_hash, status, headers, body, "
                "created_at) VALUES (?, ?, ?, NULL, NULL, NULL, ?)",
                (principal_id, key, fingerprint, now.isoformat()),
            )
        return Reservation()

    # Completing and releasing can be tried again safely (the same UPDATE, the same DELETE): after a
    # server restart the first try may meet a connection the restart cut.
    @retry((OperationalError, InterfaceError), max_attempts=10, wait=0.2)
    def complete(self, principal_id: str, key: str, response: StoredResponse) -> None:
        with self.view.transaction() as cursor:
            cursor.execute(
                "UPDATE api_idempotency SET status = ?, headers = ?, body = ? "
                "WHERE principal_id = ? AND idempotency_key = ?",
                (response.status, orjson.dumps(response.headers).decode(), response.body.decode(), principal_id, key),
            )

    @retry((OperationalError, InterfaceError), max_attempts=10, wait=0.2)
    def release(self, principal_id: str, key: str) -> None:
        """Forgets a reservation whose request failed without an answer worth replaying (the store was away)."""
        with self.view.transaction() as cursor:
            cursor.execute(
                "DELETE FROM api_idempotency WHERE principal_id = ? AND idempotency_key = ? AND status IS NULL",
                (principal_id, key),
            )
