"""What must hold after the load, read from the store itself: the log, the views and the gift limit."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from uuid import UUID

from domain.application import Ledger
from domain.gift_recipient import GiftReceived
from tests.reliability.load import ACKNOWLEDGED, EXPECTED_EVENTS, REFUSED, UNACKNOWLEDGED, Write

CORRELATION_PREFIX = "load-"


def events_by_correlation(ledger: Ledger) -> tuple[dict[str, Counter[str]], list[int]]:
    """For each correlation id the load used, the types of the events stored under it; and every position."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    positions: list[int] = []
    for page in ledger.log_pages():
        for notification in page:
            positions.append(notification.id)
            event = ledger.decode(notification)
            if event.correlation_id.startswith(CORRELATION_PREFIX):
                found[event.correlation_id][type(event).__name__] += 1
    return found, positions


NEW_RECIPIENT_EVENTS = ("RecipientRegistered", "RecipientIndexed", "IndexStarted")
"""A first gift to someone also registers them and adds them to the recipient index (the very first starts it)."""


def one_write_of(kind: str, stored: Counter[str]) -> bool:
    """Whether `stored` is exactly the events of one write of this kind."""
    expected = EXPECTED_EVENTS[kind]
    registered, indexed, started = (stored.get(name, 0) for name in NEW_RECIPIENT_EVENTS)
    rest = Counter({name: count for name, count in stored.items() if name not in NEW_RECIPIENT_EVENTS})
    new_recipient = registered == indexed and started <= registered
    return rest == expected and new_recipient and (registered == 0 or (kind == "gift" and registered == 1))


def exactly_once_problems(writes: list[Write], stored: dict[str, Counter[str]]) -> list[str]:
    """Every write whose events are not as its outcome demands, and every stored event no write accounts for."""
    problems = []
    for write in writes:
        events = stored.get(write.correlation_id, Counter())
        if write.outcome == ACKNOWLEDGED and not one_write_of(write.kind, events):
            problems.append(
                f"acknowledged {write.kind} {write.correlation_id} is stored as {dict(events)}; answers {write.answers}"
            )
        elif write.outcome == REFUSED and events:
            problems.append(f"refused {write.kind} {write.correlation_id} left {dict(events)}; answers {write.answers}")
        elif write.outcome == UNACKNOWLEDGED and events and not one_write_of(write.kind, events):
            problems.append(f"unacknowledged {write.kind} {write.correlation_id} is half there: {dict(events)}")
    known = {write.correlation_id for write in writes}
    problems.extend(f"events of no write: {correlation}" for correlation in stored.keys() - known)
    return problems


def gift_totals(ledger: Ledger, recipient_ids: set[UUID]) -> dict[tuple[UUID, int], Decimal]:
    """What each recipient's accepted gifts count, per calendar year, read from their own streams."""
    totals: dict[tuple[UUID, int], Decimal] = defaultdict(Decimal)
    for recipient_id in recipient_ids:
        for event in ledger.history(recipient_id):
            if isinstance(event, GiftReceived):
                totals[recipient_id, event.given_on.year] += event.counted_value
    return dict(totals)
