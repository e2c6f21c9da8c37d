"""One place builds the system from settings; tests pass their own settings."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
import psycopg_pool
from eventsourcing.persistence import InterfaceError, OperationalError

from domain.application import Ledger
from infrastructure.access_log import AccessLog
from infrastructure.idempotency import IdempotencyStore
from infrastructure.settings import Settings
from infrastructure.storage import library_env
from infrastructure.tokens import TokenStore, account_manager_activity
from infrastructure.verification import Integrity, Sealer
from projections.runner import ProjectionRunner, Projections
from projections.store import PostgresViewStore, SQLiteViewStore, ViewDatastore, ViewStore

log = logging.getLogger(__name__)


def store_env(settings: Settings) -> dict[str, str]:
    """The library's settings for the store that the ledger's settings name."""
    return library_env(
        settings.database_url, pool_size=settings.pool_size, pool_max_overflow=settings.pool_max_overflow
    )


def build_ledger(settings: Settings | None = None) -> Ledger:
    """The application service on the store that the settings name, its tables created if missing."""
    settings = settings or Settings.from_env()
    ledger = Ledger(env=store_env(settings), firm_timezone=settings.firm_zone)
    ledger.establish_gift_policy()
    return ledger


def build_view_store(settings: Settings) -> ViewStore:
    """The view store in the same database as the events."""
    env = store_env(settings)
    if "SQLITE_DBNAME" in env:
        return SQLiteViewStore(env["SQLITE_DBNAME"])
    datastore = ViewDatastore(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        schema=env.get("POSTGRES_SCHEMA", ""),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        connect_timeout=float(env["POSTGRES_CONNECT_TIMEOUT"]),
        lock_timeout=int(env["POSTGRES_LOCK_TIMEOUT"]),
        # After the server restarts, the pool still holds connections to the old
        # one: check each before use, so a read after an outage meets a live one.
        pre_ping=True,
    )
    return PostgresViewStore(datastore)


def build_projections(ledger: Ledger, settings: Settings, names: Sequence[str] | None = None) -> Projections:
    """The ledger's projections (all, or those named), their tables created if missing."""
    return Projections(ledger, build_view_store(settings), names)


@dataclass
class System:
    """Everything a running ledger needs, built in one place from settings."""

    settings: Settings
    ledger: Ledger
    projections: Projections
    tokens: TokenStore
    idempotency: IdempotencyStore
    integrity: Integrity
    access_log: AccessLog
    runner: ProjectionRunner | None = None

    @property
    def view(self) -> ViewStore:
        return self.projections.view

    def close(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        self.ledger.close()
        self.projections.view.close()


STARTUP_PATIENCE = 120.0
"""How long a long-running process (an API worker, a projection process) waits for an unreachable store at start."""

UNREACHABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg_pool.PoolTimeout)
"""Failures that mean the database cannot be reached right now."""


def build_system(
    settings: Settings | None = None,
    *,
    run_projections: bool = True,
    poll_interval: float = 0.25,
    patience: float = 0.0,
) -> System:
    """The ledger, its projections (following the log in a thread unless told not to), and the API's tables.

    The thread that follows the log also seals it every `settings.seal_every`
    events, and at most `settings.seal_interval` seconds after an event arrives.
    While the store cannot be reached, it tries again for up to
    `patience` seconds: an API worker that uvicorn starts during an outage
    waits for the database instead of failing, which would stop every worker.
    """
    settings = settings or Settings.from_env()
    deadline = time.monotonic() + patience
    while True:
        try:
            return _build_system(settings, run_projections=run_projections, poll_interval=poll_interval)
        except UNREACHABLE as error:
            if time.monotonic() >= deadline:
                raise
            log.warning("The store cannot be reached (%s); trying again", error)
            time.sleep(1.0)


def _build_system(settings: Settings, *, run_projections: bool, poll_interval: float) -> System:
    with contextlib.ExitStack() as undo:  # what was built is closed again if a later step fails
        ledger = build_ledger(settings)
        undo.callback(ledger.close)
        projections = build_projections(ledger, settings)
        undo.callback(projections.view.close)
        system = System(
            settings=settings,
            ledger=ledger,
            projections=projections,
            tokens=TokenStore(projections.view, manager_active=account_manager_activity(ledger)),
            idempotency=IdempotencyStore(projections.view),
            integrity=Integrity(ledger, projections.view),
            access_log=AccessLog(projections.view),
        )
        if run_projections:
            sealer = Sealer(system.integrity, settings.signing_key_path, settings.seal_every, settings.seal_interval)
            system.runner = ProjectionRunner(
                projections, poll_interval=poll_interval, after_batch=sealer.seal_if_due
            ).start()
        undo.pop_all()
    return system
