"""Following the global log: catching views up in batches, waiting for positions, rebuilding beside the live views."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from domain.application import Ledger
from domain.model import LedgerEvent
from projections.audit_index import AuditIndexProjection
from projections.base import LedgerProjection
from projections.gift_register import GiftRegisterProjection
from projections.pay import PayProjection
from projections.store import NEXT, Cursor, ViewStore
from projections.workload import WorkloadProjection

log = logging.getLogger(__name__)

PROJECTIONS: tuple[type[LedgerProjection], ...] = (
    WorkloadProjection,
    PayProjection,
    GiftRegisterProjection,
    AuditIndexProjection,
)
NAMES = tuple(projection.name for projection in PROJECTIONS)

Progress = Callable[[int, int], None]
"""Called with (position reached, head of the log) after each batch."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """Holds off the cyclic garbage collector while a batch is applied.

    Applying a batch makes many short-lived dicts and tuples, which set off
    collections that scan the row cache again and again; reference counting
    frees them anyway (the views make no cycles), so the collector waits until
    the batch is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class UnknownProjection(ValueError):
    """A projection was named that the ledger does not have."""


class Projections:
    """The ledger's views on one view store, and the loop that brings them up to date."""

    def __init__(
        self,
        ledger: Ledger,
        view: ViewStore,
        names: Sequence[str] | None = None,
        *,
        batch_size: int = 5_000,
    ) -> None:
        unknown = sorted(set(names or ()) - set(NAMES))
        if unknown:
            msg = f"No projection named {', '.join(unknown)}; the projections are {', '.join(NAMES)}."
            raise UnknownProjection(msg)
        self.ledger = ledger
        self.view = view
        self.batch_size = batch_size
        self.projections = [cls(view) for cls in PROJECTIONS if not names or cls.name in names]
        self._advanced = threading.Condition()
        with view.transaction() as cursor:
            view.lock_schema(cursor)
            for projection in self.projections:
                projection.create_tables(cursor)
                view.insert_tracking_row(cursor, projection.name)

    # -- positions --

    def positions(self) -> dict[str, int]:
        """Each projection's last processed position."""
        return {projection.name: projection.position() for projection in self.projections}

    def position(self) -> int:
        """The position every projection has reached (one query)."""
        return self.view.lowest_position([projection.name for projection in self.projections])

    def start_position(self, *, rebuilding: bool = False) -> int:
        """Where the next catch-up (or the resumed rebuild) starts from."""
        if rebuilding and not all(self.view.position(projection.name + NEXT) for projection in self.projections):
            return 0
        return min(projection.position(rebuilding=rebuilding) for projection in self.projections)

    def head(self) -> int:
        """The last position in the global log."""
        return self.ledger.recorder.max_notification_id() or 0

    def wait(self, position: int, timeout: float) -> bool:
        """Blocks until every projection has processed `position` (True), or `timeout` passes (False).

        A runner in this process wakes the waiters as soon as it commits a batch;
        for a runner in another process, the position is re-read every 50 ms.
        """
        deadline = time.monotonic() + timeout
        with self._advanced:
            while self.position() < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._advanced.wait(min(remaining, 0.05))
        return True

    # -- processing --

    def read(self, after: int, limit: int) -> list[tuple[int, LedgerEvent]]:
        """Up to `limit` events after position `after`, decoded once for every projection."""
        notifications = self.ledger.recorder.select_notifications(start=after + 1, limit=limit)
        decode = self.ledger.decode
        return [(n.id, decode(n)) for n in notifications]

    def run_once(self, *, rebuilding: bool = False) -> int:
        """Processes the next batch for every projection; returns how many events it read."""
        projections = self._rebuilding() if rebuilding else self.projections
        if not projections:
            return 0
        after = min(projection.position(rebuilding=rebuilding) for projection in projections)
        items = self.read(after, self.batch_size)
        if items:
            # One transaction for every view: one commit per batch, and each view's
            # rows move together with its own tracking position.
            with paused_gc(), self.view.transaction() as cursor:
                if rebuilding:
                    # Another process may have swapped a rebuilt view in meanwhile.
                    self.view.lock_schema(cursor)
                    projections = [p for p in projections if self._has_fresh_tables(cursor, p)]
                for projection in projections:
                    projection.apply(cursor, items, rebuilding=rebuilding)
        if items and not rebuilding:
            with self._advanced:
                self._advanced.notify_all()
        return len(items) if projections else 0

    def _rebuilding(self) -> list[LedgerProjection]:
        """The projections whose fresh tables are still beside the live ones (not yet swapped in)."""
        with self.view.reading() as cursor:
            return [p for p in self.projections if self._has_fresh_tables(cursor, p)]

    def _has_fresh_tables(self, cursor: Cursor, projection: LedgerProjection) -> bool:
        return self.view.table_exists(cursor, projection.tables[0].name + NEXT)

    def catch_up(self, progress: Progress | None = None, *, rebuilding: bool = False) -> int:
        """Processes batches until the views reach the head of the log as it was when called."""
        head = self.head()
        while True:
            count = self.run_once(rebuilding=rebuilding)
            following = (self._rebuilding() if rebuilding else self.projections) or self.projections
            reached = min(projection.position(rebuilding=rebuilding) for projection in following)
            if progress is not None:
                progress(reached, max(head, reached))
            if count == 0 or reached >= head:
                return reached

    # -- rebuilding --

    def rebuild_from_scratch(self, progress: Progress | None = None) -> int:
        """Builds fresh tables beside the live ones, then swaps each in with one transaction.

        Killed at any moment, the live views are untouched; the next run resumes
        the fresh tables from their own tracking position and finishes the job.
        """
        with self.view.transaction() as cursor:
            self.view.lock_schema(cursor)
            for projection in self.projections:
                projection.create_tables(cursor, rebuilding=True)
                self.view.insert_tracking_row(cursor, projection.name + NEXT)
        self.catch_up(progress, rebuilding=True)
        for projection in self.projections:
            self._swap(projection)
        with self._advanced:
            self._advanced.notify_all()
        return self.position()  # the rebuilt views', swapped in here or by another process

    def _swap(self, projection: LedgerProjection) -> None:
        with self.view.transaction() as cursor:
            self.view.lock_schema(cursor)
            self.view.lock_tracking(cursor, projection.name)
            if not self.view.table_exists(cursor, projection.tables[0].name + NEXT):
                return  # another process swapped this projection in already
            position = self.view.lock_tracking(cursor, projection.name + NEXT)
            for table in projection.tables:
                self.view.drop_table(cursor, table.name)
                self.view.rename_table(cursor, table.name + NEXT, table.name)
                self.view.drop_indexes(cursor, table.name)
                self.view.create_indexes(cursor, table)
            self.view.set_tracking(cursor, projection.name, position)
            self.view.forget_tracking(cursor, projection.name + NEXT)
        log.info("Swapped in the rebuilt %s view at position %s", projection.name, position)


class ProjectionRunner:
    """Keeps the views following the log in a background thread.

    It sleeps until told there is more (an in-process save, or PostgreSQL's
    NOTIFY), and polls every `poll_interval` seconds for writes it was not told
    about (another process on SQLite).
    """

    def __init__(
        self,
        projections: Projections,
        *,
        poll_interval: float = 0.25,
        after_batch: Callable[[], object] | None = None,
    ) -> None:
        self.projections = projections
        self.poll_interval = poll_interval
        self.after_batch = after_batch
        """Called after each batch the runner processes (the ledger seals the log there)."""
        self._more = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="projection-runner", daemon=True)
        self._listener: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> ProjectionRunner:
        self.projections.ledger.on_saved.append(self.nudge)
        self._thread.start()
        recorder = self.projections.ledger.recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            self._listener = threading.Thread(
                target=self._listen, args=(recorder,), name="projection-listener", daemon=True
            )
            self._listener.start()
        return self

    def _listen(self, recorder: PostgresApplicationRecorder) -> None:
        # Every insert into the events table NOTIFYs its channel; a notification
        # wakes the runner at once. If the connection drops, listen again later:
        # meanwhile the poll keeps the views following.
        while not self._stopping.is_set():
            try:
                with recorder.datastore.get_connection() as connection:
                    connection.execute(SQL("LISTEN {}").format(Identifier(recorder.channel_name)))
                    while not self._stopping.is_set():
                        for _ in connection.notifies(timeout=self.poll_interval, stop_after=1):
                            self._more.set()
            except Exception as error:  # the server went away; the poll covers the gap
                log.info("Projection listener lost its connection (%s); listening again shortly", error)
                self._stopping.wait(self.poll_interval * 4)

    def nudge(self, position: int = 0, count: int = 0) -> None:
        """Tells the runner there are new events to process."""
        self._more.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._more.set()
        self._thread.join(timeout)
        if self._listener is not None:
            self._listener.join(timeout)
        if self.nudge in self.projections.ledger.on_saved:
            self.projections.ledger.on_saved.remove(self.nudge)

    def wait(self, position: int, timeout: float) -> bool:
        """Read-your-writes: blocks until the views have processed `position`, or `timeout` passes."""
        return self.projections.wait(position, timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._more.clear()
            try:
                count = self.projections.run_once()
            except Exception as error:  # the store may be away for a while: keep trying
                self.error = error
                log.warning("Projection runner could not process a batch: %s", error)
                self._stopping.wait(self.poll_interval)
                continue
            self.error = None
            if count and self.after_batch is not None:
                try:
                    self.after_batch()
                except Exception as error:
                    log.warning("After-batch work failed: %s", error)
            if count < self.projections.batch_size:
                self._more.wait(self.poll_interval)
