"""One place builds the system from settings; tests pass their own settings."""

from __future__ import annotations

from collections.abc import Sequence

from domain.application import Ledger
from infrastructure.settings import Settings
from infrastructure.storage import library_env
from projections.runner import Projections
from projections.store import PostgresViewStore, SQLiteViewStore, ViewDatastore, ViewStore


def build_ledger(settings: Settings | None = None) -> Ledger:
    """The application service on the store that the settings name, its tables created if missing."""
    settings = settings or Settings.from_env()
    ledger = Ledger(env=library_env(settings.database_url))
    ledger.establish_gift_policy()
    return ledger


def build_view_store(settings: Settings) -> ViewStore:
    """The view store in the same database as the events."""
    env = library_env(settings.database_url)
    if "SQLITE_DBNAME" in env:
        return SQLiteViewStore(env["SQLITE_DBNAME"])
    datastore = ViewDatastore(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        schema=env.get("POSTGRES_SCHEMA", ""),
        pool_size=2,
        max_overflow=4,
        connect_timeout=float(env["POSTGRES_CONNECT_TIMEOUT"]),
        lock_timeout=int(env["POSTGRES_LOCK_TIMEOUT"]),
    )
    return PostgresViewStore(datastore)


def build_projections(ledger: Ledger, settings: Settings, names: Sequence[str] | None = None) -> Projections:
    """The ledger's projections (all, or those named), their tables created if missing."""
    return Projections(ledger, build_view_store(settings), names)
