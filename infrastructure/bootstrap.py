"""One place builds the system from settings; tests pass their own settings, clock, or stores already built."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
import psycopg_pool
from eventsourcing.persistence import InterfaceError, OperationalError

from domain.application import Ledger
from domain.values import utc_now
from infrastructure.access_log import AccessLog
from infrastructure.expiry_sweeper import ExpirySweeper
from infrastructure.group_commit import GroupCommit, SQLiteGroupCommit, group_commit_for
from infrastructure.idempotency import IdempotencyStore
from infrastructure.settings import Settings
from infrastructure.sql import Cursor, ViewStore
from infrastructure.storage import library_env
from infrastructure.tokens import TokenStore, account_manager_activity
from infrastructure.verification import Integrity, Sealer
from infrastructure.view_store import PostgresViewStore, SQLiteViewStore, ViewDatastore
from infrastructure.writer import Writer
from projections.runner import ProjectionRunner, Projections

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
"""The server's clock: the time every event is recorded at (`domain.values.utc_now` unless a test gives another)."""


def store_env(settings: Settings) -> dict[str, str]:
    """The library's settings for the store that the ledger's settings name."""
    return library_env(
        settings.database_url, pool_size=settings.pool_size, pool_max_overflow=settings.pool_max_overflow
    )


def build_ledger(settings: Settings | None = None, *, clock: Clock = utc_now) -> Ledger:
    """The application service on the store that the settings name, its tables created if missing."""
    settings = settings or Settings.from_env()
    ledger = Ledger(env=store_env(settings), firm_timezone=settings.firm_zone, clock=clock)
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


def build_projections(
    ledger: Ledger, settings: Settings, names: Sequence[str] | None = None, *, view: ViewStore | None = None
) -> Projections:
    """The ledger's projections (all, or those named) on `view` (else a view store of their own), their tables
    created if missing."""
    return Projections(ledger, view if view is not None else build_view_store(settings), names)


@contextlib.contextmanager
def open_view_store(settings: Settings) -> Iterator[ViewStore]:
    """The view store in the same database as the events, closed again afterwards."""
    view = build_view_store(settings)
    try:
        yield view
    finally:
        view.close()


@contextlib.contextmanager
def open_ledger(settings: Settings, *, clock: Clock = utc_now) -> Iterator[Ledger]:
    """The application service (see `build_ledger`), closed again afterwards."""
    with build_ledger(settings, clock=clock) as ledger:
        yield ledger


@contextlib.contextmanager
def open_projections(settings: Settings, names: Sequence[str] | None = None) -> Iterator[Projections]:
    """The projections (all, or those named) on a ledger and a view store of their own, both closed afterwards."""
    with open_ledger(settings) as ledger, open_view_store(settings) as view:
        yield build_projections(ledger, settings, names, view=view)


@contextlib.contextmanager
def open_integrity(settings: Settings) -> Iterator[Integrity]:
    """Seals and verification on a ledger and a view store of their own, both closed afterwards."""
    with open_ledger(settings) as ledger, open_view_store(settings) as view:
        yield Integrity(ledger, view)


@contextlib.contextmanager
def open_token_store(settings: Settings, *, ledger: Ledger | None = None) -> Iterator[TokenStore]:
    """The API tokens on a view store of their own, closed afterwards; with `ledger`, an account manager's token is
    issued only while they are active (without it, no ledger is opened: listing and revoking need none)."""
    with open_view_store(settings) as view:
        yield TokenStore(view, manager_active=account_manager_activity(ledger) if ledger is not None else None)


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
    writer: Writer
    """The thread that runs this process's commands, committed in groups."""
    runner: ProjectionRunner | None = None
    owned: list[Callable[[], None]] = field(default_factory=list)
    """How to close what the system built itself (not a ledger or view store it was given), in order."""

    @property
    def view(self) -> ViewStore:
        return self.projections.view

    def close(self) -> None:
        self.writer.close()
        if self.runner is not None:
            self.runner.stop()
        for close in self.owned:
            close()


STARTUP_PATIENCE = 120.0
"""How long a long-running process (an API worker, a projection process) waits for an unreachable store at start."""

UNREACHABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg_pool.PoolTimeout)
"""Failures that mean the database cannot be reached right now."""


def chores(*chores: Callable[[], object]) -> Callable[[], None]:
    """The runner's work after each batch and idle poll, each chore on its own: one that fails (it is logged)
    never keeps the next from its turn."""

    def run() -> None:
        for chore in chores:
            try:
                chore()
            except Exception as error:
                log.warning("%s failed: %s", getattr(chore, "__qualname__", chore), error)

    return run


def keys_beside_events(
    group_commit: GroupCommit, view: ViewStore
) -> Callable[[], AbstractContextManager[Cursor]] | None:
    """Where the store has one write lock (SQLite), the Idempotency-Keys are written in the writer's groups, in the
    same file as the events; elsewhere in transactions of their own, in worker threads."""
    if isinstance(group_commit, SQLiteGroupCommit):
        return group_commit.tables_beside_events(view)
    return None


def build_system(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    ledger: Ledger | None = None,
    view: ViewStore | None = None,
    run_projections: bool = True,
    poll_interval: float = 0.25,
    patience: float = 0.0,
) -> System:
    """The ledger, its projections (following the log in a thread unless told not to), and the API's tables.

    The ledger and the view store are built from the settings unless given (a
    store given is the caller's to close); the ledger built runs on `clock`
    (`utc_now` by default), and the access log takes the ledger's clock.
    The thread that follows the log also seals it every `settings.seal_every`
    events, and at most `settings.seal_interval` seconds after an event arrives.
    While the store cannot be reached, it tries again for up to
    `patience` seconds: an API worker that uvicorn starts during an outage
    waits for the database instead of failing, which would stop every worker.
    """
    if ledger is not None and clock is not None:
        msg = "build_system takes a clock or a ledger already built (on its own clock), not both"
        raise ValueError(msg)
    settings = settings or Settings.from_env()
    deadline = time.monotonic() + patience
    while True:
        try:
            return _build_system(
                settings,
                clock=clock or utc_now,
                ledger=ledger,
                view=view,
                run_projections=run_projections,
                poll_interval=poll_interval,
            )
        except UNREACHABLE as error:
            if time.monotonic() >= deadline:
                raise
            log.warning("The store cannot be reached (%s); trying again", error)
            time.sleep(1.0)


def _build_system(
    settings: Settings,
    *,
    clock: Clock,
    ledger: Ledger | None,
    view: ViewStore | None,
    run_projections: bool,
    poll_interval: float,
) -> System:
    owned: list[Callable[[], None]] = []
    with contextlib.ExitStack() as undo:  # what was built is closed again if a later step fails
        if ledger is None:
            ledger = build_ledger(settings, clock=clock)
            undo.callback(ledger.close)
            owned.append(ledger.close)
        if view is None:
            view = build_view_store(settings)
            undo.callback(view.close)
            owned.append(view.close)
        projections = build_projections(ledger, settings, view=view)
        group_commit = group_commit_for(getattr(ledger.recorder, "datastore", None))
        system = System(
            settings=settings,
            ledger=ledger,
            projections=projections,
            tokens=TokenStore(view, manager_active=account_manager_activity(ledger)),
            idempotency=IdempotencyStore(view, transaction=keys_beside_events(group_commit, view)),
            integrity=Integrity(ledger, view),
            access_log=AccessLog(view, clock=ledger.clock),
            writer=Writer(ledger, group_commit),
            owned=owned,
        )
        if run_projections:
            sealer = Sealer(system.integrity, settings.signing_key_path, settings.seal_every, settings.seal_interval)
            sweeper = ExpirySweeper(ledger, view)
            system.runner = ProjectionRunner(
                projections,
                poll_interval=poll_interval,
                after_batch=chores(sealer.seal_if_due, sweeper.sweep_if_due),
                applied_by_caller=system.writer.on_its_thread if group_commit.one_write_lock else None,
            ).start()
            if group_commit.one_write_lock:
                system.writer.after_group = system.runner.advance
        undo.pop_all()
    return system
