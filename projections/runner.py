"""Following the global log: catching views up in batches, waiting for positions, rebuilding beside the live views.

A view that cannot apply an event stops just before it, and the others go on;
it is tried again with a growing back-off and never skips the event.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from domain.application import Ledger
from domain.model import LedgerEvent
from infrastructure.sql import NEXT, Cursor, ViewStore
from projections.attestations import AttestationsProjection
from projections.audit_index import AuditIndexProjection
from projections.availability import store_unavailable
from projections.base import LedgerProjection
from projections.cases import CasesProjection
from projections.entertainment import EntertainmentProjection
from projections.failures import (
    Backoff,
    Failed,
    ProjectionFailed,
    UnreadableEvent,
    ViewFailure,
    ViewFailures,
    one_line,
)
from projections.gift_register import GiftRegisterProjection
from projections.pay import PayProjection
from projections.preclearance import PreclearanceProjection
from projections.received_gifts import ReceivedGiftsProjection
from projections.workload import WorkloadProjection

log = logging.getLogger(__name__)

PROJECTIONS: tuple[type[LedgerProjection], ...] = (
    WorkloadProjection,
    PayProjection,
    GiftRegisterProjection,
    AuditIndexProjection,
    PreclearanceProjection,
    EntertainmentProjection,
    ReceivedGiftsProjection,
    AttestationsProjection,
    CasesProjection,
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
        self.backoff = Backoff()
        self.failing = ViewFailures(view)
        self._advanced = threading.Condition()
        self._lock = threading.Lock()
        self._wakers: set[Callable[[], None]] = set()
        self._seen = (0.0, 0)  # (when, position): the last position an async waiter read
        self._positions_seen: tuple[float, dict[str, int] | None] = (0.0, None)  # the same, for every view
        self._positions_reading: asyncio.Future[dict[str, int]] | None = None
        with view.transaction() as cursor:
            view.lock_schema(cursor)
            for projection in self.projections:
                projection.create_tables(cursor)
                view.insert_tracking_row(cursor, projection.name)

    # -- positions --

    def positions(self) -> dict[str, int]:
        """Each projection's last processed position (one query)."""
        return self.view.tracking_positions([projection.name for projection in self.projections])

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

    async def wait_async(self, position: int, timeout: float) -> bool:
        """Waits on the event loop, holding no thread, until every projection has processed `position` (True),
        or `timeout` passes (False).

        A runner in this process wakes the waiter when it commits a batch; for a
        runner in another process, the position is re-read (briefly, in a worker
        thread) at intervals growing from 10 ms to 250 ms, and waiters reading
        within 10 ms of each other share one read.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        woken = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                loop.call_soon_threadsafe(woken.set)

        with self._lock:
            self._wakers.add(wake)
        try:
            interval = 0.01
            while True:
                woken.clear()
                if await self._recent_position() >= position:
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), min(interval, remaining))
                interval = min(interval * 2, 0.25)
        finally:
            with self._lock:
                self._wakers.discard(wake)

    async def _recent_position(self) -> int:
        # Positions only move forward, so one read in the last 10 ms is a safe lower bound.
        when, seen = self._seen
        if time.monotonic() - when < 0.01:
            return seen
        started = time.monotonic()
        position = await asyncio.to_thread(self.position)
        if started >= self._seen[0]:
            self._seen = (started, position)
        return position

    async def recent_positions(self, at_least: int = 0) -> dict[str, int]:
        """Every view's position: a lower bound of where they are, like `_recent_position`, never one below
        `at_least` (a reader that waited for its own write gets positions that include it).

        Read in a worker thread at most once per 10 ms, readers arriving meanwhile sharing the read in flight, and
        afresh once this process's runner has moved the views.
        """
        when, seen = self._positions_seen
        if seen is not None and time.monotonic() - when < 0.01 and min(seen.values(), default=0) >= at_least:
            return seen
        reading = self._positions_reading
        if reading is None or reading.done() or reading.get_loop() is not asyncio.get_running_loop():
            reading = self._positions_reading = asyncio.ensure_future(self._read_positions())
        positions = await asyncio.shield(reading)
        if min(positions.values(), default=0) < at_least:  # the shared read began before this reader's position
            positions = await self._read_positions()
        return positions

    async def _read_positions(self) -> dict[str, int]:
        started = time.monotonic()
        positions = await asyncio.to_thread(self.positions)
        if started >= self._positions_seen[0]:
            self._positions_seen = (started, positions)
        return positions

    def _notify_advanced(self) -> None:
        self._positions_seen = (0.0, None)  # moved on: the next reader reads them again
        with self._advanced:
            self._advanced.notify_all()
        with self._lock:
            wakers = list(self._wakers)
        for wake in wakers:
            wake()

    # -- failures --

    def failures(self) -> dict[str, ViewFailure]:
        """The views that cannot apply an event now, as recorded by the runner of whichever process follows the log.

        A record whose view has since gone past the event (fixed and rebuilt, or
        restarted) is not a failure any more, whoever recorded it.
        """
        return self.failing.recorded([projection.name for projection in self.projections])

    def _record_failure(self, projection: LedgerProjection, event_position: int, error: BaseException) -> ViewFailure:
        """Notes a failed attempt: logged (with the stack) once per distinct failure, kept for `failures()`."""
        position = projection.position()
        failure, new = self.failing.note(projection.name, position, event_position, error, self.backoff)
        if new:
            log.error(
                "Projection %s cannot apply the event at position %s and stays at position %s; "
                "it is tried again with a growing back-off (up to %g s). Fix the cause, then restart "
                "or run `ledger rebuild %s`",
                projection.name,
                event_position,
                position,
                self.backoff.most,
                projection.name,
                exc_info=error,
            )
        return failure

    def _recovered(self, names: Sequence[str]) -> None:
        """Forgets the failures of views that have just applied their batch."""
        for failure in self.failing.recovered(names):
            log.info(
                "Projection %s went past position %s after %s failed attempts; it follows the log again",
                failure.view,
                failure.event_position,
                failure.attempts,
            )

    # -- processing --

    def read(self, after: int, limit: int) -> list[tuple[int, LedgerEvent]]:
        """Up to `limit` events after position `after`, decoded once for every projection.

        Stops before an event that cannot be decoded; raises `UnreadableEvent` when that is the first.
        """
        notifications = self.ledger.recorder.select_notifications(start=after + 1, limit=limit)
        decode = self.ledger.decode
        items: list[tuple[int, LedgerEvent]] = []
        for notification in notifications:
            try:
                items.append((notification.id, decode(notification)))
            except Exception as error:
                if store_unavailable(error):
                    raise
                if items:
                    break
                raise UnreadableEvent(notification.id, error) from error
        return items

    def run_once(self, *, rebuilding: bool = False) -> int:
        """Processes the next batch for every projection; returns how many events it read.

        A view that cannot apply an event stays just before it while the others
        apply the batch; it is noted for `failures()` and tried again, on that
        event alone, after a back-off. When rebuilding, `ProjectionFailed` is
        raised instead (once the others have applied the batch).
        """
        if rebuilding:
            projections = self._rebuilding()
            if not projections:
                return 0
            count, failed = self._advance(projections, self.batch_size, rebuilding=True)
            self._raise_first(projections, failed, rebuilding=True)
            return count
        now = time.monotonic()
        following = [p for p in self.projections if p.name not in self.failing]
        retrying = [p for p in self.projections if p.name in self.failing and self.failing.due(p.name, now)]
        count = 0
        if following:
            count, failed = self._advance(following, self.batch_size)
            self._note(following, failed)
        for projection in retrying:
            # Only the event it stopped at: once that goes in, the view rejoins the others.
            _, failed = self._advance([projection], 1)
            self._note([projection], failed)
        return count

    def apply(self, items: Sequence[tuple[int, LedgerEvent]]) -> None:
        """Applies events to every view; raises `ProjectionFailed` for the first view that cannot apply one."""
        self._raise_first(self.projections, self.apply_batch(self.projections, items))

    def _note(self, projections: Sequence[LedgerProjection], failed: Failed) -> None:
        for projection in projections:
            if projection.name in failed:
                self._record_failure(projection, *failed[projection.name])
        if self.failing:
            self._recovered([p.name for p in projections if p.name not in failed])

    def _raise_first(
        self, projections: Sequence[LedgerProjection], failed: Failed, *, rebuilding: bool = False
    ) -> None:
        for projection in projections:
            if projection.name in failed:
                raise self._failed(projection, failed, rebuilding=rebuilding)

    def _failed(self, projection: LedgerProjection, failed: Failed, *, rebuilding: bool) -> ProjectionFailed:
        event_position, error = failed[projection.name]
        position = projection.position(rebuilding=rebuilding)
        failure = ViewFailure(projection.name, position, event_position, one_line(error), datetime.now(UTC), 1)
        stopped = ProjectionFailed(failure, rebuilding=rebuilding)
        stopped.__cause__ = error
        return stopped

    def _advance(
        self, projections: Sequence[LedgerProjection], limit: int, *, rebuilding: bool = False
    ) -> tuple[int, Failed]:
        """Reads up to `limit` events after the lowest of these views and applies them; (events read, failures)."""
        suffix = NEXT if rebuilding else ""
        # One read for every view's position (a read per view cost a third of a small batch's time).
        after = self.view.lowest_position([projection.name + suffix for projection in projections])
        try:
            items = self.read(after, limit)
        except UnreadableEvent as unreadable:
            return 0, {
                p.name: (unreadable.position, unreadable.error)
                for p in projections
                if p.position(rebuilding=rebuilding) < unreadable.position
            }
        if not items:
            return 0, {}
        failed = self.apply_batch(projections, items, rebuilding=rebuilding)
        if len(failed) < len(projections) and not rebuilding:
            self._notify_advanced()
        return len(items), failed

    def apply_batch(
        self,
        projections: Sequence[LedgerProjection],
        items: Sequence[tuple[int, LedgerEvent]],
        *,
        rebuilding: bool = False,
    ) -> Failed:
        """Applies events to these views, each moving its position with its rows; returns the views that could not.

        All views in one transaction first (one commit per batch). If that fails
        for any reason but the store being away, each view is applied alone, and
        one that still fails applies the longest run of events it can, so that it
        stops exactly before the event it cannot apply.
        """
        try:
            with paused_gc(), self.view.transaction() as cursor:
                if rebuilding:
                    # Another process may have swapped a rebuilt view in meanwhile.
                    self.view.lock_schema(cursor)
                    projections = [p for p in projections if self._has_fresh_tables(cursor, p)]
                for projection in projections:
                    projection.apply(cursor, items, rebuilding=rebuilding)
        except Exception as error:
            self._forget_rows(projections, rebuilding=rebuilding)
            if store_unavailable(error):
                raise
        else:
            return {}
        failed: Failed = {}
        for projection in projections:
            failure = self._apply_alone(projection, items, rebuilding=rebuilding)
            if failure is not None:
                failed[projection.name] = failure
        return failed

    def _apply_alone(
        self, projection: LedgerProjection, items: Sequence[tuple[int, LedgerEvent]], *, rebuilding: bool
    ) -> tuple[int, BaseException] | None:
        """Applies events to one view in its own transactions, halving the run that fails down to the one event."""
        remaining = list(items)
        size = len(remaining)
        while remaining:
            part = remaining[:size]
            try:
                with paused_gc(), self.view.transaction() as cursor:
                    if rebuilding:
                        self.view.lock_schema(cursor)
                        if not self._has_fresh_tables(cursor, projection):
                            return None
                    projection.apply(cursor, part, rebuilding=rebuilding)
            except Exception as error:
                self._forget_rows([projection], rebuilding=rebuilding)
                if store_unavailable(error):
                    raise
                if len(part) == 1:
                    return part[0][0], error
                size = len(part) // 2
                continue
            remaining = remaining[len(part) :]
        return None

    @staticmethod
    def _forget_rows(projections: Sequence[LedgerProjection], *, rebuilding: bool) -> None:
        # The handlers changed cached rows before the transaction rolled back: read them afresh.
        for projection in projections:
            projection.caches[NEXT if rebuilding else ""].reset()

    def _rebuilding(self) -> list[LedgerProjection]:
        """The projections whose fresh tables are still beside the live ones (not yet swapped in)."""
        with self.view.reading() as cursor:
            return [p for p in self.projections if self._has_fresh_tables(cursor, p)]

    def _has_fresh_tables(self, cursor: Cursor, projection: LedgerProjection) -> bool:
        return self.view.table_exists(cursor, projection.tables[0].name + NEXT)

    def catch_up(self, progress: Progress | None = None, *, rebuilding: bool = False) -> int:
        """Processes batches until the views reach the head of the log as it was when called.

        A view that cannot apply an event stops just before it while the others
        go on to the head; then `ProjectionFailed` is raised for the first such view.
        """
        head = self.head()
        stopped: dict[str, ProjectionFailed] = {}
        while True:
            views = self._rebuilding() if rebuilding else self.projections
            following = [p for p in views if p.name not in stopped]
            count = 0
            if following:
                count, failed = self._advance(following, self.batch_size, rebuilding=rebuilding)
                for projection in following:
                    if projection.name in failed:
                        stopped[projection.name] = self._failed(projection, failed, rebuilding=rebuilding)
            shown = [p for p in views if p.name not in stopped] or views or self.projections
            reached = min(projection.position(rebuilding=rebuilding) for projection in shown)
            if progress is not None:
                progress(reached, max(head, reached))
            if count == 0 or reached >= head:
                break
        if stopped:
            raise next(iter(stopped.values()))
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
        self._notify_advanced()
        return self.position()  # the rebuilt views', swapped in here or by another process

    def _swap(self, projection: LedgerProjection) -> None:
        with self.view.transaction() as cursor:
            self.view.lock_schema(cursor)
            self.view.lock_tracking(cursor, projection.name)
            if not self._has_fresh_tables(cursor, projection):
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

    Where writers take turns for one write lock (SQLite), the process's writer
    applies the views itself after each group (`advance`, on its thread):
    a runner thread woken by every save would queue for the lock between the
    writer's groups. Its saves then do not wake the thread, which follows the
    other saves (a script's, another process's) and retries a failing view.
    """

    def __init__(
        self,
        projections: Projections,
        *,
        poll_interval: float = 0.25,
        after_batch: Callable[[], object] | None = None,
        applied_by_caller: Callable[[], bool] | None = None,
    ) -> None:
        self.projections = projections
        self.poll_interval = poll_interval
        self.after_batch = after_batch
        """Called after each batch the runner processes, and after each idle poll (the ledger seals the log there)."""
        self.applied_by_caller = applied_by_caller
        """Whether the thread saving now applies the views itself afterwards (the writer's, see `advance`): its
        saves do not wake the runner's thread; everyone else's do."""
        self._batch = threading.Lock()
        """Held while a batch is applied, by the thread or by `advance`: one batch at a time in this process."""
        self._more = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="projection-runner", daemon=True)
        self._listener: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> ProjectionRunner:
        self.projections.ledger.on_saved.append(self._saved)
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

    def nudge(self) -> None:
        """Tells the runner there are new events to process."""
        self._more.set()

    def _saved(self, position: int, count: int) -> None:
        if self.applied_by_caller is None or not self.applied_by_caller():
            self._more.set()

    def advance(self) -> None:
        """Applies what is new to the views on the calling thread (the writer's, after a group), until they are
        caught up. If a batch is running already, or this one fails, the runner's thread is told instead: it
        retries with its back-off. Never raises."""
        if not self._batch.acquire(blocking=False):
            self._more.set()
            return
        try:
            while self.projections.run_once() >= self.projections.batch_size:
                pass
        except Exception as error:
            log.info("The writer could not apply the views (%s); the runner's thread will", one_line(error))
            self._more.set()
        finally:
            self._batch.release()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._more.set()
        self._thread.join(timeout)
        if self._listener is not None:
            self._listener.join(timeout)
        if self._saved in self.projections.ledger.on_saved:
            self.projections.ledger.on_saved.remove(self._saved)

    def wait(self, position: int, timeout: float) -> bool:
        """Read-your-writes: blocks until the views have processed `position`, or `timeout` passes."""
        return self.projections.wait(position, timeout)

    def _loop(self) -> None:
        backoff = Backoff()
        attempts = 0
        logged = ""
        while not self._stopping.is_set():
            self._more.clear()
            try:
                with self._batch:
                    count = self.projections.run_once()
            except Exception as error:
                self.error = error
                if store_unavailable(error):  # the store may be away for a while: keep trying
                    log.warning("Projection runner could not process a batch: %s", error)
                    self._stopping.wait(self.poll_interval)
                    continue
                # Not the views' failure (those are noted and retried per view): back off, and say it once.
                attempts += 1
                if one_line(error) != logged:
                    logged = one_line(error)
                    log.error("Projection runner failed; trying again with a growing back-off", exc_info=error)
                self._stopping.wait(backoff.delay(attempts))
                continue
            self.error = None
            attempts = 0
            logged = ""
            if self.after_batch is not None:  # idle too: the sealer bounds the unsealed window by time
                try:
                    self.after_batch()
                except Exception as error:
                    log.warning("After-batch work failed: %s", error)
            if count < self.projections.batch_size:
                self._more.wait(self.poll_interval)
