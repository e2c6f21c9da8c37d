"""The ledger's base application: every override of the `eventsourcing` library's machinery, in one file.

Re-check this file at each upgrade of the library: each override below names
the library version it was written against (9.5.6) and what it replaces. The
commands (domain/application.py) and the reads (domain/ledger_queries.py) use
only what this class offers: `_load`, `_retrying` and `_stored`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, ClassVar, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application, LRUCache, ProcessingEvent, Repository
from eventsourcing.persistence import RecordConflictError, Recording
from eventsourcing.utils import get_topic

from domain.account_manager import AccountManager
from domain.attestation import Attestation
from domain.compliance_case import ComplianceCase
from domain.compliance_policy import CompliancePolicy
from domain.errors import NotFound, PreconditionFailed, VersionConflict
from domain.gift_recipient import GiftRecipient
from domain.mapper import PydanticMapper
from domain.model import LedgerAggregate, LedgerSnapshot, StaleSnapshotError
from domain.preclearance import GiftPreclearance
from domain.received_gift import ReceivedGift
from domain.recipient_index import RecipientIndex
from domain.relationship import ClientRelationship
from domain.values import Audit, utc_now

log = logging.getLogger(__name__)

TAggregate = TypeVar("TAggregate", bound=LedgerAggregate)
T = TypeVar("T")

FIRM_TIMEZONE: tzinfo = ZoneInfo("America/New_York")
"""The firm's time zone unless told otherwise (`LEDGER_FIRM_TIMEZONE`): a US broker-dealer's, as FINRA's."""


WRITER_CACHE_SIZE = 2_000
"""How many aggregates the writer keeps between commands (`LedgerApplication.writing_in_group`): loading one
from its snapshot and events cost 0.26 to 2.5 ms, against 0.15 ms to read what is new and copy it."""


@dataclass(frozen=True)
class CommandResult:
    """What a command stored: the aggregate it changed, its new version, and the global position reached."""

    id: UUID
    version: int
    position: int


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    """Applies events to an aggregate in turn.

    Replaces the library's `project_aggregate` (9.5.6), which asserts a runtime-checkable protocol for each event:
    that costs more than applying the event on Python 3.11.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class LedgerRepository(Repository[UUID]):
    """The library's repository, replaying from the events alone when a snapshot has an older shape."""

    def _reconstruct_aggregate(self, aggregate_id: UUID, version: int | None, projector_func: Any) -> Any:
        # Overrides Repository._reconstruct_aggregate (9.5.6): a snapshot whose `State` has an older shape raises
        # StaleSnapshotError when it is turned back into an aggregate; the events alone then rebuild it.
        try:
            return super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        except StaleSnapshotError as stale:
            log.info("%s; replaying its events", stale)
            aggregate = projector_func(None, self.event_store.get(aggregate_id, lte=version))
            if aggregate is None:
                msg = f"Aggregate {aggregate_id!r} version {version!r} not found."
                raise AggregateNotFoundError(msg) from None
            return aggregate


class LedgerApplication(Application[UUID]):
    """The library's `Application`, configured and tuned for the ledger's aggregates."""

    name = "Ledger"
    env: ClassVar[dict[str, str]] = {"MAPPER_TOPIC": get_topic(PydanticMapper)}
    snapshot_class = LedgerSnapshot
    snapshotting_intervals: ClassVar = {
        ClientRelationship: 100,
        GiftRecipient: 100,
        AccountManager: 100,
        RecipientIndex: 100,
    }

    max_attempts = 12
    """How often a command that lost an optimistic-concurrency race is re-run before it gives up."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        firm_timezone: tzinfo = FIRM_TIMEZONE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(env)
        self.on_saved: list[Callable[[int, int], None]] = []
        """Called after each save with the last position and the number of events stored."""
        self.firm_timezone = firm_timezone
        """Where the firm's days begin and end: "today" for the rule that nothing is dated after it."""
        self.clock = clock
        self._group = threading.local()
        self._writer_repository = LedgerRepository(
            event_store=self.repository.event_store,
            snapshot_store=self.repository.snapshot_store,
            cache_maxsize=WRITER_CACHE_SIZE,
            fastforward=True,
            deepcopy_from_cache=True,
        )

    # -- what commands and reads use --

    def _load(
        self,
        cls: type[TAggregate],
        aggregate_id: UUID,
        expected_version: int | None = None,
        *,
        version: int | None = None,
    ) -> TAggregate:
        """The aggregate of class `cls` (at `version`, if given), checked to be at `expected_version` if given."""
        repository = self._writer_repository if self._in_group() else self.repository
        try:
            aggregate: object = repository.get(aggregate_id, version=version, projector_func=project)
        except AggregateNotFoundError:
            raise NotFound(
                f"No {_describe(cls)} {aggregate_id}" + (f" at version {version}." if version else ".")
            ) from None
        if not isinstance(aggregate, cls):
            msg = f"No {_describe(cls)} {aggregate_id}."
            raise NotFound(msg)
        if version is not None and aggregate.version != version:
            msg = f"{_describe(cls).capitalize()} {aggregate_id} has versions 1 to {aggregate.version}, not {version}."
            raise NotFound(msg)
        return checked_version(aggregate, expected_version)

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Runs `attempt` until it stores without losing an optimistic-concurrency race.

        The loser of a race re-reads and re-checks every rule, after a short randomised back-off so that racers
        spread out.
        """
        for number in range(1, self.max_attempts + 1):
            try:
                return attempt()
            except RecordConflictError:
                if number == self.max_attempts:
                    break
                time.sleep(random.uniform(0, 0.002 * 2 ** min(number, 6)))  # noqa: S311
        msg = f"Concurrent writes kept winning the race; gave up after {self.max_attempts} attempts. Try again."
        raise VersionConflict(msg)

    def _stored(self, audit: Audit, aggregate: LedgerAggregate, *others: LedgerAggregate) -> CommandResult:
        """Stores the pending events of `aggregate` and `others` in one transaction, marking the request's
        Idempotency-Key in it if it has one; the result names `aggregate`."""
        if audit.idempotency_key is None:
            recordings = self.save(aggregate, *others)
        else:
            recordings = self.save(aggregate, *others, idempotency_key=(audit.principal.id, audit.idempotency_key))
        position = max(recording.notification.id for recording in recordings)
        return CommandResult(id=aggregate.id, version=aggregate.version, position=position)

    # -- overrides of the library --

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Stores the pending events of the given aggregates in one transaction.

        Overrides Application.save (9.5.6). For the ledger's own aggregates it collects their events directly: the
        library's `ProcessingEvent.collect_events` checks each object against runtime protocols, which is slow on
        Python 3.11. Anything else takes the library's path. The keyword arguments reach the recorder's
        `insert_events` (the Idempotency-Key, see `_stored`).
        """
        if not all(isinstance(obj, LedgerAggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in objs:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def construct_repository(self) -> Repository[UUID]:
        """Overrides Application.construct_repository (9.5.6): the library's repository with `LedgerRepository`'s
        stale-snapshot fallback, and no aggregate cache: a read on any thread reads what is committed. (The
        writer's commands have a cache of their own, see `writing_in_group`.)"""
        base = super().construct_repository()
        return LedgerRepository(
            event_store=base.event_store,
            snapshot_store=base.snapshot_store,
            cache_maxsize=None,
            fastforward=base.fastforward,
            fastforward_skipping=base.fastforward_skipping,
            deepcopy_from_cache=base.deepcopy_from_cache,
        )

    @contextmanager
    def writing_in_group(self) -> Iterator[None]:
        """The writer's commands, on this thread, until the block ends (a group commit, see `Writer`):

        - what their saves tell the `on_saved` listeners is held back: told in one call if the block ends
          normally, forgotten if it raises (the group's transaction did not commit);
        - the aggregates they load are kept between commands, in a cache only this thread reads: each load reads
          just the events stored since (by this group, or by another process) and hands the command its own copy.

        If the block raises, the cache is emptied: it may hold events of a transaction that never committed.
        """
        held: list[tuple[int, int]] = []
        self._group.saves = held
        try:
            yield
        except BaseException:
            self.forget_cached_aggregates()
            raise
        finally:
            self._group.saves = None
        if held:
            self._tell(max(position for position, _ in held), sum(count for _, count in held))

    def forget_cached_aggregates(self) -> None:
        """Empties the writer's cache: after a command failed, whatever it may have read of its own undone events
        is forgotten (an aggregate is read again whole the next time)."""
        self._writer_repository.cache = LRUCache(maxsize=WRITER_CACHE_SIZE)

    def _in_group(self) -> bool:
        return getattr(self._group, "saves", None) is not None

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        # Overrides Application._notify (9.5.6), a no-op there: tells `on_saved` listeners (the in-process
        # projection runner) the last position stored, or holds it back (`writing_in_group`).
        if not recordings:
            return
        position = max(recording.notification.id for recording in recordings)
        held: list[tuple[int, int]] | None = getattr(self._group, "saves", None)
        if held is not None:
            held.append((position, len(recordings)))
        else:
            self._tell(position, len(recordings))

    def _tell(self, position: int, count: int) -> None:
        for listener in list(self.on_saved):
            listener(position, count)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # Overrides Application._take_snapshots (9.5.6), which re-reads each aggregate and writes one snapshot at
        # a time: this snapshots the aggregates in hand, all in one write, and never lets a failed snapshot fail a
        # command whose events are already stored.
        assert self.snapshots is not None
        versions_before = {e.originator_id: e.originator_version - 1 for e in reversed(processing_event.events)}
        snapshots = []
        for aggregate_id, aggregate in processing_event.aggregates.items():
            interval = self.snapshotting_intervals.get(type(aggregate))
            before = versions_before.get(aggregate_id)
            if interval and before is not None and aggregate.version // interval != before // interval:
                snapshots.append(LedgerSnapshot.take(aggregate))
        if snapshots:
            try:
                self.snapshots.put(snapshots)
            except Exception:  # a snapshot is an optimisation; the events are the record
                log.warning("Could not store %d snapshots", len(snapshots), exc_info=True)


def checked_version(aggregate: TAggregate, expected_version: int | None) -> TAggregate:
    """The aggregate, if it is at `expected_version` (or none is expected); else PreconditionFailed."""
    if expected_version is not None and aggregate.version != expected_version:
        msg = (
            f"Expected version {expected_version}, but it is now at version {aggregate.version}: "
            "read it again before writing."
        )
        raise PreconditionFailed(msg, expected=expected_version, actual=aggregate.version)
    return aggregate


def _describe(cls: type[LedgerAggregate]) -> str:
    return {
        ClientRelationship: "relationship",
        AccountManager: "account manager",
        GiftRecipient: "gift recipient",
        CompliancePolicy: "compliance policy",
        GiftPreclearance: "pre-clearance request",
        ReceivedGift: "received gift",
        Attestation: "attestation",
        ComplianceCase: "compliance case",
    }.get(cls, cls.__name__)
