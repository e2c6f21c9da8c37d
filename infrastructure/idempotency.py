"""Idempotency keys: the first response to a POST or PUT, stored durably and replayed for the same key and body.

A key is also marked in the very transaction that stores its command's events:
the application saves with `idempotency_key=(principal id, key)`, which the
library hands to the recorders (`MARK_STORED`). So a retry can tell that the
first request was stored even when its answer never came back: the worker died
after the COMMIT, or the database went away at the COMMIT. The command is then
not run a second time.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from infrastructure.sql import Cursor, Table, ViewStore

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
        ("stored_position", "int"),
        ("owner", "text"),
    ),
    key=("principal_id", "idempotency_key"),
)
MARK_STORED = "UPDATE {table} SET stored_position = {mark} WHERE principal_id = {mark} AND idempotency_key = {mark}"
"""What a recorder runs, in the transaction that stores the events, for the key of the request being served."""
IdempotencyKey = tuple[str, str]
"""The `idempotency_key` that `Ledger.save` passes to the recorders: (principal id, Idempotency-Key)."""

COMPLETION_ATTEMPTS = 10
"""How often completing or releasing a key is tried, `COMPLETION_WAIT` seconds apart, before it is left to be
abandoned."""
COMPLETION_WAIT = 0.2

ABANDONED_AFTER = timedelta(minutes=2)
"""A reservation with no response after this long belongs to a request that died. Having no stored events (they
would have marked it), it stored nothing, and its key may be used again. One whose process (on this host) is
known to be dead is abandoned at once."""


def this_process() -> str:
    """Who holds a reservation: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def has_died(owner: str | None) -> bool:
    """Whether a reservation's process is known to be gone: only a process on this host can be looked up."""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


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
    stored_at: int | None = None
    """The first request's events are stored (up to this position), but its answer was lost."""


class IdempotencyStore:
    """Keys per principal: reserved before the command runs, completed with its response.

    Given `transaction`, its writes run in the event store's transactions (SQLite: see
    `SQLiteGroupCommit.tables_beside_events`), and the API runs them on the writer (`on_writer`), each in a group
    with the commands queued beside it: a keyed command then costs no COMMIT, no thread and no wait for the write
    lock of its own beyond its command's.
    """

    def __init__(
        self, view: ViewStore, *, transaction: Callable[[], AbstractContextManager[Cursor]] | None = None
    ) -> None:
        self.view = view
        self._transaction = transaction or view.transaction
        self.on_writer = transaction is not None
        """Whether the API runs `reserve`, `complete` and `release` on the writer (else in a worker thread)."""
        with view.transaction() as cursor:
            view.lock_schema(cursor)
            view.create_view_table(cursor, KEYS)
            view.add_missing_columns(cursor, KEYS)

    def reserve(self, principal_id: str, key: str, fingerprint: str) -> Reservation:
        """Claims the key for this request, or says why it cannot: replay, mismatch, or in progress."""
        now = datetime.now(UTC)
        with self._transaction() as cursor:
            row = cursor.execute(
                "SELECT request_hash, status, headers, body, created_at, stored_position, owner FROM api_idempotency "
                "WHERE principal_id = ? AND idempotency_key = ?",
                (principal_id, key),
            ).fetchone()
            if row is not None:
                stored_hash, status, headers, body, created_at, stored_position, owner = row
                if stored_hash != fingerprint:
                    return Reservation(mismatch=True)
                if status is not None:
                    return Reservation(replay=StoredResponse(status, orjson.loads(headers), body.encode()))
                if stored_position is not None:
                    return Reservation(stored_at=int(stored_position))
                if now - datetime.fromisoformat(created_at) < ABANDONED_AFTER and not has_died(owner):
                    return Reservation(in_progress=True)
                cursor.execute(
                    "DELETE FROM api_idempotency WHERE principal_id = ? AND idempotency_key = ?", (principal_id, key)
                )
            cursor.execute(
                "INSERT INTO api_idempotency (principal_id, idempotency_key, request_hash, status, headers, body, "
                "created_at, stored_position, owner) VALUES (?, ?, ?, NULL, NULL, NULL, ?, NULL, ?)",
                (principal_id, key, fingerprint, now.isoformat(), this_process()),
            )
        return Reservation()

    # Completing and releasing can be tried again safely (the same UPDATE, the same DELETE): after a
    # server restart the first try may meet a connection the restart cut. The caller tries again
    # (`COMPLETION_ATTEMPTS`), never here: on the writer, a wait would hold up every command.
    def complete(self, principal_id: str, key: str, response: StoredResponse) -> None:
        with self._transaction() as cursor:
            cursor.execute(
                "UPDATE api_idempotency SET status = ?, headers = ?, body = ? "
                "WHERE principal_id = ? AND idempotency_key = ?",
                (response.status, orjson.dumps(response.headers).decode(), response.body.decode(), principal_id, key),
            )

    def release(self, principal_id: str, key: str) -> None:
        """Forgets a reservation whose request failed without an answer worth replaying (the store was away),
        unless its events were stored after all: then a retry must hear so, not run the command again."""
        with self._transaction() as cursor:
            cursor.execute(
                "DELETE FROM api_idempotency WHERE principal_id = ? AND idempotency_key = ? AND status IS NULL "
                "AND stored_position IS NULL",
                (principal_id, key),
            )
