"""The ledger's reads: aggregates now, at a version or as recorded at a time; their history; the global log; and
what of a relationship a principal may read (all of it, or a former manager's part)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from domain.account_manager import AccountManager
from domain.application_base import LedgerApplication
from domain.compliance_policy import POLICY_ID, CompliancePolicy
from domain.errors import InvalidInput, NotFound, RuleViolation
from domain.gift_recipient import GiftRecipient, RecipientRegistered
from domain.model import LedgerEvent
from domain.permissions import RelationshipReach, relationship_reach
from domain.recipient_index import INDEX_ID, IndexEntry, RecipientIndex
from domain.relationship import ClientRelationship
from domain.tenure import Tenure, tenure_of
from domain.values import Audit, Principal, Role

DATE_TOLERANCE = timedelta(days=1)
"""How far past today a gift, an entertainment or a signing may be dated: a day, for clocks and time zones."""

SYSTEM = Principal(id="system:ledger", role=Role.ADMIN)
"""The principal of what the ledger does by itself (establishing the default gift policy, starting the index)."""


def _ledger_event(event: object) -> LedgerEvent:
    assert isinstance(event, LedgerEvent)
    return event


class LedgerQueries(LedgerApplication):
    """What the ledger knows: each aggregate now or as it was, each aggregate's events, and the global log."""

    def today(self) -> date:
        """Today's date in the firm's time zone."""
        return self.clock().astimezone(self.firm_timezone).date()

    def check_not_after_today(self, field: str, day: date) -> None:
        """Refuses a business date after today in the firm's time zone, allowing one day for clocks and zones."""
        latest = self.today() + DATE_TOLERANCE
        if day > latest:
            message = f"cannot be after {latest} (today in the firm's time zone, with one day of tolerance)"
            raise InvalidInput.of_field(field, message)

    def account_manager(self, account_manager_id: UUID) -> AccountManager:
        """The account manager now."""
        return self._load(AccountManager, account_manager_id)

    def relationship(self, relationship_id: UUID, *, version: int | None = None) -> ClientRelationship:
        """The relationship now, or as it stood at `version`."""
        if version is not None and version < 1:
            msg = f"Version {version} does not exist; versions start at 1."
            raise NotFound(msg)
        return self._load(ClientRelationship, relationship_id, version=version)

    def relationship_as_of(self, relationship_id: UUID, when: datetime) -> ClientRelationship:
        """The relationship as it was recorded at `when` (NotFound if it did not exist yet)."""
        version = self.version_as_of(relationship_id, when)
        if version is None:
            msg = f"Relationship {relationship_id} had not been opened by {when.isoformat()}."
            raise NotFound(msg)
        return self._load(ClientRelationship, relationship_id, version=version)

    def tenure(self, relationship_id: UUID, account_manager_id: UUID) -> Tenure:
        """An account manager's stints on the relationship and the contracts credited to them, from its history."""
        return tenure_of(account_manager_id, self.history(relationship_id))

    def readable_relationship(
        self, principal: Principal, relationship_id: UUID
    ) -> tuple[ClientRelationship, RelationshipReach]:
        """The relationship now, and how much of it the principal may read (Forbidden if none of it).

        Its history is read only for an account manager it is not assigned to now: whoever it is assigned to, and
        every other role, pay nothing more than loading it.
        """
        relationship = self.relationship(relationship_id)
        reach = relationship_reach(
            principal, relationship.account_manager_id, lambda manager: self.tenure(relationship_id, manager)
        )
        return relationship, reach

    def current_version(self, aggregate_id: UUID) -> int | None:
        """An aggregate's last version, from one read of its last event (None if it has none)."""
        last = self.events.recorder.select_events(aggregate_id, desc=True, limit=1)
        return last[0].originator_version if last else None

    def relationship_seen(
        self,
        relationship: ClientRelationship,
        reach: RelationshipReach,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
    ) -> ClientRelationship:
        """The state asked for, of a `relationship` loaded now: at `version`, as recorded at `as_of`, or else now
        (a former manager's now is the state they handed over); a state outside a former manager's stints is
        Forbidden."""
        if as_of is not None:
            found = self.version_as_of(relationship.id, as_of)
            if found is None:
                msg = f"Relationship {relationship.id} had not been opened by {as_of.isoformat()}."
                raise NotFound(msg)
            version = found
        elif version is None:
            version = reach.handed_over
        if version is None or version == relationship.version:
            reach.check_state(relationship.version)
            return relationship
        if 1 <= version < relationship.version:
            reach.check_state(version)
        return self.relationship(relationship.id, version=version)

    def readable_events(
        self, relationship_id: UUID, reach: RelationshipReach, *, after_version: int, limit: int
    ) -> list[LedgerEvent]:
        """Up to `limit` of the relationship's events after `after_version` that `reach` may read, oldest first.

        Read `limit` events at a time, so that a page reads only as far into the history as it needs."""
        found: list[LedgerEvent] = []
        while len(found) < limit:
            batch = [_ledger_event(e) for e in self.events.get(relationship_id, gt=after_version, limit=limit)]
            found += [event for event in batch if reach.may_read_event(event.originator_version)]
            if len(batch) < limit:
                break
            after_version = batch[-1].originator_version
        return found[:limit]

    def version_as_of(self, aggregate_id: UUID, when: datetime) -> int | None:
        """The last version recorded at or before `when`, by binary search over the aggregate's events.

        Within an aggregate `recorded_at` never goes backwards, so the search reads
        about log2(versions) events rather than all of them.
        """
        if when.tzinfo is None:
            msg = "must carry its offset; a naive time is ambiguous"
            raise InvalidInput.of_field("as_of", msg)
        latest = next(iter(self.events.get(aggregate_id, desc=True, limit=1)), None)
        if latest is None:
            msg = f"No aggregate {aggregate_id}."
            raise NotFound(msg)
        low, high, found = 1, latest.originator_version, None
        while low <= high:
            middle = (low + high) // 2
            if self.event_version(aggregate_id, middle).timestamp <= when:
                found, low = middle, middle + 1
            else:
                high = middle - 1
        return found

    def history(self, aggregate_id: UUID) -> Iterator[LedgerEvent]:
        """Every event of an aggregate, oldest first."""
        events = iter(self.events.get(aggregate_id))
        first = next(events, None)
        if first is None:
            msg = f"No aggregate {aggregate_id}."
            raise NotFound(msg)
        yield first  # type: ignore[misc]
        yield from events  # type: ignore[misc]

    def event_version(self, aggregate_id: UUID, version: int) -> LedgerEvent:
        """The event that took the aggregate to `version`."""
        event = next(iter(self.events.get(aggregate_id, gt=version - 1, lte=version)), None)
        if event is None:
            msg = f"No version {version} of {aggregate_id}."
            raise NotFound(msg)
        return event  # type: ignore[return-value]

    def log_pages(self, page: int = 1_000) -> Iterator[Sequence[Notification]]:
        """The whole global log in position order, `page` stored records at a time (constant memory)."""
        start = 1
        while notifications := self.recorder.select_notifications(start=start, limit=page):
            yield notifications
            start = notifications[-1].id + 1

    def decode(self, stored: StoredEvent) -> LedgerEvent:
        """A stored record turned back into the ledger's event."""
        event = self.mapper.to_domain_event(stored)
        assert isinstance(event, LedgerEvent)
        return event

    def gift_recipient(self, recipient_id: UUID) -> GiftRecipient:
        """The recipient as recorded under this id (even if merged into another)."""
        return self._load(GiftRecipient, recipient_id)

    def current_recipient(self, recipient_id: UUID) -> GiftRecipient:
        """The recipient, or the one they were merged into (following merges to the end)."""
        recipient = self._load(GiftRecipient, recipient_id)
        for _ in range(100):
            if recipient.merged_into is None:
                return recipient
            recipient = self._load(GiftRecipient, recipient.merged_into)
        msg = f"Recipient {recipient_id} is merged in a loop."
        raise RuleViolation(msg)

    def recipient_index(self, correlation_id: str = "start-recipient-index") -> RecipientIndex:
        """The index of every recipient; if there is none, started (not yet saved) by the ledger itself, under the
        request's correlation id, from the recipients in the log."""
        try:
            return self._load(RecipientIndex, INDEX_ID)
        except NotFound:
            pass
        entries: list[IndexEntry] = []
        position = 0
        while True:
            found = self.recorder.select_notifications(
                start=position + 1, limit=1000, topics=[RecipientRegistered.TOPIC]
            )
            for notification in found:
                event = self.decode(notification)
                assert isinstance(event, RecipientRegistered)
                entries.append(IndexEntry.of(event.originator_id, event.name, event.employer))
            if len(found) < 1000:
                break
            position = found[-1].id
        return RecipientIndex.start(Audit(principal=SYSTEM, correlation_id=correlation_id), entries)

    def gift_policy(self) -> CompliancePolicy:
        """The firm's gift policy; until one is stored, FINRA's schedule with calendar years, not yet saved.

        Whoever changes the policy (or gives the first gift) saves its establishment
        in the same transaction, so reading it never writes anything.
        """
        try:
            return self._load(CompliancePolicy, POLICY_ID)
        except NotFound:
            return CompliancePolicy.establish(Audit(principal=SYSTEM, correlation_id="establish-gift-policy"))
