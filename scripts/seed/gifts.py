"""The seed's gifts: who is given what, checked first against the register as a careful manager would.

Each gift is written through the domain's own `record_gift` (by the writer):
valued by the rule, received under the limit by everyone it names, or refused.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from domain.commands import GiveGift, NamedRecipient
from domain.gift_giving import value_of
from domain.gift_recipient import GiftRecipient
from domain.gift_rule import ZERO, limit_in_force
from domain.values import CENT, ClientKind, GiftCategory
from scripts.seed.cast import CORPORATE_GIFT_WEIGHTS, CORPORATE_GIFTS, RETAIL_GIFTS, SHARED_GIFT_SHARE
from scripts.seed.plan import HISTORY_STARTS
from scripts.seed.story import Client, Story


class GiftGiving(Story):
    """Chooses gifts to people at the clients, and has the writer record them or see them refused."""

    def do_gift(self, client: Client) -> None:
        """A gift to someone at the client, valued by the rule and accepted by everyone it names, or refused."""
        gift = self.choose_gift(client)
        found = (self.writer.recipient_named(named) for named in gift.everyone)
        known = [person for person in found if person is not None]
        value = value_of(gift)
        # Four times in five the manager checks the register first and stays within everyone's headroom.
        if known and value > ZERO and self.rng.random() < 0.8:
            headroom = min(self.headroom(person, gift.given_on) for person in known)
            if value > headroom:
                gift = self.smaller_gift(gift, headroom)
        audit = self.acting(client)
        if self.writer.give_gift(audit, client.aggregate, gift, gift_id=self.uuid()):
            self.summary.gifts_accepted += 1
        else:
            self.summary.gifts_refused += 1

    def choose_gift(self, client: Client) -> GiveGift:
        """Who gets what: retail customers a token of thanks; people at corporate clients anything."""
        rng = self.rng
        # Gifts are often recorded a few days after they are given.
        given_on = max(HISTORY_STARTS, self.clock.today() - timedelta(days=rng.choice((0, 0, 0, 1, 2, 5))))
        if client.aggregate.client_kind is ClientKind.INDIVIDUAL:
            description = rng.choice(RETAIL_GIFTS)
            cost = _cents(rng.randint(3_000, 20_000))
            return _gift(client.people[0], given_on, GiftCategory.RETAIL_CUSTOMER, description, cost=cost)
        # Most gifts go to people at the client; some to people elsewhere who know the firm.
        person = rng.choice(client.people if rng.random() < 0.85 else self.people)
        category = rng.choices(tuple(CORPORATE_GIFT_WEIGHTS), tuple(CORPORATE_GIFT_WEIGHTS.values()))[0]
        description, low, high = rng.choice(CORPORATE_GIFTS[category])
        cost = _cents(rng.randint(low, high))
        market_value = face_value = None
        shared_with: list[tuple[str, str]] = []
        if category is GiftCategory.GENERAL and rng.random() < 0.3:
            market_value = (cost * Decimal(str(rng.uniform(1.05, 1.4)))).quantize(CENT)
        if category is GiftCategory.GENERAL and rng.random() < SHARED_GIFT_SHARE:
            # Shared by people on the recipient's team, each of them named.
            team = [colleague for colleague in self.teams[person[1]] if colleague != person]
            shared_with = rng.sample(team, min(len(team), rng.randint(2, 5) - 1))
            if shared_with:
                cost *= 1 + len(shared_with)
                description = f"{description}, shared by {1 + len(shared_with)} people on the team"
        if category is GiftCategory.TICKET:
            face_value = cost + _cents(rng.choice((0, 0, 1_000, 2_500)))
        return _gift(
            person,
            given_on,
            category,
            description,
            cost=cost,
            market_value=market_value,
            face_value=face_value,
            shared_with=shared_with,
        )

    def smaller_gift(self, gift: GiveGift, headroom: Decimal) -> GiveGift:
        """What a manager gives instead once the register shows too little headroom."""
        person = (gift.recipient.name, gift.recipient.employer)
        if headroom >= Decimal(20):
            cost = (headroom * Decimal(str(self.rng.uniform(0.5, 1.0)))).quantize(CENT)
            return _gift(person, gift.given_on, GiftCategory.GENERAL, "Thank-you gift card", cost=cost)
        cost = _cents(self.rng.randint(800, 2_500))
        return _gift(person, gift.given_on, GiftCategory.PROMOTIONAL, "Branded notebook and pen", cost=cost)

    def headroom(self, recipient: GiftRecipient, given_on: date) -> Decimal:
        """What the register shows is left of the person's limit in the limit year of `given_on`."""
        policy = self.writer.policy
        year = policy.limit_year.year_of(given_on)
        counted = sum((g.counted_value for g in recipient.gifts if year.contains(g.given_on)), ZERO)
        return limit_in_force(policy.limit_schedule, given_on) - counted


def _gift(
    person: tuple[str, str],
    given_on: date,
    category: GiftCategory,
    description: str,
    *,
    cost: Decimal,
    market_value: Decimal | None = None,
    face_value: Decimal | None = None,
    shared_with: list[tuple[str, str]] | None = None,
) -> GiveGift:
    """The gift command, naming each person by their name and employer."""
    return GiveGift(
        recipient=NamedRecipient(name=person[0], employer=person[1]),
        shared_with=[NamedRecipient(name=name, employer=employer) for name, employer in shared_with or ()],
        description=description,
        given_on=given_on,
        category=category,
        cost=cost,
        market_value=market_value,
        face_value=face_value,
    )


def _cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)
