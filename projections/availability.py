"""Which database errors mean the store is away (try again later), as against a bug or bad data (never retried).

The API answers the first kind 503 `unavailable` and the second 500; the
projection runner waits out the first kind quietly and reports the second.
"""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg_pool
from eventsourcing import persistence

_AWAY_TYPES: tuple[type[BaseException], ...] = (
    persistence.InterfaceError,  # the connection is closed or unusable
    psycopg.OperationalError,  # connection lost or refused, server shutting down, deadlock, serialisation failure
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
    ConnectionError,
    TimeoutError,  # the library's pool has no connection to give (ConnectionUnavailableError)
)

_SQLITE_AWAY = frozenset(
    {
        "SQLITE_BUSY",
        "SQLITE_LOCKED",
        "SQLITE_CANTOPEN",
        "SQLITE_IOERR",
        "SQLITE_FULL",
        "SQLITE_PROTOCOL",
        "SQLITE_NOLFS",
    }
)
"""SQLite's result codes for a database that cannot be used right now (locked, unopenable, I/O, disk full)."""


def store_unavailable(error: BaseException) -> bool:
    """Whether `error` (or the driver error it wraps) means the database cannot be reached or used right now."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _AWAY_TYPES):
            return True
        if isinstance(current, sqlite3.Error):
            return _sqlite_primary(getattr(current, "sqlite_errorname", "") or "") in _SQLITE_AWAY
        if isinstance(current, persistence.OperationalError) and current.__cause__ is None:
            return True  # the library's own "no connection" errors carry no driver error
        current = current.__cause__ or current.__context__
    return False


def _sqlite_primary(name: str) -> str:
    # Extended codes name their primary code first: SQLITE_IOERR_SHORT_READ is an SQLITE_IOERR.
    parts = name.split("_")
    return "_".join(parts[:2])


STORE_ERRORS: tuple[type[Exception], ...] = (
    persistence.PersistenceError,
    psycopg.Error,
    psycopg_pool.PoolTimeout,
    sqlite3.Error,
    ConnectionError,
)
"""Every error a database call can raise; `store_unavailable` tells which of them mean the store is away."""
