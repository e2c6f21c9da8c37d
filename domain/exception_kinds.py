"""The kinds of exception compliance sees, the key that names one within its kind, and the id of its case.

A case about an exception is found again from the exception alone: its id is
`case_id_for(kind, key)`, so opening the same exception twice names one case.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5


class ExceptionKind(StrEnum):
    """What an exception is about."""

    BREACH = "breach"
    NEAR_LIMIT = "near_limit"
    SPLIT = "split"
    REVIEW = "review"
    PRECLEARANCE_REVIEW = "preclearance_review"
    ENTERTAINMENT_EVENT_CAP = "entertainment_event_cap"
    ENTERTAINMENT_YEAR_CAP = "entertainment_year_cap"
    RECEIVED_REVIEW = "received_review"
    LATE_ATTESTATION = "late_attestation"


CASE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:compliance-case")


def case_id_for(kind: ExceptionKind, key: str) -> UUID:
    """The id of the one case about the exception of `kind` named `key`."""
    return uuid5(CASE_NAMESPACE, f"{kind.value}\x1f{key}")


def gift_key(gift_id: UUID | str) -> str:
    """The key of a breach, near-limit, split or review exception: the register row's gift (or share) id."""
    return str(gift_id)


def request_key(request_id: UUID | str) -> str:
    """The key of a `preclearance_review` exception: the pending request's id."""
    return str(request_id)


def event_key(relationship_id: UUID | str, version: int) -> str:
    """The key of an `entertainment_event_cap` exception: the `EntertainmentProvided` it is about."""
    return f"{relationship_id}/{version}"


def attendee_key(relationship_id: UUID | str, version: int, attendee_id: UUID | str) -> str:
    """The key of an `entertainment_year_cap` exception: the event and the attendee it took over the cap."""
    return f"{relationship_id}/{version}/{attendee_id}"


def received_key(received_gift_id: UUID | str) -> str:
    """The key of a `received_review` exception: the received gift's id."""
    return str(received_gift_id)


def attestation_key(account_manager_id: UUID | str, quarter: str) -> str:
    """The key of a `late_attestation` exception: the account manager and the quarter (`YYYY-Qn`)."""
    return f"{account_manager_id}/{quarter}"
