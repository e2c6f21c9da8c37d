"""The RecipientIndex aggregate: every gift recipient's identity key, so a new one is checked against all the rest.

There is one index per ledger. Registering a recipient appends to it in the
same transaction as the gift, so two gifts racing to register look-alike
people conflict on the index's version and the second is checked against the
first: no spelling slips in beside another unseen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel

from domain.model import LedgerAggregate, LedgerCreated, LedgerEvent
from domain.recipient_identity import KnownRecipient, LikelyMatch, firm_key, likely_matches, person_key
from domain.values import Audit, Frozen

INDEX_ID = uuid5(NAMESPACE_URL, "urn:ledger:recipient-index")
"""There is one index per ledger, always under this id."""


class IndexEntry(Frozen):
    """One recipient as the index holds them."""

    recipient_id: UUID
    name: str
    employer: str
    name_key: str
    employer_key: str

    @classmethod
    def of(cls, recipient_id: UUID, name: str, employer: str) -> IndexEntry:
        return cls(
            recipient_id=recipient_id,
            name=name,
            employer=employer,
            name_key=person_key(name),
            employer_key=firm_key(employer),
        )

    def known(self) -> KnownRecipient:
        return KnownRecipient(self.recipient_id, self.name_key, self.employer_key, self.name, self.employer)


class IndexStarted(LedgerCreated):
    """The index began, holding every recipient registered before it (read from the log once)."""

    TOPIC = "ledger:RecipientIndex.Started"
    entries: list[IndexEntry]

    def apply(self, aggregate: RecipientIndex) -> None:
        aggregate.entries = list(self.entries)


class RecipientIndexed(LedgerEvent):
    """A new recipient was registered, with the look-alikes the giver declared they are not."""

    TOPIC = "ledger:RecipientIndex.RecipientIndexed"
    entry: IndexEntry
    distinct_from: list[UUID] = []

    def apply(self, aggregate: RecipientIndex) -> None:
        aggregate.entries.append(self.entry)


class RecipientIndex(LedgerAggregate):
    """Every recipient's identity key, for exact and likely matches across the firm."""

    TOPIC = "ledger:RecipientIndex"

    class State(BaseModel):
        entries: list[IndexEntry]

    if TYPE_CHECKING:  # the library turns class annotations into dataclass fields
        entries: list[IndexEntry]

    @classmethod
    def start(cls, audit: Audit, existing: Iterable[IndexEntry]) -> RecipientIndex:
        return cls._start(IndexStarted, audit, id=INDEX_ID, entries=list(existing))

    def exact(self, name: str, employer: str) -> UUID | None:
        """The recipient whose keys equal these, if any (the first registered, where several do)."""
        name_key, employer_key = person_key(name), firm_key(employer)
        for entry in self.entries:
            if entry.name_key == name_key and entry.employer_key == employer_key:
                return entry.recipient_id
        return None

    def likely(self, name: str, employer: str, *, except_for: Sequence[UUID] = ()) -> list[LikelyMatch]:
        """Recipients who closely resemble this name and employer, leaving out those declared to be others."""
        excluded = set(except_for)
        return likely_matches(
            name, employer, (entry.known() for entry in self.entries if entry.recipient_id not in excluded)
        )

    def add(self, audit: Audit, *, recipient_id: UUID, name: str, employer: str, distinct_from: Sequence[UUID]) -> None:
        self._record(
            RecipientIndexed,
            audit,
            entry=IndexEntry.of(recipient_id, name, employer),
            distinct_from=list(distinct_from),
        )
