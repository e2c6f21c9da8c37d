"""What the gift register's reader answers with: gifts, recipients (merged ones counted as their survivor), a
recipient's limit year, the exceptions, and a person's headroom on a day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

NEAR_LIMIT = Decimal("0.8")
"""A limit year whose counted total passes this share of the limit is `near_limit`."""


@dataclass(frozen=True)
class RegisteredGift:
    gift_id: str
    relationship_id: str | None
    account_manager_id: str | None
    given_on: date
    category: str | None
    description: str | None
    cost: Decimal
    counted_value: Decimal
    limit: Decimal | None
    limit_year: str | None
    position: int | None
    market_value: Decimal | None = None
    face_value: Decimal | None = None
    head_count: int | None = None
    """How many people share the gift (1 for one person; None in a view made before it was kept)."""
    preclearance_id: str | None = None
    """The approved pre-clearance request the gift used, if any."""


@dataclass(frozen=True)
class RegisteredReservation:
    """Headroom an approved pre-clearance request holds for one person, as the register keeps it: it counts in the
    limit year of `planned_on` while the firm's today is on or before `expires_on`, until a gift uses it or it is
    released."""

    reservation_id: str
    request_id: str
    recipient_id: str
    planned_on: date
    counted_value: Decimal
    expires_on: date
    position: int

    def active_on(self, today: date | None) -> bool:
        """Whether it counts on `today` (with no clock: always, as the domain counts it)."""
        return today is None or today <= self.expires_on


@dataclass(frozen=True)
class Person:
    """A recipient as the register knows them."""

    recipient_id: str
    name: str
    employer: str
    merged_into: str | None
    distinct_from: tuple[str, ...]


@dataclass(frozen=True)
class WholePerson:
    """A recipient with everyone merged into them: their ids, every spelling, and the look-alikes declared others."""

    absorbed: tuple[str, ...]
    spellings: tuple[tuple[str, str], ...]
    distinct_from: tuple[str, ...]


@dataclass(frozen=True)
class People:
    """Every recipient, and who was merged into whom (gifts to an absorbed recipient count as the survivor's)."""

    by_id: dict[str, Person]
    spellings: dict[str, list[tuple[str, str]]]

    def survivor(self, recipient_id: str) -> str:
        """The recipient this one now counts as: themself, or whom they were merged into (to the end of the chain)."""
        for _ in range(100):
            person = self.by_id.get(recipient_id)
            if person is None or person.merged_into is None:
                return recipient_id
            recipient_id = person.merged_into
        return recipient_id

    def whole(self, survivor: str) -> WholePerson:
        members = [r for r in self.by_id if self.survivor(r) == survivor]
        absorbed = tuple(sorted(r for r in members if r != survivor))
        spellings = tuple(dict.fromkeys(s for r in [survivor, *absorbed] for s in self.spellings.get(r, [])))
        distinct = tuple(dict.fromkeys(d for r in [survivor, *absorbed] for d in self.by_id[r].distinct_from))
        return WholePerson(absorbed, spellings, distinct)

    def together(self, gifts: dict[str, list[RegisteredGift]]) -> dict[str, list[RegisteredGift]]:
        """Gifts per recipient, with an absorbed recipient's gifts under their survivor, in date order."""
        merged: dict[str, list[RegisteredGift]] = {}
        for recipient_id, given in gifts.items():
            merged.setdefault(self.survivor(recipient_id), []).extend(given)
        for given in merged.values():
            given.sort(key=lambda gift: (gift.given_on, gift.position or 0))
        return merged


@dataclass
class RecipientYear:
    """One recipient's gifts in one limit year, against the limit in force."""

    recipient_id: str
    name: str
    employer: str
    limit_year: str
    limit: Decimal
    person: WholePerson = WholePerson((), (), ())
    gifts: list[RegisteredGift] = field(default_factory=list)
    breaching_gift_ids: set[str] = field(default_factory=set)
    """The year's gifts that the limit rule, with the schedule as it stands now, would refuse."""
    reservations: list[RegisteredReservation] = field(default_factory=list)
    """The reservations active today with `planned_on` in the year (not yet given)."""

    @property
    def reserved(self) -> Decimal:
        """What approved pre-clearance requests active today hold of the year (not yet given)."""
        return sum((r.counted_value for r in self.reservations), Decimal("0.00"))

    @property
    def status(self) -> str:
        """`breach` (a gift over the limit in force), `near_limit` (the total past 80 % of it), or `ok`."""
        if self.breaching_gift_ids:
            return "breach"
        if self.counted_total > NEAR_LIMIT * self.limit:
            return "near_limit"
        return "ok"

    @property
    def who(self) -> tuple[str, str, str]:
        return self.recipient_id, self.name, self.employer

    @property
    def counted_total(self) -> Decimal:
        return sum((gift.counted_value for gift in self.gifts), Decimal("0.00"))

    @property
    def headroom(self) -> Decimal:
        """What is left of the limit, net of the gifts counted and the active reservations."""
        return max(Decimal("0.00"), self.limit - self.counted_total - self.reserved)


@dataclass(frozen=True)
class GiftException:
    """A gift worth a compliance officer's look: `breach` (the limit in force now would refuse it: the year is
    over the limit), `near_limit` (the year's total passed 80 % of the limit with it), `split` (another counted
    gift to the same person within 7 days), or `review` (it counts nothing, but cost more than the firm's review
    threshold)."""

    kind: str
    recipient_id: str
    name: str
    employer: str
    gift: RegisteredGift
    counted_total: Decimal
    limit: Decimal
    related_gift_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Headroom:
    """What one person may still be given on a day: the limit in force then, what already counts in that day's
    limit year, and the headroom (the most a gift given that day may count and still be accepted)."""

    recipient_id: str | None
    """The recipient the name and employer identify (their survivor, if merged); None for someone never given one."""
    name: str
    employer: str
    given_on: date
    limit_year: str
    limit: Decimal
    counted: Decimal
    headroom: Decimal
    reserved: Decimal = Decimal("0.00")
    """What approved pre-clearance requests active that day hold of the limit year; `headroom` is net of it."""
