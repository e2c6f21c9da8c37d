"""Corrections of what was recorded on a client relationship: the correction itself, requests for one that moves
pay, and how the latest contact is worked out again when a contact is corrected.

An `EntryCorrected` never changes the event it corrects: it stores the corrected
values, and applying it updates the relationship's state as if the original had
held them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter

from domain.model import LedgerEvent
from domain.relationship_events import (
    ContactLogged,
    ContractProposed,
    ContractSigned,
    DemoCompleted,
    DemoScheduled,
    EntertainmentProvided,
    GiftGiven,
    Opened,
    ProductIntroduced,
    RelationshipEvent,
)
from domain.values import STORED, Frozen, Reason

if TYPE_CHECKING:
    from domain.relationship import ClientRelationship


class CorrectionStatus(StrEnum):
    # Where a correction request stands (a comment, not a docstring: the OpenAPI document shows docstrings).

    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


class CorrectionRequest(BaseModel):
    """A correction an account manager asked for, open until a manager approves or rejects it."""

    request_id: UUID
    requested_version: int
    requested_at: datetime
    requested_by: UUID
    requester_id: str
    corrects_version: int
    corrected_type: str
    target: str | None
    reason: str
    changes: dict[str, Any]
    status: CorrectionStatus = CorrectionStatus.OPEN
    decided_version: int | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None


class LatestContact(Frozen):
    """The contact that is the relationship's latest, by when it happened."""

    version: int
    occurred_at: AwareDatetime
    next_follow_up_on: date | None


class EntryCorrected(RelationshipEvent):
    """An earlier event is corrected: `changes` holds the corrected values of its fields.

    Where a contact is corrected, `latest_contact` records which contact is the
    latest afterwards, worked out from the whole history when the correction was made.
    """

    TOPIC = "ledger:ClientRelationship.EntryCorrected"
    corrects_version: Annotated[int, Field(ge=1)]
    corrected_type: str
    target: str | None = None
    reason: Reason
    changes: dict[str, Any]
    latest_contact: LatestContact | None = None

    def apply(self, aggregate: ClientRelationship) -> None:
        corrected_class = CORRECTABLE[self.corrected_type]
        typed = typed_changes(corrected_class, self.changes)
        corrected_class.apply_correction(aggregate, self.corrects_version, self.target, typed)
        if self.latest_contact is not None:
            aggregate.last_contact_version = self.latest_contact.version
            aggregate.last_contact_at = self.latest_contact.occurred_at
            aggregate.next_follow_up_on = self.latest_contact.next_follow_up_on


def latest_contact(history: Iterable[LedgerEvent], correction: tuple[int, dict[str, Any]]) -> LatestContact | None:
    """The latest contact once `correction` (a version and its typed changes) is applied to `history`."""
    contacts: dict[int, dict[str, Any]] = {}
    corrections = [*_contact_corrections(history, contacts), correction]
    for version, changes in corrections:
        contacts[version] = {**contacts[version], **changes}
    if not contacts:
        return None
    # Ties go to the contact logged later, as when contacts are logged.
    version, contact = max(contacts.items(), key=lambda item: (item[1]["occurred_at"], item[0]))
    return LatestContact(
        version=version, occurred_at=contact["occurred_at"], next_follow_up_on=contact["next_follow_up_on"]
    )


def _contact_corrections(
    history: Iterable[LedgerEvent], contacts: dict[int, dict[str, Any]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    for event in history:
        if isinstance(event, ContactLogged):
            contacts[event.originator_version] = {
                "occurred_at": event.occurred_at,
                "next_follow_up_on": event.next_follow_up_on,
            }
        elif isinstance(event, EntryCorrected) and event.corrected_type == ContactLogged.TOPIC:
            yield event.corrects_version, typed_changes(ContactLogged, event.changes)


class CorrectionRequested(RelationshipEvent):
    """An account manager asked for a correction that moves pay; nothing changes until a manager approves it."""

    TOPIC = "ledger:ClientRelationship.CorrectionRequested"
    request_id: UUID
    corrects_version: Annotated[int, Field(ge=1)]
    corrected_type: str
    target: str | None = None
    reason: Reason
    changes: dict[str, Any]
    requested_by: UUID

    def apply(self, aggregate: ClientRelationship) -> None:
        aggregate.correction_requests[self.request_id] = CorrectionRequest(
            request_id=self.request_id,
            requested_version=self.originator_version,
            requested_at=self.recorded_at,
            requested_by=self.requested_by,
            requester_id=self.actor_id,
            corrects_version=self.corrects_version,
            corrected_type=self.corrected_type,
            target=self.target,
            reason=self.reason,
            changes=self.changes,
        )


class CorrectionApproved(RelationshipEvent):
    """A manager approved a correction request; the `EntryCorrected` stored right after it applies the correction."""

    TOPIC = "ledger:ClientRelationship.CorrectionApproved"
    request_id: UUID
    reason: Reason | None = None

    def apply(self, aggregate: ClientRelationship) -> None:
        _decide(aggregate, self, CorrectionStatus.APPROVED, self.reason)


class CorrectionRejected(RelationshipEvent):
    """A manager rejected a correction request: nothing it asked for is applied."""

    TOPIC = "ledger:ClientRelationship.CorrectionRejected"
    request_id: UUID
    reason: Reason

    def apply(self, aggregate: ClientRelationship) -> None:
        _decide(aggregate, self, CorrectionStatus.REJECTED, self.reason)


def _decide(
    aggregate: ClientRelationship,
    event: CorrectionApproved | CorrectionRejected,
    status: CorrectionStatus,
    reason: str | None,
) -> None:
    request = aggregate.correction_requests[event.request_id]
    request.status = status
    request.decided_version = event.originator_version
    request.decided_at = event.recorded_at
    request.decided_by = event.actor_id
    request.decision_reason = reason


def moves_pay(original: LedgerEvent, changes: dict[str, Any]) -> bool:
    """Whether correcting these fields of `original` would change what someone is paid."""
    pay_fields: frozenset[str] = getattr(type(original), "pay_fields", frozenset())
    return not pay_fields.isdisjoint(changes)


CORRECTABLE: dict[str, type[RelationshipEvent]] = {
    cls.TOPIC: cls
    for cls in (
        Opened,
        ContactLogged,
        ProductIntroduced,
        DemoScheduled,
        DemoCompleted,
        ContractProposed,
        ContractSigned,
        GiftGiven,
        EntertainmentProvided,
    )
}
"""The event types a correction may change, by topic."""


@lru_cache
def _field_adapter(event_class: type[RelationshipEvent], name: str) -> TypeAdapter[Any]:
    annotation = event_class.model_fields[name].annotation
    assert annotation is not None
    return TypeAdapter(annotation)


def typed_changes(event_class: type[RelationshipEvent], changes: dict[str, Any]) -> dict[str, Any]:
    # Stored changes are JSON values (validated when the correction was made);
    # they are typed again here so that state holds dates, decimals and enums.
    return {
        name: _field_adapter(event_class, name).validate_python(value, context=STORED)
        for name, value in changes.items()
    }
