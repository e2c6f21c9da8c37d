"""Giving a gift: the one place a gift is valued, received under the limit by everyone it names, and recorded.

The application finds (or registers) the people a gift names and saves what
changed; the seed, which keeps its own people, calls the same function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid5

from domain.commands import GiveGift, NamedRecipient
from domain.compliance_policy import CompliancePolicy
from domain.errors import InvalidInput, RuleViolation
from domain.gift_recipient import GiftRecipient, Spelling
from domain.gift_rule import counted_value
from domain.relationship import ClientRelationship, GiftShare, Recipient
from domain.values import Audit


def share_ids(gift_id: UUID, head_count: int) -> list[UUID]:
    """The ids under which the people who share a gift (after the first) keep their own record of it."""
    return [uuid5(gift_id, str(number)) for number in range(1, head_count)]


def value_of(gift: GiveGift) -> Decimal:
    """What the gift counts towards each recipient's limit (refused here if it is not a gift at all)."""
    return counted_value(
        category=gift.category,
        cost=gift.cost,
        market_value=gift.market_value,
        face_value=gift.face_value,
        recipients_count=gift.head_count,
        representative_attended=gift.representative_attended,
    )


def record_gift(
    audit: Audit,
    relationship: ClientRelationship,
    gift: GiveGift,
    *,
    gift_id: UUID,
    value: Decimal,
    find: Callable[[NamedRecipient], GiftRecipient],
    policy: CompliancePolicy,
    today: date | None = None,
    reservations: Mapping[UUID, UUID | None] | None = None,
) -> list[GiftRecipient]:
    """Records `gift`, worth `value` (`value_of`) to each person, on the open relationship: `find` says who each
    person it names is, and each receives it under the limit in force, counting the reservations active on `today`
    (all of them without a clock). A gift using an approval gives `reservations` (person id → the reservation it
    consumes, none for a request counting nothing): the same people the request named.
    Returns those people, recipient first."""
    relationship.check_open()
    people = [find(named) for named in gift.everyone]
    if len({person.id for person in people}) < len(people):
        message = "names one person twice: each person shares a gift once"
        raise InvalidInput.of_field("shared_with", message)
    if reservations is not None and set(reservations) != {person.id for person in people}:
        msg = (
            f"The gift cannot use pre-clearance request {gift.preclearance_id}: it names other people than the "
            "request did (the same people must receive it)."
        )
        raise RuleViolation(msg)
    shares = share_ids(gift_id, gift.head_count)
    for person, named, received_id in zip(people, gift.everyone, (gift_id, *shares), strict=True):
        person.receive_gift(
            audit,
            gift_id=received_id,
            relationship_id=relationship.id,
            given_on=gift.given_on,
            counted_value=value,
            policy=policy,
            spelled_as=Spelling(name=named.name, employer=named.employer),
            today=today,
            preclearance_id=gift.preclearance_id if reservations is not None else None,
            reservation_id=reservations.get(person.id) if reservations is not None else None,
        )
    recipients = [
        Recipient(recipient_id=person.id, name=named.name, employer=named.employer)
        for person, named in zip(people, gift.everyone, strict=True)
    ]
    relationship.give_gift(
        audit,
        gift_id=gift_id,
        gift=gift,
        recipient=recipients[0],
        shared_with=[
            GiftShare(share_id=share_id, recipient=recipient)
            for share_id, recipient in zip(shares, recipients[1:], strict=True)
        ],
        counted_value=value,
    )
    return people
